"""Retries and races a real integration produces: a price create retried under one
Idempotency-Key, and many requests claiming one lookup key at once."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import sqlalchemy as sa
from catalog_support import events_of, new_price, new_product, ok, unchanged

from remit.catalog.tables import prices, products

WORKERS = 8


def _race(server, account, call: Callable[[httpx.Client, int], httpx.Response]) -> list[Any]:  # type: ignore[no-untyped-def]
    """``call`` from WORKERS clients at once, each with its own connection."""
    headers = {"Authorization": f"Bearer {account.secret_key}"}

    def one(n: int) -> httpx.Response:
        with httpx.Client(base_url=server.url, headers=headers, timeout=60) as client:
            return call(client, n)

    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        return list(pool.map(one, range(WORKERS)))


def _count(store, table: sa.Table, account_id: str) -> int:  # type: ignore[no-untyped-def]
    with store.read() as conn:
        query = sa.select(sa.func.count()).where(table.c.account_id == account_id)
        return int(conn.execute(query).scalar_one())


def test_a_retried_price_create_is_created_once(api, store, account):
    data = {
        "currency": "usd",
        "unit_amount_decimal": "0.000000000001",
        "product_data[name]": "Gold",
        "lookup_key": "gold",
    }
    headers = {"Idempotency-Key": "create-gold"}
    first = api.post("/v1/prices", data=data, headers=headers)
    again = api.post("/v1/prices", data=data, headers=headers)
    assert first.status_code == again.status_code == 200, again.text
    assert again.json() == first.json()
    owner = account.account.id
    assert _count(store, prices, owner) == _count(store, products, owner) == 1
    assert len(events_of(api, "price.created")) == len(events_of(api, "product.created")) == 1


def test_a_key_reused_with_other_params_is_refused_and_writes_nothing(api, store):
    product = new_product(api)["id"]
    headers = {"Idempotency-Key": "k-1"}
    data = {"product": product, "currency": "usd", "unit_amount": "100"}
    ok(api.post("/v1/prices", data=data, headers=headers))
    with unchanged(store):
        other = api.post("/v1/prices", data={**data, "unit_amount": "101"}, headers=headers)
    assert other.status_code == 400, other.text
    assert other.json()["error"]["type"] == "idempotency_error"


def test_a_failed_create_is_replayed_as_the_same_error(api, store):
    product = new_product(api)["id"]
    headers = {"Idempotency-Key": "k-bad"}
    data = {"product": product, "currency": "usd", "unit_amount_decimal": "1e-13"}
    with unchanged(store):
        first = api.post("/v1/prices", data=data, headers=headers)
        again = api.post("/v1/prices", data=data, headers=headers)
    assert first.status_code == again.status_code == 400
    assert again.json() == first.json()


def test_concurrent_retries_of_one_key_create_one_price(api, store, server, account):
    product = new_product(api)["id"]
    data = {"product": product, "currency": "usd", "unit_amount": "700"}

    def create(client: httpx.Client, n: int) -> httpx.Response:
        return client.post("/v1/prices", data=data, headers={"Idempotency-Key": "same"})

    responses = _race(server, account, create)
    created = {r.json()["id"] for r in responses if r.status_code == 200}
    # A duplicate that arrives while the first runs is told 409 (retry later), never run twice.
    assert len(created) == 1 and all(r.status_code in (200, 409) for r in responses)
    assert _count(store, prices, account.account.id) == 1


def test_concurrent_transfers_of_one_lookup_key_all_succeed(api, server, account):
    product = new_price(api, unit_amount="1", lookup_key="current")["product"]

    def claim(client: httpx.Client, n: int) -> httpx.Response:
        data = {
            "product": product,
            "currency": "usd",
            "unit_amount": str(n + 2),
            "lookup_key": "current",
            "transfer_lookup_key": "true",
        }
        return client.post("/v1/prices", data=data)

    responses = _race(server, account, claim)
    assert [r.status_code for r in responses] == [200] * WORKERS, [r.text for r in responses]
    holders = ok(api.get("/v1/prices", params={"lookup_keys[]": "current"}))["data"]
    assert len(holders) == 1
    # Each transfer took the key from the price holding it then, and said so.
    updates = events_of(api, "price.updated")
    moved = [e for e in updates if e["data"]["object"]["lookup_key"] is None]
    assert len(moved) == WORKERS
    assert {e["data"]["previous_attributes"]["lookup_key"] for e in moved} == {"current"}


def test_concurrent_updates_claiming_one_key_leave_one_holder(api, server, account):
    ids = [new_price(api, unit_amount=str(n + 1))["id"] for n in range(WORKERS)]

    def claim(client: httpx.Client, n: int) -> httpx.Response:
        data = {"lookup_key": "shared", "transfer_lookup_key": "true"}
        return client.post(f"/v1/prices/{ids[n]}", data=data)

    responses = _race(server, account, claim)
    assert [r.status_code for r in responses] == [200] * WORKERS, [r.text for r in responses]
    holders = ok(api.get("/v1/prices", params={"lookup_keys[]": "shared"}))["data"]
    assert len(holders) == 1 and holders[0]["id"] in ids


def test_concurrent_claims_of_one_lookup_key_leave_one_holder(api, server, account):
    product = new_price(api, unit_amount="1")["product"]
    headers = {"Authorization": f"Bearer {account.secret_key}"}

    def attempt(n: int) -> httpx.Response:
        with httpx.Client(base_url=server.url, headers=headers, timeout=30) as client:
            data = {"product": product, "currency": "usd", "unit_amount": str(n), "lookup_key": "k"}
            return client.post("/v1/prices", data=data)

    with ThreadPoolExecutor(max_workers=8) as pool:
        responses = list(pool.map(attempt, range(8)))
    assert sorted(r.status_code for r in responses) == [200] + [400] * 7
    for response in responses:
        if response.status_code == 400:
            assert response.json()["error"]["param"] == "lookup_key"
    listed = ok(api.get("/v1/prices?lookup_keys[]=k"))["data"]
    assert [p["id"] for p in listed] == [r.json()["id"] for r in responses if r.status_code == 200]
