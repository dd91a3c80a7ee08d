from pathlib import Path

from tests.e2e.cli import run_charter


def test_validate_reports_a_valid_policy(tmp_path: Path) -> None:
    policy = tmp_path / "policy.yaml"
    policy.write_text(
        "model: {name: credit, risk_tier: high}\n"
        "data:\n  rules:\n    - {id: rows, check: min_rows, min: 100}\n"
    )
    result = run_charter("policy", "validate", str(policy))
    assert result.returncode == 0, result.stderr
    assert "valid" in result.stdout and "credit" in result.stdout and "1 rules" in result.stdout


def test_validate_refuses_an_unknown_key_with_exit_2_and_no_traceback(tmp_path: Path) -> None:
    policy = tmp_path / "policy.yaml"
    policy.write_text("model: {name: credit}\nfairnes:\n  rules: []\n")
    result = run_charter("policy", "validate", str(policy))
    assert result.returncode == 2
    assert "unknown key 'fairnes'" in result.stderr and "did you mean 'fairness'" in result.stderr
    assert "Traceback" not in result.stderr


def test_debug_shows_the_traceback(tmp_path: Path) -> None:
    result = run_charter("--debug", "policy", "validate", str(tmp_path / "missing.yaml"))
    assert result.returncode == 2
    assert "Traceback" in result.stderr and "policy file not found" in result.stderr


def test_broken_yaml_names_the_line(tmp_path: Path) -> None:
    policy = tmp_path / "policy.yaml"
    policy.write_text("model:\n  name: [unclosed\n")
    result = run_charter("policy", "validate", str(policy))
    assert result.returncode == 2
    assert "not valid YAML" in result.stderr and "line " in result.stderr


def test_controls_lists_the_catalogue() -> None:
    result = run_charter("controls", "--framework", "nist-ai-rmf")
    assert result.returncode == 0
    assert "measure-2.11" in result.stdout and "eu-ai-act" not in result.stdout


def test_unknown_command_is_a_usage_error() -> None:
    result = run_charter("chekc")
    assert result.returncode == 2
