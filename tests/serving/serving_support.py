"""A registry with served models: real LightGBM and scikit-learn models, real evidence files.

:func:`make_served` initialises a SQLite registry with one user per role, and
:meth:`Served.publish` saves a fitted model with skops, writes its policy and a passing
evidence bundle, registers it with its training data (so the registry keeps the reference
profile the input schema and background come from) and promotes it to production.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "registry"))

from registry_support import write_evidence

import charter
from charter.registry import Actor, Registry, Role

USERS = {
    "eli": [Role.ML_ENGINEER],
    "dora": [Role.DATA_SCIENTIST],
    "ann": [Role.APPROVER],
    "otto": [Role.AUDITOR],
    "mo": [Role.MONITOR],
    "ivy": [Role.INVOKER],
    "lars": [Role.LABELER],
}
FEATURES = [f"f{i}" for i in range(6)]


@dataclass
class Served:
    """A registry, its users' tokens and actors, and the folder everything lives in."""

    registry: Registry
    url: str
    store: Path
    folder: Path
    tokens: dict[str, str] = field(default_factory=dict)
    actors: dict[str, Actor] = field(default_factory=dict)

    def __getitem__(self, user: str) -> Actor:
        return self.actors[user]

    def env(self, user: str) -> dict[str, str]:
        import os

        env = dict(os.environ)
        env.update(
            CHARTER_DATABASE_URL=self.url,
            CHARTER_ARTIFACT_STORE=str(self.store),
            CHARTER_TOKEN=self.tokens[user],
        )
        return env

    def publish(
        self,
        model: Any,
        train: pd.DataFrame,
        *,
        name: str = "scorer",
        target: str = "label",
        promote: bool = True,
        monitoring: dict[str, Any] | None = None,
        sensitive: list[str] | None = None,
        model_file: str = "model.skops",
    ) -> int:
        """Register ``model`` (fitted on ``train``) and promote it; returns its version."""
        number = len(list((self.folder / name).glob("v*"))) + 1
        where = self.folder / name / f"v{number}"
        where.mkdir(parents=True)
        path = charter.save_model(model, where / model_file)
        policy = where / "policy.yaml"
        document: dict[str, Any] = {
            "version": 1,
            "model": {
                "name": name,
                "owner": "team",
                "description": "A served test model.",
                "intended_use": "Tests.",
                "risk_tier": "limited",
                "task": "binary_classification" if hasattr(model, "classes_") else "regression",
            },
            "data": {
                "target": target,
                "sensitive": sensitive or [],
                "rules": [
                    {"id": "enough-rows", "check": "min_rows", "min": 100},
                    {"id": "few-nulls", "check": "null_fraction", "max": 0.05},
                ],
            },
            "approvals": {"required": 1},
            "monitoring": monitoring or {"window": "1d", "timestamp_column": "ts"},
        }
        policy.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
        evidence = write_evidence(
            where / "evidence", policy_path=policy, model_path=path, name=name
        )
        data = where / "train.parquet"
        train.to_parquet(data)
        version = self.registry.register(
            name,
            model=path,
            evidence=evidence,
            policy=policy,
            train_data=data,
            actor=self["eli"],
            source_dir=where,
        )
        if promote:
            self.promote(name, version.number)
        return version.number

    def promote(self, name: str, number: int) -> None:
        request = self.registry.request_promotion(name, number, "production", actor=self["eli"])
        if request.status == "pending":
            self.registry.approve(request.id, actor=self["ann"])


def make_served(folder: Path) -> Served:
    """A fresh SQLite registry with one user per role."""
    folder.mkdir(parents=True, exist_ok=True)
    url = f"sqlite:///{folder / 'registry.db'}"
    store = folder / "artifacts"
    registry, token = Registry.initialize(url, admin="ada", artifact_store=str(store))
    served = Served(registry=registry, url=url, store=store, folder=folder)
    served.tokens["ada"] = token.token
    served.actors["ada"] = registry.authenticate(token.token)
    for user, roles in USERS.items():
        issued = registry.add_user(user, roles, actor=served["ada"])
        served.tokens[user] = issued.token
        served.actors[user] = registry.authenticate(issued.token)
    return served


def tabular(n: int = 2_000, seed: int = 0, *, categorical: bool = True) -> pd.DataFrame:
    """Six numeric features (and a region category), a binary label, a sensitive column."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({name: rng.normal(size=n) for name in FEATURES})
    logit = frame["f0"] - 0.8 * frame["f1"] + 0.5 * frame["f2"] * frame["f3"]
    if categorical:
        region = rng.choice(["north", "south", "east"], n)
        frame["region"] = pd.Categorical(region)
        logit = logit + np.where(region == "south", 0.7, 0.0)
    frame["label"] = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(np.int64)
    frame["sex"] = rng.choice(["F", "M"], n)
    return frame


def inputs_of(frame: pd.DataFrame) -> list[str]:
    return [c for c in frame.columns if c not in ("label", "sex")]


def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows as JSON records (categories as strings)."""
    out = frame.copy()
    for column in out.columns:
        if isinstance(out[column].dtype, pd.CategoricalDtype):
            out[column] = out[column].astype(str)
    return out.to_dict(orient="records")
