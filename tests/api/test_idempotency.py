"""Idempotency keys, as a client retrying over a bad network would exercise them."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import httpx
import sqlalchemy as sa

from remit.api import idempotency
from remit.api.tables import idempotency_keys
from remit.billing.tables import customers
from remit.events.tables import events
from remit.jobs.worker import Worker, background_tasks
from remit.primitives.clock import FixedClock
from remit.store.group_commit import DirectWriter


def _count(store, table) -> int:
    with store.read() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()


def test_fifty_concurrent_requests_with_one_key_create_exactly_one_customer(server, account, store):
    headers = {"Authorization": f"Bearer {account.secret_key}", "Idempotency-Key": "signup-42"}
    body = {"email": "ann@example.com", "metadata[source]": "landing"}

    def send(_: int) -> httpx.Response:
        with httpx.Client(base_url=server.url, headers=headers, timeout=60) as client:
            return client.post("/v1/customers", data=body)

    with ThreadPoolExecutor(max_workers=50) as pool:
        responses = list(pool.map(send, range(50)))

    assert _count(store, customers) == 1
    assert _count(store, events) == 1
    succeeded = [r for r in responses if r.status_code == 200]
    assert succeeded, [r.text for r in responses[:3]]
    for response in responses:
        if response.status_code != 200:
            assert response.status_code == 409
            assert response.json()["error"]["code"] == "idempotency_key_in_use"
    assert len({r.content for r in succeeded}) == 1
    with httpx.Client(base_url=server.url, headers=headers) as client:
        replay = client.post("/v1/customers", data=body)
    assert replay.content == succeeded[0].content
    assert replay.headers["Idempotent-Replayed"] == "true"
    assert replay.headers["Request-Id"] != succeeded[0].headers["Request-Id"]


def test_same_key_with_other_parameters_is_an_idempotency_error(api, store):
    first = api.post(
        "/v1/customers", data={"email": "a@example.com"}, headers={"Idempotency-Key": "k"}
    )
    other = api.post(
        "/v1/customers", data={"email": "b@example.com"}, headers={"Idempotency-Key": "k"}
    )
    assert first.status_code == 200
    assert other.status_code == 400
    assert other.json()["error"]["type"] == "idempotency_error"
    assert _count(store, customers) == 1


def test_same_key_on_another_endpoint_is_an_idempotency_error(api):
    api.post("/v1/customers", data={"email": "a@example.com"}, headers={"Idempotency-Key": "k"})
    clock = api.post(
        "/v1/test_helpers/test_clocks",
        data={"frozen_time": "1700000000"},
        headers={"Idempotency-Key": "k"},
    )
    assert clock.status_code == 400
    assert clock.json()["error"]["type"] == "idempotency_error"


def test_an_error_is_the_saved_answer_too(api, store):
    headers = {"Idempotency-Key": "bad-1"}
    first = api.post("/v1/customers", data={"tax_exempt": "sometimes"}, headers=headers)
    again = api.post("/v1/customers", data={"tax_exempt": "sometimes"}, headers=headers)
    assert first.status_code == again.status_code == 400
    assert first.content == again.content
    assert again.headers["Idempotent-Replayed"] == "true"
    assert _count(store, customers) == 0


def test_keys_are_scoped_to_the_account(server, store, account):
    from conftest import new_account

    other = new_account(store, "Other")
    bodies = []
    for secret in (account.secret_key, other.secret_key):
        headers = {"Authorization": f"Bearer {secret}", "Idempotency-Key": "shared"}
        with httpx.Client(base_url=server.url, headers=headers) as client:
            bodies.append(client.post("/v1/customers", data={"email": "x@example.com"}).json())
    assert bodies[0]["id"] != bodies[1]["id"]
    assert _count(store, customers) == 2


def test_a_key_longer_than_255_characters_is_rejected(api, store):
    response = api.post("/v1/customers", headers={"Idempotency-Key": "k" * 256})
    assert response.status_code == 400
    assert response.json()["error"]["param"] == "Idempotency-Key"
    assert _count(store, customers) == 0


def test_a_claim_left_by_a_dead_request_is_taken_over_once_stale(api, store, account):
    with store.write() as conn:
        conn.execute(
            idempotency_keys.insert().values(
                account_id=account.account.id, key="orphan", fingerprint="x" * 64,
                status="in_flight", request_id="req_dead", locked_at=0, created=0,
            )
        )  # fmt: skip
    fresh = api.post(
        "/v1/customers", data={"email": "a@example.com"}, headers={"Idempotency-Key": "orphan"}
    )
    # Created long ago, so past retention: the key is free again and the request runs.
    assert fresh.status_code == 200
    assert _count(store, customers) == 1


def test_a_live_claim_answers_409(api, store, account):
    now = int(__import__("time").time())
    print_ = idempotency.fingerprint("POST", "/v1/customers", {"email": "a@example.com"})
    with store.write() as conn:
        conn.execute(
            idempotency_keys.insert().values(
                account_id=account.account.id, key="busy", fingerprint=print_,
                status="in_flight", request_id="req_other", locked_at=now, created=now,
            )
        )  # fmt: skip
    response = api.post(
        "/v1/customers", data={"email": "a@example.com"}, headers={"Idempotency-Key": "busy"}
    )
    assert response.status_code == 409
    assert response.json()["error"]["type"] == "idempotency_error"
    assert _count(store, customers) == 0


def test_replays_last_at_least_a_day(store, account):
    key_time = 1_700_000_000
    print_ = idempotency.fingerprint("POST", "/p", {})
    writer = DirectWriter(store)
    claim = idempotency.begin(writer, account.account.id, "day", print_, "req_1", key_time)
    assert isinstance(claim, idempotency.Claim)
    with store.write() as conn:
        idempotency.finish(conn, claim, 200, b'{"ok": true}')
    later = idempotency.begin(
        writer, account.account.id, "day", print_, "req_2", key_time + 24 * 3600
    )
    assert later == idempotency.Replay(200, b'{"ok": true}')
    assert idempotency.purge(store, key_time + 24 * 3600) == 0
    assert idempotency.purge(store, key_time + idempotency.RETENTION_S + 1) == 1


def test_the_worker_purges_expired_keys_in_bounded_batches(store, pm, account):
    writer = DirectWriter(store)
    for n in range(5):
        idempotency.begin(writer, account.account.id, f"k{n}", "print", f"req_{n}", 1_000 + n)
    assert idempotency.purge(store, 1_003 + idempotency.RETENTION_S, batch=2) == 2
    assert idempotency.purge_task in background_tasks(pm)
    clock = FixedClock(1_000 + idempotency.RETENTION_S + 60)
    Worker(store, {}, clock, tasks=background_tasks(pm)).drain()
    with store.read() as conn:
        left = conn.execute(sa.select(sa.func.count()).select_from(idempotency_keys)).scalar()
    assert left == 0


def test_get_requests_ignore_the_key(api):
    created = api.post("/v1/customers", data={"email": "a@example.com"}).json()
    first = api.get(f"/v1/customers/{created['id']}", headers={"Idempotency-Key": "g"})
    second = api.get(f"/v1/customers/{created['id']}", headers={"Idempotency-Key": "g"})
    assert "Idempotent-Replayed" not in second.headers
    assert first.json() == second.json()
