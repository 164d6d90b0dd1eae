"""Meters of pre-aggregated events (``event_time_window``): as Stripe documents, only
the last event received for an hour or day counts, a newer one replacing it, and
canceling that one brings the one before back; before and after the applier runs."""

from __future__ import annotations

import time
from decimal import Decimal

import pytest
from metering_support import decimal_json, make_customer, make_meter

from remit.metering import rollups
from remit.primitives.clock import FixedClock

HOUR = 3600
# The server runs on the wall clock; the story happens in the two hours before this one.
NOW = int(time.time()) // HOUR * HOUR
H1, H2 = NOW - 2 * HOUR, NOW - HOUR


def _send(api, meter, customer, identifier, timestamp, value):
    body = {
        "event_name": meter["event_name"],
        "identifier": identifier,
        "timestamp": str(timestamp),
        "payload[stripe_customer_id]": customer,
        "payload[value]": value,
    }
    response = api.post("/v1/billing/meter_events", data=body)
    assert response.status_code == 200, response.text


def _summaries(api, meter, customer, **params):
    window = {"customer": customer, "start_time": H1, "end_time": NOW, **params}
    response = api.get(f"/v1/billing/meters/{meter['id']}/event_summaries", params=window)
    assert response.status_code == 200, response.text
    return [(s["start_time"], s["aggregated_value"]) for s in decimal_json(response)["data"]]


def _apply(store):
    while rollups.apply_pending(store, FixedClock(NOW), None, 2):
        pass


@pytest.mark.parametrize("applied", [False, True], ids=["in_tail", "in_rollups"])
def test_the_last_event_received_for_a_window_replaces_the_earlier_ones(api, store, applied):
    meters = {f: make_meter(api, f"hourly_{f}", formula=f, event_time_window="hour") for f in
              ("sum", "count", "last")}  # fmt: skip
    customer = make_customer(api)
    for formula, meter in meters.items():
        # Hour 1 is reported three times (the last report, 4, is not the largest and
        # arrives with the earliest timestamp); hour 2 once.
        for identifier, timestamp, value in [
            ("a", H1 + 600, "5"), ("b", H1 + 1200, "7"), ("c", H1 + 60, "4"), ("d", H2 + 5, "10"),
        ]:  # fmt: skip
            _send(api, meter, customer, f"{formula}-{identifier}", timestamp, value)
    if applied:
        _apply(store)
    by_hour = {"value_grouping_window": "hour"}
    assert _summaries(api, meters["sum"], customer) == [(H1, Decimal(14))]
    assert _summaries(api, meters["sum"], customer, **by_hour) == [(H2, 10), (H1, 4)]
    assert _summaries(api, meters["count"], customer) == [(H1, 2)]
    assert _summaries(api, meters["last"], customer) == [(H1, 10)]
    assert _summaries(api, meters["last"], customer, end_time=H2) == [(H1, 4)]
    cancel = {"event_name": "hourly_sum", "type": "cancel", "cancel[identifier]": "sum-c"}
    assert api.post("/v1/billing/meter_event_adjustments", data=cancel).status_code == 200
    # The report before the canceled one counts again.
    assert _summaries(api, meters["sum"], customer, **by_hour) == [(H2, 10), (H1, 7)]
    _apply(store)
    assert _summaries(api, meters["sum"], customer) == [(H1, Decimal(17))]
