"""``events.service.redeliver``: what a repair plan's ``resend_event`` does. A stored event
goes again, same id and payload, to every endpoint subscribed to its type now."""

from __future__ import annotations

import time

import pytest

from conftest import new_account
from events.webhook_support import Receiver, create_customer, create_endpoint, deliveries_of
from remit.context import CallContext
from remit.events import service as events
from remit.jobs.worker import Worker
from remit.plugins.manager import job_handlers
from remit.primitives.clock import FixedClock
from remit.primitives.errors import ResourceMissing


def _ctx(account, now: int) -> CallContext:
    return CallContext(account=account.account, now=now)


def test_a_delivered_event_is_sent_again_with_its_id_and_payload(api, store, pm, account):
    with Receiver(lambda index: 200) as receiver:
        endpoint = create_endpoint(api, receiver.url, "customer.created")
        _, event = create_customer(api)
        clock = FixedClock(int(time.time()))
        worker = Worker(store, job_handlers(pm), clock, lease_s=30)
        assert worker.run_once() == 1
        (first,) = deliveries_of(store, event["id"])
        assert (first.status, first.attempts) == ("succeeded", 1)

        clock.advance(3600)
        with store.write() as conn:
            sent = events.redeliver(conn, _ctx(account, clock.now()), event["id"])
        assert sent == [first.id]
        (reopened,) = deliveries_of(store, event["id"])
        assert (reopened.status, reopened.attempts) == ("pending", 0)
        assert (reopened.created, reopened.next_attempt_at) == (clock.now(), clock.now())
        assert reopened.endpoint_id == endpoint["id"]
        assert api.get(f"/v1/events/{event['id']}").json()["pending_webhooks"] == 1

        assert worker.run_once() == 1
        assert worker.run_once() == 0
        requests = receiver.snapshot()

    assert [r.event_id for r in requests] == [event["id"], event["id"]]
    assert requests[0].body == requests[1].body
    (settled,) = deliveries_of(store, event["id"])
    assert (settled.status, settled.attempts) == ("succeeded", 1)
    assert api.get(f"/v1/events/{event['id']}").json()["pending_webhooks"] == 0


def test_endpoints_subscribed_since_get_their_first_delivery_and_pending_ones_are_not_doubled(
    api, store, account
):
    first = create_endpoint(api, "http://127.0.0.1:9/a", "customer.created")
    _, event = create_customer(api)
    second = create_endpoint(api, "http://127.0.0.1:9/b", "*")
    create_endpoint(api, "http://127.0.0.1:9/c", "invoice.paid")  # not this event's type
    now = int(time.time())
    with store.write() as conn:
        sent = events.redeliver(conn, _ctx(account, now), event["id"])
    rows = {row.endpoint_id: row for row in deliveries_of(store, event["id"])}
    assert set(rows) == {first["id"], second["id"]}
    # The first endpoint's delivery was still pending: it is already on its way.
    assert sent == [rows[first["id"]].id, rows[second["id"]].id]
    assert rows[second["id"]].status == "pending"
    assert api.get(f"/v1/events/{event['id']}").json()["pending_webhooks"] == 2


def test_an_unknown_or_foreign_event_is_missing(api, store, account):
    _, event = create_customer(api)
    other = new_account(store, "Other")
    with store.write() as conn, pytest.raises(ResourceMissing):
        events.redeliver(conn, CallContext(account=other.account, now=1), event["id"])
    with store.write() as conn, pytest.raises(ResourceMissing):
        events.redeliver(conn, _ctx(account, 1), "evt_missing")
