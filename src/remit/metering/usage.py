"""Exact usage of one customer on one meter over a time range, in windows.

An answer is rollups plus the raw tail. Rollups hold every event up to the account's
watermark; events past it (the tail, small while the applier keeps up) are read from
the raw log and folded on the fly; canceled events are in neither. Both parts come
from ONE statement, so they share one snapshot even under PostgreSQL's READ
COMMITTED: an applier committing meanwhile can neither hide an event nor count it
twice. The answer is therefore exact at any moment, whether or not the applier ran.

A range is read from the coarsest rollups that tile it (days inside, then hours, then
minutes at the edges: ``buckets.cover``), each span one index range of the rollups'
primary key; seconds outside whole minutes (billing periods start at any second) come
from the raw log. No query rescans raw events beyond the tail and those edge seconds.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from remit.metering.domain.aggregations import Aggregation
from remit.metering.domain.buckets import MINUTE_S, Span, aligned, ceil, cover, floor
from remit.metering.rollups import Partial, canceled_clause, event_value, load_state
from remit.metering.tables import meter_events, meter_rollup_watermarks, meter_rollups

_ROLLUP, _RAW, _MARK = 0, 1, 2
MAX_READ_ATTEMPTS = 3
# Up to this many seqs past the watermark, the tail is read by seq (all of the account's
# unapplied events, then filtered); beyond, through the customer's time range instead.
TAIL_SCAN_LIMIT = 100_000


@dataclass(frozen=True, slots=True)
class Window:
    start_s: int
    end_s: int
    value: Decimal
    event_count: int


@dataclass(frozen=True, slots=True)
class _Query:
    account_id: str
    meter_id: str
    customer_id: str
    start_s: int
    end_s: int
    window_s: int | None
    limit: int | None
    newest_first: bool


def aggregate(
    conn: sa.Connection,
    account_id: str,
    meter_id: str,
    customer_id: str,
    aggregation: Aggregation,
    start_s: int,
    end_s: int,
    window_s: int | None = None,
    *,
    limit: int | None = None,
    newest_first: bool = True,
) -> list[Window]:
    """The non-empty windows of ``[start_s, end_s)``, newest first (or oldest first).

    ``window_s`` None: one window, the whole range (any seconds). Otherwise windows are
    the aligned buckets of that grain (hour or day) and the range must be aligned to it;
    ``limit`` then bounds the rollup rows read to the windows that can be answered.
    """
    assert start_s <= end_s
    if start_s == end_s:
        return []
    query = _Query(account_id, meter_id, customer_id, start_s, end_s, window_s, limit, newest_first)
    partials: dict[int, Partial] = {}
    raw = []
    for row in _consistent_rows(conn, query):
        if row.kind == _RAW:
            raw.append(row)
            continue
        at = start_s if window_s is None else row.at
        _merge(partials, at, Partial(load_state(row.state), row.event_count), aggregation)
    for row in sorted(raw, key=lambda r: r.seq):
        at = start_s if window_s is None else floor(row.at, window_s)
        state = aggregation.fold(
            aggregation.initial(), event_value(aggregation, row.value), row.at, row.seq,
            row.payload,
        )  # fmt: skip
        _merge(partials, at, Partial(state, 1), aggregation)
    starts = sorted(partials, reverse=newest_first)[:limit]
    return [
        Window(
            at,
            end_s if window_s is None else at + window_s,
            aggregation.result(partials[at].state),
            partials[at].event_count,
        )
        for at in starts
    ]


def _merge(partials: dict[int, Partial], at: int, part: Partial, aggregation: Aggregation) -> None:
    found = partials.get(at)
    if found is None:
        partials[at] = part
    else:
        found.state = aggregation.merge(found.state, part.state)
        found.event_count += part.event_count


def _consistent_rows(conn: sa.Connection, query: _Query) -> list[Any]:
    """The rollup and raw rows of a query, read against one watermark.

    The watermark is read first and written into the statement as a literal, with the
    account's newest seq: while the tail past the watermark is short (the applier keeps
    up), it is read by seq, whatever the planner's statistics say, rather than through
    the customer's whole range. The statement also returns the watermark it saw: if an
    applier moved it in between, the read is repeated; if it keeps moving, the watermark
    becomes a subquery of the same statement (one snapshot, whatever the plan).
    """
    w, e = meter_rollup_watermarks.c, meter_events.c
    marks = sa.select(
        sa.select(w.applied_seq).where(w.account_id == query.account_id).scalar_subquery(),
        sa.select(sa.func.max(e.seq)).where(e.account_id == query.account_id).scalar_subquery(),
    )
    for _ in range(MAX_READ_ATTEMPTS):
        mark, head = (int(value or 0) for value in conn.execute(marks).one())
        rows = conn.execute(_statement(query, mark, head - mark <= TAIL_SCAN_LIMIT)).all()
        if next((int(r.at) for r in rows if r.kind == _MARK), 0) == mark:
            return [r for r in rows if r.kind != _MARK]
    rows = conn.execute(_statement(query, None, False)).all()
    return [r for r in rows if r.kind != _MARK]


def _statement(query: _Query, mark: int | None, by_seq: bool) -> sa.Executable:
    """Raw rows, rollup rows and the watermark row as one UNION ALL: one snapshot.
    Raw rows come first: their column types are the union's."""
    q = query
    inner: tuple[int, int] | None = None  # what rollups can answer: whole minutes/windows
    spans: list[Span] = []
    if q.window_s is not None:
        assert aligned(q.start_s, q.window_s) and aligned(q.end_s, q.window_s)
        inner, spans = (q.start_s, q.end_s), cover(q.start_s, q.end_s, (q.window_s,))
    elif ceil(q.start_s, MINUTE_S) < floor(q.end_s, MINUTE_S):
        inner = (ceil(q.start_s, MINUTE_S), floor(q.end_s, MINUTE_S))
        spans = cover(*inner)
    w = meter_rollup_watermarks.c
    mark_row = _other(_MARK, w.applied_seq, meter_rollup_watermarks, w.account_id == q.account_id)
    return sa.union_all(
        *_raw_branches(q, inner, _applied(q, mark), by_seq),
        *(_rollup_branch(q, span) for span in spans),
        mark_row,
    )


def _applied(q: _Query, mark: int | None) -> sa.ColumnElement[Any]:
    if mark is not None:
        # A literal, not a parameter: the plan is made knowing how recent it is.
        return sa.literal(mark, sa.BigInteger, literal_execute=True)
    w = meter_rollup_watermarks.c
    current = sa.select(w.applied_seq).where(w.account_id == q.account_id).scalar_subquery()
    return sa.func.coalesce(current, 0)


def _raw_branches(
    q: _Query, inner: tuple[int, int] | None, applied: sa.ColumnElement[Any], by_seq: bool
) -> list[sa.Select[Any]]:
    """Events past the watermark inside ``inner``, every event in the seconds around it."""
    e = meter_events.c
    if inner is None:
        return [_raw(q, meter_events, e.timestamp >= q.start_s, e.timestamp < q.end_s)]
    branches = []
    if by_seq:
        # Materialized: the planner cannot push the customer's columns into it and pick
        # the (account, meter, customer, timestamp) index over the (account, seq) one.
        tail = (
            sa.select(meter_events)
            .where(e.account_id == q.account_id, e.seq > applied)
            .cte("tail")
            .prefix_with("MATERIALIZED")
        )
        branches.append(_raw(q, tail, tail.c.timestamp >= inner[0], tail.c.timestamp < inner[1]))
    else:
        when = (e.seq > applied, e.timestamp >= inner[0], e.timestamp < inner[1])
        branches.append(_raw(q, meter_events, *when))
    if q.start_s < inner[0]:
        branches.append(_raw(q, meter_events, e.timestamp >= q.start_s, e.timestamp < inner[0]))
    if inner[1] < q.end_s:
        branches.append(_raw(q, meter_events, e.timestamp >= inner[1], e.timestamp < q.end_s))
    return branches


def _raw(q: _Query, source: Any, *where: sa.ColumnElement[bool]) -> sa.Select[Any]:
    c = source.c
    return sa.select(
        sa.literal_column(str(_RAW)).label("kind"), c.timestamp.label("at"),
        sa.cast(sa.null(), sa.Text).label("state"),
        sa.cast(sa.null(), sa.BigInteger).label("event_count"),
        c.seq, c.value, c.payload,
    ).where(
        c.account_id == q.account_id, c.meter_id == q.meter_id,
        c.customer_id == q.customer_id, sa.not_(canceled_clause(source)), *where,
    )  # fmt: skip


def _rollup_branch(q: _Query, span: Span) -> sa.Select[Any]:
    r = meter_rollups.c
    rolled = _other(
        _ROLLUP, r.bucket_start, meter_rollups,
        r.account_id == q.account_id, r.meter_id == q.meter_id,
        r.customer_id == q.customer_id, r.grain_s == span.grain_s,
        r.bucket_start >= span.start_s, r.bucket_start < span.end_s,
        state=r.state, event_count=r.event_count,
    )  # fmt: skip
    if q.limit is None or q.window_s is None:
        return rolled
    # Only the newest (oldest) ``limit`` windows can be answered; raw ones merge in.
    order = r.bucket_start.desc() if q.newest_first else r.bucket_start.asc()
    limited = rolled.order_by(order).limit(q.limit).subquery()
    return sa.select(*limited.c)


def _other(kind: int, at: Any, table: sa.Table, *where: Any, **columns: Any) -> sa.Select[Any]:
    """A rollup or watermark row in the raw rows' shape."""
    return sa.select(
        sa.literal_column(str(kind)).label("kind"), at.label("at"),
        columns.get("state", sa.cast(sa.null(), sa.Text)).label("state"),
        columns.get("event_count", sa.cast(sa.null(), sa.BigInteger)).label("event_count"),
        sa.cast(sa.null(), sa.BigInteger).label("seq"),
        sa.cast(sa.null(), sa.String).label("value"),
        sa.cast(sa.null(), sa.JSON).label("payload"),
    ).select_from(table).where(*where)  # fmt: skip
