"""Property: every page of every summary list equals a brute-force fold of the events
sent, whatever the applier did in between (runs of any batch size interleaved with
ingestion and cancels), for every formula, the plugin ones and pre-aggregated meters
included, ungrouped and by hour or day, paged forwards and back with any limit."""

from __future__ import annotations

from decimal import Decimal

import orjson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from metering_support import canceled, new_tenant, raw_log

from remit.metering import adjustments, formulas, meters, rollups, summaries
from remit.metering.domain.values import decimal_text
from remit.metering.ingest import EventInput, ingest
from remit.plugins.manager import make_manager
from remit.primitives.clock import FixedClock

DAY, HOUR, MINUTE = 86400, 3600, 60
NOW = 1_767_225_600 + 3 * DAY  # a UTC midnight
PM = make_manager(frozenset({"usage_aggregations"}))
# Event name -> (formula, event_time_window).
METERS = {
    "sum": ("sum", None),
    "count": ("count", None),
    "last": ("last", None),
    "max": ("max", None),
    "unique_count": ("unique_count", None),
    "sum_hourly": ("sum", "hour"),
    "count_daily": ("count", "day"),
    "max_hourly": ("max", "hour"),
}
WINDOW_S = {"hour": HOUR, "day": DAY}


def _brute_force(store, ctx, name, meter_id, customer, start, end, grouping_s):
    """Non-empty windows newest first, as (start, end, value): the raw log folded event by
    event, a pre-aggregated meter's windows first reduced to their last-received event."""
    formula, window = METERS[name]
    aggregation = formulas.require(PM, formula)
    skip = canceled(store, ctx.account_id)
    kept = {}
    for row in raw_log(store, ctx.account_id):
        if (row.meter_id, row.customer_id) != (meter_id, customer) or row.identifier in skip:
            continue
        if start <= row.timestamp < end:
            # Rows come in seq order: a later event of a pre-aggregated window replaces it.
            kept[row.seq if window is None else row.timestamp] = row
    states = {}
    for row in sorted(kept.values(), key=lambda r: r.seq):
        at = start if grouping_s is None else row.timestamp - row.timestamp % grouping_s
        value = rollups.event_value(aggregation, row.value)
        state = states.get(at, aggregation.initial())
        states[at] = aggregation.fold(state, value, row.timestamp, row.seq, row.payload)
    return [
        (at, end if grouping_s is None else at + grouping_s, aggregation.result(states[at]))
        for at in sorted(states, reverse=True)
    ]


def _pages(store, ctx, meter_id, params, limit):
    """Every summary, following starting_after to the end, then ending_before back."""
    with store.read() as conn:
        meter = meters.load(conn, ctx.account_id, meter_id)
        forward, cursor = [], {}
        while True:
            page = summaries.list_summaries(conn, ctx, meter, {**params, **cursor, "limit": limit})
            forward += page["data"]
            assert len(page["data"]) <= limit
            if not page["has_more"]:
                break
            cursor = {"starting_after": page["data"][-1]["id"]}
        backward, cursor = [], {}
        if forward:
            cursor = {"ending_before": forward[-1]["id"]}
            while True:
                page = summaries.list_summaries(
                    conn, ctx, meter, {**params, **cursor, "limit": limit}
                )
                backward = page["data"] + backward
                if not page["has_more"]:
                    break
                cursor = {"ending_before": page["data"][0]["id"]}
    return forward, backward


def _plain(summary):
    value = Decimal(orjson.dumps(summary["aggregated_value"]).decode())
    return summary["id"], summary["start_time"], summary["end_time"], value


def _check(store, ctx, meter_ids, customer_ids, window, grouping, limit):
    grouping_s = WINDOW_S.get(grouping or "")
    for name, meter_id in meter_ids.items():
        meter_window_s = WINDOW_S.get(METERS[name][1] or "")
        if meter_window_s and grouping_s and grouping_s < meter_window_s:
            continue  # refused: a daily pre-aggregated meter has no hours
        align = max(grouping_s or MINUTE, meter_window_s or MINUTE)
        start, end = (edge - edge % align for edge in window)
        if start >= end:
            continue
        params = {"start_time": start, "end_time": end}
        if grouping:
            params["value_grouping_window"] = grouping
        for customer in customer_ids:
            expected = _brute_force(store, ctx, name, meter_id, customer, start, end, grouping_s)
            listed = {**params, "customer": customer}
            forward, backward = _pages(store, ctx, meter_id, listed, limit)
            got = [_plain(s) for s in forward]
            assert [row[1:] for row in got] == expected, (name, grouping, start, end, limit)
            assert [_plain(s) for s in backward] == got[:-1], (name, grouping, start, limit)


EVENT = st.tuples(
    st.sampled_from(sorted(METERS)),
    st.integers(0, 1),  # customer
    st.integers(0, 20),  # identifier: a small pool, so duplicates happen
    st.integers(0, 3 * DAY - 1),  # seconds before NOW
    st.decimals(allow_nan=False, allow_infinity=False, places=3, min_value=-99, max_value=999),
    st.sampled_from(["u1", "u2", "u3"]),
)
STEP = st.tuples(
    st.lists(EVENT, max_size=10),
    st.integers(0, 6),  # applier batch size this step (0: the applier does not run)
    st.lists(st.integers(0, 20), max_size=3),  # identifiers to cancel after the step
)
# A range inside the three days, as minute offsets (aligned further where needed).
RANGE = st.tuples(st.integers(0, 3 * 24 * 60), st.integers(0, 3 * 24 * 60))


def _send(store, ctx, customer_ids, events):
    batch = [
        EventInput(
            name,
            {
                "stripe_customer_id": customer_ids[c],
                "value": text if name == "unique_count" else decimal_text(value),
            },
            f"id{i}",
            NOW - back,
        )
        for name, c, i, back, value, text in events
    ]
    with store.write() as conn:
        ingest(conn, ctx, batch, source="test")


def _cancel(store, ctx, identifiers):
    names = {r.identifier: r.event_name for r in raw_log(store, ctx.account_id)}
    for identifier in (f"id{i}" for i in identifiers):
        if identifier in names:
            with store.write() as conn:
                adjustments.cancel(conn, ctx, names[identifier], identifier)


@settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    st.lists(STEP, min_size=1, max_size=4),
    RANGE,
    st.sampled_from([None, "hour", "day"]),
    st.integers(1, 4),
)
def test_summary_pages_equal_a_brute_force_fold(store, steps, minutes, grouping, limit):
    ctx, meter_ids, customer_ids = new_tenant(store, NOW, PM, METERS)
    low, high = sorted(minutes)
    window = (NOW - 3 * DAY + low * MINUTE, NOW - 3 * DAY + high * MINUTE)
    for events, batch_events, cancels in steps:
        _send(store, ctx, customer_ids, events)
        if batch_events:
            rollups.apply_pending(store, FixedClock(NOW), PM, batch_events)
        _cancel(store, ctx, cancels)
        _check(store, ctx, meter_ids, customer_ids, window, grouping, limit)
    _check(store, ctx, meter_ids, customer_ids, (NOW - 3 * DAY, NOW), grouping, limit)
