"""Item 21 of issue 11: pii_scan finds name columns such as ``first`` and ``last``.

Recall and false positives are measured on frames built here: a register of people (names
under a dozen spellings of "first name" and "surname", ambiguous names included) and a frame
of ordinary columns, some of them named ``first``/``last`` but holding dates, amounts, flags or
categories.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from charter.checks.pii import ambiguous_name, name_kind, name_likeness
from charter.gate import check

GIVEN = [
    "Ann", "Bob", "Carla", "Dmitri", "Emma", "Farid", "Grace", "Hiro", "Ines", "Jean-Luc",
    "Kofi", "Lena", "Mateo", "Nora", "Omar", "Priya", "Quinn", "Rosa", "Sven", "Tomás",
    "Uma", "Viktor", "Wen", "Ximena", "Yusuf", "Zoë",
]  # fmt: skip
FAMILY = [
    "Smith", "O'Neil", "García", "Nguyen", "van Dijk", "Müller", "Okafor", "Rossi", "Kowalski",
    "Dubois", "de la Cruz", "Johansson", "Tanaka", "Silva", "Haddad", "Ivanova", "Brown",
    "Novak", "Costa", "Kim", "Schmidt", "Moreau",
]  # fmt: skip
NAME_COLUMNS = [
    "first", "last", "given", "family", "firstname", "lastName", "surname", "forename",
    "fname", "lname", "full_name", "Vorname",
]  # fmt: skip


def _people(n: int = 400) -> pd.DataFrame:
    rng = np.random.default_rng(4)
    given = rng.choice(GIVEN, n)
    family = rng.choice(FAMILY, n)
    frame = {}
    for column in NAME_COLUMNS:
        lower = column.lower()
        is_family = lower in ("last", "family", "lastname", "surname", "lname")
        values = family if is_family else given
        frame[column] = (
            [f"{g} {f}" for g, f in zip(given, family, strict=True)]
            if (lower == "full_name")
            else values
        )
    return pd.DataFrame(frame)


def _ordinary(n: int = 400) -> pd.DataFrame:
    rng = np.random.default_rng(5)
    days = pd.date_range("2024-01-01", periods=n, freq="D").strftime("%Y-%m-%d")
    return pd.DataFrame(
        {
            "first": days,  # first purchase date
            "last": rng.normal(100, 20, n).round(2).astype(str),  # last amount
            "given": rng.choice(["Y", "N"], n),  # consent given
            "family": rng.choice(["Single", "Married", "Divorced", "Widowed"], n),
            "middle": rng.choice(["North", "South", "East", "West", "Centre"], n),
            "region": rng.choice(["North", "South"], n),
            "city": rng.choice(["Paris", "Lyon", "Lille"], n),
            "first_payment": rng.integers(0, 1000, n).astype(str),
            "last_login": days,
            "model_name": rng.choice(["lgbm-v1", "lgbm-v2"], n),
        }
    )


def _flagged(frame: pd.DataFrame, tmp_path) -> set[str]:
    policy = tmp_path / "policy.yaml"
    policy.write_text(
        "version: 1\nmodel: {name: m}\nprivacy:\n  rules:\n    - {id: pii, check: pii_scan}\n",
        encoding="utf-8",
    )
    finding = check(policy, frame.assign(y=0)).findings[0]
    return set(finding.details["offending"])


def test_recall_and_false_positives_on_built_frames(tmp_path) -> None:
    people, ordinary = _people(), _ordinary()
    found = _flagged(people, tmp_path)
    recall = len(found & set(NAME_COLUMNS)) / len(NAME_COLUMNS)
    false_positives = _flagged(ordinary, tmp_path)
    print(f"name columns: recall {recall:.0%} ({len(found)}/{len(NAME_COLUMNS)}),"
          f" false positives {len(false_positives)}/{ordinary.shape[1]}")  # fmt: skip
    assert recall == 1.0, set(NAME_COLUMNS) - found
    assert false_positives == set()


def test_the_message_says_why_an_ambiguous_column_counts(tmp_path) -> None:
    policy = tmp_path / "policy.yaml"
    policy.write_text(
        "version: 1\nmodel: {name: m}\nprivacy:\n  rules:\n    - {id: pii, check: pii_scan}\n",
        encoding="utf-8",
    )
    finding = check(policy, _people()[["first", "last"]].assign(y=0)).findings[0]
    assert "first (named 'first' and 100% of its distinct values look like names)" in (
        finding.message
    )


@pytest.mark.parametrize(
    ("values", "likeness"),
    [
        (GIVEN, 1.0),
        (FAMILY, 1.0),
        (["Y", "N"] * 20, 0.0),
        ([f"2024-01-{d:02d}" for d in range(1, 29)], 0.0),
        ([f"ACME-{i}" for i in range(30)], 0.0),
    ],
)
def test_name_likeness(values, likeness) -> None:
    assert name_likeness(values) == pytest.approx(likeness)


def test_names_that_always_mean_a_name_and_those_that_sometimes_do() -> None:
    assert {name_kind(c) for c in ("fname", "lastName", "surname", "Vorname")} == {
        name_kind("name")
    }
    assert name_kind("first") is None and ambiguous_name("first") and ambiguous_name("Last")
    assert not ambiguous_name("first_payment") and name_kind("first_payment") is None
