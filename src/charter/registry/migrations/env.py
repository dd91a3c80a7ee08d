"""Alembic environment of the registry: runs on the connection Charter hands over."""

from __future__ import annotations

from alembic import context

from charter.registry.tables import Base

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    version_table="charter_alembic_version",
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations()
