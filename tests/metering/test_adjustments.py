"""Meter event adjustments: a cancel removes its event from summaries whether or not the
applier had folded it, leaves the raw log alone, and follows Stripe's rules."""

from __future__ import annotations

import random
import threading
import time
from decimal import Decimal

import pytest
from metering_support import (
    canceled,
    context,
    decimal_json,
    expected_rollups,
    make_customer,
    make_meter,
    new_tenant,
    post_cancel,
    raw_log,
    stored_rollups,
)

from api.test_contract import assert_matches
from remit.metering import adjustments, rollups
from remit.metering.ingest import EventInput, ingest
from remit.primitives.clock import FixedClock
from remit.primitives.errors import InvalidRequestError

HOUR = 3600
# The API server runs on the wall clock and cancels within 24 hours of receipt: the story
# happens this hour (events are received "now" at the start of it).
NOW = int(time.time()) // HOUR * HOUR


def _apply(store):
    while rollups.apply_pending(store, FixedClock(NOW), None):
        pass


def _total(api, meter, customer, **window):
    params = {"customer": customer, "start_time": NOW - 2 * HOUR, "end_time": NOW + HOUR, **window}
    response = api.get(f"/v1/billing/meters/{meter['id']}/event_summaries", params=params)
    assert response.status_code == 200, response.text
    return [s["aggregated_value"] for s in decimal_json(response)["data"]]


@pytest.fixture
def calls(api, store, account):
    meter = make_meter(api, "calls")
    customer = make_customer(api)
    ctx = context(store, account.account.id, NOW)
    events = [
        EventInput("calls", {"stripe_customer_id": customer, "value": v}, f"c{i}", t)
        for i, (t, v) in enumerate([(NOW - HOUR, "5"), (NOW - HOUR + 30, "7"), (NOW + 60, "11")])
    ]
    with store.write() as conn:
        ingest(conn, ctx, events, source="test")
    return meter, customer


@pytest.mark.parametrize("applied", [False, True], ids=["in_tail", "in_rollups"])
def test_a_cancel_removes_the_event_from_summaries(api, store, account, calls, applied):
    meter, customer = calls
    if applied:
        _apply(store)
    assert _total(api, meter, customer) == [Decimal(23)]
    response = post_cancel(api, "c1")
    assert response.status_code == 200, response.text
    adjustment = response.json()
    assert_matches(adjustment, "billing.meter_event_adjustment")
    assert adjustment["status"] == "complete" and adjustment["cancel"] == {"identifier": "c1"}
    assert _total(api, meter, customer) == [Decimal(16)]
    hourly = _total(api, meter, customer, value_grouping_window="hour")
    assert hourly == [Decimal(11), Decimal(5)]
    _apply(store)  # the applier, run now or again, skips the canceled event
    assert _total(api, meter, customer) == [Decimal(16)]
    assert stored_rollups(store, account.account.id) == expected_rollups(store, account.account.id)
    assert len(raw_log(store, account.account.id)) == 3, "the raw log is never changed"


def test_canceling_every_event_of_a_bucket_empties_it(api, store, account, calls):
    meter, customer = calls
    _apply(store)
    assert post_cancel(api, "c2").status_code == 200
    assert _total(api, meter, customer, value_grouping_window="hour") == [Decimal(12)]
    assert stored_rollups(store, account.account.id) == expected_rollups(store, account.account.id)


def test_a_cancel_is_idempotent(api, store, account, calls):
    meter, customer = calls
    _apply(store)
    assert post_cancel(api, "c0").status_code == 200
    assert post_cancel(api, "c0").status_code == 200
    assert _total(api, meter, customer) == [Decimal(18)]


def test_cancel_refusals(api, store, account, calls):
    missing = post_cancel(api, "nope")
    assert missing.status_code == 404
    assert missing.json()["error"]["param"] == "cancel[identifier]"
    other_name = post_cancel(api, "c0", event_name="other")
    assert other_name.status_code == 400
    assert other_name.json()["error"]["param"] == "event_name"
    no_type = api.post(
        "/v1/billing/meter_event_adjustments",
        data={"event_name": "calls", "type": "range", "cancel[identifier]": "c0"},
    )
    assert no_type.status_code == 400 and no_type.json()["error"]["param"] == "type"
    # Stripe requires the type, the only one being cancel.
    untyped = api.post(
        "/v1/billing/meter_event_adjustments",
        data={"event_name": "calls", "cancel[identifier]": "c0"},
    )
    assert untyped.status_code == 400
    assert (untyped.json()["error"]["param"], untyped.json()["error"]["code"]) == (
        "type", "parameter_missing",
    )  # fmt: skip
    assert _total(api, *calls) == [Decimal(23)]


def test_only_events_received_in_the_last_24_hours_can_be_canceled(api, store, account, calls):
    late = context(store, account.account.id, NOW + 24 * HOUR + 1)
    with store.write() as conn, pytest.raises(InvalidRequestError) as refused:
        adjustments.cancel(conn, late, "calls", "c0")
    assert "within 24 hours" in str(refused.value)
    in_time = context(store, account.account.id, NOW + 24 * HOUR)
    with store.write() as conn:
        assert adjustments.cancel(conn, in_time, "calls", "c0")["status"] == "complete"


def test_cancels_racing_the_applier_leave_rollups_exact(store):
    ctx, meter_ids, customer_ids = new_tenant(store, NOW, None, ("sum", "count", "last"))
    rng = random.Random(23)
    events = [
        EventInput(
            rng.choice(list(meter_ids)),
            {"stripe_customer_id": rng.choice(customer_ids), "value": str(rng.randrange(100))},
            f"r{i}",
            NOW - rng.randrange(2 * HOUR),
        )
        for i in range(300)
    ]
    with store.write() as conn:
        ingest(conn, ctx, events, source="test")
    stop, failures = threading.Event(), []

    def applier():
        try:
            while not stop.is_set():
                rollups.apply_pending(store, FixedClock(NOW), None, 5)
        except BaseException as exc:  # surfaced below
            failures.append(exc)

    thread = threading.Thread(target=applier)
    thread.start()
    try:
        for event in events[::3]:
            with store.write() as conn:
                adjustments.cancel(conn, ctx, event.event_name, event.identifier or "")
    finally:
        stop.set()
        thread.join()
    assert failures == []
    _apply(store)
    assert canceled(store, ctx.account_id) == {e.identifier for e in events[::3]}
    assert stored_rollups(store, ctx.account_id) == expected_rollups(store, ctx.account_id)
