"""Ordinary models fed from a CSV with string columns, as a newcomer has them.

A scikit-learn Pipeline with a ColumnTransformer (scaled numbers, one-hot strings) and a
LightGBM model fitted on pandas ``category`` columns; the evaluation data is read back from a
CSV file, so its categorical columns arrive as strings.
"""

from __future__ import annotations

import sys
from pathlib import Path

import lightgbm as lgb
import numpy as np
import pandas as pd
import pytest
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

FEATURES = ["income", "debt", "region", "job"]
CATEGORICAL = ["region", "job"]

POLICY = """\
version: 1
model:
  name: newcomer
data:
  target: y
privacy:
  protected_attributes: [sex]
fairness:
  sensitive: [sex]
  rules:
    - id: parity
      check: demographic_parity_difference
      max: 0.5
explainability:
  sample_size: 60
  background_size: 30
  seed: 0
  rules:
    - id: explanations
      check: shap_explanations
      params:
        max_protected_share: 0.6
"""


def _frame(seed: int, n: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    sex = rng.choice(["F", "M"], n)
    region = rng.choice(["north", "south", "east"], n)
    job = rng.choice(["clerk", "manager", "driver"], n)
    income = rng.normal(0, 1, n) + (sex == "M") * 0.8
    debt = rng.normal(0, 1, n)
    logit = 1.2 * income - 0.8 * debt + (job == "manager") * 0.7 + (sex == "M") * 0.5
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    return pd.DataFrame(
        {"income": income, "debt": debt, "region": region, "job": job, "sex": sex, "y": y}
    )


@pytest.fixture(scope="session")
def train_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("newcomer") / "train.csv"
    _frame(3, 900).to_csv(path, index=False)
    return path


@pytest.fixture(scope="session")
def train(train_csv: Path) -> pd.DataFrame:
    """The training data as read from the CSV: strings, not categories."""
    return pd.read_csv(train_csv)


@pytest.fixture(scope="session")
def policy_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("policy") / "policy.yaml"
    path.write_text(POLICY, encoding="utf-8")
    return path


def as_categories(frame: pd.DataFrame) -> pd.DataFrame:
    """The frame with the categorical columns as pandas categories (the training form)."""
    return frame.astype({c: "category" for c in CATEGORICAL})


@pytest.fixture(scope="session")
def pipeline(train: pd.DataFrame) -> Pipeline:
    pre = ColumnTransformer(
        [
            ("num", StandardScaler(), ["income", "debt"]),
            ("cat", OneHotEncoder(handle_unknown="ignore"), CATEGORICAL),
        ]
    )
    return Pipeline([("pre", pre), ("clf", LogisticRegression())]).fit(train[FEATURES], train["y"])


@pytest.fixture(scope="session")
def lightgbm(train: pd.DataFrame) -> lgb.LGBMClassifier:
    model = lgb.LGBMClassifier(n_estimators=25, num_leaves=8, verbose=-1, random_state=0)
    return model.fit(as_categories(train[FEATURES]), train["y"])


sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "registry"))

from registry_support import database_url, team, team_templates  # noqa: E402, F401
