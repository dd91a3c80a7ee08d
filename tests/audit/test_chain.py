"""The audit trail: tampering with rows directly in the database is caught and classified."""

from __future__ import annotations

import csv
import hashlib
import io
import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from registry_support import Team, make_candidate, make_team, register
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from charter.audit import BreakKind
from charter.audit.chain import entry_body
from charter.errors import CharterError, ConfigurationError
from charter.evidence import canonical_json


@contextmanager
def tampering(team: Team, *, drop_unique: bool = False) -> Iterator[object]:
    """A connection with the append-only guard removed, as an attacker with DB rights would.

    ``drop_unique`` also drops the index that lets no two entries share a predecessor.
    """
    team.schema_changed = True
    engine = team.registry.engine
    with engine.begin() as connection:
        if drop_unique:
            connection.exec_driver_sql("DROP INDEX uq_charter_audit_entries_prev_hash")
        if engine.dialect.name == "sqlite":
            connection.exec_driver_sql("DROP TRIGGER charter_audit_no_update")
            connection.exec_driver_sql("DROP TRIGGER charter_audit_no_delete")
        else:
            connection.exec_driver_sql(
                "ALTER TABLE charter_audit_entries DISABLE TRIGGER charter_audit_append_only"
            )
        yield connection


#: Entries of the standard team's registry: init, then user.add and token.create per user.
HEAD = 24  # 1 + 2 per user of the 11, + key.trust of the test CI's signing key


def _row(connection: object, seq: int) -> tuple[str, str]:
    row = connection.execute(  # type: ignore[attr-defined]
        text("SELECT body, hash FROM charter_audit_entries WHERE seq = :s"), {"s": seq}
    ).one()
    return str(row[0]), str(row[1])


def _set_body(connection: object, seq: int, body: str, digest: str | None = None) -> None:
    connection.execute(  # type: ignore[attr-defined]
        text(
            "UPDATE charter_audit_entries SET body = :b, hash = COALESCE(:h, hash) WHERE seq = :s"
        ),
        {"b": body, "h": digest, "s": seq},
    )


def _with(body: str, **changes: object) -> str:
    data = json.loads(body)
    data.update(changes)
    return canonical_json(data).decode()


def test_an_untouched_trail_verifies(team: Team) -> None:
    report = team.registry.verify_audit(actor=team["otto"])
    assert report.ok
    assert report.checked == report.head_seq == HEAD
    assert report.first_broken is None


def test_an_altered_entry_is_caught_as_altered(team: Team) -> None:
    with tampering(team) as connection:
        body, _ = _row(connection, 5)
        assert '"actor":"ada"' in body
        _set_body(connection, 5, body.replace('"actor":"ada"', '"actor":"mallory"'))
    report = team.registry.verify_audit(actor=team["otto"])
    assert (report.ok, report.kind, report.first_broken, report.checked) == (
        False,
        BreakKind.ALTERED,
        5,
        4,
    )
    # the filtered log reads the altered body: the generated column followed it
    assert [e.seq for e in team.registry.audit_log(actor=team["otto"], user="mallory")] == [5]


def test_an_altered_entry_with_a_recomputed_hash_is_caught_at_its_successor(team: Team) -> None:
    with tampering(team) as connection:
        body, _ = _row(connection, 5)
        forged = _with(body, actor="mallory")
        _set_body(connection, 5, forged, hashlib.sha256(forged.encode()).hexdigest())
    report = team.registry.verify_audit(actor=team["otto"])
    assert (report.kind, report.first_broken) == (BreakKind.ALTERED, 5)


def test_a_deleted_entry_is_caught_as_deleted(team: Team) -> None:
    with tampering(team) as connection:
        connection.execute(text("DELETE FROM charter_audit_entries WHERE seq = 7"))  # type: ignore[attr-defined]
    report = team.registry.verify_audit(actor=team["otto"])
    assert (report.kind, report.first_broken, report.checked) == (BreakKind.DELETED, 7, 6)


def test_deleting_the_newest_entries_is_caught_against_the_head(team: Team) -> None:
    with tampering(team) as connection:
        connection.execute(text("DELETE FROM charter_audit_entries WHERE seq >= 18"))  # type: ignore[attr-defined]
    report = team.registry.verify_audit(actor=team["otto"])
    assert (report.kind, report.first_broken) == (BreakKind.DELETED, 18)
    assert f"18..{HEAD}" in report.detail


def test_an_entry_inserted_in_the_middle_is_caught_as_inserted(team: Team) -> None:
    with tampering(team, drop_unique=True) as connection:
        for seq in range(HEAD, 5, -1):  # make room at 6: renumber 6.. upwards, newest first
            body, _ = _row(connection, seq)
            _set_body(connection, seq, _with(body, seq=seq + 1))
        _, previous_hash = _row(connection, 5)
        forged = entry_body(
            seq=6,
            at="2020-01-01T00:00:00.000000Z",
            actor="mallory",
            action="promotion.approved",
            subject="model:x/1",
            model="x",
            details={},
            alg="sha256",
            prev_hash=previous_hash,
        )
        connection.execute(  # type: ignore[attr-defined]
            text("INSERT INTO charter_audit_entries (body, hash) VALUES (:b, :h)"),
            {"b": forged, "h": hashlib.sha256(forged.encode()).hexdigest()},
        )
    report = team.registry.verify_audit(actor=team["otto"])
    assert (report.kind, report.first_broken) == (BreakKind.INSERTED, 6)


def test_an_entry_appended_outside_charter_is_caught_against_the_head(team: Team) -> None:
    with tampering(team) as connection:
        _, head_hash = _row(connection, HEAD)
        forged = entry_body(
            seq=HEAD + 1,
            at="2030-01-01T00:00:00.000000Z",
            actor="mallory",
            action="user.add",
            subject="user:mallory",
            model=None,
            details={"roles": ["admin"]},
            alg="sha256",
            prev_hash=head_hash,
        )
        connection.execute(  # type: ignore[attr-defined]
            text("INSERT INTO charter_audit_entries (body, hash) VALUES (:b, :h)"),
            {"b": forged, "h": hashlib.sha256(forged.encode()).hexdigest()},
        )
    report = team.registry.verify_audit(actor=team["otto"])
    assert (report.kind, report.first_broken) == (BreakKind.INSERTED, HEAD + 1)


def test_swapped_entries_are_caught_as_reordered(team: Team) -> None:
    with tampering(team) as connection:
        five, _ = _row(connection, 5)
        six, _ = _row(connection, 6)
        _set_body(connection, 5, _with(five, seq=-5))
        _set_body(connection, 6, _with(six, seq=5))
        _set_body(connection, -5, _with(five, seq=6))
    report = team.registry.verify_audit(actor=team["otto"])
    assert (report.kind, report.first_broken) == (BreakKind.REORDERED, 5)


def test_the_database_refuses_a_fork_of_the_chain(team: Team) -> None:
    with tampering(team) as connection:
        _, previous_hash = _row(connection, 5)
    forged = entry_body(
        seq=99,
        at="2020-01-01T00:00:00.000000Z",
        actor="mallory",
        action="user.add",
        subject="user:m",
        model=None,
        details={},
        alg="sha256",
        prev_hash=previous_hash,
    )
    with pytest.raises(DBAPIError, match=r"(?i)unique"), team.registry.engine.begin() as c:
        c.execute(
            text("INSERT INTO charter_audit_entries (body, hash) VALUES (:b, 'h')"), {"b": forged}
        )


def test_the_database_refuses_update_and_delete_of_audit_rows(team: Team) -> None:
    for statement in (
        "UPDATE charter_audit_entries SET hash = 'x' WHERE seq = 1",
        "DELETE FROM charter_audit_entries WHERE seq = 1",
    ):
        with pytest.raises(DBAPIError, match="append-only"), team.registry.engine.begin() as c:
            c.execute(text(statement))
    assert team.registry.verify_audit(actor=team["otto"]).ok


def test_the_cli_reports_a_broken_trail_with_exit_code_1(
    team: Team, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from charter.cli.app import main

    for key, value in team.env("otto").items():
        if key.startswith("CHARTER_"):
            monkeypatch.setenv(key, value)
    assert main(["audit", "verify"]) == 0
    with tampering(team) as connection:
        connection.execute(text("DELETE FROM charter_audit_entries WHERE seq = 3"))  # type: ignore[attr-defined]
    assert main(["audit", "verify"]) == 1
    err = capsys.readouterr().err
    assert "broken at entry 3 (deleted)" in err


def test_a_keyed_trail_needs_its_key_and_catches_forgeries(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CHARTER_AUDIT_KEY", "s3cret")
    team = make_team(database_url, tmp_path / "artifacts")
    assert team.registry.audit_alg == "hmac-sha256"
    assert team.registry.verify_audit(actor=team["otto"]).ok
    # an attacker without the key forges an entry and moves the head over it
    with tampering(team) as connection:
        _, head_hash = _row(connection, HEAD)
        forged = entry_body(
            seq=HEAD + 1,
            at="2030-01-01T00:00:00.000000Z",
            actor="mallory",
            action="user.add",
            subject="user:mallory",
            model=None,
            details={},
            alg="hmac-sha256",
            prev_hash=head_hash,
        )
        digest = hashlib.sha256(forged.encode()).hexdigest()
        connection.execute(  # type: ignore[attr-defined]
            text("INSERT INTO charter_audit_entries (body, hash) VALUES (:b, :h)"),
            {"b": forged, "h": digest},
        )
        connection.execute(  # type: ignore[attr-defined]
            text("UPDATE charter_audit_head SET seq = :s, hash = :h"), {"s": HEAD + 1, "h": digest}
        )
    report = team.registry.verify_audit(actor=team["otto"])
    assert (report.kind, report.first_broken) == (BreakKind.ALTERED, HEAD + 1)
    monkeypatch.setenv("CHARTER_AUDIT_KEY", "wrong")
    assert team.registry.verify_audit(actor=team["otto"]).first_broken == 1
    monkeypatch.delenv("CHARTER_AUDIT_KEY")
    with pytest.raises(ConfigurationError, match="CHARTER_AUDIT_KEY"):
        team.registry.verify_audit(actor=team["otto"])
    with pytest.raises(ConfigurationError, match="CHARTER_AUDIT_KEY"):
        team.registry.create_token(actor=team["ada"])
    team.registry.close()


def test_an_export_can_be_verified_offline_with_hashlib(team: Team, tmp_path: Path) -> None:
    register(team, make_candidate(tmp_path))
    out = io.StringIO()
    count = team.registry.export_audit(out, actor=team["otto"], fmt="jsonl")
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    assert count == len(lines) == team.registry.verify_audit(actor=team["otto"]).head_seq
    previous = "0" * 64
    for entry in lines:
        digest = entry.pop("hash")
        assert entry["prev_hash"] == previous
        assert hashlib.sha256(canonical_json(entry)).hexdigest() == digest
        previous = digest


def test_csv_export_and_filters_by_model_actor_action_and_time(team: Team, tmp_path: Path) -> None:
    register(team, make_candidate(tmp_path))
    team.registry.flag_version("credit-risk", 1, "needs-review", "drift", actor=team["mo"])
    log = team.registry.audit_log(actor=team["otto"], model="credit-risk")
    assert [e.action for e in log] == ["model.create", "version.register", "version.flag"]
    assert [e.action for e in team.registry.audit_log(actor=team["otto"], user="mo")] == [
        "version.flag"
    ]
    assert {e.action for e in team.registry.audit_log(actor=team["otto"], action="user.*")} == {
        "user.add"
    }
    middle = log[1].at
    later = team.registry.audit_log(actor=team["otto"], model="credit-risk", since=middle)
    assert [e.action for e in later] == ["version.register", "version.flag"]
    earlier = team.registry.audit_log(actor=team["otto"], until=middle)
    assert earlier[-1].action == "model.create"
    out = io.StringIO()
    team.registry.export_audit(out, actor=team["otto"], fmt="csv", model="credit-risk")
    rows = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert [r["action"] for r in rows] == ["model.create", "version.register", "version.flag"]
    assert json.loads(rows[2]["details"])["flag"] == "needs-review"
    with pytest.raises(CharterError, match="jsonl or csv") as caught:
        team.registry.export_audit(io.StringIO(), actor=team["otto"], fmt="xml")
    assert caught.value.field == "format"
    with pytest.raises(CharterError, match="not a date"):
        team.registry.audit_log(actor=team["otto"], since="yesterday")
