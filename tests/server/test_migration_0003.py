"""Migration 0003 on SQLite and PostgreSQL: request ids on audit entries, the jobs table.

A registry at 0002 with entries written before request ids existed upgrades; its old entries
keep their bodies and hashes (the chain verifies), and new entries written while serving a
request carry the id in their hashed body and in the generated, indexed column.
"""

import json
from datetime import UTC, datetime

from sqlalchemy import insert, inspect, select

from charter.audit.chain import ChainWriter, initialise_head
from charter.audit.log import query_entries
from charter.audit.request_context import request_id
from charter.audit.tables import audit_entries
from charter.registry import Actor, Registry, database, tables


def _append(engine, action: str) -> None:
    with engine.begin() as connection:
        ChainWriter(connection).append(actor="ada", action=action, subject="registry")


def test_a_0002_registry_upgrades_and_its_chain_still_verifies(database_url: str) -> None:
    engine = database.create_registry_engine(database_url)
    database.upgrade(engine, "0002")
    with engine.connect() as connection:
        names = set(inspect(connection).get_table_names())
        columns = {c["name"] for c in inspect(connection).get_columns("charter_audit_entries")}
    assert "charter_jobs" not in names and "request_id" not in columns
    with engine.begin() as connection:
        initialise_head(connection)
        connection.execute(insert(tables.Meta), [{"key": "audit_alg", "value": "sha256"}])
        connection.execute(
            insert(tables.User.__table__),
            [{"id": 1, "username": "ada", "created_at": datetime.now(UTC), "disabled": False}],
        )
    for i in range(5):
        _append(engine, f"old.{i}")
    with engine.connect() as connection:
        old_bodies = connection.execute(select(audit_entries.c.body, audit_entries.c.hash)).all()
    engine.dispose()

    registry = Registry.open(database_url)  # applies 0003 and the later ones
    try:
        assert database.current_revision(registry.engine) == database.SCHEMA_REVISION
        with registry.engine.connect() as connection:
            assert "charter_jobs" in set(inspect(connection).get_table_names())
            indexes = {i["name"] for i in inspect(connection).get_indexes("charter_audit_entries")}
            assert "ix_charter_audit_entries_request_id" in indexes
            rows = connection.execute(
                select(audit_entries.c.body, audit_entries.c.hash, audit_entries.c.request_id)
            ).all()
        assert [(b, h) for b, h, _ in rows] == [tuple(r) for r in old_bodies]
        assert {r for _, _, r in rows} == {None}
        token = request_id.set("call-42")
        try:
            _append(registry.engine, "new.with-id")
        finally:
            request_id.reset(token)
        _append(registry.engine, "new.without-id")
        report = registry.verify_audit(actor=Actor.system("test"))
        assert report.ok and report.checked == 7
        with registry.engine.connect() as connection:
            [(action, body)] = connection.execute(
                select(audit_entries.c.action, audit_entries.c.body).where(
                    audit_entries.c.request_id == "call-42"
                )
            ).all()
            [entry] = query_entries(connection, request_id="call-42")
        assert action == "new.with-id"
        assert json.loads(body)["request_id"] == "call-42"  # in the hashed body itself
        assert entry.request_id == "call-42" and entry.to_dict()["request_id"] == "call-42"
    finally:
        registry.close()
