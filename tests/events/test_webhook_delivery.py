"""Webhook delivery, driven by a worker on a fixed clock against a real loopback receiver.

The clock is advanced to each scheduled retry exactly, so the tests read the
backoff schedule off the attempts table: 1 min, 2 min, 4 min, ... capped at
12 h, given up three days after the event.
"""

from __future__ import annotations

import json
import socket
import time

import pytest
import stripe
from webhook_support import (
    Receiver,
    attempts_of,
    create_customer,
    create_endpoint,
    deliveries_of,
    delivery_job,
    get_event,
    only_delivery,
)

from remit.events.delivery import (
    FIRST_RETRY_S,
    MAX_RETRY_INTERVAL_S,
    RETRY_WINDOW_S,
    USER_AGENT,
    next_retry_at,
)
from remit.jobs.worker import Worker
from remit.plugins.manager import job_handlers
from remit.primitives.clock import FixedClock

MAX_ROUNDS = 60


def drive(worker: Worker, clock: FixedClock, store, delivery_id: str, event_id: str):
    """Jump the clock to each scheduled attempt and run the worker, until settled.

    One second before each scheduled attempt nothing is due: retries wait their turn.
    """
    for _ in range(MAX_ROUNDS):
        row = only_delivery(store, event_id)
        assert row.id == delivery_id
        if row.status != "pending":
            return row
        if row.attempts:
            assert row.next_attempt_at > clock.now()
            clock.set(row.next_attempt_at - 1)
            assert worker.run_once() == 0, "a retry ran before its time"
            clock.set(row.next_attempt_at)
        assert worker.run_once() == 1
    raise AssertionError(f"delivery still pending after {MAX_ROUNDS} rounds")


def test_next_retry_at_doubles_from_one_minute_and_caps_at_twelve_hours():
    created = now = 1_700_000_000
    delays = [next_retry_at(created, attempts, now) - now for attempts in range(1, 31)]
    assert delays[:4] == [60, 120, 240, 480]
    assert delays == sorted(delays), "backoff must never shrink"
    assert max(delays) == MAX_RETRY_INTERVAL_S == 12 * 3600
    first_capped = delays.index(MAX_RETRY_INTERVAL_S)
    assert delays[first_capped - 1] == FIRST_RETRY_S * 2 ** (first_capped - 1) < 12 * 3600
    assert all(d == MAX_RETRY_INTERVAL_S for d in delays[first_capped:])
    # A zero count (never attempted) still waits the first interval; huge counts stay capped.
    assert next_retry_at(created, 0, now) == now + FIRST_RETRY_S
    assert next_retry_at(created, 10_000, now) == now + MAX_RETRY_INTERVAL_S


def test_next_retry_at_is_none_past_the_three_day_window():
    created = 1_700_000_000
    window_end = created + RETRY_WINDOW_S
    assert RETRY_WINDOW_S == 3 * 24 * 3600
    # Landing exactly on the end of the window is still allowed; one second past is not.
    assert next_retry_at(created, 1, window_end - 60) == window_end
    assert next_retry_at(created, 1, window_end - 59) is None
    assert next_retry_at(created, 12, window_end - MAX_RETRY_INTERVAL_S) == window_end
    assert next_retry_at(created, 12, window_end - MAX_RETRY_INTERVAL_S + 1) is None
    assert next_retry_at(created, 1, window_end + 3600) is None


def test_delivery_survives_a_receiver_that_fails_several_times_then_recovers(api, store, pm):
    failures = 3
    with Receiver(lambda index: 500 if index < failures else 200) as receiver:
        endpoint = create_endpoint(api, receiver.url)
        customer, event = create_customer(api)
        assert event["pending_webhooks"] == 1
        delivery = only_delivery(store, event["id"])
        assert (delivery.status, delivery.attempts, delivery.endpoint_id) == (
            "pending",
            0,
            endpoint["id"],
        )

        clock = FixedClock(int(time.time()))
        worker = Worker(store, job_handlers(pm), clock, lease_s=30)
        # The first attempt is made while the fixed clock still reads the wall, so the
        # SDK's 300 s tolerance check passes for it.
        assert worker.run_once() == 1
        first = receiver.snapshot()[0]
        assert first.status == 500
        verified = stripe.Webhook.construct_event(first.body, first.signature, endpoint["secret"])
        assert verified.id == event["id"]

        final = drive(worker, clock, store, delivery.id, event["id"])

    requests = receiver.snapshot()
    assert [r.status for r in requests] == [500] * failures + [200]
    assert {r.event_id for r in requests} == {event["id"]}
    for received in requests:
        assert stripe.WebhookSignature.verify_header(
            received.body, received.signature, endpoint["secret"], tolerance=None
        )
        assert received.user_agent == USER_AGENT
        assert received.content_type.startswith("application/json")
        body = received.event
        assert (body["type"], body["data"]["object"]["id"]) == ("customer.created", customer["id"])
    # The signature covers the payload: the same header does not verify another body.
    tampered = requests[-1].body.replace(customer["id"].encode(), b"cus_forged")
    with pytest.raises(stripe.SignatureVerificationError):
        stripe.WebhookSignature.verify_header(
            tampered, requests[-1].signature, endpoint["secret"], tolerance=None
        )

    assert final.status == "succeeded"
    assert final.attempts == failures + 1
    assert final.next_attempt_at is None
    attempts = attempts_of(store, delivery.id)
    assert [a.http_status for a in attempts] == [500] * failures + [200]
    assert all(a.error is None for a in attempts)
    times = [a.attempted_at for a in attempts]
    assert [b - a for a, b in zip(times, times[1:], strict=False)] == [60, 120, 240]
    assert final.completed_at == times[-1]
    # Each request was signed at the time of its attempt.
    assert [int(r.signature.split(",")[0].removeprefix("t=")) for r in requests] == times

    assert get_event(api, event["id"])["pending_webhooks"] == 0
    succeeded = api.get("/v1/events", params={"delivery_success": "true"}).json()["data"]
    assert event["id"] in [e["id"] for e in succeeded]
    job = delivery_job(store, delivery.id)
    assert (job.status, job.attempts, job.lease_owner) == ("done", failures + 1, None)


def test_delivery_gives_up_three_days_after_the_event(api, store, pm):
    with Receiver(lambda index: 503) as receiver:
        create_endpoint(api, receiver.url)
        _, event = create_customer(api)
        delivery = only_delivery(store, event["id"])
        clock = FixedClock(int(time.time()))
        worker = Worker(store, job_handlers(pm), clock, lease_s=30)
        final = drive(worker, clock, store, delivery.id, event["id"])

    # The schedule the worker followed is exactly the one next_retry_at describes.
    attempts = attempts_of(store, delivery.id)
    times = [a.attempted_at for a in attempts]
    expected = [times[0]]
    while (at := next_retry_at(delivery.created, len(expected), expected[-1])) is not None:
        expected.append(at)
    assert times == expected
    deadline = delivery.created + RETRY_WINDOW_S
    assert times[-1] <= deadline
    assert times[-1] + MAX_RETRY_INTERVAL_S > deadline, "gave up while a retry still fitted"
    assert times[-1] - times[0] > 2 * 24 * 3600
    assert all(a.http_status == 503 for a in attempts)

    requests = receiver.snapshot()
    assert len(requests) == len(attempts) == final.attempts
    assert {r.event_id for r in requests} == {event["id"]}
    assert (final.status, final.completed_at, final.next_attempt_at) == ("failed", times[-1], None)
    assert get_event(api, event["id"])["pending_webhooks"] == 0
    job = delivery_job(store, delivery.id)
    # Giving up settles the job: it is done, not dead, and nothing stays queued.
    assert job.status == "done"
    assert job.finished_at == times[-1]
    clock.advance(30 * 24 * 3600)
    assert worker.run_once() == 0


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_an_unreachable_endpoint_is_recorded_and_retried(api, store, pm):
    create_endpoint(api, f"http://127.0.0.1:{_closed_port()}/hooks")
    _, event = create_customer(api)
    clock = FixedClock(int(time.time()))
    worker = Worker(store, job_handlers(pm), clock, lease_s=30)

    assert worker.run_once() == 1

    delivery = only_delivery(store, event["id"])
    (attempt,) = attempts_of(store, delivery.id)
    assert attempt.http_status is None
    assert "ConnectError" in attempt.error
    assert (delivery.status, delivery.attempts) == ("pending", 1)
    assert delivery.next_attempt_at == clock.now() + FIRST_RETRY_S
    job = delivery_job(store, delivery.id)
    assert (job.status, job.run_at) == ("queued", delivery.next_attempt_at)
    assert "ConnectError" in job.last_error
    assert get_event(api, event["id"])["pending_webhooks"] == 1


@pytest.mark.parametrize("how", ["disabled", "deleted"])
def test_a_delivery_to_a_disabled_or_deleted_endpoint_is_canceled_unsent(api, store, pm, how):
    with Receiver(lambda index: 200) as receiver:
        endpoint = create_endpoint(api, receiver.url)
        _, event = create_customer(api)
        assert event["pending_webhooks"] == 1
        path = f"/v1/webhook_endpoints/{endpoint['id']}"
        response = (
            api.post(path, data={"disabled": "true"}) if how == "disabled" else api.delete(path)
        )
        assert response.status_code == 200, response.text

        clock = FixedClock(int(time.time()))
        assert Worker(store, job_handlers(pm), clock).drain() == 1

        assert receiver.snapshot() == []
    delivery = only_delivery(store, event["id"])
    assert (delivery.status, delivery.attempts) == ("canceled", 0)
    assert delivery.completed_at == clock.now()
    assert attempts_of(store, delivery.id) == []
    assert get_event(api, event["id"])["pending_webhooks"] == 0
    assert delivery_job(store, delivery.id).status == "done"


def test_disabling_an_endpoint_mid_retry_cancels_the_remaining_attempts(api, store, pm):
    with Receiver(lambda index: 500) as receiver:
        endpoint = create_endpoint(api, receiver.url)
        _, event = create_customer(api)
        clock = FixedClock(int(time.time()))
        worker = Worker(store, job_handlers(pm), clock, lease_s=30)
        assert worker.run_once() == 1
        assert len(receiver.snapshot()) == 1

        response = api.post(f"/v1/webhook_endpoints/{endpoint['id']}", data={"disabled": "true"})
        assert response.json()["status"] == "disabled"
        clock.set(only_delivery(store, event["id"]).next_attempt_at)
        assert worker.run_once() == 1

        assert len(receiver.snapshot()) == 1
        # Events emitted while the endpoint is disabled are not queued for it at all.
        _, later = create_customer(api, "bob@example.com")
        assert later["pending_webhooks"] == 0
        assert deliveries_of(store, later["id"]) == []

    delivery = only_delivery(store, event["id"])
    assert (delivery.status, delivery.attempts) == ("canceled", 1)
    assert [a.http_status for a in attempts_of(store, delivery.id)] == [500]
    assert get_event(api, event["id"])["pending_webhooks"] == 0
    assert delivery_job(store, delivery.id).status == "done"


def test_a_redelivery_carries_the_event_as_stored(api, store, pm):
    with Receiver(lambda index: 500 if index == 0 else 200) as receiver:
        create_endpoint(api, receiver.url)
        customer, event = create_customer(api)
        # Change the customer between attempts: the event still describes the creation.
        api.post(f"/v1/customers/{customer['id']}", data={"email": "changed@example.com"})
        clock = FixedClock(int(time.time()))
        worker = Worker(store, job_handlers(pm), clock, lease_s=30)
        drive(worker, clock, store, only_delivery(store, event["id"]).id, event["id"])

    first, second = (json.loads(r.body) for r in receiver.snapshot())
    assert first == second
    assert first["data"]["object"]["email"] == "ann@example.com"
