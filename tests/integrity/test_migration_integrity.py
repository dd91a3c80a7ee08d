"""Migration 0006 (integrity) upgrades a 0002 registry on SQLite and PostgreSQL, rows intact."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import inspect, text

from charter.audit.chain import initialise_head
from charter.registry import Actor, Registry, database


def test_a_0002_registry_upgrades_through_0006(database_url: str) -> None:
    engine = database.create_registry_engine(database_url)
    database.upgrade(engine, "0002")
    at = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    with engine.begin() as connection:
        initialise_head(connection)
        connection.execute(
            text("INSERT INTO charter_meta (key, value) VALUES ('audit_alg', 'sha256')")
        )
        connection.execute(
            text(
                "INSERT INTO charter_users (id, username, created_at, disabled)"
                " VALUES (1, 'ada', :at, false)"
            ),
            {"at": at},
        )
        connection.execute(
            text(
                "INSERT INTO charter_models (id, name, created_at, created_by)"
                " VALUES (1, 'credit-risk', :at, 'eli')"
            ),
            {"at": at},
        )
        connection.execute(
            text(
                "INSERT INTO charter_versions (id, model_id, number, artifact_sha256,"
                " artifact_format, artifact_size, artifact_uri, trusted_types, lineage, params,"
                " policy, policy_sha256, created_at, created_by) VALUES (1, 1, 1, :a, 'skops',"
                " 1, 'x', '[]', '{}', '{}', '{\"version\": 1}', :b, :at, 'eli')"
            ),
            {"a": "a" * 64, "b": "b" * 64, "at": at},
        )
        connection.execute(
            text(
                "INSERT INTO charter_promotion_requests (id, version_id, to_stage, status,"
                " required_approvals, evidence_digest, requested_by, requested_at)"
                " VALUES (1, 1, 'production', 'pending', 2, :d, 'eli', :at)"
            ),
            {"d": "d" * 64, "at": at},
        )
    engine.dispose()

    registry = Registry.open(database_url)  # applies 0003 to 0006
    assert database.current_revision(registry.engine) == database.SCHEMA_REVISION == "0006"
    with registry.engine.connect() as connection:
        tables = set(inspect(connection).get_table_names())
        kind, changes = connection.execute(
            text("SELECT kind, changes FROM charter_promotion_requests WHERE id = 1")
        ).one()
        floor = connection.execute(
            text("SELECT approval_floor FROM charter_models WHERE id = 1")
        ).scalar()
        columns = {c["name"] for c in inspect(connection).get_columns("charter_evidence")}
    assert "charter_trusted_keys" in tables
    assert (kind, changes, floor) == ("promotion", None, None)
    assert {"verified", "signature"} <= columns
    [request] = registry.list_requests(status=None, actor=Actor.system("test"))
    assert (request.kind, request.changes, request.required_approvals) == ("promotion", [], 2)
    registry.close()
