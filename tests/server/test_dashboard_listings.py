"""The registry listings the dashboard reads, on SQLite and PostgreSQL.

Production history, pages of versions, recent decisions, a version's requests, one model's
overview and the token list, checked against what the registry's other reads say (the
oracle), plus the query plans of filtered audit pages: they walk a ``(column, seq)`` index
instead of sorting every match.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from registry_support import MODEL_NAME, Team, make_candidate, register
from sqlalchemy import text

from charter.errors import PermissionDeniedError


def _promote(team: Team, number: int) -> int:
    registry = team.registry
    request = registry.request_promotion(MODEL_NAME, number, "production", actor=team["eli"])
    registry.approve(request.id, actor=team["ann"])
    registry.approve(request.id, actor=team["arno"], comment="ok")
    return request.id


@pytest.fixture
def promoted(team: Team, tmp_path: Path) -> Team:
    for seed in (1, 2, 3):
        register(team, make_candidate(tmp_path / f"v{seed}", seed=seed))
    _promote(team, 1)
    _promote(team, 2)
    team.registry.request_promotion(MODEL_NAME, 3, "production", actor=team["emma"])
    return team


def test_production_history_is_the_stage_history_with_requester_and_approvers(
    promoted: Team,
) -> None:
    registry, otto = promoted.registry, promoted["otto"]
    spells = registry.production_history(MODEL_NAME, actor=otto)
    assert [s.version for s in spells] == [2, 1]
    one = registry.history(MODEL_NAME, 1, actor=otto)
    two = registry.history(MODEL_NAME, 2, actor=otto)
    assert spells[1].since == one[0].at and spells[1].until == one[1].at == two[0].at
    assert (spells[1].ended_to, spells[1].superseded_by) == ("archived", 2)
    assert spells[0].since == two[0].at and spells[0].until is None
    for spell, history in ((spells[1], one), (spells[0], two)):
        request = registry.get_request(history[0].request_id, actor=otto)
        assert spell.request_id == request.id
        assert spell.requested_by == request.requested_by == "eli"
        assert spell.approvers == [a.approver for a in request.approvals] == ["ann", "arno"]
    assert registry.production_history(MODEL_NAME, actor=otto, limit=1) == spells[:1]
    summary, count = registry.model_overview(MODEL_NAME, actor=otto)
    assert summary == next(m for m in registry.list_models(actor=otto) if m.name == MODEL_NAME)
    assert count == 2


def test_pages_of_versions_requests_and_decisions_match_the_full_lists(promoted: Team) -> None:
    registry, otto = promoted.registry, promoted["otto"]
    full = registry.list_versions(MODEL_NAME, actor=otto)
    first = registry.version_page(MODEL_NAME, actor=otto, limit=2)
    rest = registry.version_page(MODEL_NAME, actor=otto, before=first[-1].number, limit=2)
    assert [v.number for v in first + rest] == [v.number for v in reversed(full)]
    for row, version in zip(first + rest, reversed(full), strict=True):
        assert (row.stage, row.created_by) == (version.stage, version.created_by)
        assert row.evidence_status == (version.evidence.status if version.evidence else None)
    every = registry.list_requests(actor=otto, status=None, model=MODEL_NAME)
    for number in (1, 2, 3):
        mine = registry.version_requests(MODEL_NAME, number, actor=otto)
        assert mine == [r for r in every if r.version == number]
    decided = registry.recent_decisions(actor=otto, limit=5)
    assert [r.id for r in decided] == [r.id for r in reversed(every) if r.status != "pending"]


def test_tokens_are_listed_to_their_owner_and_to_admins_only(promoted: Team) -> None:
    registry = promoted.registry
    own = registry.list_tokens(actor=promoted["ann"], username="ann")
    assert [t.username for t in own] == ["ann"] and own[0].prefix.startswith("charter_")
    everyone = registry.list_tokens(actor=promoted["ada"])
    assert {t.username for t in everyone} == set(promoted.tokens)
    with pytest.raises(PermissionDeniedError, match=r"may not token\.manage"):
        registry.list_tokens(actor=promoted["ann"])
    with pytest.raises(PermissionDeniedError):
        registry.list_tokens(actor=promoted["ann"], username="arno")


@pytest.mark.parametrize(
    ("where", "index"),
    [
        ("actor = 'ann'", "ix_charter_audit_entries_actor_seq"),
        ("action = 'promotion.approved'", "ix_charter_audit_entries_action_seq"),
        ("model = 'credit-risk'", "ix_charter_audit_entries_model_seq"),
        ("subject = 'model:credit-risk/2'", "ix_charter_audit_entries_subject_seq"),
    ],
)
def test_a_filtered_audit_page_walks_a_column_seq_index(
    promoted: Team, where: str, index: str
) -> None:
    query = (
        f"SELECT body FROM charter_audit_entries WHERE {where} AND seq < 1000 "
        "ORDER BY seq DESC LIMIT 51"
    )
    engine = promoted.registry.engine
    with engine.connect() as connection:
        if engine.dialect.name == "sqlite":
            plan = " ".join(
                str(r[-1]) for r in connection.execute(text("EXPLAIN QUERY PLAN " + query))
            )
            assert index in plan and "TEMP B-TREE" not in plan, plan
        else:
            connection.execute(text("SET enable_seqscan = off"))
            plan = " ".join(str(r[0]) for r in connection.execute(text("EXPLAIN " + query)))
            assert index in plan and "Sort" not in plan, plan
