"""Paths 9, 10 and part of 11: names match whole, no control characters, one limit per column."""

from __future__ import annotations

from pathlib import Path

import pytest
from registry_support import MODEL_NAME, Team, make_candidate, register
from sqlalchemy import text

from charter.errors import CharterError
from charter.registry import Role
from charter.registry import names as rules


@pytest.mark.parametrize(
    ("check", "value", "message"),
    [
        (rules.check_username, "ann\n", "control character (U+000A)"),
        (rules.check_username, "ann\u202e", "control character (U+202E)"),
        (rules.check_model_name, "m\x1b[2J", "control character (U+001B)"),
        (rules.check_alias, "champion\n", "control character"),
        (rules.check_flag, "needs-review\n", "control character"),
        (rules.check_flag, "x" * (rules.FLAG_MAX + 1), "at most 64"),
        (rules.check_alias, "a" * (rules.ALIAS_MAX + 1), "at most 128"),
        (rules.check_username, "u" * (rules.USERNAME_MAX + 1), "at most 128"),
        (rules.check_model_name, "m" * (rules.MODEL_NAME_MAX + 1), "at most 256"),
        (rules.check_label, "l" * (rules.TOKEN_LABEL_MAX + 1), "at most 128"),
        (rules.check_alias, "3", "cannot be an alias"),
        (rules.check_model_name, "-lead", "not a valid model name"),
    ],
)
def test_each_rule_refuses_with_a_clear_message(check, value: str, message: str) -> None:
    with pytest.raises(CharterError) as caught:
        check(value)
    assert message in caught.value.message
    assert "\n" not in caught.value.message and "\x1b" not in caught.value.message


def test_the_limits_are_the_column_sizes() -> None:
    from charter.registry import tables

    def size(table: type, column: str) -> int:
        return int(table.__table__.c[column].type.length)  # type: ignore[attr-defined]

    assert size(tables.RegisteredModel, "name") == rules.MODEL_NAME_MAX
    assert size(tables.User, "username") == rules.USERNAME_MAX
    assert size(tables.Alias, "alias") == rules.ALIAS_MAX
    assert size(tables.Flag, "flag") == rules.FLAG_MAX
    assert size(tables.Token, "label") == rules.TOKEN_LABEL_MAX


def test_text_printed_to_a_terminal_shows_escapes() -> None:
    assert rules.terminal_safe("ok\x1b[2Jgone\nann") == "ok\\x1b[2Jgone\\nann"
    assert rules.terminal_safe("café — fine") == "café — fine"
    assert rules.version_number("²") is None and rules.version_number("12") == 12


def test_a_user_named_with_a_trailing_newline_is_refused(team: Team, cli) -> None:
    with pytest.raises(CharterError, match="control character"):
        team.registry.add_user("ann\n", [Role.ADMIN], actor=team["ada"])
    code, _, err = cli("ada", "user", "add", "ann\n", "--role", "admin")
    assert code == 2 and "control character" in err
    names = [u.username for u in team.registry.list_users(actor=team["ada"])]
    assert names.count("ann") == 1 and "ann\n" not in names


def test_names_and_text_are_checked_before_the_database_on_every_backend(
    team: Team, tmp_path: Path
) -> None:
    register(team, make_candidate(tmp_path))
    eli = team["eli"]
    before = team.registry.verify_audit(actor=team["otto"]).head_seq
    attempts = [
        lambda: team.registry.set_alias(MODEL_NAME, "a" * 129, 1, actor=eli),
        lambda: team.registry.set_alias(MODEL_NAME, "champion\n", 1, actor=eli),
        lambda: team.registry.flag_version(MODEL_NAME, 1, "f" * 65, "why", actor=eli),
        lambda: team.registry.flag_version(MODEL_NAME, 1, "needs-review\n", "why", actor=eli),
        lambda: team.registry.flag_version(MODEL_NAME, 1, "x", "drift\x1b[2K", actor=eli),
        lambda: team.registry.create_token(actor=eli, label="l" * 129),
        lambda: team.registry.create_token(actor=eli, label="ci\r\nadmin"),
        lambda: team.registry.create_token(actor=eli, expires_days=1_000_000_000),
        lambda: team.registry.request_promotion(MODEL_NAME, 1, "staging", actor=eli, note="go\x07"),
        lambda: register(team, make_candidate(tmp_path / "d"), description="v2\x1b[8m"),
        lambda: register(team, make_candidate(tmp_path / "p"), params={"lr": "0.1\r\nadmin"}),
        lambda: team.registry.archive(MODEL_NAME, 1, actor=eli, reason="old\x1b]0;x\x07"),
        lambda: team.registry.resolve_flag(MODEL_NAME, 1, "x", "ok\u202e", actor=team["ann"]),
    ]
    for attempt in attempts:
        with pytest.raises(CharterError) as caught:
            attempt()
        assert "SQL" not in caught.value.message and "(psycopg" not in caught.value.message
    assert team.registry.verify_audit(actor=team["otto"]).head_seq == before


@pytest.mark.parametrize("ref", [f"{MODEL_NAME}:²", f"{MODEL_NAME}:٣"])
def test_a_unicode_digit_version_is_a_clear_error(team: Team, tmp_path: Path, cli, ref) -> None:
    register(team, make_candidate(tmp_path))
    code, _, err = cli("otto", "show", ref)
    assert code == 2 and "internal error" not in err


def test_expires_days_out_of_range_exits_2(team: Team, cli) -> None:
    code, _, err = cli("eli", "token", "create", "--expires-days", "1000000000")
    assert code == 2 and "internal error" not in err and "days" in err


def test_stored_control_characters_print_as_escapes(team: Team, tmp_path: Path, cli) -> None:
    """Text stored before these checks (or by hand) cannot drive the reader's terminal."""
    register(team, make_candidate(tmp_path))
    team.registry.flag_version(MODEL_NAME, 1, "needs-review", "drift", actor=team["mo"])
    with team.registry.engine.begin() as connection:
        connection.execute(text("UPDATE charter_flags SET reason = :r"), {"r": "ok\x1b[2Jgone"})
    code, out, err = cli("otto", "show", f"{MODEL_NAME}:1")
    assert code == 0, err
    assert "\x1b[2J" not in out and "\\x1b[2J" in out
