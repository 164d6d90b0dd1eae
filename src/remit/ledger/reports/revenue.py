"""Deferred revenue over time: the monthly rollforward and the revenue waterfall.

The rollforward reads only the journal. The waterfall also needs to know which
booking each recognized amount came from, which one recognition entry (aggregating
many invoices) cannot tell: it reads revenue recognition's per-obligation records
through a ``RevrecSource``, so tests and other stores can hand it any Arrow table
of the contract's schema.
"""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc
import sqlalchemy as sa

from remit.ledger.reports import queries as q
from remit.ledger.reports.model import (
    Report,
    ReportParams,
    Row,
    amounts,
    month_label,
    months_between,
    text,
)
from remit.ledger.reports.source import (
    OBLIGATION_SCHEMA,
    RECOGNITION_SCHEMA,
    LegFilter,
    RevrecSource,
    conform,
    load,
    session,
    stored_obligations,
    stored_recognitions,
    with_calendar,
)
from remit.ledger.reports.statements import fetch, period

ROLLFORWARD = (
    *text("currency", "month"),
    *amounts("opening", "additions", "recognized", "other", "ending"),
)
RELEASED, UNRECOGNIZED = "released", "unrecognized"
# Sorts before any YYYY-MM label: "no lower bound".
NO_MONTH = "0000-00"


def deferred_revenue_rollforward(conn: sa.Connection, account_id: str, p: ReportParams) -> Report:
    """Per currency and month: opening + additions - recognized + other = ending.

    Additions are invoice bookings, recognized is ``revenue.recognized``; other is every
    other movement (voids, refunds' releases, reversals). Months run from ``since``
    (default: the first month with deferred revenue) through the report date.
    """
    wanted = LegFilter(p.until_ts, p.currency, ("deferred_revenue",), detail="causes")
    rows: list[Row] = []
    totals: list[Row] = []
    with session(conn, account_id, wanted) as duck:
        first = month_label(p.since) if p.since else fetch(duck, q.FIRST_DEFERRED_MONTH)[0][0]
        if first is not None:
            grid = pa.record_batch([pa.array(months_between(str(first), month_label(p.through)))],
                                   names=["month"])  # fmt: skip
            load(duck, "months", grid.schema, [grid])
            rows = fetch(duck, q.ROLLFORWARD_ROWS, {"first_month": first})
            totals = fetch(duck, q.ROLLFORWARD_TOTALS, {"first_month": first})
    return Report("deferred_revenue_rollforward", f"Deferred revenue rollforward, {period(p)}",
                  ROLLFORWARD, tuple(rows), tuple(totals), p)  # fmt: skip


def revenue_waterfall(
    conn: sa.Connection,
    account_id: str,
    p: ReportParams,
    recognitions: RevrecSource = stored_recognitions,
    obligations: RevrecSource = stored_obligations,
) -> Report:
    """Rows: booked month; columns: recognized month, then released, then unrecognized.

    ``booked`` is what invoice finalization credited to revenue and deferred revenue
    that month (the journal's figure). The month cells are revenue recognition's
    records by obligation (revenue at booking included, voids negative); ``released``
    is what later entries gave back from that month's bookings (refunds' and credit
    notes' releases, voids); ``unrecognized`` is what its obligations still hold at
    the report date. Each row sums to ``booked`` exactly when revenue recognition
    agrees with the journal.
    """
    extra = {
        "recognitions": _revrec_table(recognitions(conn, account_id, p.until_ts),
                                      RECOGNITION_SCHEMA, p),
        "obligations": _revrec_table(obligations(conn, account_id, p.until_ts),
                                     OBLIGATION_SCHEMA, p),
    }  # fmt: skip
    wanted = LegFilter(p.until_ts, p.currency, ("deferred_revenue", "revenue"), detail="causes")
    first = month_label(p.since) if p.since else NO_MONTH
    with session(conn, account_id, wanted, extra) as duck:
        booked = fetch(duck, q.WATERFALL_BOOKED, {"first_month": first})
        binds = {"first_month": first, "account_id": account_id, "through_day": p.through_day}
        cells = fetch(duck, q.WATERFALL_CELLS, binds)
    return _pivot(p, booked, cells)


def _revrec_table(table: pa.Table, schema: pa.Schema, p: ReportParams) -> pa.Table:
    """The contract's columns plus ``booked_month`` (and ``month`` of a recognition's day)."""
    table = conform(table, schema)
    if p.currency is not None:
        table = table.filter(pc.equal(table["currency"], p.currency))
    # DuckDB learns the columns from the first batch: an empty table still sends one.
    empty = pa.RecordBatch.from_arrays([pa.array([], f.type) for f in schema], schema=schema)
    chunks = [with_calendar(b, "booked_at", "booked_") for b in table.to_batches() or [empty]]
    if "day" in schema.names:
        chunks = [_with_day_month(b) for b in chunks]
    return pa.Table.from_batches(chunks)


def _with_day_month(batch: pa.RecordBatch) -> pa.RecordBatch:
    days = batch.column("day").cast(pa.int32()).cast(pa.date32())
    month = pc.strftime(days, format="%Y-%m")
    return pa.RecordBatch.from_arrays([*batch.columns, month], names=[*batch.schema.names, "month"])


def _pivot(p: ReportParams, booked: list[Row], cells: list[Row]) -> Report:
    """Long (currency, booked, recognized, amount) rows into one row per booked month.

    Presentation only: the pivot is at most months x months per currency.
    """
    months = sorted({str(c[2]) for c in cells} - {RELEASED, UNRECOGNIZED})
    keys = sorted({(str(r[0]), str(r[1])) for r in (*booked, *cells)})
    booked_by = {(r[0], r[1]): r[2] for r in booked}
    cell_by = {(c[0], c[1], c[2]): c[3] for c in cells}
    rows: list[Row] = [
        (currency, month, booked_by.get((currency, month), 0),
         *(cell_by.get((currency, month, m), 0) for m in (*months, RELEASED, UNRECOGNIZED)))
        for currency, month in keys
    ]  # fmt: skip
    totals: list[Row] = []
    for currency in sorted({str(r[0]) for r in rows}):
        mine = [r[2:] for r in rows if r[0] == currency]
        sums = (sum(int(v) for v in column) for column in zip(*mine, strict=True))
        totals.append((currency, "total", *sums))
    columns = (
        *text("currency", "booked_month"),
        *amounts("booked", *months, RELEASED, UNRECOGNIZED),
    )
    title = f"Revenue waterfall (booked x recognized month), {period(p)}"
    return Report("revenue_waterfall", title, columns, tuple(rows), tuple(totals), p)
