from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import duckdb
import narwhals as nw
import numpy as np
import pandas as pd
import polars as pl
import pytest

from charter.checks import CheckContext, get_check
from charter.evidence import Finding, Verdict
from charter.policy import policy_from_dict
from charter.policy.schema import Rule
from charter.stats.frames import to_frame

N = 1_000


@pytest.fixture(scope="module")
def table() -> pd.DataFrame:
    rng = np.random.default_rng(11)
    age = rng.integers(10, 95, N).astype(float)
    age[rng.choice(N, 40, replace=False)] = np.nan
    frame = pd.DataFrame(
        {
            "id": np.arange(N),
            "age": age,
            "income": rng.lognormal(8, 0.5, N),
            "sex": rng.choice(["F", "M", "X", "?"], N, p=[0.48, 0.48, 0.03, 0.01]),
            "region": rng.choice(["north", "south", None], N, p=[0.5, 0.45, 0.05]),
            "approved": rng.random(N) < 0.4,
            "seen": pd.date_range("2020-01-01", periods=N, freq="D"),
        }
    )
    frame.loc[[5, 6, 7], "id"] = [1, 1, 2]  # three repeated keys
    return pd.concat([frame, frame.iloc[[10, 11, 10]]], ignore_index=True)  # duplicated rows


def _pandas(t: pd.DataFrame) -> Any:
    return t


def _polars(t: pd.DataFrame) -> Any:
    return pl.from_pandas(t)


def _polars_lazy(t: pd.DataFrame) -> Any:
    return pl.from_pandas(t).lazy()


def _duckdb(t: pd.DataFrame) -> Any:
    return duckdb.from_arrow(pl.from_pandas(t).to_arrow())


BACKENDS: dict[str, Callable[[pd.DataFrame], Any]] = {
    "pandas": _pandas,
    "polars": _polars,
    "polars-lazy": _polars_lazy,
    "duckdb": _duckdb,
}


@pytest.fixture(params=list(BACKENDS))
def ctx(request: pytest.FixtureRequest, table: pd.DataFrame) -> CheckContext:
    policy = policy_from_dict({"model": {"name": "credit"}})
    return CheckContext(policy=policy, data=to_frame(BACKENDS[request.param](table)))


def run(ctx: CheckContext, check: str, params: dict[str, Any], **bounds: Any) -> Finding:
    rule = Rule(id=f"r-{check}", check=check, params=params, **bounds)
    spec = get_check(check, section="data")
    result = spec.func(ctx, rule, spec.parse_params(rule.params))
    assert isinstance(result, Finding)
    result.model_dump_json()  # details stay JSON-able
    return result


def test_data_checks_serve_the_data_governance_controls(ctx: CheckContext) -> None:
    finding = run(ctx, "min_rows", {}, min=10)
    assert "eu-ai-act:art-10.3" in finding.controls
    assert "nist-ai-rmf:measure-2.1" in finding.controls


def test_required_columns_names_the_missing_ones(ctx: CheckContext) -> None:
    finding = run(ctx, "required_columns", {"columns": ["age", "salary", "sex"]})
    assert finding.verdict is Verdict.FAIL
    assert finding.details["missing"] == ["salary"]
    assert run(ctx, "required_columns", {"columns": ["age"]}).verdict is Verdict.PASS


def test_dtypes_compare_column_kinds_with_the_schema(ctx: CheckContext) -> None:
    finding = run(
        ctx,
        "dtypes",
        {
            "columns": {
                "id": "integer",
                "age": "numeric",
                "income": "float",
                "sex": ["string", "categorical"],
                "approved": "boolean",
                "seen": "datetime",
                "region": "integer",
            }
        },
    )
    assert finding.verdict is Verdict.FAIL
    assert finding.details["offending"] == ["region"]
    assert finding.details["columns"]["region"]["actual"] == "String"
    assert finding.details["columns"]["age"]["ok"] is True


def test_null_fraction_matches_pandas(ctx: CheckContext, table: pd.DataFrame) -> None:
    finding = run(ctx, "null_fraction", {"columns": ["age", "region"]}, max=0.045)
    expected = table[["age", "region"]].isna().mean()
    assert finding.details["null_fraction"]["age"] == pytest.approx(expected["age"])
    assert finding.details["null_fraction"]["region"] == pytest.approx(expected["region"])
    assert finding.value == pytest.approx(expected.max())
    assert finding.details["offending"] == ["region"]
    assert finding.verdict is Verdict.FAIL


def test_value_range_counts_offending_rows_per_column(
    ctx: CheckContext, table: pd.DataFrame
) -> None:
    finding = run(
        ctx,
        "value_range",
        {"columns": {"age": {"min": 18, "max": 90}, "income": {"min": 0}}},
    )
    age = table["age"].dropna()
    bad = int(((age < 18) | (age > 90)).sum())
    entry = finding.details["columns"]["age"]
    assert bad > 0
    assert entry["offending_rows"] == bad
    assert entry["observed_min"] == age.min()
    assert entry["observed_max"] == age.max()
    assert finding.details["columns"]["income"]["offending_rows"] == 0
    assert finding.value == pytest.approx(bad / len(table))
    assert finding.verdict is Verdict.FAIL
    assert finding.details["offending"] == ["age"]
    tolerant = run(ctx, "value_range", {"columns": {"age": {"min": 18, "max": 90}}}, max=0.2)
    assert tolerant.verdict is Verdict.PASS


def test_value_range_accepts_dates_for_datetime_columns(
    ctx: CheckContext, table: pd.DataFrame
) -> None:
    finding = run(ctx, "value_range", {"columns": {"seen": {"min": dt.date(2021, 1, 1)}}})
    assert finding.details["columns"]["seen"]["offending_rows"] == int(
        (table["seen"] < pd.Timestamp("2021-01-01")).sum()
    )


def test_value_range_on_a_string_column_is_an_error_with_a_hint(ctx: CheckContext) -> None:
    finding = run(ctx, "value_range", {"columns": {"sex": {"min": 0}}})
    assert finding.verdict is Verdict.ERROR
    assert "sex" in finding.details["columns"]
    assert "hint" in finding.details


def test_allowed_categories_reports_unexpected_values_with_counts(
    ctx: CheckContext, table: pd.DataFrame
) -> None:
    finding = run(
        ctx,
        "allowed_categories",
        {"columns": {"sex": ["F", "M"], "region": ["north", "south"]}},
    )
    counts = table["sex"].value_counts()
    assert finding.details["columns"]["sex"]["unexpected"] == {
        "X": int(counts["X"]),
        "?": int(counts["?"]),
    }
    assert finding.details["columns"]["region"]["offending_rows"] == 0  # nulls are not judged
    assert finding.value == pytest.approx((counts["X"] + counts["?"]) / len(table))
    assert finding.verdict is Verdict.FAIL
    assert finding.details["offending"] == ["sex"]


def test_unique_finds_repeated_keys(ctx: CheckContext, table: pd.DataFrame) -> None:
    finding = run(ctx, "unique", {"columns": ["id"]})
    repeated = int(table.duplicated(["id"]).sum())
    assert finding.details["duplicated_rows"] == repeated
    assert finding.value == pytest.approx(repeated / len(table))
    assert finding.verdict is Verdict.FAIL
    top = finding.details["examples"][0]
    assert top == {"key": {"id": 1}, "count": int((table["id"] == 1).sum())}
    assert run(ctx, "unique", {"columns": ["id", "seen"]}).details["duplicated_rows"] == 3


def test_duplicate_rows_matches_pandas_duplicated(ctx: CheckContext, table: pd.DataFrame) -> None:
    finding = run(ctx, "duplicate_rows", {}, max=0.01)
    assert finding.details["duplicated_rows"] == int(table.duplicated().sum()) == 3
    assert finding.value == pytest.approx(3 / len(table))
    assert finding.verdict is Verdict.PASS
    assert run(ctx, "duplicate_rows", {}).verdict is Verdict.FAIL  # default max is 0


def test_mean_bounds_use_the_mean_of_non_null_values(
    ctx: CheckContext, table: pd.DataFrame
) -> None:
    mean_age = table["age"].mean()
    finding = run(
        ctx,
        "mean_bounds",
        {"columns": {"age": {"min": mean_age - 1, "max": mean_age + 1}, "income": {"max": 100}}},
    )
    assert finding.details["columns"]["age"]["mean"] == pytest.approx(mean_age)
    assert finding.details["columns"]["age"]["ok"] is True
    assert finding.details["columns"]["income"]["mean"] == pytest.approx(table["income"].mean())
    assert finding.details["offending"] == ["income"]
    assert finding.verdict is Verdict.FAIL


def test_quantile_bounds_match_numpy_linear_quantiles(
    ctx: CheckContext, table: pd.DataFrame
) -> None:
    income = table["income"].to_numpy()
    q05, q95 = np.quantile(income, [0.05, 0.95])
    finding = run(
        ctx,
        "quantile_bounds",
        {
            "columns": {
                "income": [{"q": 0.05, "min": q05 - 1}, {"q": 0.95, "max": q95 - 1}],
                "age": {"q": 0.5, "min": 0, "max": 100},
            }
        },
    )
    low, high = finding.details["columns"]["income"]
    assert low["value"] == pytest.approx(q05)
    assert low["ok"] is True
    assert high["value"] == pytest.approx(q95)
    assert high["ok"] is False
    assert finding.details["columns"]["age"][0]["value"] == pytest.approx(
        np.nanquantile(table["age"], 0.5)
    )
    assert finding.details["offending"] == ["income"]


def test_checks_on_missing_columns_fail_naming_them(ctx: CheckContext) -> None:
    for check, params in [
        ("value_range", {"columns": {"salary": {"min": 0}}}),
        ("allowed_categories", {"columns": {"gender": ["F"]}}),
        ("unique", {"columns": ["customer"]}),
        ("mean_bounds", {"columns": {"salary": {"max": 1}}}),
    ]:
        finding = run(ctx, check, params)
        assert finding.verdict is Verdict.FAIL
        assert finding.details["missing"], check


def test_bad_params_are_rejected_by_the_policy_loader() -> None:
    from charter.errors import PolicyError

    with pytest.raises(PolicyError, match="value_range"):
        policy_from_dict(
            {
                "model": {"name": "m"},
                "data": {"rules": [{"id": "r", "check": "value_range", "params": {"age": 1}}]},
            }
        )
    with pytest.raises(PolicyError, match="dtypes"):
        policy_from_dict(
            {
                "model": {"name": "m"},
                "data": {
                    "rules": [{"id": "r", "check": "dtypes", "params": {"columns": {"a": "text"}}}]
                },
            }
        )


def test_empty_frame_passes_row_checks_without_dividing_by_zero() -> None:
    policy = policy_from_dict({"model": {"name": "m"}})
    empty = to_frame(pl.DataFrame({"a": pl.Series([], dtype=pl.Float64)}))
    ctx = CheckContext(policy=policy, data=empty)
    assert run(ctx, "value_range", {"columns": {"a": {"min": 0}}}).value == 0.0
    assert run(ctx, "duplicate_rows", {}).value == 0.0
    assert isinstance(ctx.data, nw.DataFrame)
