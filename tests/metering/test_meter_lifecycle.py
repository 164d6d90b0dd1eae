"""Meters over time and across tenants: one event name passed from a deactivated meter
to a new one and back, each meter keeping its own history; cancels of unknown, foreign,
refused and already canceled identifiers; another account's meters, customers and
identifiers out of reach."""

from __future__ import annotations

import time
from decimal import Decimal

import httpx
from metering_support import decimal_json, make_customer, make_meter, post_cancel, raw_log

from conftest import new_account

HOUR = 3600
NOW = int(time.time()) // HOUR * HOUR


def _send(api, customer, identifier, value="1", event_name="calls"):
    return api.post(
        "/v1/billing/meter_events",
        data={
            "event_name": event_name,
            "identifier": identifier,
            "timestamp": str(NOW - 60),
            "payload[stripe_customer_id]": customer,
            "payload[value]": value,
        },
    )


def _total(api, meter_id, customer):
    window = {"customer": customer, "start_time": NOW - HOUR, "end_time": NOW + HOUR}
    response = api.get(f"/v1/billing/meters/{meter_id}/event_summaries", params=window)
    assert response.status_code == 200, response.text
    return [s["aggregated_value"] for s in decimal_json(response)["data"]]


def _error_codes(api):
    listed = api.get("/v1/billing/meter_event_errors", params={"limit": 100}).json()["data"]
    return {e["identifier"]: (e["code"], e["meter"]) for e in listed}


def test_one_event_name_passed_between_meters_over_time(api, store, account):
    first = make_meter(api, "calls")["id"]
    customer = make_customer(api)
    assert _send(api, customer, "to-first", "2").status_code == 200
    assert api.post(f"/v1/billing/meters/{first}/deactivate").status_code == 200
    # Recorded against the deactivated meter, counted nowhere.
    assert _send(api, customer, "while-inactive", "3").status_code == 200
    assert _error_codes(api) == {"while-inactive": ("archived_meter", first)}
    second = make_meter(api, "calls", formula="count")["id"]
    assert _send(api, customer, "to-second", "5").status_code == 200
    # An identifier is the account's, whichever meter recorded it.
    duplicate = _send(api, customer, "to-first", "7")
    assert duplicate.status_code == 400 and duplicate.json()["error"]["param"] == "identifier"
    assert _total(api, first, customer) == [Decimal(2)]
    assert _total(api, second, customer) == [Decimal(1)]
    # Back to the first meter: events count for it again, and the second keeps its own.
    assert api.post(f"/v1/billing/meters/{second}/deactivate").status_code == 200
    assert api.post(f"/v1/billing/meters/{first}/reactivate").status_code == 200
    assert _send(api, customer, "to-first-again", "11").status_code == 200
    assert _total(api, first, customer) == [Decimal(13)]
    assert _total(api, second, customer) == [Decimal(1)]
    # A deactivated meter's events can still be canceled, and its summaries follow.
    assert post_cancel(api, "to-second").status_code == 200
    assert _total(api, second, customer) == []
    by_identifier = {r.identifier: r.meter_id for r in raw_log(store, account.account.id)}
    assert by_identifier == {"to-first": first, "to-second": second, "to-first-again": first}


def test_cancels_that_name_no_event_of_this_account(api, server, store, account):
    make_meter(api, "calls")
    customer = make_customer(api)
    assert _send(api, customer, "counted").status_code == 200
    assert _send(api, "cus_nobody", "refused").status_code == 200  # recorded as an error
    other = new_account(store, "Other")
    headers = {"Authorization": f"Bearer {other.secret_key}"}
    with httpx.Client(base_url=server.url, headers=headers, timeout=30) as stranger:
        make_meter(stranger, "calls")
        theirs = make_customer(stranger)
        assert _send(stranger, theirs, "theirs").status_code == 200
        # Another account's identifier, unknown here: no event, and nothing canceled there.
        assert post_cancel(stranger, "counted").status_code == 404
        assert _total(stranger, *_meter_and(stranger, theirs)) == [Decimal(1)]
    for identifier in ("theirs", "refused", "never-sent"):
        response = post_cancel(api, identifier)
        assert response.status_code == 404, identifier
        assert response.json()["error"]["param"] == "cancel[identifier]"
    assert post_cancel(api, "counted").status_code == 200
    again = post_cancel(api, "counted")
    assert again.status_code == 200 and again.json()["status"] == "complete"


def _meter_and(client, customer):
    (meter,) = client.get("/v1/billing/meters").json()["data"]
    return meter["id"], customer


def test_another_accounts_meters_and_customers_are_out_of_reach(api, server, store, account):
    mine = make_meter(api, "calls")["id"]
    customer = make_customer(api)
    assert _send(api, customer, "mine", "4").status_code == 200
    other = new_account(store, "Other")
    headers = {"Authorization": f"Bearer {other.secret_key}"}
    with httpx.Client(base_url=server.url, headers=headers, timeout=30) as stranger:
        theirs = make_meter(stranger, "calls")["id"]
        window = {"customer": customer, "start_time": NOW - HOUR, "end_time": NOW + HOUR}
        response = stranger.get(f"/v1/billing/meters/{mine}/event_summaries", params=window)
        assert response.status_code == 404 and response.json()["error"]["param"] == "id"
        response = stranger.get(f"/v1/billing/meters/{theirs}/event_summaries", params=window)
        assert response.status_code == 404 and response.json()["error"]["param"] == "customer"
        # Naming my customer in their event attributes nothing to my customer.
        assert _send(stranger, customer, "stolen", "100").status_code == 200
        assert _error_codes(stranger) == {"stolen": ("meter_event_customer_not_found", theirs)}
        assert stranger.get("/v1/billing/meter_event_errors").json()["data"][0]["meter"] == theirs
    assert _total(api, mine, customer) == [Decimal(4)]
    assert _error_codes(api) == {}
