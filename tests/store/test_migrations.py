"""The migrations build exactly the schema the tables declare."""

from __future__ import annotations

import sqlalchemy as sa
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


def test_ids_are_ordered_byte_wise_whatever_the_server_locale(store):
    # Base62 puts digits < upper case < lower case; a locale collation would interleave cases.
    from remit.events.tables import events

    ids = ["evt_0zz", "evt_A00", "evt_Zzz", "evt_a00", "evt_zzz"]
    with store.write() as conn:
        for event_id in reversed(ids):
            conn.execute(
                events.insert(),
                {"id": event_id, "account_id": "acct_x", "type": "t", "created": 1, "data": {}},
            )
        listed = list(conn.execute(sa.select(events.c.id).order_by(events.c.id)).scalars())
        after = list(conn.execute(sa.select(events.c.id).where(events.c.id > "evt_Zzz")).scalars())
    assert listed == ids
    assert sorted(after) == ["evt_a00", "evt_zzz"]
