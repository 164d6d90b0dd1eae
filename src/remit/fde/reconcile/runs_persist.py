"""A run in the state store: written once when it finishes (its row, matches, breaks
and rejects), then read back by id.

Called inside ONE short write transaction, after DuckDB has done all the work: the
SQLite write lock is held for the inserts only, never while sources load or passes
run. Rows stream from DuckDB as Arrow batches of at most ``CHUNK_ROWS`` and go in
with the driver's executemany (positional rows; SQLAlchemy's per-row dictionaries
cost more than the insert). Lists of ids are JSON made by DuckDB, not by Python.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

import duckdb
import sqlalchemy as sa

from remit.fde.reconcile.render import run as render_run
from remit.fde.reconcile.runs_results import BREAK_ORDER, REJECT_ORDER
from remit.fde.reconcile.tables import (
    reconciliation_breaks,
    reconciliation_matches,
    reconciliation_rejects,
    reconciliation_runs,
)
from remit.primitives.errors import ResourceMissing
from remit.primitives.ids import new_id, register_prefix

register_prefix("recbrk")

OBJECT_NAME = "reconciliation.run"
CHUNK_ROWS = 10_000
Progress = Callable[[str, int, int | None], None]
# reconciliation_breaks.break_key is VARCHAR(1000). A group's key lists every member id
# and can be longer: it keeps a prefix and the sha256 of the whole key, which is as
# stable across runs as the key itself (what run diffs compare).
BREAK_KEY_CHARS = 1000
_KEY_PREFIX_CHARS = BREAK_KEY_CHARS - 65

_MATCHES = """
    SELECT match_no, MIN(pass_name) AS pass_name,
           COALESCE(MIN(currency) FILTER (WHERE side = 'left'), MIN(currency)) AS currency,
           to_json(COALESCE(LIST(record_id ORDER BY record_id) FILTER (WHERE side = 'left'),
                            []::VARCHAR[])) AS left_ids,
           to_json(COALESCE(LIST(record_id ORDER BY record_id) FILTER (WHERE side = 'right'),
                            []::VARCHAR[])) AS right_ids,
           (SUM(amount) FILTER (WHERE side = 'left'))::BIGINT AS left_amount,
           (SUM(amount) FILTER (WHERE side = 'right'))::BIGINT AS right_amount,
           MAX(alternatives)::BIGINT AS alternatives
    FROM matches GROUP BY match_no ORDER BY match_no
"""
_BREAKS = f"""
    SELECT CASE WHEN LENGTH(break_key) > {BREAK_KEY_CHARS}
                THEN SUBSTR(break_key, 1, {_KEY_PREFIX_CHARS}) || '#' || sha256(break_key)
                ELSE break_key END AS break_key,
           type, currency,
           to_json(COALESCE(list_sort(left_ids), []::VARCHAR[])) AS left_ids,
           to_json(COALESCE(list_sort(right_ids), []::VARCHAR[])) AS right_ids,
           left_amount, right_amount, left_line, right_line, object_id, field,
           platform_value, external_value, detail
    FROM breaks ORDER BY {BREAK_ORDER}
"""
_REJECTS = f"""
    SELECT side, line_no, field, value, code, message FROM rejects ORDER BY {REJECT_ORDER}
"""
_MATCH_COLUMNS = (
    "match_no", "pass_name", "currency", "left_ids", "right_ids", "left_amount",
    "right_amount", "alternatives",
)  # fmt: skip
_BREAK_COLUMNS = (
    "break_key", "type", "currency", "left_ids", "right_ids", "left_amount", "right_amount",
    "left_line", "right_line", "object_id", "field", "platform_value", "external_value",
    "detail",
)  # fmt: skip
_REJECT_COLUMNS = ("side", "line_no", "field", "value", "code", "message")


def counts(duck: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """Rows each of the run's tables will write: the persist stage's total."""
    (found,) = duck.execute(
        "SELECT (SELECT COUNT(DISTINCT match_no) FROM matches), (SELECT COUNT(*) FROM breaks),"
        " (SELECT COUNT(*) FROM rejects)"
    ).fetchall()
    return {"matches": found[0], "breaks": found[1], "rejects": found[2]}


def persist(
    conn: sa.Connection,
    run_row: Mapping[str, Any],
    duck: duckdb.DuckDBPyConnection,
    progress: Progress,
) -> None:
    """The run row, then its matches, breaks and rejects, in the caller's transaction."""
    conn.execute(reconciliation_runs.insert(), dict(run_row))
    total = sum(counts(duck).values())
    done = 0
    progress("persist", done, total)
    scope = (run_row["account_id"], run_row["id"])
    tables = (
        (reconciliation_matches, _MATCHES, _MATCH_COLUMNS, False),
        (reconciliation_breaks, _BREAKS, _BREAK_COLUMNS, True),
        (reconciliation_rejects, _REJECTS, _REJECT_COLUMNS, False),
    )
    for table, query, columns, with_ids in tables:
        for rows in _chunks(duck, query, len(columns)):
            named = [(*scope, *row) for row in rows]
            if with_ids:
                named = [(new_id("recbrk"), *row) for row in named]
            head = ("id",) if with_ids else ()
            _insert_many(conn, table, (*head, "account_id", "run_id", *columns), named)
            done += len(rows)
            progress("persist", done, total)


def _chunks(
    duck: duckdb.DuckDBPyConnection, query: str, width: int
) -> Iterator[list[tuple[Any, ...]]]:
    """Positional rows, at most ``CHUNK_ROWS`` at a time, in the query's order."""
    for batch in duck.sql(query).to_arrow_reader(CHUNK_ROWS):
        if batch.num_rows:
            columns = [batch.column(i).to_pylist() for i in range(width)]
            yield list(zip(*columns, strict=True))


def _insert_many(
    conn: sa.Connection, table: sa.Table, columns: Sequence[str], rows: list[tuple[Any, ...]]
) -> None:
    marks = ", ".join(["?" if conn.dialect.paramstyle == "qmark" else "%s"] * len(columns))
    sql = f"INSERT INTO {table.name} ({', '.join(columns)}) VALUES ({marks})"
    conn.exec_driver_sql(sql, rows)


def retrieve(conn: sa.Connection, account_id: str, run_id: str) -> dict[str, Any]:
    return render_run(find(conn, account_id, run_id))


def find(conn: sa.Connection, account_id: str, run_id: str) -> Any:
    """The account's run row; another account's run is as missing as one never made."""
    r = reconciliation_runs.c
    row = conn.execute(
        sa.select(reconciliation_runs).where(r.id == run_id, r.account_id == account_id)
    ).first()
    if row is None:
        raise ResourceMissing(OBJECT_NAME, run_id)
    return row
