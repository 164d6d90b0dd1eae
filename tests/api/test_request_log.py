"""Every request lands in the request log, secrets redacted, objects it touched listed."""

from __future__ import annotations

import httpx

from remit.api import request_log


def test_each_request_is_logged_with_what_it_touched(api, server, store, account):
    created = api.post(
        "/v1/customers",
        data={"email": "a@example.com", "metadata[card_number]": "x"},
        headers={"Idempotency-Key": "log-1", "Stripe-Version": "2024-06-20", "User-Agent": "ua/1"},
    )
    customer_id = created.json()["id"]
    api.get(f"/v1/customers/{customer_id}")
    api.get("/v1/customers/cus_missing")
    httpx.get(f"{server.url}/v1/customers")  # unauthenticated
    server.app.log_writer.flush()
    with store.read() as conn:
        rows = request_log.query(conn, account.account.id)
    assert [(r["method"], r["status"]) for r in rows] == [("GET", 404), ("GET", 200), ("POST", 200)]
    create = rows[-1]
    assert create["id"] == created.headers["Request-Id"]
    assert create["idempotency_key"] == "log-1"
    assert create["api_version"] == "2024-06-20"
    assert create["user_agent"] == "ua/1"
    assert create["object_ids"] == [customer_id]
    assert create["params"]["email"] == "a@example.com"
    assert create["latency_us"] > 0
    assert rows[0]["error_type"] == "invalid_request_error"
    with store.read() as conn:
        by_object = request_log.query(conn, account.account.id, object_id=customer_id)
    assert {r["method"] for r in by_object} == {"POST", "GET"}


def test_secrets_are_redacted():
    params = {"card": {"number": "4242424242424242", "cvc": "123"}, "name": "n", "note": "x" * 500}
    redacted = request_log.redact(params)
    assert redacted["card"] == {"number": "[redacted]", "cvc": "[redacted]"}
    assert redacted["name"] == "n"
    assert len(redacted["note"]) < 300
