"""The ingestion path: good and bad events in one batch, errors recorded and reported."""

from __future__ import annotations

import sqlalchemy as sa
from metering_support import context, make_customer, make_meter, raw_log

from remit.events.tables import events
from remit.metering import error_reports
from remit.metering.domain.attribution import Problem
from remit.metering.ingest import EventInput, ingest
from remit.metering.tables import meter_event_errors
from remit.primitives.clock import WallClock

DAY_S = 86400


def _errors(store, account_id):
    t = meter_event_errors.c
    with store.read() as conn:
        return list(
            conn.execute(
                sa.select(meter_event_errors).where(t.account_id == account_id).order_by(t.id)
            )
        )


def _events_of(store, account_id, event_type):
    with store.read() as conn:
        return list(
            conn.execute(
                sa.select(events.c.data).where(
                    events.c.account_id == account_id, events.c.type == event_type
                )
            ).scalars()
        )


def test_bad_events_never_block_good_ones_and_each_is_recorded_with_its_code(api, store, account):
    account_id = account.account.id
    calls = make_meter(api, "api_calls")
    seats = make_meter(api, "seats", formula="count")
    old = make_meter(api, "legacy")
    api.post(f"/v1/billing/meters/{old['id']}/deactivate")
    alice = make_customer(api, email="alice@example.com")
    gone = make_customer(api, email="gone@example.com")
    api.delete(f"/v1/customers/{gone}")
    now = WallClock().now()
    ctx = context(store, account_id, now)

    def event(name="api_calls", identifier=None, timestamp=None, **payload):
        return EventInput(name, {"stripe_customer_id": alice, **payload}, identifier, timestamp)

    batch = [
        event(identifier="ok-1", value="5"),
        EventInput("nobody_listens", {"stripe_customer_id": alice, "value": "1"}, "e-1"),
        event("legacy", "e-2", value="1"),
        EventInput("api_calls", {"value": "1"}, "e-3"),
        event(identifier="e-4", value="1", stripe_customer_id="cus_missing"),
        event(identifier="e-5", value="1", stripe_customer_id=gone),
        event(identifier="e-6", value="1.5e3"),
        event(identifier="e-7", value="1234567890.123456"),
        event(identifier="e-8"),
        event(identifier="e-9", value="1", timestamp=now - 36 * DAY_S),
        event(identifier="e-10", value="1", timestamp=now + 301),
        EventInput("api_calls", {}, "e-11", problem=Problem("invalid_timestamp", "Bad time.")),
        event("seats", "ok-2"),  # count ignores the value: none needed
        event(identifier="ok-3", value="-2.25", timestamp=now - 35 * DAY_S + 60),
        event(identifier="ok-1", value="7"),  # same identifier later in the batch
    ]
    with store.write() as conn:
        outcome = ingest(conn, ctx, batch, source="test")
    statuses = [(o.index, o.status, o.code) for o in outcome.events]
    assert statuses == [
        (0, "accepted", None),
        (1, "error", "no_meter"),
        (2, "error", "archived_meter"),
        (3, "error", "meter_event_no_customer_defined"),
        (4, "error", "meter_event_customer_not_found"),
        (5, "error", "meter_event_customer_not_found"),
        (6, "error", "meter_event_invalid_value"),
        (7, "error", "meter_event_value_too_many_digits"),
        (8, "error", "meter_event_value_not_found"),
        (9, "error", "timestamp_too_far_in_past"),
        (10, "error", "timestamp_in_future"),
        (11, "error", "invalid_timestamp"),
        (12, "accepted", None),
        (13, "accepted", None),
        (14, "duplicate", None),
    ]
    logged = raw_log(store, account_id)
    assert [(r.identifier, r.meter_id, r.value, r.source) for r in logged] == [
        ("ok-1", calls["id"], "5", "test"),
        ("ok-2", seats["id"], None, "test"),
        ("ok-3", calls["id"], "-2.25", "test"),
    ]
    assert logged[0].timestamp == now and logged[2].timestamp == now - 35 * DAY_S + 60
    errors = _errors(store, account_id)
    assert [(e.identifier, e.code) for e in errors] == [
        (o.identifier, o.code) for o in outcome.errors
    ]
    assert {e.meter_id for e in errors} == {None, old["id"], calls["id"]}
    _check_reports(store, account_id, calls["id"], old["id"])


def _check_reports(store, account_id, calls_id, old_id):
    """One report per meter with errors, one no_meter_found for the event no meter claims."""
    reports = _events_of(store, account_id, error_reports.ERROR_REPORT_TRIGGERED)
    by_meter = {r["object"]["meter"]: r["object"] for r in reports}
    assert set(by_meter) == {calls_id, old_id}
    assert by_meter[calls_id]["reason"]["error_count"] == 9
    counts = {t["code"]: t["error_count"] for t in by_meter[calls_id]["reason"]["error_types"]}
    assert counts["meter_event_customer_not_found"] == 2
    sample = by_meter[calls_id]["reason"]["error_types"][0]["sample_errors"][0]
    assert set(sample) == {"error_message", "request"} and "identifier" in sample["request"]
    assert by_meter[old_id]["developer_message_summary"] == "There is 1 invalid event"
    (no_meter,) = _events_of(store, account_id, error_reports.NO_METER_FOUND)
    assert no_meter["object"]["reason"]["error_types"][0]["code"] == "no_meter"


def test_a_second_batch_with_the_same_identifiers_counts_nothing_twice(api, store, account):
    account_id = account.account.id
    make_meter(api, "api_calls")
    alice = make_customer(api)
    ctx = context(store, account_id, WallClock().now())
    batch = [
        EventInput("api_calls", {"stripe_customer_id": alice, "value": "1"}, f"id-{i}")
        for i in range(5)
    ]
    with store.write() as conn:
        first = ingest(conn, ctx, batch, source="test")
    with store.write() as conn:
        again = ingest(
            conn,
            ctx,
            batch[2:]
            + [EventInput("api_calls", {"stripe_customer_id": alice, "value": "1"}, "id-5")],
            source="test",
        )
    assert len(first.accepted) == 5
    assert [o.status for o in again.events] == ["duplicate"] * 3 + ["accepted"]
    assert len(raw_log(store, account_id)) == 6


def test_generated_identifiers_are_unique(api, store, account):
    make_meter(api, "api_calls")
    alice = make_customer(api)
    ctx = context(store, account.account.id, WallClock().now())
    batch = [EventInput("api_calls", {"stripe_customer_id": alice, "value": "1"})] * 3
    with store.write() as conn:
        outcome = ingest(conn, ctx, batch, source="test")
    assert len({o.identifier for o in outcome.accepted}) == 3


def test_the_window_is_the_customers_test_clock(api, store, account):
    account_id = account.account.id
    make_meter(api, "api_calls")
    frozen = 1_700_000_000
    clock = api.post("/v1/test_helpers/test_clocks", data={"frozen_time": str(frozen)}).json()
    simulated = make_customer(api, test_clock=clock["id"])
    real = make_customer(api)
    ctx = context(store, account_id, WallClock().now())

    def at(customer, identifier, timestamp=None):
        payload = {"stripe_customer_id": customer, "value": "1"}
        return EventInput("api_calls", payload, identifier, timestamp)

    with store.write() as conn:
        outcome = ingest(
            conn,
            ctx,
            [
                at(simulated, "sim-now"),  # no timestamp: the clock's time
                at(simulated, "sim-past", frozen - 10 * DAY_S),
                at(simulated, "sim-wall", ctx.now),  # the wall is far in the clock's future
                at(real, "real-clock-time", frozen),  # years before the wall
            ],
            source="test",
        )
    assert [(o.identifier, o.status, o.code) for o in outcome.events] == [
        ("sim-now", "accepted", None),
        ("sim-past", "accepted", None),
        ("sim-wall", "error", "timestamp_in_future"),
        ("real-clock-time", "error", "timestamp_too_far_in_past"),
    ]
    assert [r.timestamp for r in raw_log(store, account_id)] == [frozen, frozen - 10 * DAY_S]


def test_a_meter_with_an_event_time_window_stores_events_at_the_windows_start(api, store, account):
    make_meter(api, "hourly", event_time_window="hour")
    alice = make_customer(api)
    now = WallClock().now()
    ctx = context(store, account.account.id, now)
    payload = {"stripe_customer_id": alice, "value": "3"}
    with store.write() as conn:
        ingest(conn, ctx, [EventInput("hourly", payload, "h", now - 10)], source="test")
    assert raw_log(store, account.account.id)[0].timestamp == (now - 10) // 3600 * 3600
