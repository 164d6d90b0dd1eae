"""The migrations build exactly the schema the tables declare."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from remit.store.registry import load_all, metadata


def test_migrated_database_matches_the_declared_tables(store):
    load_all()
    with store.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        assert compare_metadata(context, metadata) == []


def test_every_table_carries_the_account_id():
    load_all()
    for table in metadata.sorted_tables:
        assert "account_id" in table.c or table.name == "accounts", table.name
