"""The official Stripe SDK, pointed at remit, works unchanged.

Every test drives ``stripe.StripeClient`` against the real server on loopback; raw
``httpx`` is used only where the SDK hides what we check (response headers).
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest
import stripe

from conftest import new_account
from remit.jobs.worker import Worker
from remit.plugins.manager import job_handlers
from remit.primitives.clock import WallClock

PAGE_MAX = 100


@pytest.fixture
def client(server, account) -> stripe.StripeClient:
    return stripe.StripeClient(
        account.secret_key, base_addresses={"api": server.url}, max_network_retries=0
    )


def make_customers(client: stripe.StripeClient, count: int, **params: str) -> list[str]:
    """Ids of ``count`` new customers, oldest first."""
    return [
        client.v1.customers.create(params={"name": f"Customer {n}", **params}).id
        for n in range(count)
    ]


def run_jobs(store, pm) -> int:
    return Worker(store, job_handlers(pm), WallClock()).drain()


# -- customers CRUD ---------------------------------------------------------------------------
ADDRESS = {
    "line1": "1 Main St",
    "city": "Springfield",
    "postal_code": "12345",
    "country": "US",
}


def test_create_returns_a_customer_with_what_was_sent(client):
    customer = client.v1.customers.create(
        params={
            "email": "ann@example.com",
            "name": "Ann",
            "metadata": {"tier": "gold", "region": "eu"},
            "address": ADDRESS,
        }
    )
    assert isinstance(customer, stripe.Customer)
    assert customer.id.startswith("cus_")
    assert customer.object == "customer"
    assert customer.email == "ann@example.com"
    assert customer.name == "Ann"
    assert customer.metadata.to_dict() == {"tier": "gold", "region": "eu"}
    assert customer.address.to_dict() == {**ADDRESS, "line2": None, "state": None}
    assert customer.livemode is False


def test_retrieve_returns_the_created_customer(client):
    created = client.v1.customers.create(params={"email": "ann@example.com", "address": ADDRESS})
    fetched = client.v1.customers.retrieve(created.id)
    assert fetched.to_dict() == created.to_dict()


def test_update_changes_fields_and_unsets_a_metadata_key_with_empty_string(client):
    created = client.v1.customers.create(
        params={"name": "Ann", "metadata": {"tier": "gold", "region": "eu"}}
    )
    updated = client.v1.customers.update(
        created.id, params={"name": "Ann Smith", "metadata": {"tier": "", "plan": "pro"}}
    )
    assert updated.name == "Ann Smith"
    assert updated.metadata.to_dict() == {"region": "eu", "plan": "pro"}
    assert client.v1.customers.retrieve(created.id).to_dict() == updated.to_dict()


def test_delete_answers_a_deleted_stub(client):
    created = client.v1.customers.create(params={"email": "ann@example.com"})
    deleted = client.v1.customers.delete(created.id)
    assert deleted.id == created.id
    assert deleted.deleted is True


def test_retrieving_a_deleted_customer_returns_the_deleted_stub(client):
    created = client.v1.customers.create(params={"email": "ann@example.com"})
    client.v1.customers.delete(created.id)
    fetched = client.v1.customers.retrieve(created.id)
    assert fetched.to_dict() == {"id": created.id, "object": "customer", "deleted": True}


def test_a_deleted_customer_is_not_listed(client):
    kept, gone = make_customers(client, 2)
    client.v1.customers.delete(gone)
    assert [c.id for c in client.v1.customers.list().data] == [kept]


# -- lists ------------------------------------------------------------------------------------
def test_auto_pagination_sees_every_customer_once_newest_first(client):
    created = make_customers(client, PAGE_MAX + 5)
    first_page = client.v1.customers.list(params={"limit": PAGE_MAX})
    assert len(first_page.data) == PAGE_MAX
    assert first_page.has_more is True
    seen = [c.id for c in first_page.auto_paging_iter()]
    assert len(seen) == len(set(seen))
    assert seen == list(reversed(created))


def test_ending_before_pages_backwards_towards_the_newest(client):
    created = make_customers(client, 25)
    oldest = created[0]
    page = client.v1.customers.list(params={"ending_before": oldest, "limit": 10})
    # The page closest to the cursor, still newest first within the page.
    assert [c.id for c in page.data] == list(reversed(created[1:11]))
    assert page.has_more is True
    # The SDK walks backwards: nearest the cursor first, then ever newer.
    assert [c.id for c in page.auto_paging_iter()] == created[1:]


def test_list_filters_by_email(client):
    make_customers(client, 2, email="other@example.com")
    wanted = make_customers(client, 2, email="ann@example.com")
    listed = client.v1.customers.list(params={"email": "ann@example.com"})
    assert [c.id for c in listed.data] == list(reversed(wanted))
    assert listed.has_more is False


# -- expand -----------------------------------------------------------------------------------
def test_expand_replaces_the_test_clock_id_by_the_clock(client):
    frozen_time = int(time.time()) - 3600
    clock = client.v1.test_helpers.test_clocks.create(
        params={"frozen_time": frozen_time, "name": "Month end"}
    )
    assert clock.id.startswith("clock_")
    customer = client.v1.customers.create(params={"test_clock": clock.id})
    assert customer.test_clock == clock.id
    assert customer.created == frozen_time

    expanded = client.v1.customers.retrieve(customer.id, params={"expand": ["test_clock"]})
    assert isinstance(expanded.test_clock, stripe.test_helpers.TestClock)
    assert expanded.test_clock.id == clock.id
    assert expanded.test_clock.frozen_time == frozen_time
    assert expanded.test_clock.name == "Month end"
    assert expanded.test_clock.status == "ready"


def test_list_expands_along_a_data_path(client):
    clock = client.v1.test_helpers.test_clocks.create(params={"frozen_time": int(time.time()) - 60})
    client.v1.customers.create(params={"test_clock": clock.id})
    client.v1.customers.create()
    listed = client.v1.customers.list(params={"expand": ["data.test_clock"]})
    plain, on_clock = listed.data  # newest first
    assert isinstance(on_clock.test_clock, stripe.test_helpers.TestClock)
    assert on_clock.test_clock.id == clock.id
    assert plain.test_clock is None


# -- idempotency ------------------------------------------------------------------------------
def test_an_idempotent_retry_returns_the_first_customer(client):
    key = str(uuid.uuid4())
    params = {"email": "ann@example.com"}
    first = client.v1.customers.create(params=params, options={"idempotency_key": key})
    second = client.v1.customers.create(params=params, options={"idempotency_key": key})
    assert second.id == first.id
    assert second.last_response.headers.get("Idempotent-Replayed") == "true"
    assert [c.id for c in client.v1.customers.list().data] == [first.id]


def test_reusing_a_key_with_other_params_is_an_idempotency_error(client):
    key = str(uuid.uuid4())
    first = client.v1.customers.create(
        params={"email": "ann@example.com"}, options={"idempotency_key": key}
    )
    with pytest.raises(stripe.IdempotencyError) as caught:
        client.v1.customers.create(
            params={"email": "bob@example.com"}, options={"idempotency_key": key}
        )
    assert caught.value.http_status == 400
    assert [c.id for c in client.v1.customers.list().data] == [first.id]


# -- errors -----------------------------------------------------------------------------------
def test_an_unknown_parameter_is_an_invalid_request_naming_it(client):
    with pytest.raises(stripe.InvalidRequestError) as caught:
        client.v1.customers.create(params={"emial": "ann@example.com"})
    assert caught.value.http_status == 400
    assert caught.value.param == "emial"
    assert caught.value.code == "parameter_unknown"
    assert client.v1.customers.list().data == []


def test_an_unknown_id_is_resource_missing(client):
    with pytest.raises(stripe.InvalidRequestError) as caught:
        client.v1.customers.retrieve("cus_doesnotexist")
    assert caught.value.http_status == 404
    assert caught.value.code == "resource_missing"
    assert caught.value.param == "id"


def test_another_accounts_customer_is_resource_missing(client, store, server):
    other = new_account(store, "Other")
    other_client = stripe.StripeClient(
        other.secret_key, base_addresses={"api": server.url}, max_network_retries=0
    )
    theirs = other_client.v1.customers.create(params={"email": "zed@example.com"})
    with pytest.raises(stripe.InvalidRequestError) as caught:
        client.v1.customers.retrieve(theirs.id)
    assert caught.value.http_status == 404
    assert caught.value.code == "resource_missing"


def test_a_bad_key_is_an_authentication_error(server):
    intruder = stripe.StripeClient(
        "sk_test_not_a_real_key_000", base_addresses={"api": server.url}, max_network_retries=0
    )
    with pytest.raises(stripe.AuthenticationError) as caught:
        intruder.v1.customers.list()
    assert caught.value.http_status == 401


# -- webhooks ---------------------------------------------------------------------------------
@dataclass
class Receiver:
    url: str
    deliveries: list[tuple[bytes, str | None]] = field(default_factory=list)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    """A webhook receiver on loopback that records each raw body and its signature header."""
    deliveries: list[tuple[bytes, str | None]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            deliveries.append((body, self.headers.get("Stripe-Signature")))
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield Receiver(f"http://127.0.0.1:{httpd.server_address[1]}/hooks", deliveries)
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=10)


def test_a_webhook_endpoint_keeps_the_metadata_it_was_created_with(client):
    endpoint = client.v1.webhook_endpoints.create(
        params={
            "url": "https://example.com/hooks",
            "enabled_events": ["customer.created"],
            "metadata": {"team": "billing"},
        }
    )
    assert endpoint.metadata.to_dict() == {"team": "billing"}
    fetched = client.v1.webhook_endpoints.retrieve(endpoint.id)
    assert fetched.metadata.to_dict() == {"team": "billing"}


def test_a_delivered_webhook_verifies_with_construct_event(client, receiver, store, pm):
    endpoint = client.v1.webhook_endpoints.create(
        params={"url": receiver.url, "enabled_events": ["customer.created"]}
    )
    assert endpoint.secret.startswith("whsec_")
    key = str(uuid.uuid4())
    customer = client.v1.customers.create(
        params={"email": "ann@example.com"}, options={"idempotency_key": key}
    )

    assert run_jobs(store, pm) == 1
    assert len(receiver.deliveries) == 1
    body, signature = receiver.deliveries[0]
    event = stripe.Webhook.construct_event(body, signature, endpoint.secret)

    assert event.type == "customer.created"
    assert event.data.object.id == customer.id
    assert event.data.object.email == "ann@example.com"
    assert customer.last_response.request_id is not None
    assert event.request.id == customer.last_response.request_id
    assert event.request.idempotency_key == key
    listed = client.v1.events.list(params={"type": "customer.created"})
    assert [e.id for e in listed.data] == [event.id]


def test_a_tampered_webhook_body_fails_verification(client, receiver, store, pm):
    endpoint = client.v1.webhook_endpoints.create(
        params={"url": receiver.url, "enabled_events": ["customer.created"]}
    )
    customer = client.v1.customers.create(params={"email": "ann@example.com"})
    run_jobs(store, pm)
    body, signature = receiver.deliveries[0]
    assert stripe.Webhook.construct_event(body, signature, endpoint.secret).id  # as sent: valid
    tampered = body.replace(customer.id.encode(), b"cus_someoneelse")
    assert tampered != body
    with pytest.raises(stripe.SignatureVerificationError):
        stripe.Webhook.construct_event(tampered, signature, endpoint.secret)
    with pytest.raises(stripe.SignatureVerificationError):
        stripe.Webhook.construct_event(body, signature, "whsec_not_the_secret")


def test_events_not_subscribed_to_are_not_delivered(client, receiver, store, pm):
    client.v1.webhook_endpoints.create(
        params={"url": receiver.url, "enabled_events": ["customer.deleted"]}
    )
    client.v1.customers.create(params={"email": "ann@example.com"})
    assert run_jobs(store, pm) == 0
    assert receiver.deliveries == []


# -- headers ----------------------------------------------------------------------------------
def test_the_sdk_sees_a_request_id_and_its_stripe_version_echoed(client):
    customer = client.v1.customers.create(params={"email": "ann@example.com"})
    headers = customer.last_response.headers
    assert headers["Request-Id"].startswith("req_")
    assert headers["Stripe-Version"] == stripe.api_version


@pytest.mark.parametrize(
    ("method", "path", "kwargs"),
    [
        ("GET", "/v1/customers", {}),
        ("POST", "/v1/customers", {"data": {"email": "ann@example.com"}}),
        ("GET", "/v1/customers/cus_missing", {}),
        ("POST", "/v1/customers", {"data": {"nope": "1"}}),
        ("GET", "/v1/no_such_resource", {}),
        ("DELETE", "/v1/customers/cus_missing", {}),
    ],
)
def test_every_response_carries_request_id_and_echoes_stripe_version(api, method, path, kwargs):
    version = "2024-06-20"
    response = api.request(method, path, headers={"Stripe-Version": version}, **kwargs)
    assert response.headers["Request-Id"].startswith("req_")
    assert response.headers["Stripe-Version"] == version


def test_an_unauthenticated_response_still_carries_request_id(server):
    response = httpx.get(f"{server.url}/v1/customers", headers={"Stripe-Version": "2024-06-20"})
    assert response.status_code == 401
    assert response.headers["Request-Id"].startswith("req_")
    assert response.headers["Stripe-Version"] == "2024-06-20"


def test_request_ids_are_unique_per_response(api):
    ids = {api.get("/v1/customers").headers["Request-Id"] for _ in range(5)}
    assert len(ids) == 5
