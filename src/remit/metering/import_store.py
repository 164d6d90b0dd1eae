"""Writes of a bulk import: the chunk's events appended to the raw log, and the
import's checkpoint, both inside the chunk's transaction.

The append is the raw log's one INSERT ... ON CONFLICT (account_id, identifier) DO
NOTHING, as ``ingest`` issues it, fed column-wise: SQLite gets the driver's
``executemany`` over the columns, PostgreSQL a ``COPY`` of the chunk as CSV into a
temporary table and one INSERT ... SELECT in row order. Rows go in row order, so
the first of two rows with one identifier is the one kept. The count of rows the
database took tells accepted events from duplicates.
"""

from __future__ import annotations

import io
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from itertools import repeat
from typing import Any

import pyarrow as pa
import pyarrow.csv as pacsv
import sqlalchemy as sa

from remit.context import CallContext
from remit.metering import sql
from remit.metering.import_files import FileFacts
from remit.metering.tables import meter_events, meter_imports
from remit.primitives.errors import InvalidRequestError
from remit.primitives.ids import new_id, register_prefix

PREFIX = "mimp"
register_prefix(PREFIX)
SOURCE = "import"
APPENDED = ("meter_id", "customer_id", "event_name", "identifier", "timestamp", "value", "payload")
COLUMNS = ("account_id", *APPENDED, "created", "source")
_STAGE = "meter_import_stage"
# SQLite's page cache for the importing connection (the default is 2 MiB): the raw log's
# indexes take random inserts, which re-read pages from the OS without it.
SQLITE_CACHE_KIB = 256 * 1024


@dataclass
class Checkpoint:
    """An import's row in ``meter_imports``, as this run last wrote it."""

    id: str
    status: str
    rows_committed: int
    malformed_through_line: int
    rows_read: int = 0
    accepted: int = 0
    duplicates: int = 0
    errors: int = 0
    error_codes: Counter[str] = field(default_factory=Counter)


def start(conn: sa.Connection, ctx: CallContext, facts: FileFacts, *, restart: bool) -> Checkpoint:
    """The file's checkpoint (made at its first import); ``restart`` rewinds it to row 0."""
    t = meter_imports.c
    fresh = {
        "status": "running", "rows_committed": 0, "malformed_through_line": 0,
        "rows_read": 0, "accepted": 0, "duplicates": 0, "errors": 0, "error_codes": {},
        "rows_total": facts.rows_estimate, "updated": ctx.now, "completed_at": None,
    }  # fmt: skip
    statement = sql.upsert(conn, meter_imports).values(
        id=new_id(PREFIX), account_id=ctx.account_id, fingerprint=facts.fingerprint,
        file_name=facts.path.name[:250], format=facts.format, created=ctx.now, **fresh,
    )  # fmt: skip
    conn.execute(statement.on_conflict_do_nothing(index_elements=["account_id", "fingerprint"]))
    scope = (t.account_id == ctx.account_id, t.fingerprint == facts.fingerprint)
    if restart:
        conn.execute(meter_imports.update().where(*scope).values(**fresh))
    row = conn.execute(sa.select(meter_imports).where(*scope)).one()
    return Checkpoint(
        row.id, row.status, row.rows_committed, row.malformed_through_line, row.rows_read,
        row.accepted, row.duplicates, row.errors, Counter(row.error_codes),
    )  # fmt: skip


@dataclass(frozen=True, slots=True)
class Step:
    """What one chunk adds to its import."""

    rows_committed: int
    malformed_through_line: int
    rows_read: int
    accepted: int
    duplicates: int
    error_codes: Counter[str]


def advance(conn: sa.Connection, ctx: CallContext, checkpoint: Checkpoint, step: Step) -> None:
    """Move the checkpoint past a chunk, in the chunk's transaction, if no other run
    moved it since this one last did; ``checkpoint`` follows."""
    codes = checkpoint.error_codes + step.error_codes
    values: dict[str, Any] = {
        "rows_committed": step.rows_committed,
        "malformed_through_line": step.malformed_through_line,
        "rows_read": checkpoint.rows_read + step.rows_read,
        "accepted": checkpoint.accepted + step.accepted,
        "duplicates": checkpoint.duplicates + step.duplicates,
        "errors": checkpoint.errors + step.error_codes.total(),
        "error_codes": dict(sorted(codes.items())),
    }
    _update(conn, ctx, checkpoint, values)
    checkpoint.rows_committed = step.rows_committed
    checkpoint.malformed_through_line = step.malformed_through_line
    checkpoint.rows_read, checkpoint.accepted = values["rows_read"], values["accepted"]
    checkpoint.duplicates, checkpoint.errors = values["duplicates"], values["errors"]
    checkpoint.error_codes = codes


def complete(conn: sa.Connection, ctx: CallContext, checkpoint: Checkpoint) -> None:
    _update(conn, ctx, checkpoint, {"status": "completed", "completed_at": ctx.now})
    checkpoint.status = "completed"


def _update(
    conn: sa.Connection, ctx: CallContext, checkpoint: Checkpoint, values: Mapping[str, Any]
) -> None:
    t = meter_imports.c
    moved = conn.execute(
        meter_imports.update()
        .where(t.id == checkpoint.id, t.rows_committed == checkpoint.rows_committed,
               t.malformed_through_line == checkpoint.malformed_through_line)
        .values(**values, updated=ctx.now)
    ).rowcount  # fmt: skip
    if moved != 1:
        raise InvalidRequestError(
            "Another import of this file moved its checkpoint: only one may run at a time.",
            code="lock_timeout",
        )


def tune(conn: sa.Connection) -> None:
    if conn.dialect.name == "sqlite":
        conn.exec_driver_sql(f"PRAGMA cache_size=-{SQLITE_CACHE_KIB}")


def append(conn: sa.Connection, ctx: CallContext, accepted: pa.Table) -> int:
    """Append the attributed rows; returns how many were new identifiers."""
    if accepted.num_rows == 0:
        return 0
    if conn.dialect.name == "postgresql":
        return _copy(conn, ctx, accepted)
    columns = [accepted.column(name).to_pylist() for name in APPENDED]
    rows = zip(repeat(ctx.account_id), *columns, repeat(ctx.now), repeat(SOURCE))
    cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.executemany(insert_sql(meter_events.name), rows)
        return int(cursor.rowcount)
    finally:
        cursor.close()


def insert_sql(table: str) -> str:
    marks = ", ".join("?" * len(COLUMNS))
    return (
        f"INSERT INTO {table} ({', '.join(COLUMNS)}) VALUES ({marks}) "
        "ON CONFLICT (account_id, identifier) DO NOTHING"
    )


def _copy(conn: sa.Connection, ctx: CallContext, accepted: pa.Table) -> int:
    buffer = io.BytesIO()
    pacsv.write_csv(
        accepted.select(["row", *APPENDED]), buffer,
        pacsv.WriteOptions(include_header=False, quoting_style="needed"),
    )  # fmt: skip
    conn.exec_driver_sql(
        f"CREATE TEMPORARY TABLE IF NOT EXISTS {_STAGE} (row bigint, meter_id text, "
        "customer_id text, event_name text, identifier text, timestamp bigint, value text, "
        "payload text) ON COMMIT DELETE ROWS"
    )
    cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    with cursor.copy(f"COPY {_STAGE} FROM STDIN (FORMAT csv)") as copy:
        copy.write(buffer.getvalue())
    result = conn.execute(
        sa.text(
            f"INSERT INTO meter_events ({', '.join(COLUMNS)}) SELECT :account_id, meter_id, "
            "customer_id, event_name, identifier, timestamp, value, payload::json, :created, "
            f":source FROM {_STAGE} ORDER BY row "
            "ON CONFLICT (account_id, identifier) DO NOTHING"
        ),
        {"account_id": ctx.account_id, "created": ctx.now, "source": SOURCE},
    )
    conn.exec_driver_sql(f"TRUNCATE {_STAGE}")
    return int(result.rowcount)
