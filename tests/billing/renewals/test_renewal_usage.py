"""Property: the bill run's batched usage equals ``metering.usage.aggregate`` asked one
query at a time, for every formula (plugin ones and pre-aggregated meters included),
over ranges starting and ending at any second, whatever the applier and cancellations
did before."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from metering.metering_support import new_tenant, raw_log
from remit.billing.subscriptions import usage
from remit.metering import adjustments, rollups
from remit.metering.domain.values import decimal_text
from remit.metering.ingest import EventInput, ingest
from remit.metering.usage import aggregate
from remit.plugins.manager import make_manager
from remit.primitives.clock import FixedClock
from remit.primitives.errors import InvalidRequestError

DAY = 86400
NOW = 1_767_225_600 + 3 * DAY + 1234  # not on a minute: periods start at any second
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
    "last_hourly": ("last", "hour"),
}
# Instants near a few marks (3 hours apart, give or take 90 s), for events and range
# edges alike: the seconds before and after a range's whole minutes see events often.
NEAR_MARKS = st.builds(
    lambda mark, jitter: mark * 3 * 3600 + jitter, st.integers(0, 24), st.integers(-90, 90)
)
EVENT = st.tuples(
    st.sampled_from(sorted(METERS)),
    st.integers(0, 2),  # customer
    st.integers(0, 30),  # identifier: a small pool, so duplicates happen
    NEAR_MARKS.map(lambda at: min(max(at, 0), 3 * DAY - 1)),  # seconds before NOW
    st.decimals(allow_nan=False, allow_infinity=False, places=2, min_value=-50, max_value=500),
    st.sampled_from(["a", "b", "c"]),
)
STEP = st.tuples(
    st.lists(EVENT, max_size=20),
    st.integers(0, 6),  # applier batch size this step (0: the applier does not run)
    st.lists(st.integers(0, 30), max_size=3),  # identifiers to cancel after the step
)
# Ranges inside the three days and a little around them, to the second.
RANGE = st.tuples(
    st.one_of(NEAR_MARKS, st.integers(-600, 3 * DAY + 600)),
    st.one_of(NEAR_MARKS, st.integers(-600, 3 * DAY + 600)),
)


def _send(store, ctx, customer_ids, events):
    batch = [
        EventInput(
            name,
            {
                "stripe_customer_id": customer_ids[c],
                "value": text if name == "unique_count" else decimal_text(value),
            },
            f"ev{i}",
            NOW - back,
        )
        for name, c, i, back, value, text in events
    ]
    with store.write() as conn:
        ingest(conn, ctx, batch, source="test")


def _cancel(store, ctx, identifiers):
    names = {r.identifier: r.event_name for r in raw_log(store, ctx.account_id)}
    for identifier in (f"ev{i}" for i in identifiers):
        if identifier in names:
            with store.write() as conn:
                adjustments.cancel(conn, ctx, names[identifier], identifier)


def _queries(meter_ids, customer_ids, ranges):
    queries = []
    for name, meter_id in sorted(meter_ids.items()):
        for c, customer in enumerate(customer_ids):
            for r, (a, b) in enumerate(ranges):
                start, end = NOW - 3 * DAY + min(a, b), NOW - 3 * DAY + max(a, b)
                queries.append(usage.UsageQuery(f"{name}.{c}.{r}", meter_id, customer, start, end))
    return queries


def _one_at_a_time(conn, ctx, aggregations, query):
    windows = aggregate(
        conn, ctx.account_id, query.meter_id, query.customer_id,
        aggregations[query.meter_id], query.start_s, query.end_s,
    )  # fmt: skip
    assert len(windows) <= 1
    return usage.Usage(windows[0].value, windows[0].event_count) if windows else usage.NO_USAGE


def _check(store, ctx, meter_ids, customer_ids, ranges, chunk):
    queries = _queries(meter_ids, customer_ids, ranges)
    with store.read() as conn:
        aggregations = usage.aggregations_for(conn, ctx.account_id, meter_ids.values(), PM)
        batched = usage.usage_many(conn, ctx.account_id, queries, aggregations)
        expected = {q.key: _one_at_a_time(conn, ctx, aggregations, q) for q in queries}
    assert batched == expected
    return sum(found.event_count for found in batched.values())


@settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    st.lists(STEP, min_size=1, max_size=4),
    st.lists(RANGE, min_size=1, max_size=4),
    st.integers(1, 7),
)
def test_batched_usage_equals_aggregate_per_query(store, monkeypatch, steps, ranges, chunk):
    monkeypatch.setattr(usage, "CHUNK_QUERIES", chunk)  # several statements per call too
    ctx, meter_ids, customer_ids = new_tenant(store, NOW, PM, METERS, 3)
    for events, batch_events, cancels in steps:
        _send(store, ctx, customer_ids, events)
        if batch_events:
            rollups.apply_pending(store, FixedClock(NOW), PM, batch_events)
        _cancel(store, ctx, cancels)
        _check(store, ctx, meter_ids, customer_ids, ranges, chunk)


def test_the_tail_read_through_each_range_when_the_applier_is_far_behind(store, monkeypatch):
    """Past TAIL_SCAN_LIMIT unapplied events, the tail is read by range, not by seq."""
    monkeypatch.setattr(usage, "TAIL_SCAN_LIMIT", 0)
    ctx, meter_ids, customer_ids = new_tenant(store, NOW, PM, METERS, 3)
    events = [(name, i % 2, i, 7 * i * 997 % (3 * DAY), Decimal(i), "u1") for i, name in
              enumerate(sorted(METERS) * 3)]  # fmt: skip
    _send(store, ctx, customer_ids, events)
    counted = _check(store, ctx, meter_ids, customer_ids, [(0, 3 * DAY), (61, DAY + 59)], 5)
    assert counted > 0


def test_unknown_meters_are_refused(store):
    ctx, _, _ = new_tenant(store, NOW, PM, {"sum": ("sum", None)})
    with store.read() as conn, pytest.raises(InvalidRequestError, match="mtr_nope"):
        usage.aggregations_for(conn, ctx.account_id, ["mtr_nope"], PM)


def test_seconds_around_whole_minutes_and_short_ranges(store):
    """A range from 12:00:30 to 12:05:10: events at :29 and :10 are out, :30 and :09 in;
    a range inside one minute is read whole from the raw log."""
    ctx, meter_ids, customer_ids = new_tenant(store, NOW, PM, {"sum": ("sum", None)}, 1)
    base = NOW - DAY - (NOW - DAY) % 3600 + 12 * 60  # 12 minutes past some hour
    offsets = {29: "1", 30: "10", 31: "100", 150: "1000", 309: "10000", 310: "100000"}
    batch = [
        EventInput("sum", {"stripe_customer_id": customer_ids[0], "value": value}, f"e{at}",
                   base + at)
        for at, value in offsets.items()
    ]  # fmt: skip
    with store.write() as conn:
        ingest(conn, ctx, batch, source="test")
    rollups.apply_pending(store, FixedClock(NOW), PM)
    meter_id = meter_ids["sum"]
    queries = [
        usage.UsageQuery("whole", meter_id, customer_ids[0], base + 30, base + 310),
        usage.UsageQuery("minute", meter_id, customer_ids[0], base + 30, base + 32),
        usage.UsageQuery("empty", meter_id, customer_ids[0], base + 32, base + 32),
    ]
    with store.read() as conn:
        aggregations = usage.aggregations_for(conn, ctx.account_id, [meter_id], PM)
        found = usage.usage_many(conn, ctx.account_id, queries, aggregations)
    assert found == {
        "whole": usage.Usage(Decimal(11110), 4),
        "minute": usage.Usage(Decimal(110), 2),
        "empty": usage.NO_USAGE,
    }
