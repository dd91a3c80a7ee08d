"""Items 6-12 of issue 11: messages that point at the knob a user can turn."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from registry_support import Team

from charter.artifacts import save_model
from charter.errors import DataError, GateFailedError, PolicyError
from charter.evidence import Evidence, Finding, Fingerprint, Verdict
from charter.gate import check
from charter.mitigate import mitigate
from charter.policy import load_policy
from charter.stats.counts import binary_labels
from tests.e2e.cli import run_charter
from tests.newcomer.conftest import POLICY


def _policy(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "policy.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_6_explainability_names_proxies_features_and_the_bound(pipeline, train_csv, tmp_path):
    text = POLICY.replace(
        "max_protected_share: 0.6", "max_protected_share: 0.1\n        proxies: [income]"
    )
    evidence = check(_policy(tmp_path, text), train_csv, model=pipeline)
    finding = next(f for f in evidence.findings if f.rule_id == "explanations")
    share = finding.details["shares"]["income"]
    assert "protected attributes and their proxies hold" in finding.message
    assert f"(income {share:.1%})" in finding.message
    assert finding.message.endswith("; must be <= 0.1")
    assert finding.value == pytest.approx(share)  # `sex` is no input of this pipeline


def test_7_label_hints_name_the_policy_key() -> None:
    with pytest.raises(DataError) as missing:
        binary_labels(np.array(["good", "bad", "good"]), pos_label=1, role="target")
    assert "data.positive_label" in (missing.value.hint or "")
    assert "'bad', 'good'" in (missing.value.hint or "")
    assert "pass pos_label" not in (missing.value.hint or "")
    with pytest.raises(DataError) as many:
        binary_labels(np.array([0, 1, 2, 3]), pos_label=1, role="target")
    assert "data.positive_label" in (many.value.hint or "")
    assert "pass pos_label" not in (many.value.hint or "")


def test_8_scores_given_as_predictions_point_at_scores(train_csv, tmp_path) -> None:
    frame = pd.read_csv(train_csv).assign(p=np.linspace(0.01, 0.99, 900))
    data = tmp_path / "scored.csv"
    frame.to_csv(data, index=False)
    text = POLICY[: POLICY.index("explainability:")]
    result = run_charter(
        "check", "-p", str(_policy(tmp_path, text)), "-d", str(data), "--predictions", "p",
        "-o", str(tmp_path / "out"),
    )  # fmt: skip
    assert result.returncode == 2
    out = " ".join((result.stdout + result.stderr).split())
    assert "they look like scores" in out
    assert "--scores" in out and "performance.threshold" in out
    assert "binarise" not in out


def test_9_a_model_name_typo_in_monitor_suggests_the_name(
    team: Team, pipeline, train_csv, tmp_path
):
    from charter.monitor.target import _reference

    model = save_model(pipeline, tmp_path / "pipe.skops")
    policy = _policy(tmp_path, POLICY.replace("name: newcomer", "name: credit-risk"))
    evidence = check(policy, train_csv, model=model)
    evidence.write(tmp_path / "gate" / "evidence.json")
    team.registry.register(
        "credit-risk", model=model, evidence=tmp_path / "gate", policy=policy, actor=team["eli"]
    )
    with pytest.raises(DataError) as caught:
        _reference(None, team.registry, None, "credit-rsk", load_policy(policy), team["otto"])
    assert (
        caught.value.message
        == "no model 'credit-rsk' in the registry (did you mean 'credit-risk'?)"
    )


def test_10_timestamp_not_found_lists_the_logs_columns(train_csv, tmp_path) -> None:
    result = run_charter(
        "monitor", "credit-risk", "--log", str(train_csv), "--reference", str(train_csv),
        "--policy", str(_policy(tmp_path, POLICY)), "--timestamp", "ts", "--no-actions",
        "-o", str(tmp_path / "mon"),
    )  # fmt: skip
    out = " ".join((result.stdout + result.stderr).split())
    assert result.returncode == 2, out
    assert "timestamp column 'ts' is not in the log" in out
    assert "the log's columns: income, debt, region, job, sex, y" in out


def test_10_check_without_a_policy_says_there_is_no_policy_yaml(train_csv, tmp_path) -> None:
    result = run_charter("check", "-d", str(train_csv), cwd=tmp_path)
    out = " ".join((result.stdout + result.stderr).split())
    assert result.returncode == 2
    assert "no --policy was given and there is no policy.yaml in" in out
    assert "check the path given to --policy" not in out


def test_10_a_comma_and_colon_in_a_flow_list_get_a_hint_to_quote(tmp_path) -> None:
    text = POLICY.replace(
        "  name: newcomer\n",
        "  name: newcomer\n  limitations: [Trained on data: 2019, approved only]\n",
    )
    with pytest.raises(PolicyError) as caught:
        load_policy(_policy(tmp_path, text))
    assert "YAML read {'Trained on data': 2019} as a mapping" in caught.value.message
    assert "quote the text at model.limitations[0]" in (caught.value.hint or "")


def test_10_threshold_optimizer_privacy_hint_does_not_say_drop_it(
    pipeline, train, train_csv, tmp_path
):
    model = mitigate(pipeline, train, target="y", sensitive=["sex"], method="threshold_optimizer")
    text = POLICY.replace(
        "fairness:",
        "  rules:\n    - id: no-protected\n"
        "      check: protected_attributes_not_features\nfairness:",
        1,
    )
    evidence = check(_policy(tmp_path, text), train_csv, model=model)
    finding = next(f for f in evidence.findings if f.rule_id == "no-protected")
    assert finding.verdict is Verdict.FAIL
    assert (
        "threshold_optimizer, which decides with the sensitive attribute by design"
        in finding.message
    )
    assert "retrain without them" not in finding.message


def test_10_one_rule_is_not_one_rules() -> None:
    finding = Finding(
        rule_id="a", check="min_rows", section="data", verdict=Verdict.PASS, message="ok"
    )
    evidence = Evidence(
        model_name="m", policy=Fingerprint(kind="policy", sha256="0" * 64), findings=(finding,)
    )
    assert evidence.summary_line().startswith("1 rule: passed 1,")


def test_11_the_promotion_refusal_lists_its_problems(team: Team, pipeline, train_csv, tmp_path):
    text = POLICY.replace("      max: 0.5\n", "      max: 0.01\n", 1).replace(
        "max_protected_share: 0.6", "max_protected_share: 0.0001"
    )
    policy = _policy(tmp_path, text)
    model = save_model(pipeline, tmp_path / "pipe.skops")
    check(policy, train_csv, model=model).write(tmp_path / "gate" / "evidence.json")
    team.registry.register(
        "newcomer", model=model, evidence=tmp_path / "gate", policy=policy, actor=team["eli"]
    )
    with pytest.raises(GateFailedError) as caught:
        team.registry.request_promotion("newcomer", 1, "staging", actor=team["eli"])
    lines = caught.value.message.splitlines()
    assert lines[0] == "promotion of newcomer:1 to staging refused (1 problem):"
    assert lines[1].startswith("  - rule 'parity' (fairness) failed-blocking: ")


def test_12_nanosecond_timestamps_do_not_leak_a_pandas_warning() -> None:
    from charter.monitor.lazy import _as_datetime

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        moment = _as_datetime(pd.Timestamp("2024-03-01 00:00:00.000000123", tz="UTC"))
    assert moment.isoformat() == "2024-03-01T00:00:00+00:00"
