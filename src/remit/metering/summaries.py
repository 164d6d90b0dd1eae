"""Meter event summaries: exact aggregates of one customer's usage over time windows.

An answer is rollups plus the raw tail. Rollups hold every event up to the account's
watermark; events past it (the tail, small while the applier keeps up) are read from
the raw log and folded on the fly; canceled events are in neither. Both parts come
from ONE statement, so they share one snapshot even under PostgreSQL's READ
COMMITTED: an applier committing meanwhile can neither hide an event nor count it
twice. The answer is therefore exact at any moment, whether or not the applier ran.

A window is read from the coarsest rollups that tile it (days inside, then hours,
then minutes at the edges: ``buckets.cover``); seconds outside whole minutes (only
``aggregate`` callers, e.g. billing periods, have those) come from the raw log.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import orjson
import sqlalchemy as sa

from remit.billing import customers
from remit.context import CallContext
from remit.metering import formulas
from remit.metering.domain import values
from remit.metering.domain.aggregations import Aggregation
from remit.metering.domain.buckets import DAY_S, HOUR_S, MINUTE_S, aligned, ceil, cover, floor
from remit.metering.rollups import Partial, canceled_clause, event_value, load_state
from remit.metering.tables import meter_events, meter_rollup_watermarks, meter_rollups
from remit.primitives.errors import ResourceMissing, invalid_parameter
from remit.primitives.ids import ALPHABET

PREFIX = "mtrusg"
GROUPING_S = {"hour": HOUR_S, "day": DAY_S}
DEFAULT_LIMIT = 10


@dataclass(frozen=True, slots=True)
class Window:
    start_s: int
    end_s: int
    value: Decimal
    event_count: int


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
    statement = _statement(
        account_id, meter_id, customer_id, start_s, end_s, window_s, limit, newest_first
    )
    partials: dict[int, Partial] = {}
    tail = []
    for row in conn.execute(statement):
        if row.tail:
            tail.append(row)
            continue
        at = start_s if window_s is None else row.at
        _merge(partials, at, Partial(load_state(row.state), row.event_count), aggregation)
    for row in sorted(tail, key=lambda r: r.seq):
        at = start_s if window_s is None else floor(row.at, window_s)
        state = aggregation.fold(
            aggregation.initial(), event_value(aggregation, row.value), row.at, row.seq,
            row.payload,
        )  # fmt: skip
        _merge(partials, at, Partial(state, 1), aggregation)
    starts = sorted(partials, reverse=newest_first)
    if limit is not None:
        starts = starts[:limit]
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


def _statement(
    account_id: str,
    meter_id: str,
    customer_id: str,
    start_s: int,
    end_s: int,
    window_s: int | None,
    limit: int | None,
    newest_first: bool,
) -> sa.Executable:
    """Rollup rows and raw tail rows of the range, as one UNION ALL (one snapshot)."""
    r, e, w = meter_rollups.c, meter_events.c, meter_rollup_watermarks.c
    if window_s is None:
        # Whole minutes come from rollups; the seconds around them only from the raw log.
        inner_start, inner_end = ceil(start_s, MINUTE_S), floor(end_s, MINUTE_S)
        inner_end = max(inner_start, inner_end)
        spans = cover(inner_start, inner_end)
    else:
        assert aligned(start_s, window_s) and aligned(end_s, window_s)
        inner_start, inner_end = start_s, end_s
        spans = cover(start_s, end_s, (window_s,))
    watermark = sa.func.coalesce(
        sa.select(w.applied_seq).where(w.account_id == account_id).scalar_subquery(), 0
    )
    tail = sa.select(
        sa.literal_column("1").label("tail"),
        e.timestamp.label("at"),
        sa.cast(sa.null(), sa.Text).label("state"),
        sa.cast(sa.null(), sa.BigInteger).label("event_count"),
        e.seq,
        e.value,
        e.payload,
    ).where(
        e.account_id == account_id,
        e.meter_id == meter_id,
        e.customer_id == customer_id,
        e.timestamp >= start_s,
        e.timestamp < end_s,
        sa.or_(e.seq > watermark, e.timestamp < inner_start, e.timestamp >= inner_end),
        sa.not_(canceled_clause()),
    )
    if not spans:
        return tail
    rolled = sa.select(
        sa.literal_column("0").label("tail"),
        r.bucket_start.label("at"),
        r.state,
        r.event_count,
        sa.cast(sa.null(), sa.BigInteger).label("seq"),
        sa.cast(sa.null(), sa.String).label("value"),
        sa.cast(sa.null(), sa.JSON).label("payload"),
    ).where(
        r.account_id == account_id,
        r.meter_id == meter_id,
        r.customer_id == customer_id,
        sa.or_(
            *(
                sa.and_(
                    r.grain_s == span.grain_s,
                    r.bucket_start >= span.start_s,
                    r.bucket_start < span.end_s,
                )
                for span in spans
            )
        ),
    )
    if limit is not None and window_s is not None:
        # Only the newest (oldest) ``limit`` windows can be answered; tail windows merge in.
        order = r.bucket_start.desc() if newest_first else r.bucket_start.asc()
        limited = rolled.order_by(order).limit(limit).subquery()
        rolled = sa.select(*limited.c)
    return sa.union_all(tail, rolled)


def summary_id(meter_id: str, customer_id: str, start_s: int, end_s: int) -> str:
    """A deterministic id naming the window, so list cursors survive between calls."""
    number = int.from_bytes(b"\x01" + f"{meter_id}|{customer_id}|{start_s}|{end_s}".encode())
    digits = []
    while number:
        number, digit = divmod(number, 62)
        digits.append(ALPHABET[digit])
    return f"{PREFIX}_{''.join(reversed(digits))}"


def parse_summary_id(summary_id: str) -> tuple[str, str, int, int] | None:
    head, _, body = summary_id.partition("_")
    if head != PREFIX or not body or len(body) > 300 or any(ch not in ALPHABET for ch in body):
        return None
    number = 0
    for ch in body:
        number = number * 62 + ALPHABET.index(ch)
    raw = number.to_bytes((number.bit_length() + 7) // 8, "big")
    parts = raw[1:].decode(errors="replace").split("|") if raw[:1] == b"\x01" else []
    if len(parts) != 4 or not all(p.lstrip("-").isdigit() for p in parts[2:]):
        return None
    return parts[0], parts[1], int(parts[2]), int(parts[3])


def render(meter_id: str, customer_id: str, window: Window) -> dict[str, Any]:
    return {
        "id": summary_id(meter_id, customer_id, window.start_s, window.end_s),
        "object": "billing.meter_event_summary",
        # A JSON number written from the exact decimal, never through a float.
        "aggregated_value": orjson.Fragment(values.decimal_text(window.value)),
        "end_time": window.end_s,
        "livemode": False,
        "meter": meter_id,
        "start_time": window.start_s,
    }


def _check_alignment(params: dict[str, Any], grain_s: int, what: str) -> None:
    for key in ("start_time", "end_time"):
        if not aligned(params[key], grain_s):
            raise invalid_parameter(key, f"{key} must be aligned with {what} boundaries.")


def _check_window(meter: Any, params: dict[str, Any]) -> int | None:
    _check_alignment(params, MINUTE_S, "minute")
    if params["start_time"] >= params["end_time"]:
        raise invalid_parameter("end_time", "end_time must be after start_time.")
    grouping = params.get("value_grouping_window")
    if grouping == "hour":
        _check_alignment(params, HOUR_S, "hour (for hourly granularity)")
    if grouping == "day":
        _check_alignment(params, DAY_S, "UTC day (for daily granularity)")
    # A meter of events pre-aggregated per hour or day cannot be split finer.
    if meter.event_time_window == "day" and grouping == "hour":
        raise invalid_parameter(
            "value_grouping_window",
            f"The meter {meter.id} aggregates events per day (event_time_window=day); "
            "its summaries cannot be grouped by hour.",
        )
    if meter.event_time_window in GROUPING_S:
        window = meter.event_time_window
        _check_alignment(params, GROUPING_S[window], f"{window} (the meter's event_time_window)")
    return GROUPING_S.get(grouping or "")


def _cursor(meter: Any, customer_id: str, params: dict[str, Any], key: str) -> tuple[int, int]:
    cursor = params[key]
    parsed = parse_summary_id(cursor)
    if parsed is None or parsed[:2] != (meter.id, customer_id):
        raise ResourceMissing("billing.meter_event_summary", cursor, param=key)
    return parsed[2], parsed[3]


def list_summaries(
    conn: sa.Connection, ctx: CallContext, meter: Any, params: dict[str, Any]
) -> dict[str, Any]:
    """Stripe's list of event summaries: newest window first, windows without events
    left out; without ``value_grouping_window`` at most one summary, the whole range."""
    customer = customers.load(conn, ctx.account_id, params["customer"], param="customer")
    window_s = _check_window(meter, params)
    aggregation = formulas.require(ctx.pm, meter.formula)
    limit = params.get("limit", DEFAULT_LIMIT)
    start, end, newest_first = params["start_time"], params["end_time"], True
    if "starting_after" in params:
        end = min(end, _cursor(meter, customer.id, params, "starting_after")[0])
    if "ending_before" in params:
        start = max(start, _cursor(meter, customer.id, params, "ending_before")[1])
        newest_first = False
    windows = aggregate(
        conn, ctx.account_id, meter.id, customer.id, aggregation, start, max(start, end),
        window_s, limit=limit + 1, newest_first=newest_first,
    )  # fmt: skip
    has_more = len(windows) > limit
    windows = windows[:limit]
    if not newest_first:
        windows.reverse()
    return {
        "object": "list",
        "data": [render(meter.id, customer.id, w) for w in windows],
        "has_more": has_more,
        "url": f"/v1/billing/meters/{meter.id}/event_summaries",
    }
