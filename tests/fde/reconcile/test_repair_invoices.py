"""Repair plans that credit invoices the external copy says are worth less, and take a
subscription's metadata from it: proposed through a preview, applied through the credit
notes and subscriptions services."""

from __future__ import annotations

import time

import httpx
import pytest
from repair_support import (
    CUSTOMER_RULES,
    INVOICE_RULES,
    SUBSCRIPTION_RULES,
    brk,
    context,
    persist_run,
)

from remit.billing import customers
from remit.billing.credit_notes import reads as credit_note_reads
from remit.billing.invoices import reads as invoice_reads
from remit.billing.subscriptions import render as subscription_reads
from remit.fde.reconcile import repair


def ok(response: httpx.Response) -> dict:
    assert response.status_code == 200, response.text
    return response.json()


def invoice(api: httpx.Client, customer: str, amount: int, then: str | None = None) -> str:
    """A finalized send_invoice invoice of one item; ``then`` pays or voids it."""
    ok(api.post("/v1/invoiceitems", data={"customer": customer, "amount": amount,
                                          "currency": "usd"}))  # fmt: skip
    found = ok(api.post("/v1/invoices", data={
        "customer": customer, "pending_invoice_items_behavior": "include",
        "collection_method": "send_invoice", "days_until_due": 30,
    }))  # fmt: skip
    ok(api.post(f"/v1/invoices/{found['id']}/finalize"))
    if then == "pay":
        ok(api.post(f"/v1/invoices/{found['id']}/pay", data={"paid_out_of_band": "true"}))
    elif then == "void":
        ok(api.post(f"/v1/invoices/{found['id']}/void"))
    return str(found["id"])


def _plan_and_apply(store, ctx, run_id: str) -> tuple[dict, list[dict]]:
    with store.write() as conn:
        plan = repair.propose(conn, ctx, run_id)
        token = repair.approve(conn, ctx.account_id, plan["id"], "Dana", ctx.now)
    with store.write() as conn:
        repair.apply(conn, ctx, plan["id"], token)
        audit = repair.audit_records(conn, ctx.account_id, plan["id"])
    return plan, audit


def test_an_invoice_the_copy_says_is_worth_less_gets_a_credit_note(api, store, pm, account):
    customer = ok(api.post("/v1/customers", data={"email": "ann@example.com"}))["id"]
    open_id, paid_id = invoice(api, customer, 4000), invoice(api, customer, 4000, "pay")
    higher, voided = invoice(api, customer, 4000), invoice(api, customer, 4000, "void")
    breaks = [
        brk("amount_mismatch", open_id, "amount_due", "4000", "3500", amounts=(4000, 3500)),
        brk("amount_mismatch", paid_id, "amount_due", "4000", "3000", amounts=(4000, 3000)),
        brk("amount_mismatch", higher, "amount_due", "4000", "4100", amounts=(4000, 4100)),
        brk("amount_mismatch", voided, "amount_due", "4000", "3900", amounts=(4000, 3900)),
        # More off than the invoice ever charged: the credit notes service would refuse.
        brk(
            "amount_mismatch", higher, "amount_due", "4000", "-1", amounts=(4000, -1), key="other"
        ),  # fmt: skip
        # The platform is right about totals, and no endpoint would carry its event.
        brk("amount_mismatch", open_id, "total", "4000", "3500", amounts=(4000, 3500)),
    ]
    ctx = context(account, pm, int(time.time()))
    run_id = persist_run(store, account, INVOICE_RULES, breaks, now=ctx.now)
    plan, audit = _plan_and_apply(store, ctx, run_id)
    actions = {(a["object_id"], a["params"].get("amount")): a for a in plan["actions"]}
    memo = f"Reconciliation {run_id}: crm has amount_due 3500."
    assert actions[(open_id, 500)]["params"] == {"invoice": open_id, "amount": 500, "memo": memo}
    assert actions[(paid_id, 1000)]["params"]["credit_amount"] == 1000
    assert "1000 to the customer's credit balance" in actions[(paid_id, 1000)]["expected_effect"]
    assert [a["type"] for a in plan["actions"]].count("issue_credit_note") == 2
    refused = [a["expected_effect"] for a in plan["actions"] if a["type"] == "none"]
    assert len(refused) == 4
    assert any("more (4100) than the platform" in r for r in refused)
    assert any(f"Invoice {voided} is void" in r for r in refused)
    assert any("would be refused" in r for r in refused)
    assert any("reach nobody" in r for r in refused)

    with store.read() as conn:
        opened = invoice_reads.retrieve(conn, ctx.account_id, open_id)
        paid = invoice_reads.retrieve(conn, ctx.account_id, paid_id)
        balance = customers.retrieve(conn, ctx.account_id, customer)["balance"]
        notes = {a["object_id"]: a for a in audit if a["action"] == "issue_credit_note"}
        note = credit_note_reads.retrieve(
            conn, ctx.account_id, notes[open_id]["result"]["credit_note"]
        )
    assert (opened["amount_due"], opened["amount_remaining"]) == (3500, 3500)
    assert notes[open_id]["before"]["amount_due"] == 4000
    assert notes[open_id]["after"]["amount_due"] == 3500
    assert (note["amount"], note["memo"], note["invoice"]) == (500, memo, open_id)
    assert paid["post_payment_credit_notes_amount"] == 1000 and balance == -1000


def test_a_subscription_takes_its_metadata_from_the_copy(api, store, pm, account):
    customer = ok(api.post("/v1/customers", data={"email": "ann@example.com"}))["id"]
    product = ok(api.post("/v1/products", data={"name": "Seats"}))["id"]
    price = ok(api.post("/v1/prices", data={"product": product, "currency": "usd",
                                            "unit_amount": 2000,
                                            "recurring[interval]": "month"}))["id"]  # fmt: skip
    sub = ok(api.post("/v1/subscriptions", data={
        "customer": customer, "items[0][price]": price, "collection_method": "send_invoice",
        "days_until_due": 30, "metadata[plan_code]": "P-1", "metadata[region]": "eu",
    }))["id"]  # fmt: skip
    breaks = [
        brk("field_divergence", sub, "metadata.plan_code", "P-1", "P-2"),
        brk("field_divergence", sub, "description", None, "Annual deal"),
    ]
    ctx = context(account, pm, int(time.time()))
    run_id = persist_run(store, account, SUBSCRIPTION_RULES, breaks, now=ctx.now)
    plan, audit = _plan_and_apply(store, ctx, run_id)
    assert [(a["type"], a["params"]) for a in plan["actions"]] == [
        ("none", {}),  # only metadata is taken from the copy
        ("update_record", {"metadata": {"plan_code": "P-2"}}),
    ]
    with store.read() as conn:
        after = subscription_reads.retrieve(conn, ctx.account_id, sub)
    assert after["metadata"] == {"plan_code": "P-2", "region": "eu"}
    assert after["description"] is None
    updated = audit[1]
    assert updated["before"]["metadata"]["plan_code"] == "P-1"
    assert updated["after"]["metadata"]["plan_code"] == "P-2"


@pytest.mark.parametrize("value", ["", None])
def test_an_empty_external_metadata_value_removes_the_key(api, store, pm, account, value):
    customer = ok(api.post("/v1/customers", data={"metadata[tier]": "gold", "metadata[x]": "1"}))
    breaks = [brk("field_divergence", customer["id"], "metadata.tier", "gold", value)]
    ctx = context(account, pm, int(time.time()))
    run_id = persist_run(store, account, CUSTOMER_RULES, breaks, now=ctx.now)
    plan, _ = _plan_and_apply(store, ctx, run_id)
    assert plan["actions"][0]["params"] == {"metadata": {"tier": ""}}
    with store.read() as conn:
        assert customers.retrieve(conn, ctx.account_id, customer["id"])["metadata"] == {"x": "1"}
