"""Alembic environment: the connection is handed in by ``remit.store.migrate``."""

from __future__ import annotations

from alembic import context

from remit.store.registry import load_all, metadata

load_all()
connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=True,  # SQLite cannot ALTER most things; batch mode copies the table
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
