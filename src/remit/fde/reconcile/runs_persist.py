"""A run in the state store: written once when it finishes (its row, matches, breaks
and rejects), then read back by id.

Called inside ONE short write transaction, after DuckDB has done all the work: the
SQLite write lock is held for the inserts only, never while sources load or passes
run. Rows stream from DuckDB as Arrow batches of at most ``CHUNK_ROWS``, each one
COPY on PostgreSQL or one executemany on SQLite. Lists of ids are JSON made by
DuckDB, not by Python.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Mapping
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.csv as pacsv
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
        (reconciliation_matches, _MATCHES, False),
        (reconciliation_breaks, _BREAKS, True),
        (reconciliation_rejects, _REJECTS, False),
    )
    for table, query, with_ids in tables:
        for batch in duck.sql(query).to_arrow_reader(CHUNK_ROWS):
            if batch.num_rows == 0:
                continue
            scoped = _scoped(batch, scope, with_ids)
            _append(conn, table, scoped)
            done += batch.num_rows
            progress("persist", done, total)


def _scoped(batch: pa.RecordBatch, scope: tuple[str, str], with_ids: bool) -> pa.RecordBatch:
    """The batch with the run's account and id in front (and fresh break ids, minted in
    the batch's order, which is the run's break order)."""
    n = batch.num_rows
    head: dict[str, pa.Array] = {}
    if with_ids:
        head["id"] = pa.array([new_id("recbrk") for _ in range(n)], pa.string())
    head["account_id"] = pa.array([scope[0]] * n, pa.string())
    head["run_id"] = pa.array([scope[1]] * n, pa.string())
    names = [*head, *batch.schema.names]
    return pa.RecordBatch.from_arrays([*head.values(), *batch.columns], names=names)


def _append(conn: sa.Connection, table: sa.Table, batch: pa.RecordBatch) -> None:
    """PostgreSQL takes the batch as one COPY of CSV (nulls unquoted, empty strings
    quoted: what COPY reads them as); SQLite the driver's executemany of positional rows,
    since SQLAlchemy's per-row dictionaries cost more than the insert itself."""
    names = ", ".join(batch.schema.names)
    if conn.dialect.name == "postgresql":
        buffer = io.BytesIO()
        options = pacsv.WriteOptions(include_header=False, quoting_style="needed")
        pacsv.write_csv(batch, buffer, options)
        driver = conn.connection.driver_connection
        assert driver is not None
        with (
            driver.cursor() as cursor,
            cursor.copy(f"COPY {table.name} ({names}) FROM STDIN (FORMAT csv)") as copy,
        ):
            copy.write(buffer.getvalue())
        return
    rows = list(zip(*(column.to_pylist() for column in batch.columns), strict=True))
    marks = ", ".join(["?" if conn.dialect.paramstyle == "qmark" else "%s"] * batch.num_columns)
    conn.exec_driver_sql(f"INSERT INTO {table.name} ({names}) VALUES ({marks})", rows)


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
