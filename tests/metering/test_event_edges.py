"""Meter events at the edges, on a server whose clock stands still: payload values as
people and programs really write them, identifiers at the length limit, timestamps at
the exact edges of the window (on the wall clock and on a customer's test clock after
an advance), deleted customers, and summaries that count exactly what was accepted."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

import httpx
import pytest
import sqlalchemy as sa
from metering_support import decimal_json, make_customer, make_meter, raw_log

from remit.api.app import RemitApp
from remit.metering.tables import meter_event_errors
from remit.primitives.clock import FixedClock
from remit.serving import ServerThread

NOW = 1_767_225_600  # 2026-01-01T00:00:00Z
DAY = 86400
BACK_S, AHEAD_S = 35 * DAY, 300


@pytest.fixture
def fixed(store, pm, account) -> Iterator[httpx.Client]:
    """A client of a server whose clock reads NOW until a test moves it."""
    with ServerThread(RemitApp(store, pm, FixedClock(NOW))) as server:
        headers = {"Authorization": f"Bearer {account.secret_key}"}
        with httpx.Client(base_url=server.url, headers=headers, timeout=30) as client:
            yield client


def _send(api, customer, value="1", **fields):
    body = {"event_name": "calls", "payload[stripe_customer_id]": customer, **fields}
    if value is not None:
        body["payload[value]"] = value
    return api.post("/v1/billing/meter_events", data=body)


def _errors(store, account_id):
    t = meter_event_errors.c
    with store.read() as conn:
        rows = conn.execute(sa.select(t.identifier, t.code).where(t.account_id == account_id))
        return dict(rows.all())


def _total(api, meter, customer, start=NOW - BACK_S - DAY, end=NOW + DAY):
    window = {"customer": customer, "start_time": start, "end_time": end}
    response = api.get(f"/v1/billing/meters/{meter['id']}/event_summaries", params=window)
    assert response.status_code == 200, response.text
    return [s["aggregated_value"] for s in decimal_json(response)["data"]]


VALUES = [  # (payload value, the error code it is recorded with; None: accepted)
    ("-0", None),
    ("0.0000000000001", None),
    ("123456789012345", None),
    ("-98765.4321", None),
    ("007", None),
    ("1234567890123456", "meter_event_value_too_many_digits"),
    ("1e3", "meter_event_invalid_value"),
    ("1E3", "meter_event_invalid_value"),
    ("NaN", "meter_event_invalid_value"),
    ("Infinity", "meter_event_invalid_value"),
    ("١٢", "meter_event_invalid_value"),  # Arabic-Indic digits: int() would take them
    ("１２", "meter_event_invalid_value"),  # fullwidth digits
    (" 12", "meter_event_invalid_value"),
    ("12\n", "meter_event_invalid_value"),
    ("+5", "meter_event_invalid_value"),
    (".5", "meter_event_invalid_value"),
    ("1_000", "meter_event_invalid_value"),
    ("0x10", "meter_event_invalid_value"),
    ("1" + "0" * 40, "meter_event_invalid_value"),
    ("", "meter_event_value_not_found"),
    (None, "meter_event_value_not_found"),
]


def test_values_are_taken_exactly_or_recorded_with_their_code(fixed, store, account):
    meter = make_meter(fixed, "calls")
    customer = make_customer(fixed)
    for n, (value, code) in enumerate(VALUES):
        response = _send(fixed, customer, value, identifier=f"v{n}")
        refused = code == "meter_event_value_too_many_digits"  # synchronously, as Stripe
        assert response.status_code == (400 if refused else 200), (value, response.text)
    errors = _errors(store, account.account.id)
    assert errors == {
        f"v{n}": code
        for n, (_, code) in enumerate(VALUES)
        if code and code != "meter_event_value_too_many_digits"
    }
    accepted = [Decimal(v) for v, code in VALUES if code is None]
    assert [r.identifier for r in raw_log(store, account.account.id)] == [
        f"v{n}" for n, (_, code) in enumerate(VALUES) if code is None
    ]
    assert _total(fixed, meter, customer) == [sum(accepted)]
    assert sum(accepted) == Decimal("123456788913586.5679000000001")


def test_identifiers_up_to_100_characters(fixed, store, account):
    make_meter(fixed, "calls")
    customer = make_customer(fixed)
    for identifier in ("i" * 100, "é" * 100, "日" * 100):
        assert _send(fixed, customer, identifier=identifier).status_code == 200
    for identifier in ("i" * 101, "é" * 101, " ", ""):
        response = _send(fixed, customer, identifier=identifier)
        assert response.status_code == 400, identifier
        assert response.json()["error"]["param"] == "identifier"
    assert len(raw_log(store, account.account.id)) == 3


def _edges(fixed, customer, now):
    """Exactly 35 days back and 5 minutes ahead are in; a second further is not."""
    inside = [now - BACK_S, now + AHEAD_S]
    for timestamp in inside:
        response = _send(fixed, customer, timestamp=str(timestamp))
        assert response.status_code == 200, response.text
        assert response.json()["timestamp"] == timestamp
    for timestamp, code in [
        (now - BACK_S - 1, "timestamp_too_far_in_past"),
        (now + AHEAD_S + 1, "timestamp_in_future"),
    ]:
        response = _send(fixed, customer, timestamp=str(timestamp))
        assert response.status_code == 400, timestamp
        error = response.json()["error"]
        assert (error["code"], error["param"]) == (code, "timestamp")
    return inside


def test_the_window_edges_on_the_wall_clock(fixed, store, account):
    meter = make_meter(fixed, "calls")
    customer = make_customer(fixed)
    assert _edges(fixed, customer, NOW) == [r.timestamp for r in raw_log(store, account.account.id)]
    assert _errors(store, account.account.id) == {}, "a refused request records nothing"
    assert _total(fixed, meter, customer) == [2]


def test_the_window_edges_on_a_test_clock_after_an_advance(fixed, store, account):
    meter = make_meter(fixed, "calls")
    clock = fixed.post("/v1/test_helpers/test_clocks", data={"frozen_time": NOW - 90 * DAY})
    assert clock.status_code == 200, clock.text
    customer = make_customer(fixed, test_clock=clock.json()["id"])
    frozen = NOW - 60 * DAY
    advanced = fixed.post(
        f"/v1/test_helpers/test_clocks/{clock.json()['id']}/advance", data={"frozen_time": frozen}
    )
    assert advanced.status_code == 200, advanced.text
    # The customer's clock decides, not the server's.
    inside = _edges(fixed, customer, frozen)
    refused = _send(fixed, customer, timestamp=str(NOW))
    assert refused.json()["error"]["code"] == "timestamp_in_future"
    without = _send(fixed, customer)
    assert without.json()["timestamp"] == frozen, "no timestamp: now on the customer's clock"
    assert [r.timestamp for r in raw_log(store, account.account.id)] == [*inside, frozen]
    window = {"start": frozen - BACK_S, "end": frozen + 360}
    assert _total(fixed, meter, customer, **window) == [3]


def test_a_deleted_customer_gets_no_usage(fixed, store, account):
    meter = make_meter(fixed, "calls")
    customer = make_customer(fixed)
    assert _send(fixed, customer, identifier="before").status_code == 200
    assert fixed.delete(f"/v1/customers/{customer}").status_code == 200
    assert _send(fixed, customer, identifier="after").status_code == 200
    assert _errors(store, account.account.id) == {"after": "meter_event_customer_not_found"}
    # Usage recorded before the deletion still reads back.
    assert _total(fixed, meter, customer) == [1]


def test_the_window_edges_on_the_v2_stream(fixed, store, account):
    """The stream records what v1 refuses: the edges hold the same, to the second."""
    make_meter(fixed, "calls")
    customer = make_customer(fixed)
    token = fixed.post("/v2/billing/meter_event_session", json={}).json()["authentication_token"]
    stamps = {
        "past-edge": "2025-11-27T00:00:00.000Z",  # NOW - 35 days
        "past-beyond": "2025-11-26T23:59:59.999Z",
        "ahead-edge": "2026-01-01T00:05:00Z",
        "ahead-beyond": "2026-01-01T00:05:01.000Z",
        "offset": "2026-01-01T05:30:00+05:30",  # NOW, written in India
    }
    events = [
        {"event_name": "calls", "identifier": identifier, "timestamp": stamp,
         "payload": {"stripe_customer_id": customer, "value": "1"}}
        for identifier, stamp in stamps.items()
    ]  # fmt: skip
    response = fixed.post(
        "/v2/billing/meter_event_stream",
        json={"events": events},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 200, response.text
    logged = {r.identifier: r.timestamp for r in raw_log(store, account.account.id)}
    assert logged == {"past-edge": NOW - BACK_S, "ahead-edge": NOW + AHEAD_S, "offset": NOW}
    assert _errors(store, account.account.id) == {
        "past-beyond": "timestamp_too_far_in_past",
        "ahead-beyond": "timestamp_in_future",
    }
