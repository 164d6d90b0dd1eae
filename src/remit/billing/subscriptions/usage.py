"""Usage of many subscription items at once, for a bill run: one statement per chunk.

``remit.metering.usage.aggregate`` answers one (meter, customer, range) with rollups up
to the account's watermark plus the raw tail past it. A bill run asks the same question
for thousands of items; asking it one item at a time would be thousands of round trips.
Here the questions travel as a VALUES list and ONE statement answers a chunk of them,
with the same parts as ``aggregate``, so the answers are the same:

- rollups of the coarsest grains tiling each query's whole minutes (``buckets.cover``),
  which hold every event up to the watermark, cancellations already subtracted;
- raw events past the watermark inside those minutes (the tail);
- raw events in the seconds before the first and after the last whole minute (periods
  start at any second), whatever their seq;
- the watermark row itself: the statement is built with the watermark read just before
  as a literal, and is repeated if an applier moved it in between (as ``aggregate``).

Each query is then folded as ``aggregate`` folds one: rollup states merged in bucket
order, each raw event folded on its own and merged in seq order.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import orjson
import sqlalchemy as sa

from remit.metering import formulas
from remit.metering.domain.aggregations import Aggregation
from remit.metering.domain.buckets import MINUTE_S, ceil, cover, floor
from remit.metering.rollups import Partial, event_value, load_state
from remit.metering.tables import billing_meters
from remit.metering.usage import MARKS, MAX_READ_ATTEMPTS, TAIL_SCAN_LIMIT, merge_partial
from remit.primitives.errors import InvalidRequestError

# Queries per statement: each binds 7 values plus 4 per rollup span (at most 5 spans),
# well under SQLite's 32,766 and PostgreSQL's 65,535 parameters.
CHUNK_QUERIES = 500
_ROLLUP, _RAW, _MARK = 0, 1, 2


@dataclass(frozen=True, slots=True)
class UsageQuery:
    """One item's question: its meter's usage by one customer over ``[start_s, end_s)``."""

    key: str  # the asker (a subscription item id): unique within a call
    meter_id: str
    customer_id: str
    start_s: int
    end_s: int


@dataclass(frozen=True, slots=True)
class Usage:
    value: Decimal
    event_count: int


NO_USAGE = Usage(Decimal(0), 0)


def aggregations_for(
    conn: sa.Connection, account_id: str, meter_ids: Iterable[str], pm: Any
) -> dict[str, Aggregation]:
    """Meter id -> how its events aggregate. A meter whose formula's plugin is not loaded
    cannot be billed: refused, rather than billed as zero."""
    m = billing_meters.c
    wanted = sorted(set(meter_ids))
    found: dict[str, Aggregation] = {}
    for start in range(0, len(wanted), CHUNK_QUERIES):
        rows = conn.execute(
            sa.select(m.id, m.formula, m.event_time_window).where(
                m.account_id == account_id, m.id.in_(wanted[start : start + CHUNK_QUERIES])
            )
        )
        for row in rows:
            found[row.id] = formulas.for_meter(pm, row.formula, row.event_time_window)
    missing = [meter_id for meter_id in wanted if meter_id not in found]
    if missing:
        raise InvalidRequestError(f"No such billing meter: {missing[0]}.", code="resource_missing")
    return found


def usage_many(
    conn: sa.Connection,
    account_id: str,
    queries: Sequence[UsageQuery],
    aggregations: Mapping[str, Aggregation],
) -> dict[str, Usage]:
    """Query key -> usage; ``NO_USAGE`` where no event counts (``aggregate`` gives no
    window then)."""
    assert len({q.key for q in queries}) == len(queries), "query keys are unique"
    answers: dict[str, Usage] = {}
    for start in range(0, len(queries), CHUNK_QUERIES):
        chunk = [q for q in queries[start : start + CHUNK_QUERIES] if q.start_s < q.end_s]
        if chunk:
            answers.update(_chunk(conn, account_id, chunk, aggregations))
    return {q.key: answers.get(q.key, NO_USAGE) for q in queries}


def _chunk(
    conn: sa.Connection,
    account_id: str,
    chunk: Sequence[UsageQuery],
    aggregations: Mapping[str, Aggregation],
) -> dict[str, Usage]:
    partials: dict[int, Partial] = {}
    rows = _consistent_rows(conn, account_id, chunk)
    rolled = sorted((r for r in rows if r[0] == _ROLLUP), key=lambda r: (r[1], r[2]))
    for _, n, _, state, event_count, *_ in rolled:
        part = Partial(load_state(state), int(event_count))
        merge_partial(partials, n, part, aggregations[chunk[n].meter_id])
    raw = sorted((r for r in rows if r[0] == _RAW), key=lambda r: r[5])
    for _, n, at, _, _, seq, value, payload in raw:
        aggregation = aggregations[chunk[n].meter_id]
        loaded = payload if isinstance(payload, dict) else orjson.loads(payload)
        state = aggregation.fold(
            aggregation.initial(), event_value(aggregation, value), int(at), int(seq), loaded
        )
        merge_partial(partials, n, Partial(state, 1), aggregation)
    return {
        chunk[n].key: Usage(aggregations[chunk[n].meter_id].result(p.state), p.event_count)
        for n, p in partials.items()
    }


def _consistent_rows(
    conn: sa.Connection, account_id: str, chunk: Sequence[UsageQuery]
) -> list[Any]:
    """The chunk's rollup and raw rows against one watermark (see ``usage.aggregate``):
    read with the watermark as a literal while it holds still, else as a subquery."""
    values = _values(chunk)
    postgres = conn.dialect.name == "postgresql"
    for _ in range(MAX_READ_ATTEMPTS):
        found = conn.execute(MARKS, {"account_id": account_id}).one()
        mark, head = (int(value or 0) for value in found)
        shape = _Shape(
            postgres, len(chunk), len(values[1]) // 4, mark, head - mark <= TAIL_SCAN_LIMIT
        )
        rows = _run(conn, shape, account_id, values)
        if next((int(r[2]) for r in rows if r[0] == _MARK), 0) == mark:
            return [r for r in rows if r[0] != _MARK]
    shape = _Shape(postgres, len(chunk), len(values[1]) // 4, None, False)
    return [r for r in _run(conn, shape, account_id, values) if r[0] != _MARK]


def _run(
    conn: sa.Connection, shape: _Shape, account_id: str, values: tuple[list[Any], list[Any]]
) -> list[Any]:
    text, accounts_n = _statement(shape)
    return list(conn.exec_driver_sql(text, (*values[0], *values[1], *[account_id] * accounts_n)))


def _values(chunk: Sequence[UsageQuery]) -> tuple[list[Any], list[Any]]:
    """The flat parameters of the queries' and the spans' VALUES lists. A query without
    a whole minute reads its whole range as a low edge (its inner range empty, at its end)."""
    queries: list[Any] = []
    spans: list[Any] = []
    for n, q in enumerate(chunk):
        inner_start, inner_end = ceil(q.start_s, MINUTE_S), floor(q.end_s, MINUTE_S)
        if inner_start >= inner_end:
            inner_start = inner_end = q.end_s
        queries += (n, q.meter_id, q.customer_id, q.start_s, q.end_s, inner_start, inner_end)
        for span in cover(inner_start, inner_end) if inner_start < inner_end else ():
            spans += (n, span.grain_s, span.start_s, span.end_s)
    # VALUES needs a row: an empty span stands in when no query has a whole minute.
    return queries, spans or [-1, 0, 0, 0]


@dataclass(frozen=True, slots=True)
class _Shape:
    """What a chunk's statement looks like; its values are parameters."""

    postgres: bool
    queries_n: int
    spans_n: int
    mark: int | None  # the watermark as a literal (None: a subquery)
    by_seq: bool  # the tail read by seq (short), else through each query's range


class _Text:
    """Statement text with its account parameters counted as they are written."""

    def __init__(self, postgres: bool) -> None:
        self.p = "%s" if postgres else "?"
        self.accounts_n = 0

    def account(self) -> str:
        self.accounts_n += 1
        return self.p


@functools.lru_cache(maxsize=256)
def _statement(shape: _Shape) -> tuple[str, int]:
    """Driver SQL for a shape: building it through SQLAlchemy costs more than running it
    for a large VALUES list. Returns the text and how many account parameters follow the
    VALUES parameters."""
    t = _Text(shape.postgres)
    p, big, i32 = t.p, "::bigint" if shape.postgres else "", "::integer" if shape.postgres else ""
    q_row = f"({p}{i32}, {p}, {p}, {p}{big}, {p}{big}, {p}{big}, {p}{big})"
    s_row = f"({p}{i32}, {p}{i32}, {p}{big}, {p}{big})"
    head = (
        "WITH q(n, meter_id, customer_id, start_s, end_s, inner_start, inner_end) AS "
        f"(VALUES {', '.join([q_row] * shape.queries_n)}), "
        f"s(n, grain_s, lo, hi) AS (VALUES {', '.join([s_row] * shape.spans_n)})"
    )
    if shape.by_seq:
        # Materialized: the planner cannot push each query's columns into it and pick the
        # (account, meter, customer, timestamp) index over the (account, seq) one.
        head += (
            ", tail AS MATERIALIZED (SELECT seq, account_id, meter_id, customer_id, "
            "identifier, timestamp, value, payload FROM meter_events "
            f"WHERE account_id = {t.account()} AND seq > {_applied(t, shape)})"
        )
    branches = [
        _rollups(t, shape),
        _raw(t, shape, "meter_events", "q.start_s", "q.inner_start", ""),
        _raw(t, shape, "meter_events", "q.inner_end", "q.end_s", ""),
        _tail(t, shape),
        "SELECT 2, NULL, applied_seq, NULL, NULL, NULL, NULL, NULL "
        f"FROM meter_rollup_watermarks WHERE account_id = {t.account()}",
    ]
    return f"{head} {' UNION ALL '.join(branches)}", t.accounts_n


def _applied(t: _Text, shape: _Shape) -> str:
    if shape.mark is not None:
        # A literal, not a parameter: the plan is made knowing how recent it is.
        return str(int(shape.mark))
    return (
        "coalesce((SELECT applied_seq FROM meter_rollup_watermarks "
        f"WHERE account_id = {t.account()}), 0)"
    )


def _probe(shape: _Shape, outer: str, table: str, columns: str, where: str) -> str:
    """Rows of ``table`` matching each outer row, found by index probes. PostgreSQL gets a
    LATERAL subquery that cannot be flattened (OFFSET 0): a hash join would read every
    rollup or event of the account. SQLite's nested loops probe the index already."""
    if shape.postgres:
        return (
            f"FROM {outer} CROSS JOIN LATERAL (SELECT {columns} FROM {table} AS x "
            f"WHERE {where} OFFSET 0) AS x"
        )
    return f"FROM {outer} JOIN {table} AS x ON {where}"


def _rollups(t: _Text, shape: _Shape) -> str:
    where = (
        f"x.account_id = {t.account()} AND x.meter_id = q.meter_id "
        "AND x.customer_id = q.customer_id AND x.grain_s = s.grain_s "
        "AND x.bucket_start >= s.lo AND x.bucket_start < s.hi"
    )
    columns = "x.bucket_start, x.state, x.event_count"
    found = _probe(shape, "s JOIN q ON q.n = s.n", "meter_rollups", columns, where)
    return f"SELECT 0, q.n, x.bucket_start, x.state, x.event_count, NULL, NULL, NULL {found}"


_KEPT = (
    "NOT EXISTS (SELECT 1 FROM meter_event_cancellations AS c "
    "WHERE c.account_id = x.account_id AND c.identifier = x.identifier)"
)
_RAW_COLUMNS = "x.account_id, x.identifier, x.timestamp, x.seq, x.value, x.payload"


def _raw(t: _Text, shape: _Shape, table: str, low: str, high: str, extra: str) -> str:
    """Raw events of each query's customer and meter in ``[low, high)``, not canceled."""
    where = (
        f"x.account_id = {t.account()} AND x.meter_id = q.meter_id "
        f"AND x.customer_id = q.customer_id AND x.timestamp >= {low} AND x.timestamp < {high}"
        f"{extra} AND {_KEPT}"
    )
    found = _probe(shape, "q", table, _RAW_COLUMNS, where)
    return f"SELECT 1, q.n, x.timestamp, NULL, NULL, x.seq, x.value, x.payload {found}"


def _tail(t: _Text, shape: _Shape) -> str:
    """Events past the watermark inside each query's whole minutes."""
    if shape.by_seq:
        return (
            "SELECT 1, q.n, x.timestamp, NULL, NULL, x.seq, x.value, x.payload "
            "FROM q JOIN tail AS x ON x.meter_id = q.meter_id AND x.customer_id = q.customer_id "
            f"AND x.timestamp >= q.inner_start AND x.timestamp < q.inner_end WHERE {_KEPT}"
        )
    return _raw(
        t,
        shape,
        "meter_events",
        "q.inner_start",
        "q.inner_end",
        f" AND x.seq > {_applied(t, shape)}",
    )
