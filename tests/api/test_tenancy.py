"""Every route, called by another account with this account's ids, sees and changes nothing."""

from __future__ import annotations

import httpx
import pytest
import sqlalchemy as sa

from conftest import new_account
from remit.plugins.manager import make_manager
from remit.store.registry import load_all, metadata

ALL_ROUTES = sorted(
    (route.method, route.path)
    for group in make_manager().hook.remit_api_routes()
    for route in group
)
# Which of the owner's objects a path's {id} names, and the body a create or update needs.
OWNED = {
    "/v1/billing/meters/{id}": "meter",
    "/v1/billing/meters/{id}/deactivate": "meter",
    "/v1/billing/meters/{id}/error_report": "meter",
    "/v1/billing/meters/{id}/event_summaries": "meter",
    "/v1/billing/meters/{id}/reactivate": "meter",
    "/v1/coupons/{id}": "coupon",
    "/v1/credit_notes/{id}": "credit_note",
    "/v1/credit_notes/{id}/lines": "credit_note",
    "/v1/credit_notes/{id}/void": "credit_note",
    "/v1/customers/{id}": "customer",
    "/v1/events/{id}": "event",
    "/v1/prices/{id}": "price",
    "/v1/products/{id}": "product",
    "/v1/promotion_codes/{id}": "promotion_code",
    "/v1/tax_rates/{id}": "tax_rate",
    "/v1/test_helpers/test_clocks/{id}": "clock",
    "/v1/test_helpers/test_clocks/{id}/advance": "clock",
    "/v1/webhook_endpoints/{id}": "endpoint",
    "/v1/customers/{id}/balance_transactions": "customer",
    "/v1/customers/{id}/balance_transactions/{txn}": "customer",
    "/v1/invoiceitems/{id}": "invoice_item",
    "/v1/invoices/{id}": "invoice",
    "/v1/invoices/{id}/explain": "invoice",
    "/v1/invoices/{id}/finalize": "invoice",
    "/v1/invoices/{id}/lines": "invoice",
    "/v1/invoices/{id}/mark_uncollectible": "invoice",
    "/v1/invoices/{id}/pay": "invoice",
    "/v1/invoices/{id}/void": "invoice",
    "/v1/subscriptions/{id}": "subscription",
    "/v1/subscriptions/{id}/resume": "subscription",
    "/v1/subscription_items/{id}": "subscription_item",
    "/v1/reconciliation/runs/{id}": "reconciliation_run",
    "/v1/reconciliation/runs/{id}/breaks": "reconciliation_run",
    "/v1/reconciliation/runs/{id}/diff": "reconciliation_run",
    "/v1/reconciliation/runs/{id}/matches": "reconciliation_run",
    "/v1/reconciliation/runs/{id}/rejects": "reconciliation_run",
    "/v1/reconciliation/repair_plans/{id}": "repair_plan",
    "/v1/reconciliation/repair_plans/{id}/apply": "repair_plan",
    "/v1/reconciliation/repair_plans/{id}/audit": "repair_plan",
}
# A state-mode reconciliation of the account's customers against a CRM export.
CRM_RULES = """\
name: crm
version: 1
mode: state
object: customer
key: {platform: id, external: stripe_id}
fields:
  - {platform: email, external: email, authority: external}
"""
# A transaction-mode reconciliation of two files: needs nothing on the platform.
FILE_RULES = """\
name: files
version: 1
left: {label: a, columns: {id: id, amount: amount, date: ts}, default_currency: usd}
right: {label: b, columns: {id: id, amount: amount, date: ts}, default_currency: usd}
passes: [{name: exact, match: amount_date, date_window: 1d}]
"""
BODIES = {
    ("POST", "/v1/billing/meters"): lambda ids: {
        "display_name": "Mine",
        "event_name": "api_calls",
        "default_aggregation[formula]": "sum",
    },
    ("POST", "/v1/billing/meters/{id}"): lambda ids: {"display_name": "stolen"},
    ("POST", "/v1/billing/meters/{id}/deactivate"): lambda ids: {},
    ("POST", "/v1/billing/meters/{id}/reactivate"): lambda ids: {},
    # The intruder names the owner's customer: recorded as the intruder's own error.
    ("POST", "/v1/billing/meter_events"): lambda ids: {
        "event_name": "api_calls",
        "payload[stripe_customer_id]": ids["customer"],
        "payload[value]": "1",
    },
    ("POST", "/v1/billing/meter_event_adjustments"): lambda ids: {
        "event_name": "api_calls",
        "type": "cancel",
        "cancel[identifier]": ids["meter_event"],
    },
    ("POST", "/v1/customers"): lambda ids: {"test_clock": ids["clock"]},
    ("POST", "/v1/customers/{id}"): lambda ids: {"name": "stolen"},
    # Product ids are chosen per account: the intruder may reuse the owner's id for its own.
    ("POST", "/v1/products"): lambda ids: {"name": "Mine", "id": ids["product"]},
    ("POST", "/v1/products/{id}"): lambda ids: {"name": "stolen"},
    ("POST", "/v1/prices"): lambda ids: {
        "product": ids["product"],
        "currency": "usd",
        "unit_amount": "1",
    },
    ("POST", "/v1/prices/{id}"): lambda ids: {"nickname": "stolen"},
    ("POST", "/v1/test_helpers/test_clocks/{id}/advance"): lambda ids: {
        "frozen_time": "1900000000"
    },
    ("POST", "/v1/webhook_endpoints/{id}"): lambda ids: {"disabled": "true"},
    # Coupon ids are chosen per account, as product ids are.
    ("POST", "/v1/coupons"): lambda ids: {"percent_off": "5", "id": ids["coupon"]},
    ("POST", "/v1/coupons/{id}"): lambda ids: {"name": "stolen"},
    ("POST", "/v1/promotion_codes"): lambda ids: {"coupon": ids["coupon"]},
    ("POST", "/v1/promotion_codes/{id}"): lambda ids: {"active": "false"},
    ("POST", "/v1/tax_rates"): lambda ids: {
        "display_name": "Mine",
        "percentage": "5",
        "inclusive": "false",
    },
    ("POST", "/v1/tax_rates/{id}"): lambda ids: {"active": "false"},
    ("POST", "/v1/test_helpers/test_clocks"): lambda ids: {"frozen_time": "1700000000"},
    ("POST", "/v1/webhook_endpoints"): lambda ids: {
        "url": "http://127.0.0.1:9/i",
        "enabled_events[]": "*",
    },
    ("POST", "/v1/customers/{id}/balance_transactions"): lambda ids: {
        "amount": "-100",
        "currency": "usd",
    },
    ("POST", "/v1/customers/{id}/balance_transactions/{txn}"): lambda ids: {"description": "x"},
    ("POST", "/v1/invoiceitems"): lambda ids: {"customer": ids["customer"], "amount": "100"},
    ("POST", "/v1/invoiceitems/{id}"): lambda ids: {"description": "stolen"},
    ("POST", "/v1/invoices"): lambda ids: {"customer": ids["customer"]},
    ("POST", "/v1/invoices/create_preview"): lambda ids: {"customer": ids["customer"]},
    ("POST", "/v1/invoices/{id}"): lambda ids: {"description": "stolen"},
    ("POST", "/v1/invoices/{id}/pay"): lambda ids: {"paid_out_of_band": "true"},
    ("POST", "/v1/invoices/{id}/finalize"): lambda ids: {},
    ("POST", "/v1/invoices/{id}/void"): lambda ids: {},
    ("POST", "/v1/invoices/{id}/mark_uncollectible"): lambda ids: {},
    ("POST", "/v1/subscriptions"): lambda ids: {
        "customer": ids["customer"],
        "items[0][price]": ids["recurring_price"],
    },
    ("POST", "/v1/subscriptions/{id}"): lambda ids: {"description": "stolen"},
    ("POST", "/v1/subscriptions/{id}/resume"): lambda ids: {},
    ("POST", "/v1/subscription_items"): lambda ids: {
        "subscription": ids["subscription"],
        "price": ids["recurring_price"],
    },
    ("POST", "/v1/subscription_items/{id}"): lambda ids: {"quantity": "2"},
    ("POST", "/v1/credit_notes"): lambda ids: {"invoice": ids["open_invoice"], "amount": "1"},
    ("POST", "/v1/credit_notes/{id}"): lambda ids: {"memo": "stolen"},
    ("POST", "/v1/credit_notes/{id}/void"): lambda ids: {},
    # A run of two files the intruder can read is the intruder's own run.
    ("POST", "/v1/reconciliation/runs"): lambda ids: {
        "rules": FILE_RULES,
        "left": ids["ledger_file"],
        "right": ids["ledger_file"],
    },
    ("POST", "/v1/reconciliation/repair_plans"): lambda ids: {"run": ids["reconciliation_run"]},
    ("POST", "/v1/reconciliation/repair_plans/{id}/apply"): lambda ids: {"approval_token": "t"},
}
# Lists that take one of the owner's objects as a required filter.
QUERIES = {
    ("GET", "/v1/subscription_items"): lambda ids: {"subscription": ids["subscription"]},
    ("GET", "/v1/credit_notes/preview"): lambda ids: {
        "invoice": ids["open_invoice"],
        "amount": "1",
    },
    ("GET", "/v1/credit_notes/preview/lines"): lambda ids: {
        "invoice": ids["open_invoice"],
        "amount": "1",
    },
    ("GET", "/v1/reconciliation/runs/{id}/diff"): lambda ids: {
        "against": ids["reconciliation_run"]
    },
}


# Routes without {id} whose body names one of the owner's objects: also 404.
NAMES_OWNER_OBJECTS = {
    ("POST", "/v1/customers"),
    ("POST", "/v1/billing/meter_event_adjustments"),
    ("POST", "/v1/prices"),
    ("POST", "/v1/promotion_codes"),
    ("POST", "/v1/invoiceitems"),
    ("POST", "/v1/invoices"),
    ("POST", "/v1/invoices/create_preview"),
    ("POST", "/v1/subscriptions"),
    ("POST", "/v1/subscription_items"),
    ("GET", "/v1/subscription_items"),
    ("POST", "/v1/credit_notes"),
    ("GET", "/v1/credit_notes/preview"),
    ("GET", "/v1/credit_notes/preview/lines"),
    ("POST", "/v1/reconciliation/repair_plans"),
}


def _snapshot(store) -> dict[str, list[tuple]]:
    load_all()
    skip = {"request_log", "idempotency_keys", "accounts", "api_keys"}
    with store.read() as conn:
        return {
            t.name: sorted(map(tuple, conn.execute(sa.select(t)).all()), key=repr)
            for t in metadata.sorted_tables
            if t.name not in skip
        }


@pytest.fixture
def owner_objects(api, tmp_path, monkeypatch) -> dict[str, str]:
    monkeypatch.setenv("REMIT_RECONCILE_ROOTS", str(tmp_path))
    clock = api.post("/v1/test_helpers/test_clocks", data={"frozen_time": "1700000000"}).json()
    customer = api.post(
        "/v1/customers", data={"email": "owner@example.com", "test_clock": clock["id"]}
    ).json()
    endpoint = api.post(
        "/v1/webhook_endpoints", data={"url": "http://127.0.0.1:9/h", "enabled_events[]": "*"}
    ).json()
    meter = api.post(
        "/v1/billing/meters",
        data={
            "display_name": "Calls",
            "event_name": "api_calls",
            "default_aggregation[formula]": "sum",
        },
    ).json()
    api.post(
        "/v1/billing/meter_events",
        data={
            "event_name": "api_calls",
            "identifier": "owner-event",
            "payload[stripe_customer_id]": customer["id"],
            "payload[value]": "1",
        },
    )
    product = api.post("/v1/products", data={"name": "Plan", "id": "owner-plan"}).json()
    price = api.post(
        "/v1/prices", data={"product": product["id"], "currency": "usd", "unit_amount": "100"}
    ).json()
    coupon = api.post("/v1/coupons", data={"percent_off": "5", "id": "owner-coupon"}).json()
    promo = api.post("/v1/promotion_codes", data={"coupon": coupon["id"]}).json()
    tax_rate = api.post(
        "/v1/tax_rates", data={"display_name": "VAT", "percentage": "19", "inclusive": "false"}
    ).json()
    item = api.post(
        "/v1/invoiceitems", data={"customer": customer["id"], "amount": "100", "currency": "usd"}
    ).json()
    invoice = api.post(
        "/v1/invoices",
        data={"customer": customer["id"], "pending_invoice_items_behavior": "include"},
    ).json()
    api.post(
        "/v1/invoiceitems", data={"customer": customer["id"], "amount": "100", "currency": "usd"}
    )
    open_invoice = api.post(
        "/v1/invoices",
        data={"customer": customer["id"], "pending_invoice_items_behavior": "include"},
    ).json()
    api.post(f"/v1/invoices/{open_invoice['id']}/finalize")
    credit_note = api.post(
        "/v1/credit_notes", data={"invoice": open_invoice["id"], "amount": "10"}
    ).json()
    txn = api.post(
        f"/v1/customers/{customer['id']}/balance_transactions",
        data={"amount": "-100", "currency": "usd"},
    ).json()
    recurring_price = api.post(
        "/v1/prices",
        data={"product": product["id"], "currency": "usd", "unit_amount": "100",
              "recurring[interval]": "month"},
    ).json()  # fmt: skip
    subscription = api.post(
        "/v1/subscriptions",
        data={"customer": customer["id"], "items[0][price]": recurring_price["id"]},
    ).json()
    event = api.get("/v1/events", params={"limit": 1}).json()["data"][0]
    crm_file = tmp_path / "crm.csv"
    crm_file.write_text(f"stripe_id,email\n{customer['id']},owner@crm.example.com\n")
    run = api.post(
        "/v1/reconciliation/runs",
        data={"rules": CRM_RULES, "left": "platform:customers", "right": str(crm_file)},
    ).json()
    plan = api.post("/v1/reconciliation/repair_plans", data={"run": run["id"]}).json()
    ledger_file = tmp_path / "ledger.csv"
    ledger_file.write_text("id,amount,ts\nt1,100,1700000000\n")
    return {
        "ledger_file": str(ledger_file),
        "reconciliation_run": run["id"],
        "repair_plan": plan["id"],
        "customer": customer["id"],
        "clock": clock["id"],
        "endpoint": endpoint["id"],
        "event": event["id"],
        "meter": meter["id"],
        "meter_event": "owner-event",
        "product": product["id"],
        "price": price["id"],
        "coupon": coupon["id"],
        "promotion_code": promo["id"],
        "tax_rate": tax_rate["id"],
        "invoice_item": item["id"],
        "invoice": invoice["id"],
        "open_invoice": open_invoice["id"],
        "credit_note": credit_note["id"],
        "balance_transaction": txn["id"],
        "recurring_price": recurring_price["id"],
        "subscription": subscription["id"],
        "subscription_item": subscription["items"]["data"][0]["id"],
    }


@pytest.mark.parametrize(("method", "path"), ALL_ROUTES)
def test_another_account_cannot_reach_these_objects(method, path, server, store, owner_objects):
    intruder = new_account(store, "Intruder")
    before = _snapshot(store)
    url = path.replace("{id}", owner_objects[OWNED[path]]) if "{id}" in path else path
    url = url.replace("{name}", "trial_balance")
    url = url.replace("{txn}", owner_objects["balance_transaction"])
    body = BODIES.get((method, path), lambda ids: {"email": "intruder@example.com"})(owner_objects)
    headers = {"Authorization": f"Bearer {intruder.secret_key}"}
    with httpx.Client(base_url=server.url, headers=headers) as client:
        if path.startswith("/v2/"):
            response = _v2_request(client, path, owner_objects)
        else:
            query = QUERIES.get((method, path), lambda ids: None)(owner_objects)
            data = body if method == "POST" else None
            response = client.request(method, url, data=data, params=query)
    if "{id}" in path or (method, path) in NAMES_OWNER_OBJECTS:
        assert response.status_code == 404, response.text
        assert response.json()["error"]["code"] == "resource_missing"
    elif method == "GET" and "/ledger/reports/" in path:
        assert response.status_code == 200
        assert response.json()["rows"] == []
    elif method == "GET":
        assert response.status_code == 200
        assert set(owner_objects.values()).isdisjoint(o["id"] for o in response.json()["data"])
    else:
        assert response.status_code == 200  # creating one's own object is allowed
    after = _snapshot(store)
    changed = {name for name in before if before[name] != after[name]}
    if response.status_code == 404:
        assert changed == set(), f"{method} {path} changed {changed}"
    else:
        # Only the intruder's own rows may appear; the owner's rows are untouched.
        for name in changed:
            assert set(map(repr, before[name])) <= set(map(repr, after[name])), name


def _v2_request(client: httpx.Client, path: str, ids: dict[str, str]) -> httpx.Response:
    """v2 takes JSON; the stream takes the intruder's own session token, and its event
    names the owner's customer: recorded as the intruder's error, never the owner's usage."""
    session = client.post("/v2/billing/meter_event_session", json={})
    if path == "/v2/billing/meter_event_session":
        return session
    token = session.json()["authentication_token"]
    event = {"event_name": "api_calls", "payload": {"stripe_customer_id": ids["customer"],
                                                    "value": "1"}}  # fmt: skip
    return client.post(path, json={"events": [event]}, headers={"Authorization": f"Bearer {token}"})


def test_every_route_has_a_tenancy_case():
    for method, path in ALL_ROUTES:
        assert "{id}" not in path or path in OWNED, f"add {method} {path} to OWNED"


def test_events_of_one_account_never_reach_another_accounts_endpoint(api, server, store):
    intruder = new_account(store, "Intruder")
    headers = {"Authorization": f"Bearer {intruder.secret_key}"}
    with httpx.Client(base_url=server.url, headers=headers) as client:
        client.post(
            "/v1/webhook_endpoints", data={"url": "http://127.0.0.1:9/x", "enabled_events[]": "*"}
        )
    api.post("/v1/customers", data={"email": "owner@example.com"})
    from remit.events.tables import webhook_deliveries

    with store.read() as conn:
        assert (
            conn.execute(sa.select(sa.func.count()).select_from(webhook_deliveries)).scalar_one()
            == 0
        )
