"""Alembic environment: runs migrations on the connection handed over by :mod:`..migrate`."""

from __future__ import annotations

from alembic import context

from plans.store import METADATA

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=METADATA,
    render_as_batch=connection.dialect.name == "sqlite",  # SQLite alters tables by copy
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
