"""Path 6: signed checkpoints catch a truncated or rewritten chain; path 13: export is atomic."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from registry_support import Team
from sqlalchemy import text

from charter.audit.chain import entry_body, hash_body
from charter.registry import Role

CLI = Callable[..., tuple[int, str, str]]


@contextmanager
def tampering(team: Team) -> Iterator[object]:
    """A connection with the append-only guard removed, as an attacker with DB rights would."""
    team.schema_changed = True
    engine = team.registry.engine
    with engine.begin() as connection:
        if engine.dialect.name == "sqlite":
            connection.exec_driver_sql("DROP TRIGGER charter_audit_no_update")
            connection.exec_driver_sql("DROP TRIGGER charter_audit_no_delete")
        else:
            connection.exec_driver_sql(
                "ALTER TABLE charter_audit_entries DISABLE TRIGGER charter_audit_append_only"
            )
        yield connection


def _keys(cli: CLI, folder: Path) -> tuple[Path, Path]:
    code, _, err = cli("otto", "keys", "generate", "--out", str(folder / "auditor"))
    assert code == 0, err
    return folder / "auditor.key", folder / "auditor.pub"


def _head(team: Team) -> tuple[int, str]:
    with team.registry.engine.connect() as connection:
        row = connection.execute(text("SELECT seq, hash FROM charter_audit_head")).one()
    return int(row[0]), str(row[1])


def test_a_checkpoint_survives_honest_growth(team: Team, cli: CLI, tmp_path: Path) -> None:
    key, public = _keys(cli, tmp_path)
    seq, _ = _head(team)
    code, out, err = cli(
        "otto", "audit", "checkpoint", "--key", str(key), "--out", str(tmp_path / "cp1.json")
    )
    assert code == 0, err
    assert f"entry {seq}" in out
    envelope = json.loads((tmp_path / "cp1.json").read_text())
    assert envelope["payloadType"] == "application/vnd.charter.audit-checkpoint+json"
    checkpointed = team.registry.audit_log(actor=team["otto"], action="audit.checkpoint")
    assert checkpointed[-1].details["seq"] == seq and checkpointed[-1].actor == "otto"
    team.registry.add_user("newbie", [Role.AUDITOR], actor=team["ada"])
    code, out, err = cli(
        "otto",
        "audit",
        "verify",
        "--checkpoint",
        str(tmp_path / "cp1.json"),
        "--public",
        str(public),
    )
    assert code == 0, err
    assert "contains 1 signed checkpoint" in out
    # a checkpoint is never overwritten
    code, _, err = cli(
        "otto", "audit", "checkpoint", "--key", str(key), "--out", str(tmp_path / "cp1.json")
    )
    assert code == 2 and "never overwritten" in err
    assert json.loads((tmp_path / "cp1.json").read_text()) == envelope


def test_truncating_the_chain_and_moving_the_head_back_is_caught(
    team: Team, cli: CLI, tmp_path: Path
) -> None:
    key, public = _keys(cli, tmp_path)
    team.registry.add_user("carl", [Role.AUDITOR], actor=team["ada"])
    before_seq, before_hash = _head(team)
    team.registry.add_user("cora", [Role.AUDITOR], actor=team["ada"])
    code, _, err = cli(
        "otto", "audit", "checkpoint", "--key", str(key), "--out", str(tmp_path / "cp.json")
    )
    assert code == 0, err
    with tampering(team) as connection:
        connection.execute(  # type: ignore[attr-defined]
            text("DELETE FROM charter_audit_entries WHERE seq > :s"), {"s": before_seq}
        )
        connection.execute(  # type: ignore[attr-defined]
            text("UPDATE charter_audit_head SET seq = :s, hash = :h"),
            {"s": before_seq, "h": before_hash},
        )
    # without the checkpoint the truncated chain looks whole: that is the gap closed here
    code, _, err = cli("otto", "audit", "verify")
    assert code == 0, err
    code, _, err = cli(
        "otto",
        "audit",
        "verify",
        "--checkpoint",
        str(tmp_path / "cp.json"),
        "--public",
        str(public),
    )
    assert code == 1
    assert "no longer contains a signed checkpoint's head" in err and "is gone" in err


def test_an_unkeyed_chain_rewritten_and_rehashed_is_caught(
    team: Team, cli: CLI, tmp_path: Path
) -> None:
    key, public = _keys(cli, tmp_path)
    seq, _ = _head(team)
    code, _, err = cli(
        "otto", "audit", "checkpoint", "--key", str(key), "--out", str(tmp_path / "cp.json")
    )
    assert code == 0, err
    with tampering(team) as connection:  # rewrite entry 2 and recompute every hash after it
        rows = connection.execute(  # type: ignore[attr-defined]
            text("SELECT seq, body FROM charter_audit_entries ORDER BY seq")
        ).all()
        prev = None
        for number, body in rows:
            data = json.loads(body)
            if number == 2:
                data["actor"] = "mallory"
            if prev is not None:
                data["prev_hash"] = prev
            data.pop("seq")
            new_body = entry_body(seq=number, **data)
            digest = hash_body(new_body)
            connection.execute(  # type: ignore[attr-defined]
                text("UPDATE charter_audit_entries SET body = :b, hash = :h WHERE seq = :s"),
                {"b": new_body, "h": digest, "s": number},
            )
            prev = digest
        connection.execute(  # type: ignore[attr-defined]
            text("UPDATE charter_audit_head SET hash = :h"), {"h": prev}
        )
    code, _, err = cli("otto", "audit", "verify")
    assert code == 0, err  # every hash recomputed: the chain alone cannot tell
    code, _, err = cli(
        "otto",
        "audit",
        "verify",
        "--checkpoint",
        str(tmp_path / "cp.json"),
        "--public",
        str(public),
    )
    assert code == 1 and "the chain was rewritten" in err and f"entry {seq}" in err


def test_a_checkpoint_signed_by_another_key_is_refused(
    team: Team, cli: CLI, tmp_path: Path
) -> None:
    key, _ = _keys(cli, tmp_path)
    cli("otto", "keys", "generate", "--out", str(tmp_path / "other"))
    code, _, err = cli(
        "otto", "audit", "checkpoint", "--key", str(key), "--out", str(tmp_path / "cp.json")
    )
    assert code == 0, err
    code, _, err = cli(
        "otto",
        "audit",
        "verify",
        "--checkpoint",
        str(tmp_path / "cp.json"),
        "--public",
        str(tmp_path / "other.pub"),
    )
    assert code == 2 and "no trusted key" in err


def test_only_readers_of_the_trail_may_checkpoint(team: Team, cli: CLI, tmp_path: Path) -> None:
    key, _ = _keys(cli, tmp_path)
    code, _, err = cli(
        "eli", "audit", "checkpoint", "--key", str(key), "--out", str(tmp_path / "c.json")
    )
    assert code == 2 and "may not audit.checkpoint" in err
    assert not (tmp_path / "c.json").exists()
    code, _, err = cli(
        "ada", "audit", "checkpoint", "--key", str(key), "--out", str(tmp_path / "c.json")
    )
    assert code == 2 and "may not audit.checkpoint" in err  # the admin is not the witness


def test_a_refused_export_leaves_the_file_as_it_was(team: Team, cli: CLI, tmp_path: Path) -> None:
    target = tmp_path / "trail.jsonl"
    target.write_text("yesterday's export\n")
    code, _, err = cli("eli", "audit", "export", "--out", str(target))
    assert code == 2 and "may not audit.read" in err
    assert target.read_text() == "yesterday's export\n"
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".trail")] == []
    code, _, err = cli("otto", "audit", "export", "--out", str(target))
    assert code == 0, err
    assert json.loads(target.read_text().splitlines()[0])["seq"] == 1


def test_checkpoints_on_a_schedule_each_under_its_own_name(
    team: Team, cli: CLI, tmp_path: Path
) -> None:
    key, public = _keys(cli, tmp_path)
    target = str(tmp_path / "witness" / "{seq}.json")
    code, out, err = cli(
        "otto", "audit", "checkpoint", "--key", str(key), "--out", target,
        "--schedule", "* * * * * */1", "--max-runs", "2",
    )  # fmt: skip
    assert code == 0, err
    assert "stopped after 2 checkpoint(s)" in out
    written = sorted((tmp_path / "witness").iterdir())
    assert len(written) == 2
    args = [a for p in written for a in ("--checkpoint", str(p))]
    code, out, err = cli("otto", "audit", "verify", *args, "--public", str(public))
    assert code == 0 and "contains 2 signed checkpoint(s)" in out, err
    code, _, err = cli(
        "otto", "audit", "checkpoint", "--key", str(key), "--out", str(tmp_path / "one.json"),
        "--schedule", "0 * * * *",
    )  # fmt: skip
    assert code == 2 and "{seq}" in err
