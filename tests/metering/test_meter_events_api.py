"""POST /v1/billing/meter_events: synchronous validation, errors recorded, dedup (also
under 20 concurrent posts of one identifier), and the refused events read back."""

from __future__ import annotations

import threading
import time

import httpx
import sqlalchemy as sa
from metering_support import make_customer, make_meter, raw_log

from api.test_contract import assert_matches
from remit.metering.tables import meter_event_errors


def _post(api, **body):
    return api.post("/v1/billing/meter_events", data=body)


def _error_count(store, account_id):
    with store.read() as conn:
        return conn.execute(
            sa.select(sa.func.count())
            .select_from(meter_event_errors)
            .where(meter_event_errors.c.account_id == account_id)
        ).scalar_one()


def test_an_event_is_recorded_and_answered_in_the_fixture_shape(api, store, account):
    make_meter(api, "api_request")
    customer = make_customer(api)
    now = int(time.time())
    response = _post(
        api,
        event_name="api_request",
        identifier="1234-1234",
        timestamp=str(now - 60),
        **{"payload[stripe_customer_id]": customer, "payload[value]": "25"},
    )
    assert response.status_code == 200, response.text
    event = response.json()
    assert_matches(event, "billing.meter_event")
    assert event["identifier"] == "1234-1234"
    assert event["payload"] == {"stripe_customer_id": customer, "value": "25"}
    assert event["timestamp"] == now - 60
    (logged,) = raw_log(store, account.account.id)
    assert (logged.identifier, logged.value, logged.timestamp, logged.source) == (
        "1234-1234", "25", now - 60, "v1",
    )  # fmt: skip
    generated = _post(
        api,
        event_name="api_request",
        **{"payload[stripe_customer_id]": customer, "payload[value]": "1"},
    ).json()
    assert generated["identifier"].startswith("mevt_")
    assert abs(generated["timestamp"] - int(time.time())) <= 5


def test_malformed_requests_answer_400_and_record_nothing(api, store, account):
    make_meter(api, "api_request")
    customer = make_customer(api)
    payload = {"payload[stripe_customer_id]": customer, "payload[value]": "1"}
    now = int(time.time())
    cases = [
        ({**payload}, "event_name", "parameter_missing"),
        ({"event_name": "api_request"}, "payload", "parameter_missing"),
        ({"event_name": "api_request", "payload": "x"}, "payload", "parameter_invalid"),
        ({"event_name": "api_request", "payload[a][b]": "x"}, "payload[a]", "parameter_invalid"),
        (
            {"event_name": "api_request", "identifier": "i" * 101, **payload},
            "identifier",
            "parameter_invalid",
        ),
        (
            {"event_name": "api_request", "timestamp": str(now - 36 * 86400), **payload},
            "timestamp",
            "timestamp_too_far_in_past",
        ),
        (
            {"event_name": "api_request", "timestamp": str(now + 3600), **payload},
            "timestamp",
            "timestamp_in_future",
        ),
        # Stripe's synchronous API refuses values beyond 15 digits (changelog 2026-04-22).
        (
            {"event_name": "api_request", **payload, "payload[value]": "1234567890.123456"},
            "payload",
            "meter_event_value_too_many_digits",
        ),
        # PostgreSQL's text cannot hold NUL: refused like any other malformed payload.
        (
            {"event_name": "api_request", **payload, "payload[value]": "1\x00"},
            "payload[value]",
            "parameter_invalid",
        ),
        (
            {"event_name": "api_request", **payload, "payload[k\x00]": "v"},
            "payload[k\x00]",
            "parameter_invalid",
        ),
        # Even with no meter to attribute it to, a timestamp out of the window is refused.
        (
            {"event_name": "unknown", "timestamp": str(now + 3600), **payload},
            "timestamp",
            "timestamp_in_future",
        ),
    ]
    for body, param, code in cases:
        response = _post(api, **body)
        assert response.status_code == 400, body
        error = response.json()["error"]
        assert (error.get("param"), error.get("code")) == (param, code), error
    assert raw_log(store, account.account.id) == []
    assert _error_count(store, account.account.id) == 0


def test_an_event_that_cannot_be_attributed_is_accepted_and_recorded(api, store, account):
    meter = make_meter(api, "api_request")
    response = _post(
        api,
        event_name="api_request",
        identifier="lost",
        **{"payload[stripe_customer_id]": "cus_nobody", "payload[value]": "1"},
    )
    assert response.status_code == 200
    assert raw_log(store, account.account.id) == []
    listed = api.get("/v1/billing/meter_event_errors", params={"meter": meter["id"]}).json()
    (error,) = listed["data"]
    assert (error["identifier"], error["code"], error["meter"]) == (
        "lost", "meter_event_customer_not_found", meter["id"],
    )  # fmt: skip
    assert error["payload"]["stripe_customer_id"] == "cus_nobody"
    report = api.get(f"/v1/billing/meters/{meter['id']}/error_report").json()
    assert report["reason"]["error_count"] == 1
    assert report["reason"]["error_types"][0]["sample_errors"][0]["request"] == {
        "identifier": "lost"
    }
    unknown = _post(api, event_name="nope", **{"payload[value]": "1"})
    assert unknown.status_code == 200
    no_meter = api.get("/v1/billing/meter_event_errors", params={"code": "no_meter"}).json()
    assert [e["event_name"] for e in no_meter["data"]] == ["nope"]
    assert no_meter["data"][0]["meter"] is None


def test_a_known_identifier_is_refused_like_stripe_and_counted_once(api, store, account):
    make_meter(api, "api_request")
    customer = make_customer(api)
    body = {
        "event_name": "api_request",
        "identifier": "once",
        "payload[stripe_customer_id]": customer,
        "payload[value]": "3",
    }
    assert _post(api, **body).status_code == 200
    again = _post(api, **{**body, "payload[value]": "4"})
    assert again.status_code == 400
    assert again.json()["error"]["message"] == "An event already exists with identifier once."
    # A retry that reuses its Idempotency-Key gets the first answer replayed instead.
    headers = {"Idempotency-Key": "retry-1"}
    first = api.post(
        "/v1/billing/meter_events", data={**body, "identifier": "twice"}, headers=headers
    )
    replay = api.post(
        "/v1/billing/meter_events", data={**body, "identifier": "twice"}, headers=headers
    )
    assert first.status_code == replay.status_code == 200
    assert replay.headers.get("Idempotent-Replayed") == "true"
    assert [r.identifier for r in raw_log(store, account.account.id)] == ["once", "twice"]


def test_twenty_concurrent_posts_of_one_identifier_make_one_raw_event(api, server, store, account):
    make_meter(api, "api_request")
    customer = make_customer(api)
    body = {
        "event_name": "api_request",
        "identifier": "racy",
        "payload[stripe_customer_id]": customer,
        "payload[value]": "1",
    }
    start = threading.Barrier(20)
    statuses: list[int] = []
    lock = threading.Lock()

    def post() -> None:
        headers = {"Authorization": f"Bearer {account.secret_key}"}
        with httpx.Client(base_url=server.url, headers=headers, timeout=30) as client:
            start.wait()
            status = client.post("/v1/billing/meter_events", data=body).status_code
        with lock:
            statuses.append(status)

    threads = [threading.Thread(target=post) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == [200] + [400] * 19
    assert [r.identifier for r in raw_log(store, account.account.id)] == ["racy"]
