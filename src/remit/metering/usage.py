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

import functools
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
        merge_partial(partials, at, Partial(load_state(row.state), row.event_count), aggregation)
    for row in sorted(raw, key=lambda r: r.seq):
        at = start_s if window_s is None else floor(row.at, window_s)
        state = aggregation.fold(
            aggregation.initial(), event_value(aggregation, row.value), row.at, row.seq,
            row.payload,
        )  # fmt: skip
        merge_partial(partials, at, Partial(state, 1), aggregation)
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


def merge_partial(
    partials: dict[int, Partial], at: int, part: Partial, aggregation: Aggregation
) -> None:
    """Fold ``part`` into what ``partials`` holds under ``at`` (a window start, or any key)."""
    found = partials.get(at)
    if found is None:
        partials[at] = part
    else:
        found.state = aggregation.merge(found.state, part.state)
        found.event_count += part.event_count


_w, _e = meter_rollup_watermarks.c, meter_events.c
MARKS = sa.select(
    sa.select(_w.applied_seq).where(_w.account_id == sa.bindparam("account_id")).scalar_subquery(),
    sa.select(sa.func.max(_e.seq))
    .where(_e.account_id == sa.bindparam("account_id"))
    .scalar_subquery(),
)


def _consistent_rows(conn: sa.Connection, query: _Query) -> list[Any]:
    """The rollup and raw rows of a query, read against one watermark.

    The watermark is read first and written into the statement as a literal, with the
    account's newest seq: while the tail past the watermark is short (the applier keeps
    up), it is read by seq, whatever the planner's statistics say, rather than through
    the customer's whole range. The statement also returns the watermark it saw: if an
    applier moved it in between, the read is repeated; if it keeps moving, the watermark
    becomes a subquery of the same statement (one snapshot, whatever the plan).
    """
    for _ in range(MAX_READ_ATTEMPTS):
        found = conn.execute(MARKS, {"account_id": query.account_id}).one()
        mark, head = (int(value or 0) for value in found)
        shape, params = _plan(query, mark, head - mark <= TAIL_SCAN_LIMIT)
        rows = conn.execute(_statement(shape), params).all()
        if next((int(r.at) for r in rows if r.kind == _MARK), 0) == mark:
            return [r for r in rows if r.kind != _MARK]
    shape, params = _plan(query, None, False)
    return [r for r in conn.execute(_statement(shape), params).all() if r.kind != _MARK]


@dataclass(frozen=True, slots=True)
class _Shape:
    """What a query's statement looks like; its values are parameters. Statements are
    built once per shape: building one costs more than running it."""

    grains_s: tuple[int, ...]  # one rollup branch per span, of these grains
    inner: bool  # whole minutes (or windows) that rollups answer
    low_edge: bool  # seconds before them
    high_edge: bool  # seconds after them
    by_seq: bool  # the tail read by seq
    mark_literal: bool  # the watermark as a literal (else a subquery)
    limited: bool  # rollup rows ordered and limited
    newest_first: bool


def _plan(query: _Query, mark: int | None, by_seq: bool) -> tuple[_Shape, dict[str, Any]]:
    q = query
    spans: list[Span] = []
    params: dict[str, Any] = {
        "account_id": q.account_id, "meter_id": q.meter_id, "customer_id": q.customer_id,
        "start": q.start_s, "end": q.end_s, "mark": mark, "limit": q.limit,
    }  # fmt: skip
    if q.window_s is not None:
        assert aligned(q.start_s, q.window_s) and aligned(q.end_s, q.window_s)
        params.update(inner_start=q.start_s, inner_end=q.end_s)
        spans = cover(q.start_s, q.end_s, (q.window_s,))
    elif ceil(q.start_s, MINUTE_S) < floor(q.end_s, MINUTE_S):
        params.update(inner_start=ceil(q.start_s, MINUTE_S), inner_end=floor(q.end_s, MINUTE_S))
        spans = cover(params["inner_start"], params["inner_end"])
    for n, span in enumerate(spans):
        params[f"span{n}_start"], params[f"span{n}_end"] = span.start_s, span.end_s
    inner = "inner_start" in params
    shape = _Shape(
        grains_s=tuple(span.grain_s for span in spans),
        inner=inner,
        low_edge=inner and q.start_s < params["inner_start"],
        high_edge=inner and params["inner_end"] < q.end_s,
        by_seq=by_seq,
        mark_literal=mark is not None,
        limited=q.limit is not None and q.window_s is not None,
        newest_first=q.newest_first,
    )
    return shape, params


@functools.lru_cache(maxsize=512)
def _statement(shape: _Shape) -> sa.Executable:
    """Raw rows, rollup rows and the watermark row as one UNION ALL: one snapshot.
    Raw rows come first: their column types are the union's."""
    w = meter_rollup_watermarks.c
    mark_row = _other(
        _MARK, w.applied_seq, meter_rollup_watermarks, w.account_id == _p("account_id")
    )
    return sa.union_all(
        *_raw_branches(shape),
        *(_rollup_branch(shape, n, grain_s) for n, grain_s in enumerate(shape.grains_s)),
        mark_row,
    )


def _p(name: str) -> sa.BindParameter[Any]:
    return sa.bindparam(name)


def _applied(shape: _Shape) -> sa.ColumnElement[Any]:
    if shape.mark_literal:
        # A literal, not a parameter: the plan is made knowing how recent it is.
        return sa.bindparam("mark", type_=sa.BigInteger, literal_execute=True)
    w = meter_rollup_watermarks.c
    current = sa.select(w.applied_seq).where(w.account_id == _p("account_id")).scalar_subquery()
    return sa.func.coalesce(current, 0)


def _raw_branches(shape: _Shape) -> list[sa.Select[Any]]:
    """Events past the watermark inside the whole minutes, every event around them."""
    e = meter_events.c
    if not shape.inner:
        return [_raw(meter_events, e.timestamp >= _p("start"), e.timestamp < _p("end"))]
    branches = []
    if shape.by_seq:
        # Materialized: the planner cannot push the customer's columns into it and pick
        # the (account, meter, customer, timestamp) index over the (account, seq) one.
        tail = (
            sa.select(meter_events)
            .where(e.account_id == _p("account_id"), e.seq > _applied(shape))
            .cte("tail")
            .prefix_with("MATERIALIZED")
        )
        inside = (tail.c.timestamp >= _p("inner_start"), tail.c.timestamp < _p("inner_end"))
        branches.append(_raw(tail, *inside))
    else:
        past = e.seq > _applied(shape)
        inside = (e.timestamp >= _p("inner_start"), e.timestamp < _p("inner_end"))
        branches.append(_raw(meter_events, past, *inside))
    if shape.low_edge:
        branches.append(
            _raw(meter_events, e.timestamp >= _p("start"), e.timestamp < _p("inner_start"))
        )
    if shape.high_edge:
        branches.append(_raw(meter_events, e.timestamp >= _p("inner_end"), e.timestamp < _p("end")))
    return branches


def _raw(source: Any, *where: sa.ColumnElement[bool]) -> sa.Select[Any]:
    c = source.c
    return sa.select(
        sa.literal_column(str(_RAW)).label("kind"), c.timestamp.label("at"),
        sa.cast(sa.null(), sa.Text).label("state"),
        sa.cast(sa.null(), sa.BigInteger).label("event_count"),
        c.seq, c.value, c.payload,
    ).where(
        c.account_id == _p("account_id"), c.meter_id == _p("meter_id"),
        c.customer_id == _p("customer_id"), sa.not_(canceled_clause(source)), *where,
    )  # fmt: skip


def _rollup_branch(shape: _Shape, n: int, grain_s: int) -> sa.Select[Any]:
    r = meter_rollups.c
    rolled = _other(
        _ROLLUP, r.bucket_start, meter_rollups,
        r.account_id == _p("account_id"), r.meter_id == _p("meter_id"),
        r.customer_id == _p("customer_id"), r.grain_s == grain_s,
        r.bucket_start >= _p(f"span{n}_start"), r.bucket_start < _p(f"span{n}_end"),
        state=r.state, event_count=r.event_count,
    )  # fmt: skip
    if not shape.limited:
        return rolled
    # Only the newest (oldest) ``limit`` windows can be answered; raw ones merge in.
    order = r.bucket_start.desc() if shape.newest_first else r.bucket_start.asc()
    limited = rolled.order_by(order).limit(sa.bindparam("limit", type_=sa.Integer)).subquery()
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
