"""Meter event summaries: Stripe's list of a customer's usage on a meter, by window.

The values come from ``usage.aggregate`` (exact at any moment: rollups plus the raw
tail). This module adds Stripe's rules: minute-aligned ranges (hour- or day-aligned when
grouped), newest window first, windows without events left out, cursor pagination on
deterministic summary ids.
"""

from __future__ import annotations

from typing import Any

import orjson
import sqlalchemy as sa

from remit.billing import customers
from remit.context import CallContext
from remit.metering import formulas
from remit.metering.domain import values
from remit.metering.domain.buckets import DAY_S, HOUR_S, MINUTE_S, WINDOWS_S, aligned
from remit.metering.usage import Window, aggregate
from remit.primitives.errors import ResourceMissing, invalid_parameter
from remit.primitives.ids import ALPHABET

PREFIX = "mtrusg"
DEFAULT_LIMIT = 10


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
    if meter.event_time_window in WINDOWS_S:
        window = meter.event_time_window
        _check_alignment(params, WINDOWS_S[window], f"{window} (the meter's event_time_window)")
    return WINDOWS_S.get(grouping or "")


def _cursor(
    meter: Any, customer_id: str, params: dict[str, Any], key: str, window_s: int | None
) -> tuple[int, int]:
    """The window a cursor names. It must be one this list can hold: the meter's and the
    customer's, and when grouped, one aligned window of the grouping (an hour of an
    hourly list is not a place in a daily one)."""
    cursor = params[key]
    missing = ResourceMissing("billing.meter_event_summary", cursor, param=key)
    parsed = parse_summary_id(cursor)
    if parsed is None or parsed[:2] != (meter.id, customer_id):
        raise missing
    start_s, end_s = parsed[2], parsed[3]
    if window_s is not None and not (aligned(start_s, window_s) and end_s - start_s == window_s):
        raise missing
    return start_s, end_s


def list_summaries(
    conn: sa.Connection, ctx: CallContext, meter: Any, params: dict[str, Any]
) -> dict[str, Any]:
    """Stripe's list of event summaries: newest window first, windows without events
    left out; without ``value_grouping_window`` at most one summary, the whole range."""
    customer = customers.load(conn, ctx.account_id, params["customer"], param="customer")
    window_s = _check_window(meter, params)
    aggregation = formulas.for_meter(ctx.pm, meter.formula, meter.event_time_window)
    limit = params.get("limit", DEFAULT_LIMIT)
    start, end, newest_first = params["start_time"], params["end_time"], True
    if "starting_after" in params:
        end = min(end, _cursor(meter, customer.id, params, "starting_after", window_s)[0])
    if "ending_before" in params:
        start = max(start, _cursor(meter, customer.id, params, "ending_before", window_s)[1])
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
