from __future__ import annotations

import ipaddress
from typing import Any

import duckdb
import numpy as np
import pandas as pd
import polars as pl
import pytest
from lightgbm import LGBMClassifier
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from charter.checks import CheckContext, get_check
from charter.checks.pii import PiiKind, luhn_valid, match_patterns, name_kind
from charter.errors import CheckError
from charter.evidence import Finding, Verdict
from charter.policy import policy_from_dict
from charter.policy.schema import Rule
from charter.stats.frames import to_frame

# -- Luhn ----------------------------------------------------------------------------------------
VALID_CARDS = [
    "4111111111111111",  # Visa test number
    "4012888888881881",  # Visa
    "5555555555554444",  # Mastercard
    "2223003122003222",  # Mastercard 2-series
    "378282246310005",  # American Express
    "6011111111111117",  # Discover
    "3530111333300000",  # JCB
    "30569309025904",  # Diners Club
    "79927398713",  # the textbook example
]


def _luhn_check_digit(body: str) -> int:
    total = 0
    for i, ch in enumerate(reversed(body)):
        d = int(ch)
        if i % 2 == 0:
            d = d * 2 - 9 if d * 2 > 9 else d * 2
        total += d
    return (10 - total % 10) % 10


def test_luhn_accepts_known_valid_numbers() -> None:
    assert luhn_valid(VALID_CARDS).all()


def test_luhn_rejects_each_valid_number_with_a_wrong_check_digit() -> None:
    wrong = [n[:-1] + str((int(n[-1]) + k) % 10) for n in VALID_CARDS for k in range(1, 10)]
    assert not luhn_valid(wrong).any()


def test_luhn_rejects_transposed_digits_and_malformed_values() -> None:
    assert not luhn_valid(["4111111111111121", "4111 1111 1111 1111", "", "abc", "1" * 20]).any()
    assert luhn_valid(pd.Series(["4111111111111111", None]).tolist()).tolist() == [True, False]


def test_luhn_agrees_with_a_digit_by_digit_reference_on_random_numbers() -> None:
    rng = np.random.default_rng(3)
    bodies = ["".join(map(str, rng.integers(0, 10, rng.integers(5, 18)))) for _ in range(300)]
    valid = [b + str(_luhn_check_digit(b)) for b in bodies]
    invalid = [b + str((_luhn_check_digit(b) + 1 + i % 9) % 10) for i, b in enumerate(bodies)]
    assert luhn_valid(valid).all()
    assert not luhn_valid(invalid).any()


# -- value patterns ------------------------------------------------------------------------------
def test_ip_patterns_agree_with_the_ipaddress_module() -> None:
    candidates = [
        "192.168.0.1", "10.0.0.255", "255.255.255.255", "0.0.0.0", "256.1.1.1", "1.2.3",
        "01.2.3.4", "1.2.3.4.5", "2001:db8::1", "::1", "::", "fe80::1ff:fe23:4567:890a",
        "2001:0db8:85a3:0000:0000:8a2e:0370:7334", "2001:db8:::1", "12345::1", "1::2::3",
        "gggg::1", "1:2:3:4:5:6:7:8", "1:2:3:4:5:6:7:8:9", "hello", "1.2.3.4 ",
    ]  # fmt: skip
    masks = match_patterns(candidates, ["ipv4", "ipv6"])
    for i, value in enumerate(candidates):
        try:
            version = ipaddress.ip_address(value.strip()).version
        except ValueError:
            version = None
        assert masks["ipv4"][i] == (version == 4), value
        assert masks["ipv6"][i] == (version == 6), value


def _dni(number: int) -> str:
    return f"{number:08d}" + "TRWAGMYFPDXBNJZSQVHLCKE"[number % 23]


def _nir(body: str) -> str:
    n = int(body.replace("2A", "19").replace("2B", "18"))
    return body + f"{97 - n % 97:02d}"


@pytest.mark.parametrize(
    ("value", "pattern"),
    [
        ("jane.doe+tag@example.co.uk", "email"),
        ("078-05-1120", "us_ssn"),
        ("219 09 9999", "us_ssn"),
        ("AB 12 34 56 C", "uk_nino"),
        (_dni(12345678), "es_dni"),
        ("X1234567L", "es_dni"),
        (_nir("1841276451089"), "fr_nir"),
        (_nir("2690520004001"), "fr_nir"),
        (_nir("26905" + "2A" + "004001"), "fr_nir"),
        ("4111 1111 1111 1111", "credit_card"),
        ("3782-822463-10005", "credit_card"),
        ("+33 6 12 34 56 78", "phone"),
        ("(555) 123-4567", "phone"),
        ("0044 20 7946 0958", "phone"),
        ("07700900123", "phone"),
    ],
)
def test_value_patterns_recognise_personal_data(value: str, pattern: str) -> None:
    masks = match_patterns([value])
    assert [p for p, m in masks.items() if m[0]] == [pattern]


@pytest.mark.parametrize(
    "value",
    [
        "666-12-3456",  # SSN area never issued
        "123-00-4567",  # SSN group 00
        "QQ 12 34 56 C",  # NINO prefix letter Q not used
        "GB 12 34 56 A",  # NINO prefix not allocated
        "12345678A",  # DNI with a wrong check letter
        "1841276451088",  # NIR body with a wrong key
        "4111 1111 1111 1112",  # card failing Luhn
        "1234 5678 9012 3452",  # passes Luhn, but no card network starts with 1
        "2020-01-02",
        "3.14159",
        "12345",
        "not@an",
        "hello world",
        "",
    ],
)
def test_value_patterns_reject_lookalikes(value: str) -> None:
    masks = match_patterns([value])
    assert not any(m[0] for m in masks.values()), {p: bool(m[0]) for p, m in masks.items()}


@pytest.mark.parametrize(
    ("column", "kind"),
    [
        ("email", PiiKind.EMAIL),
        ("customerEmail", PiiKind.EMAIL),
        ("email_address", PiiKind.EMAIL),
        ("PhoneNumber", PiiKind.PHONE),
        ("ssn", PiiKind.NATIONAL_ID),
        ("passport_no", PiiKind.NATIONAL_ID),
        ("cc_number", PiiKind.CREDIT_CARD),
        ("IBAN", PiiKind.BANK_ACCOUNT),
        ("client_ip", PiiKind.IP_ADDRESS),
        ("first_name", PiiKind.NAME),
        ("Surname", PiiKind.NAME),
        ("home_address", PiiKind.ADDRESS),
        ("zip_code", PiiKind.ADDRESS),
        ("DateOfBirth", PiiKind.DATE_OF_BIRTH),
        ("dob", PiiKind.DATE_OF_BIRTH),
        ("model_name", None),
        ("income", None),
        ("shipping_method", None),
        ("tipping_point", None),
    ],
)
def test_column_names_reveal_pii_kinds(column: str, kind: PiiKind | None) -> None:
    assert name_kind(column) == kind


# -- pii_scan ------------------------------------------------------------------------------------
N = 400


@pytest.fixture(scope="module")
def people() -> pd.DataFrame:
    rng = np.random.default_rng(5)
    cards = np.array([VALID_CARDS[i % 8] for i in range(N)], dtype=object)
    cards[::4] = "4111111111111112"  # a quarter fail Luhn
    notes = np.array(["called back", "ok", "late payment"] * (N // 3 + 1), dtype=object)[:N]
    notes[:8] = "jane@example.org"
    return pd.DataFrame(
        {
            "contact": [f"user{i}@example.com" for i in range(N)],
            "ref": [f"{rng.integers(1, 665):03d}-{rng.integers(1, 99):02d}-1234" for _ in range(N)],
            "payment": cards,
            "notes": notes,
            "first_name": rng.choice(["Ann", "Bob"], N),
            "income": rng.normal(3000, 500, N),
            "email_verified": rng.random(N) < 0.5,
        }
    )


def _run(ctx: CheckContext, check: str, params: dict[str, Any], **bounds: Any) -> Finding:
    rule = Rule(id=f"r-{check}", check=check, params=params, **bounds)
    spec = get_check(check, section="privacy")
    result = spec.func(ctx, rule, spec.parse_params(rule.params))
    assert isinstance(result, Finding)
    result.model_dump_json()
    return result


@pytest.mark.parametrize("backend", ["pandas", "polars", "duckdb"])
def test_pii_scan_reports_column_kind_and_share(people: pd.DataFrame, backend: str) -> None:
    native: Any = {
        "pandas": people,
        "polars": pl.from_pandas(people),
        "duckdb": duckdb.from_arrow(pl.from_pandas(people).to_arrow()),
    }[backend]
    ctx = CheckContext(policy=policy_from_dict({"model": {"name": "m"}}), data=to_frame(native))
    finding = _run(ctx, "pii_scan", {"allow": ["notes"]}, max=0.05)
    columns = finding.details["columns"]
    assert columns["contact"]["kinds"] == {"email": 1.0}
    assert columns["contact"]["by_name"] is None
    assert columns["ref"]["kinds"] == {"national_id": 1.0}
    assert columns["ref"]["patterns"] == {"us_ssn": 1.0}
    assert columns["payment"]["kinds"]["credit_card"] == pytest.approx(0.75)
    assert columns["first_name"]["by_name"] == "name"
    assert columns["notes"]["kinds"] == {"email": pytest.approx(8 / N)}
    assert columns["notes"]["allowed"] is True
    assert "email_verified" not in columns  # boolean flags are not personal data
    assert "income" not in columns
    assert finding.details["offending"] == ["contact", "ref", "payment", "first_name"]
    assert finding.value == 1.0
    assert finding.verdict is Verdict.FAIL
    assert "eu-ai-act:art-10.5" in finding.controls


def test_pii_scan_share_bound_admits_rare_matches(people: pd.DataFrame) -> None:
    ctx = CheckContext(policy=policy_from_dict({"model": {"name": "m"}}), data=to_frame(people))
    tolerant = _run(ctx, "pii_scan", {"columns": ["notes", "income"]}, max=0.05)
    assert tolerant.verdict is Verdict.PASS
    assert tolerant.value == pytest.approx(8 / N)
    strict = _run(ctx, "pii_scan", {"columns": ["notes", "income"]})
    assert strict.verdict is Verdict.FAIL


def test_pii_scan_samples_large_frames(people: pd.DataFrame) -> None:
    ctx = CheckContext(policy=policy_from_dict({"model": {"name": "m"}}), data=to_frame(people))
    finding = _run(ctx, "pii_scan", {"columns": ["payment"], "sample_size": 100, "seed": 1})
    assert finding.details["sample_rows"] == 100
    assert finding.details["sampling"] == "random"
    assert 0.5 < finding.details["columns"]["payment"]["kinds"]["credit_card"] < 0.95


# -- protected attributes ------------------------------------------------------------------------
@pytest.fixture(scope="module")
def applicants() -> pd.DataFrame:
    rng = np.random.default_rng(9)
    n = 300
    frame = pd.DataFrame(
        {
            "age": rng.normal(40, 10, n),
            "income": rng.normal(3, 1, n),
            "sex": rng.choice(["F", "M"], n),
            "region": rng.choice(["n", "s"], n),
        }
    )
    frame["label"] = (frame["income"] + (frame["sex"] == "M") + rng.normal(0, 1, n) > 3.5).astype(
        int
    )
    return frame


def _ctx(model: Any, data: pd.DataFrame, **privacy: Any) -> CheckContext:
    policy = policy_from_dict(
        {"model": {"name": "m"}, "data": {"target": "label"}, "privacy": privacy}
    )
    return CheckContext(policy=policy, data=to_frame(data), model=model)


def test_protected_attribute_fed_by_remainder_passthrough_fails(applicants: pd.DataFrame) -> None:
    pre = ColumnTransformer(
        [("cat", OneHotEncoder(), ["region"]), ("num", StandardScaler(), ["income"])],
        remainder="passthrough",
    )
    x = applicants[["age", "income", "region"]].assign(sex=(applicants["sex"] == "M").astype(int))
    model = Pipeline([("pre", pre), ("lr", LogisticRegression())]).fit(x, applicants["label"])
    ctx = _ctx(model, applicants, protected_attributes=["sex"])
    finding = _run(ctx, "protected_attributes_not_features", {})
    assert finding.verdict is Verdict.FAIL
    assert finding.details["offending"] == {"sex": "remainder='passthrough'"}
    assert "remainder='drop'" in finding.details["hint"]
    assert "oecd:1.2" in finding.controls


def test_protected_attribute_dropped_by_the_column_transformer_passes(
    applicants: pd.DataFrame,
) -> None:
    pre = ColumnTransformer(
        [
            ("cat", OneHotEncoder(), ["region"]),
            ("num", StandardScaler(), ["age", "income"]),
            ("gone", "drop", ["sex"]),
        ]
    )
    x = applicants[["age", "income", "region", "sex"]]
    model = Pipeline([("pre", pre), ("lr", LogisticRegression())]).fit(x, applicants["label"])
    ctx = _ctx(model, applicants, protected_attributes=["sex"])
    finding = _run(ctx, "protected_attributes_not_features", {})
    assert finding.verdict is Verdict.PASS
    assert finding.details["model_inputs"] == ["age", "income", "region"]
    encoded = _ctx(model, applicants, protected_attributes=["sex"])
    one_hot = _run(encoded, "protected_attributes_not_features", {"attributes": ["Region"]})
    assert one_hot.details["offending"] == {"region": "ColumnTransformer 'cat' (OneHotEncoder)"}


def test_protected_attribute_in_lightgbm_features_fails(applicants: pd.DataFrame) -> None:
    x = applicants[["age", "income"]].assign(sex=(applicants["sex"] == "M").astype(int))
    model = LGBMClassifier(n_estimators=5, verbose=-1).fit(x, applicants["label"])
    finding = _run(
        _ctx(model, applicants), "protected_attributes_not_features", {"attributes": ["sex"]}
    )
    assert finding.details["offending"] == {"sex": "model input"}
    assert finding.verdict is Verdict.FAIL


def test_without_a_model_the_features_are_judged(applicants: pd.DataFrame) -> None:
    ctx = _ctx(None, applicants, protected_attributes=["sex"])
    finding = _run(ctx, "protected_attributes_not_features", {})
    assert finding.details["offending"] == {"sex": "feature"}
    assert finding.details["inputs_from"] == "the data's non-label columns"


def test_no_protected_attributes_is_a_configuration_error(applicants: pd.DataFrame) -> None:
    with pytest.raises(CheckError, match="no protected attributes") as err:
        _run(_ctx(None, applicants), "protected_attributes_not_features", {})
    assert err.value.hint and "protected_attributes" in err.value.hint
