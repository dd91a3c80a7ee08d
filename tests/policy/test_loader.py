from pathlib import Path

import pytest

from charter.errors import PolicyError
from charter.policy import load_policy

BASE = """
model:
  name: credit-risk
  risk_tier: high
fairness:
  rules:
    - id: dp
      check: required_columns
"""


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_unknown_key_names_file_path_and_suggestion(tmp_path: Path) -> None:
    path = write(tmp_path, "p.yaml", "model:\n  name: m\n  risk_teir: high\n")
    with pytest.raises(PolicyError) as info:
        load_policy(path)
    text = str(info.value)
    assert "p.yaml" in text and "model.risk_teir" in text and "did you mean 'risk_tier'" in text


def test_check_in_the_wrong_section_is_refused(tmp_path: Path) -> None:
    with pytest.raises(PolicyError, match=r"fairness.rules\[0\].check.*belongs in the 'data'"):
        load_policy(write(tmp_path, "p.yaml", BASE))


def test_extends_merges_rules_by_id(tmp_path: Path) -> None:
    write(
        tmp_path,
        "base.yaml",
        "model: {name: base, risk_tier: high}\n"
        "data:\n  rules:\n"
        "    - {id: cols, check: required_columns, params: {columns: [a]}}\n"
        "    - {id: rows, check: min_rows, min: 100}\n",
    )
    child = write(
        tmp_path,
        "child.yaml",
        "extends: base.yaml\nmodel: {name: child}\n"
        "data:\n  rules:\n"
        "    - {id: rows, check: min_rows, min: 1000}\n"
        "    - {id: cols, remove: true}\n",
    )
    policy = load_policy(child)
    assert policy.model.name == "child" and policy.model.risk_tier.value == "high"
    assert [r.id for _, r in policy.iter_rules()] == ["rows"]
    assert policy.rule("rows").min == 1000


def test_unknown_control_is_refused_with_suggestion(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "p.yaml",
        "model: {name: m}\ndata:\n  rules:\n"
        "    - {id: rows, check: min_rows, min: 1, controls: [eu-ai-act:art-10.3x]}\n",
    )
    with pytest.raises(PolicyError, match=r"unknown control id.*eu-ai-act:art-10\.3"):
        load_policy(path)


def test_environment_variables_are_expanded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MIN_ROWS", "250")
    path = write(
        tmp_path,
        "p.yaml",
        "model: {name: m}\ndata:\n  rules:\n"
        "    - id: rows\n      check: min_rows\n      min: ${MIN_ROWS}\n",
    )
    assert load_policy(path).rule("rows").min == 250


def test_webhook_and_command_keep_their_references_for_action_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from charter.policy.loader import expand_environment, read_policy_document

    secret = "https://hooks.slack.com/services/T0/B0/s3cr3t"
    monkeypatch.setenv("SLACK_WEBHOOK", secret)
    monkeypatch.setenv("MIN_ROWS", "250")
    monkeypatch.delenv("RETRAIN_TOKEN", raising=False)  # unset: not needed to load
    path = write(
        tmp_path,
        "p.yaml",
        "model: {name: m}\ndata:\n  rules:\n"
        "    - id: rows\n      check: min_rows\n      min: ${MIN_ROWS}\n"
        "monitoring:\n  webhook: ${SLACK_WEBHOOK}\n"
        "  command: retrain --token ${RETRAIN_TOKEN} --url ${SLACK_WEBHOOK}\n",
    )
    policy = load_policy(path)
    assert policy.rule("rows").min == 250  # other keys are still expanded at load
    assert policy.monitoring.webhook == "${SLACK_WEBHOOK}"
    assert policy.monitoring.command == "retrain --token ${RETRAIN_TOKEN} --url ${SLACK_WEBHOOK}"
    assert secret not in repr(read_policy_document(path))
    # the hash holds the reference: another secret, the same policy
    monkeypatch.setenv("SLACK_WEBHOOK", "https://hooks.slack.com/services/T1/B1/other")
    assert load_policy(path).sha256 == policy.sha256
    assert expand_environment(policy.monitoring.webhook, key_path="monitoring.webhook") == (
        "https://hooks.slack.com/services/T1/B1/other"
    )
    with pytest.raises(PolicyError, match="RETRAIN_TOKEN is not set") as info:
        expand_environment(policy.monitoring.command or "", key_path="monitoring.command")
    assert "monitoring.command" in info.value.message and "export RETRAIN_TOKEN" in (
        info.value.hint or ""
    )
