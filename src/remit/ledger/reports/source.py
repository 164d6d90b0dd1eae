"""The journal, streamed out of the state store into an in-process DuckDB, in bounded chunks.

Rows travel as Arrow record batches of at most ``CHUNK_ROWS`` rows and are appended
to a DuckDB table one batch at a time: DuckDB holds the working copy, so Python
never holds every leg at once. Only posted movements are read (``posted`` and
``post_pending`` entries); pending holds move no posted balance and appear in no report.

Calendar columns (``day``, ``month``) are derived here, in Arrow, from Unix seconds,
so the report SQL needs no dialect's date functions.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Literal

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import sqlalchemy as sa

from remit.ledger.reports import queries
from remit.ledger.reports.model import DAY_S
from remit.ledger.tables import journal_entries, journal_legs, ledger_accounts
from remit.store.registry import load_all, metadata

CHUNK_ROWS = 50_000
DUCKDB_THREADS = 2
POSTED_KINDS = ("posted", "post_pending")

LEG_SCHEMA = pa.schema(
    [
        ("entry_id", pa.string()), ("seq", pa.int64()), ("rule", pa.string()),
        ("cause_id", pa.string()), ("subject_id", pa.string()), ("description", pa.string()),
        ("effective_at", pa.int64()), ("leg_no", pa.int64()), ("code", pa.string()),
        ("currency", pa.string()), ("side", pa.string()), ("amount", pa.int64()),
    ]
)  # fmt: skip
ACCOUNT_SCHEMA = pa.schema(
    [("code", pa.string()), ("currency", pa.string()), ("name", pa.string()),
     ("type", pa.string()), ("normal_side", pa.string())]
)  # fmt: skip
# The revenue-recognition contract: per obligation and day, what was recognized and by
# which journal entry; and the obligations themselves, as booked.
RECOGNITION_SCHEMA = pa.schema(
    [("account_id", pa.string()), ("obligation_id", pa.string()), ("booked_at", pa.int64()),
     ("currency", pa.string()), ("day", pa.int64()), ("amount", pa.int64()),
     ("entry_id", pa.string())]
)  # fmt: skip
OBLIGATION_SCHEMA = pa.schema(
    [("account_id", pa.string()), ("id", pa.string()), ("source_id", pa.string()),
     ("invoice_id", pa.string()), ("customer_id", pa.string()), ("currency", pa.string()),
     ("amount", pa.int64()), ("booked_at", pa.int64()), ("period_start", pa.int64()),
     ("period_end", pa.int64()), ("status", pa.string())]
)  # fmt: skip

# (conn, tenant account id, until_ts) -> a table of RECOGNITION_SCHEMA or OBLIGATION_SCHEMA
RevrecSource = Callable[[sa.Connection, str, int], pa.Table]


# How much of each leg a report reads: balances need only amounts; aging and the revenue
# reports need the rule and what the entry concerns; the general ledger needs it all.
# Fields not read are sent as NULL, so every report sees the same table shape.
Detail = Literal["balances", "causes", "full"]
_CAUSES = frozenset({"rule", "cause_id", "subject_id"})
_FULL = _CAUSES | {"entry_id", "seq", "leg_no", "description"}


@dataclass(frozen=True, slots=True)
class LegFilter:
    """Which legs a report reads: always one tenant, before ``until_ts``; optionally fewer."""

    until_ts: int
    currency: str | None = None
    codes: tuple[str, ...] = ()
    code_prefix: str | None = None
    detail: Detail = "balances"


def legs_select(account_id: str, wanted: LegFilter) -> sa.Select[tuple[object, ...]]:
    e, g, a = journal_entries.c, journal_legs.c, ledger_accounts.c
    optional = {"balances": frozenset[str](), "causes": _CAUSES, "full": _FULL}[wanted.detail]
    sources = {
        "entry_id": e.id, "seq": e.seq, "rule": e.rule, "cause_id": e.cause_id,
        "subject_id": e.subject_id, "description": e.description,
        "effective_at": e.effective_at, "leg_no": g.leg_no, "code": a.code,
        "currency": g.currency, "side": g.side, "amount": g.amount,
    }  # fmt: skip
    stmt = (
        sa.select(
            *(
                (sa.null() if name in _FULL and name not in optional else column).label(name)
                for name, column in sources.items()
            )
        )
        .select_from(
            journal_entries.join(journal_legs, g.entry_id == e.id).join(
                ledger_accounts, a.id == g.ledger_account_id
            )
        )
        .where(
            e.account_id == account_id,
            g.account_id == account_id,
            e.kind.in_(POSTED_KINDS),
            e.effective_at < wanted.until_ts,
        )
    )
    if wanted.currency is not None:
        stmt = stmt.where(g.currency == wanted.currency)
    if wanted.codes or wanted.code_prefix:
        by_code: list[sa.ColumnElement[bool]] = [a.code.in_(wanted.codes)] if wanted.codes else []
        if wanted.code_prefix:
            by_code.append(a.code.startswith(wanted.code_prefix, autoescape=True))
        stmt = stmt.where(sa.or_(*by_code))
    return stmt


def batches(
    conn: sa.Connection, stmt: sa.Executable, schema: pa.Schema, chunk_rows: int = CHUNK_ROWS
) -> Iterator[pa.RecordBatch]:
    """``stmt``'s rows as record batches, fetched ``chunk_rows`` at a time (server-side cursor
    on PostgreSQL, incremental fetches on SQLite)."""
    result = conn.execute(stmt, execution_options={"yield_per": chunk_rows})
    for rows in result.partitions():
        columns = zip(*rows, strict=True)
        arrays = [pa.array(values, type=f.type) for values, f in zip(columns, schema, strict=True)]
        yield pa.RecordBatch.from_arrays(arrays, schema=schema)


def with_calendar(batch: pa.RecordBatch, ts_column: str, prefix: str = "") -> pa.RecordBatch:
    """``batch`` plus ``<prefix>day`` (days since 1970-01-01 UTC) and ``<prefix>month``."""
    ts = batch.column(ts_column)
    # Floor, not truncation, so that any second before 1970 still lands on its own day.
    floored = pc.if_else(pc.less(ts, 0), pc.subtract(ts, DAY_S - 1), ts)
    day = pc.divide(floored, DAY_S).cast(pa.int32())
    month = pc.strftime(day.cast(pa.date32()), format="%Y-%m")
    return pa.RecordBatch.from_arrays(
        [*batch.columns, day, month], names=[*batch.schema.names, f"{prefix}day", f"{prefix}month"]
    )


def load(
    duck: duckdb.DuckDBPyConnection, name: str, schema: pa.Schema, chunks: Iterable[pa.RecordBatch]
) -> None:
    """Create table ``name`` in DuckDB and append ``chunks`` to it, one batch at a time."""
    duck.register("incoming", schema.empty_table())
    duck.execute(f"CREATE TABLE {name} AS SELECT * FROM incoming")
    duck.unregister("incoming")
    for chunk in chunks:
        duck.register("incoming", pa.Table.from_batches([chunk], schema=schema))
        duck.execute(f"INSERT INTO {name} SELECT * FROM incoming")
        duck.unregister("incoming")


_CALENDAR = pa.schema([("day", pa.int32()), ("month", pa.string())])
LEG_TABLE_SCHEMA = pa.schema([*LEG_SCHEMA, *_CALENDAR])


@contextmanager
def session(
    conn: sa.Connection,
    account_id: str,
    wanted: LegFilter,
    extra: Mapping[str, pa.Table] | None = None,
) -> Iterator[duckdb.DuckDBPyConnection]:
    """An in-memory DuckDB holding the tenant's ``legs``, ``accounts`` and the ``moves`` view
    (legs with their account's type and debit/credit columns), plus any ``extra`` tables."""
    duck = duckdb.connect(":memory:", config={"threads": DUCKDB_THREADS})
    try:
        leg_chunks = batches(conn, legs_select(account_id, wanted), LEG_SCHEMA)
        load(duck, "legs", LEG_TABLE_SCHEMA, (with_calendar(b, "effective_at") for b in leg_chunks))
        a = ledger_accounts.c
        accounts = sa.select(a.code, a.currency, a.name, a.type, a.normal_side).where(
            a.account_id == account_id
        )
        load(duck, "accounts", ACCOUNT_SCHEMA, batches(conn, accounts, ACCOUNT_SCHEMA))
        for name, table in (extra or {}).items():
            load(duck, name, table.schema, table.to_batches(CHUNK_ROWS))
        duck.execute(queries.MOVES_VIEW)
        yield duck
    finally:
        duck.close()


def conform(table: pa.Table, schema: pa.Schema) -> pa.Table:
    """A revrec table in the contract's column order and types (extra columns dropped)."""
    return table.select(schema.names).cast(schema)


def stored_recognitions(conn: sa.Connection, account_id: str, until_ts: int) -> pa.Table:
    return _stored(conn, "revrec_recognitions", RECOGNITION_SCHEMA, account_id,
                   lambda t: t.c.day < until_ts // DAY_S)  # fmt: skip


def stored_obligations(conn: sa.Connection, account_id: str, until_ts: int) -> pa.Table:
    return _stored(conn, "revrec_obligations", OBLIGATION_SCHEMA, account_id,
                   lambda t: t.c.booked_at < until_ts)  # fmt: skip


def _stored(
    conn: sa.Connection,
    name: str,
    schema: pa.Schema,
    account_id: str,
    bound: Callable[[sa.Table], sa.ColumnElement[bool]],
) -> pa.Table:
    load_all()
    table = metadata.tables.get(name)
    if table is None:
        # Revenue recognition is not installed: nothing was deferred through it.
        return schema.empty_table()
    stmt = sa.select(*(table.c[f.name] for f in schema)).where(
        table.c.account_id == account_id, bound(table)
    )
    return pa.Table.from_batches(list(batches(conn, stmt, schema)), schema=schema)
