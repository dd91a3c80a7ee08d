"""Fixtures of the monitoring tests: a reference, a production log that drifts, a policy."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import numpy as np
import pandas as pd
import pytest

from charter.policy.loader import policy_from_dict
from charter.policy.schema import Policy
from charter.stats.profile import DataProfile, build_profile

DRIFT_DAY = 4  # the log drifts from 2024-03-04 on


def credit_frame(
    n: int,
    *,
    seed: int,
    shift: float = 0.0,
    unfair: bool = False,
    start: str = "2024-03-01",
    days: int = 1,
) -> pd.DataFrame:
    """Applications with a score; ``shift`` moves income, ``unfair`` lowers women's scores."""
    rng = np.random.default_rng(seed)
    sex = rng.choice(["F", "M"], n)
    income = rng.lognormal(10.5 + shift, 0.4, n)
    age = rng.integers(18, 80, n) + round(24 * shift)
    region = rng.choice(["north", "south", "east", "west"], n, p=[0.4, 0.3, 0.2, 0.1])
    default = (rng.random(n) < 0.25).astype(int)
    score = 0.25 + 0.35 * (default - 0.25) + rng.normal(0, 0.12, n)
    if unfair:
        score = score + np.where(sex == "F", 0.25, 0.0)
    ts = pd.Timestamp(start) + pd.to_timedelta(np.sort(rng.integers(0, days * 86400, n)), unit="s")
    return pd.DataFrame(
        {
            "income": income,
            "age": age,
            "region": region,
            "sex": sex,
            "default": default,
            "score": np.clip(score, 0, 1),
            "ts": ts,
        }
    )


def production_log(rows_per_day: int = 2_000, days: int = 6) -> pd.DataFrame:
    parts = []
    for d in range(1, days + 1):
        drifted = d >= DRIFT_DAY
        parts.append(
            credit_frame(
                rows_per_day,
                seed=100 + d,
                shift=0.5 if drifted else 0.0,
                unfair=drifted,
                start=f"2024-03-{d:02d}",
            )
        )
    return pd.concat(parts, ignore_index=True)


POLICY: dict[str, Any] = {
    "model": {"name": "credit-risk"},
    "data": {
        "target": "default",
        "score": "score",
        "sensitive": ["sex"],
        "timestamp_column": "ts",
    },
    "fairness": {
        "bootstrap": 200,
        "rules": [{"id": "parity", "check": "demographic_parity_difference", "max": 0.1}],
    },
    "performance": {"rules": [{"id": "accuracy", "check": "accuracy", "min": 0.6}]},
    "monitoring": {"window": "1d", "drift_share": 0.3},
}


def make_policy(**monitoring: Any) -> Policy:
    document = {**POLICY, "monitoring": {**POLICY["monitoring"], **monitoring}}
    return policy_from_dict(document)


@pytest.fixture(scope="session")
def reference_frame() -> pd.DataFrame:
    return credit_frame(20_000, seed=1).drop(columns=["ts"])


@pytest.fixture(scope="session")
def reference(reference_frame: pd.DataFrame) -> DataProfile:
    return build_profile(reference_frame)


@pytest.fixture(scope="session")
def log() -> pd.DataFrame:
    return production_log()


@pytest.fixture(scope="session")
def policy() -> Policy:
    return make_policy()


@pytest.fixture(scope="session")
def spark() -> Iterator[Any]:
    """One local Spark session for the whole test session."""
    from tests.conftest import skip_or_fail

    try:
        from pyspark.sql import SparkSession
    except ImportError:
        skip_or_fail("pyspark is not installed")
    if not os.environ.get("JAVA_HOME") and not any(
        os.path.exists(os.path.join(p, "java")) for p in os.environ.get("PATH", "").split(":")
    ):
        skip_or_fail("no Java runtime for Spark")
    session = (
        SparkSession.builder.master("local[1]")
        .appName("charter-tests")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.shuffle.partitions", "2")
        .config("spark.default.parallelism", "2")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.driver.memory", "1g")
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()
