"""Secret keys: shown once, stored only as a hash, accepted as Bearer or Basic."""

from __future__ import annotations

import base64

import httpx
import sqlalchemy as sa

from remit.store.registry import load_all, metadata


def test_no_table_holds_a_secret_key_in_plain_text(api, store, account):
    api.post("/v1/customers", data={"email": "a@example.com"})
    load_all()
    key = account.secret_key
    with store.read() as conn:
        for table in metadata.sorted_tables:
            for row in conn.execute(sa.select(table)):
                assert key not in repr(tuple(row)), f"plain-text key in {table.name}"
                assert key[len("sk_test_") :] not in repr(tuple(row)), f"key body in {table.name}"


def test_bearer_and_basic_auth_both_work(server, account):
    basic = base64.b64encode(f"{account.secret_key}:".encode()).decode()
    for header in (f"Bearer {account.secret_key}", f"Basic {basic}"):
        response = httpx.get(f"{server.url}/v1/customers", headers={"Authorization": header})
        assert response.status_code == 200, header


def test_missing_malformed_and_unknown_keys_get_401(server, account):
    for header in ({}, {"Authorization": "Bearer"}, {"Authorization": "Basic !!!"},
                   {"Authorization": "Bearer sk_test_unknown"},
                   {"Authorization": f"Token {account.secret_key}"}):  # fmt: skip
        response = httpx.get(f"{server.url}/v1/customers", headers=header)
        assert response.status_code == 401, header
        error = response.json()["error"]
        assert error["type"] == "invalid_request_error"
        assert account.secret_key not in error["message"]
