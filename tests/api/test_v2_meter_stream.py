"""The v2 meter event session and stream: the official SDK's high-throughput path."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import pytest
import sqlalchemy as sa
import stripe

from remit.api.app import RemitApp
from remit.metering.tables import meter_event_errors, meter_events
from remit.primitives.clock import FixedClock
from remit.serving import ServerThread


def _iso(ts: int) -> str:
    return datetime.fromtimestamp(ts, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def _seconds(text: str) -> int:
    return int(datetime.fromisoformat(text).timestamp())


@pytest.fixture
def meter(api) -> dict:
    return api.post(
        "/v1/billing/meters",
        data={
            "display_name": "API calls",
            "event_name": "api_call",
            "default_aggregation[formula]": "sum",
        },
    ).json()


@pytest.fixture
def customer(api) -> dict:
    return api.post("/v1/customers", data={"name": "Streamer"}).json()


def _session(api) -> dict:
    response = api.post("/v2/billing/meter_event_session", json={})
    assert response.status_code == 200, response.text
    return response.json()


def _stream(server, token: str, events: list, **headers: str) -> httpx.Response:
    return httpx.post(
        f"{server.url}/v2/billing/meter_event_stream",
        json={"events": events},
        headers={"Authorization": f"Bearer {token}", **headers},
        timeout=30,
    )


def _raw(store, account_id: str) -> list:
    with store.read() as conn:
        rows = conn.execute(
            sa.select(meter_events.c.identifier, meter_events.c.value)
            .where(meter_events.c.account_id == account_id)
            .order_by(meter_events.c.identifier)
        )
        return [tuple(row) for row in rows]


def _errors(store, account_id: str) -> list:
    with store.read() as conn:
        rows = conn.execute(
            sa.select(meter_event_errors.c.code).where(
                meter_event_errors.c.account_id == account_id
            )
        )
        return sorted(row.code for row in rows)


def test_a_session_is_a_v2_object_valid_for_fifteen_minutes(api):
    session = _session(api)
    assert session["object"] == "v2.billing.meter_event_session"
    assert session["livemode"] is False
    assert session["authentication_token"].startswith("mest_")
    assert _seconds(session["expires_at"]) - _seconds(session["created"]) == 15 * 60


def test_the_stream_records_events_under_the_session_account(
    api, server, store, account, meter, customer
):
    token = _session(api)["authentication_token"]
    now = int(datetime.now(tz=UTC).timestamp())
    events = [
        {
            "event_name": "api_call",
            "identifier": f"call-{n}",
            "timestamp": _iso(now - 60),
            "payload": {"stripe_customer_id": customer["id"], "value": str(n)},
        }
        for n in range(1, 4)
    ]
    response = _stream(server, token, events)
    assert response.status_code == 200, response.text
    assert response.json() == {}
    assert _raw(store, account.account.id) == [("call-1", "1"), ("call-2", "2"), ("call-3", "3")]


def test_bad_events_are_recorded_as_errors_and_never_block_good_ones(
    api, server, store, account, meter, customer
):
    token = _session(api)["authentication_token"]
    good = {"event_name": "api_call", "identifier": "good", "payload": {
        "stripe_customer_id": customer["id"], "value": "5"}}  # fmt: skip
    events = [
        good,
        {"event_name": "api_call", "identifier": "bad-time", "timestamp": "yesterday",
         "payload": {"stripe_customer_id": customer["id"], "value": "1"}},
        {"event_name": "api_call", "identifier": "no-customer",
         "payload": {"stripe_customer_id": "cus_nobody", "value": "1"}},
        {"event_name": "api_call", "identifier": "not-a-number",
         "payload": {"stripe_customer_id": customer["id"], "value": "lots"}},
        {"event_name": "nobody_meters_this", "payload": {"value": "1"}},
        "not an object",
    ]  # fmt: skip
    response = _stream(server, token, events)
    assert response.status_code == 200, response.text
    assert _raw(store, account.account.id) == [("good", "5")]
    codes = _errors(store, account.account.id)
    assert len(codes) == 5
    assert {"invalid_timestamp", "invalid_event", "meter_event_customer_not_found"} <= set(codes)


def test_nul_characters_make_an_event_invalid_not_the_request(
    api, server, store, account, meter, customer
):
    """PostgreSQL text cannot hold NUL: such an event is refused (and recorded, NUL
    replaced) while its batch-mates count, on either database."""
    token = _session(api)["authentication_token"]
    payload = {"stripe_customer_id": customer["id"], "value": "1"}
    events = [
        {"event_name": "api_call", "identifier": "good", "payload": payload},
        {"event_name": "api_call", "identifier": "nul\x00id", "payload": payload},
        {"event_name": "api_\x00call", "identifier": "nul-name", "payload": payload},
        {
            "event_name": "api_call",
            "identifier": "nul-value",
            "payload": {**payload, "value": "1\x00"},
        },
        {"event_name": "api_call", "identifier": "nul-key", "payload": {**payload, "k\x00": "v"}},
    ]
    response = _stream(server, token, events)
    assert response.status_code == 200, response.text
    assert _raw(store, account.account.id) == [("good", "1")]
    with store.read() as conn:
        t = meter_event_errors.c
        recorded = dict(conn.execute(sa.select(t.identifier, t.code)).all())
    assert recorded == {
        "nul\ufffdid": "invalid_event", "nul-name": "invalid_event",
        "nul-value": "invalid_event", "nul-key": "invalid_event",
    }  # fmt: skip


@pytest.mark.parametrize("events", [[], "many", [{"event_name": "x"}] * 101])
def test_a_request_that_is_not_one_to_a_hundred_events_is_refused_whole(
    api, server, store, account, meter, events
):
    token = _session(api)["authentication_token"]
    response = _stream(server, token, events)
    assert response.status_code == 400
    assert response.json()["error"]["param"] == "events"
    assert _raw(store, account.account.id) == [] and _errors(store, account.account.id) == []


def test_a_retried_request_counts_its_unnamed_events_once(
    api, server, store, account, meter, customer
):
    token = _session(api)["authentication_token"]
    events = [
        {"event_name": "api_call", "payload": {"stripe_customer_id": customer["id"], "value": "2"}}
    ] * 3
    for _ in range(2):
        assert _stream(server, token, events, **{"Idempotency-Key": "batch-7"}).status_code == 200
    assert len(_raw(store, account.account.id)) == 3
    _stream(server, token, events, **{"Idempotency-Key": "batch-8"})
    assert len(_raw(store, account.account.id)) == 6


def test_a_key_reused_for_other_events_does_not_swallow_them(
    api, server, store, account, meter, customer
):
    """Only a retry (the same events) is a duplicate: other events sent under a reused
    Idempotency-Key count, rather than vanish as duplicates of the first request's."""
    token = _session(api)["authentication_token"]
    for value in ("2", "3", "2"):
        event = {"event_name": "api_call", "payload": {
            "stripe_customer_id": customer["id"], "value": value}}  # fmt: skip
        assert _stream(server, token, [event], **{"Idempotency-Key": "reused"}).status_code == 200
    assert sorted(value for _, value in _raw(store, account.account.id)) == ["2", "3"]


def test_the_stream_takes_session_tokens_only_and_sessions_take_secret_keys(
    api, server, account, meter
):
    events = [{"event_name": "api_call", "payload": {"value": "1"}}]
    with_key = _stream(server, account.secret_key, events)
    assert with_key.status_code == 401
    assert "session" in with_key.json()["error"]["message"]
    assert _stream(server, "mest_forged", events).status_code == 401
    token = _session(api)["authentication_token"]
    as_key = httpx.get(
        f"{server.url}/v1/customers", headers={"Authorization": f"Bearer {token}"}, timeout=30
    )
    assert as_key.status_code == 401


def test_an_expired_session_is_refused_with_the_sdk_error(store, pm, account):
    clock = FixedClock(1_800_000_000)
    with ServerThread(RemitApp(store, pm, clock)) as server:
        addresses = {"api": server.url, "meter_events": server.url}
        client = stripe.StripeClient(account.secret_key, base_addresses=addresses)
        session = client.v2.billing.meter_event_session.create()
        streamer = stripe.StripeClient(session.authentication_token, base_addresses=addresses)
        event = {"event_name": "api_call", "payload": {"value": "1"}}
        streamer.v2.billing.meter_event_stream.create({"events": [event]})
        clock.advance(15 * 60)
        with pytest.raises(stripe.TemporarySessionExpiredError) as expired:
            streamer.v2.billing.meter_event_stream.create({"events": [event]})
        assert expired.value.code == "billing_meter_event_session_expired"
