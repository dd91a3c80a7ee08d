"""Bad input through the CLI: exit code 2, a message saying what to do, nothing stored changed."""

from __future__ import annotations

from pathlib import Path

import pytest
from registry_support import MODEL_NAME, Team, make_candidate, register, snapshot, write_evidence

from charter.checks.registry import NoParams, check
from charter.cli.app import main


@pytest.fixture
def cli(team: Team, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]):
    """Run ``charter ...`` in-process as a user of the team; returns (code, stdout, stderr)."""

    def run(user: str | None, *args: str) -> tuple[int, str, str]:
        for key, value in team.env(user or "ada").items():
            if key.startswith("CHARTER_"):
                monkeypatch.setenv(key, value)
        if user is None:
            monkeypatch.delenv("CHARTER_TOKEN")
        monkeypatch.setenv("COLUMNS", "250")
        capsys.readouterr()
        code = main(list(args))
        out, err = capsys.readouterr()
        return code, out, " ".join(err.split())

    return run


def test_unknown_model_or_version_exits_2_and_changes_nothing(
    team: Team, tmp_path: Path, cli
) -> None:
    register(team, make_candidate(tmp_path))
    before = snapshot(team)
    code, _, err = cli("eli", "show", "credit-rsik:1")
    assert (
        code == 2 and "no model named 'credit-rsik'" in err and "did you mean 'credit-risk'" in err
    )
    code, _, err = cli("eli", "promote", f"{MODEL_NAME}:7", "--to", "production")
    assert code == 2 and "has no version 7" in err and "versions: 1" in err
    code, _, err = cli("ann", "approve", "42")
    assert code == 2 and "no promotion request 42" in err
    assert snapshot(team) == before


def test_a_wrong_or_missing_token_exits_2_and_changes_nothing_but_the_trail(
    team: Team, tmp_path: Path, cli
) -> None:
    candidate = make_candidate(tmp_path)
    before = snapshot(team)
    code, _, err = cli("eli", "whoami")
    assert code == 0
    team.tokens["eli"] = "charter_not-a-real-token"
    code, _, err = cli(
        "eli",
        "register",
        MODEL_NAME,
        "--model",
        str(candidate.model),
        "--evidence",
        str(candidate.evidence),
    )
    assert code == 2 and "token is not known" in err and "CHARTER_TOKEN" in err
    code, _, err = cli(None, "models")
    assert code == 2 and "no token given" in err
    after = snapshot(team)
    # the one change: the failed authentication is audited (rate-limited, issue 8 path 7)
    added = sorted(set(after["charter_audit_entries"]) - set(before["charter_audit_entries"]))
    assert len(added) == 1 and '"action":"auth.failed"' in added[0]
    unchanged = ("charter_audit_entries", "charter_audit_head", "charter_meta")
    assert {k: v for k, v in after.items() if k not in unchanged} == {
        k: v for k, v in before.items() if k not in unchanged
    }


def test_revoked_and_expired_tokens_and_disabled_users_are_refused(
    team: Team, tmp_path: Path, cli
) -> None:
    from sqlalchemy import text

    from charter.errors import AuthenticationError

    issued = team.registry.create_token(actor=team["eli"], label="ci")
    assert team.registry.authenticate(issued.token).username == "eli"
    team.registry.revoke_token(issued.id, actor=team["eli"])
    with pytest.raises(AuthenticationError, match="revoked"):
        team.registry.authenticate(issued.token)
    expiring = team.registry.create_token(actor=team["ada"], username="dora", expires_days=1)
    with team.registry.engine.begin() as connection:
        connection.execute(
            text(
                "UPDATE charter_tokens SET expires_at = '2001-01-01T00:00:00+00:00' WHERE id = :i"
            ),
            {"i": expiring.id},
        )
    with pytest.raises(AuthenticationError, match="expired"):
        team.registry.authenticate(expiring.token)
    team.registry.disable_user("otto", actor=team["ada"])
    code, _, err = cli("otto", "audit", "verify")
    assert code == 2 and "otto is disabled" in err


def test_tokens_are_stored_hashed_and_shown_once(team: Team, cli) -> None:
    import hashlib

    from sqlalchemy import text

    code, out, err = cli("ada", "token", "create", "--user", "ann", "--label", "laptop")
    assert code == 0
    token = out.strip()
    assert token.startswith("charter_") and "token" in err
    with team.registry.engine.connect() as connection:
        rows = connection.execute(text("SELECT token_sha256, prefix FROM charter_tokens")).all()
        dump = " ".join(
            str(v) for v in connection.execute(text("SELECT * FROM charter_tokens")).all()
        )
    assert hashlib.sha256(token.encode()).hexdigest() in {r[0] for r in rows}
    assert token not in dump
    assert team.registry.authenticate(token).username == "ann"


def test_a_corrupt_artifact_exits_2_and_stores_nothing(team: Team, tmp_path: Path, cli) -> None:
    candidate = make_candidate(tmp_path)
    candidate.model.write_bytes(b"PK\x03\x04 this is not a skops file")
    # evidence of the corrupt file itself: a model registers only with evidence fingerprinting it
    write_evidence(candidate.evidence, policy_path=candidate.policy, model_path=candidate.model)
    before = snapshot(team)
    code, _, err = cli(
        "eli",
        "register",
        MODEL_NAME,
        "--model",
        str(candidate.model),
        "--evidence",
        str(candidate.evidence),
        "--policy",
        str(candidate.policy),
    )
    assert code == 2 and "cannot load the model" in err and "hint" in err
    assert snapshot(team) == before


def test_evidence_for_another_model_file_exits_2(team: Team, tmp_path: Path, cli) -> None:
    candidate = make_candidate(tmp_path)
    other = make_candidate(tmp_path / "other", seed=3)
    before = snapshot(team)
    code, _, err = cli(
        "eli",
        "register",
        MODEL_NAME,
        "--model",
        str(other.model),
        "--evidence",
        str(candidate.evidence),
    )
    assert code == 2 and "different model artifact" in err
    code, _, err = cli(
        "eli",
        "register",
        "another-name",
        "--model",
        str(candidate.model),
        "--evidence",
        str(candidate.evidence),
    )
    assert code == 2 and "evidence is for model 'credit-risk'" in err
    code, _, err = cli(
        "eli",
        "register",
        MODEL_NAME,
        "--model",
        str(candidate.model),
        "--evidence",
        str(tmp_path / "nowhere"),
    )
    assert code == 2 and "no evidence at" in err and "charter check" in err
    code, _, err = cli(
        "eli",
        "register",
        MODEL_NAME,
        "--model",
        str(candidate.model),
        "--evidence",
        str(candidate.evidence),
        "--param",
        "oops",
    )
    assert code == 2 and "KEY=VALUE" in err
    assert snapshot(team) == before


def test_evidence_under_another_policy_exits_2(team: Team, tmp_path: Path, cli) -> None:
    candidate = make_candidate(tmp_path)
    stricter = make_candidate(tmp_path / "strict", tier="minimal")
    before = snapshot(team)
    code, _, err = cli(
        "eli",
        "register",
        MODEL_NAME,
        "--model",
        str(candidate.model),
        "--evidence",
        str(candidate.evidence),
        "--policy",
        str(stricter.policy),
    )
    assert code == 2 and "different policy" in err
    assert snapshot(team) == before


def test_a_tampered_artifact_in_the_store_exits_2(team: Team, tmp_path: Path, cli) -> None:
    version = register(team, make_candidate(tmp_path))
    stored = next(team.store.rglob(version.artifact_sha256))
    stored.write_bytes(stored.read_bytes() + b"x")
    before = snapshot(team)
    code, _, err = cli("eli", "download", f"{MODEL_NAME}:1", "--out", str(tmp_path / "m.skops"))
    assert code == 2 and "tampered" in err
    assert not (tmp_path / "m.skops").exists()
    assert snapshot(team) == before


@check("acme_calibration", section="data", params=NoParams, description="a plugin check")
def _acme(ctx, rule, params):  # pragma: no cover - never run
    raise AssertionError


def test_a_stored_policy_that_no_longer_validates_exits_2(
    team: Team, tmp_path: Path, cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    from charter.checks import registry as checks

    extra = [{"id": "calibrated", "check": "acme_calibration"}]
    candidate = make_candidate(tmp_path, tier="minimal", extra_rules=extra)
    from charter.evidence import Finding, Verdict

    write_evidence(
        candidate.evidence,
        policy_path=candidate.policy,
        model_path=candidate.model,
        extra_findings=[
            Finding(
                rule_id="calibrated",
                check="acme_calibration",
                section="data",
                verdict=Verdict.PASS,
                message="ok",
            )
        ],
    )
    register(team, candidate)
    monkeypatch.delitem(checks._REGISTRY, "acme_calibration")  # the plugin was uninstalled
    before = snapshot(team)
    code, _, err = cli("eli", "promote", f"{MODEL_NAME}:1", "--to", "production")
    assert code == 2
    assert "no longer validates" in err and "acme_calibration" in err and "hint" in err
    assert snapshot(team) == before


def test_other_refusals_exit_2_with_a_hint(team: Team, tmp_path: Path, cli) -> None:
    register(team, make_candidate(tmp_path))
    code, _, err = cli("eli", "promote", f"{MODEL_NAME}:1", "--to", "archived")
    assert code == 2 and "charter archive" in err
    code, _, err = cli("ada", "user", "add", "zed", "--role", "aprover")
    assert code == 2 and "did you mean 'approver'" in err
    code, _, err = cli("ada", "init")
    assert code == 2 and "already exists" in err
    code, _, err = cli("ada", "register", MODEL_NAME, "--evidence", "x")
    assert code == 2 and "--model" in err


def test_a_denied_action_exits_2_naming_the_role_and_is_the_only_change(
    team: Team, tmp_path: Path, cli
) -> None:
    register(team, make_candidate(tmp_path))
    request = team.registry.request_promotion(MODEL_NAME, 1, "production", actor=team["eli"])
    before = snapshot(team)
    code, _, err = cli("otto", "approve", str(request.id))
    assert code == 2 and "needs the role approver" in err
    after = snapshot(team)
    changed = {t for t in after if after[t] != before[t]}
    assert changed == {"charter_audit_entries", "charter_audit_head"}
    assert len(after["charter_audit_entries"]) == len(before["charter_audit_entries"]) + 1


def test_no_registry_here_exits_2_with_how_to_create_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("CHARTER_DATABASE_URL", raising=False)
    monkeypatch.setenv("CHARTER_HOME", str(tmp_path / "nothing"))
    monkeypatch.setenv("CHARTER_TOKEN", "charter_x")
    assert main(["models"]) == 2
    assert "charter init" in capsys.readouterr().err
    assert not (tmp_path / "nothing").exists()
