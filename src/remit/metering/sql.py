"""The few statements whose spelling differs between SQLite and PostgreSQL."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

# pg_advisory_xact_lock(key1, key2): key1 names the lock's owner so that metering's
# per-account locks never collide with another capability's.
METERING_LOCK_CLASS = 0x6D657465  # "mete"


def mark(conn: sa.Connection) -> str:
    """The driver's positional parameter marker, for driver-level SQL on the bulk paths."""
    return "?" if conn.dialect.paramstyle == "qmark" else "%s"


def upsert(conn: sa.Connection, table: sa.Table) -> postgresql.Insert | sqlite.Insert:
    """An INSERT that can say ON CONFLICT, in the connection's dialect."""
    if conn.dialect.name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)


def lock_account(conn: sa.Connection, account_id: str) -> None:
    """Serialise metering writers of one account until this transaction ends.

    On PostgreSQL this makes ``meter_events.seq`` order equal commit order within an
    account: a writer takes its seqs only after the previous writer committed, so a
    reader that sees seq ``n`` committed has seen every smaller seq of that account.
    SQLite has one writer at a time and its rowids follow commit order already.
    """
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql(
            "SELECT pg_advisory_xact_lock(%s, hashtext(%s))", (METERING_LOCK_CLASS, account_id)
        )
