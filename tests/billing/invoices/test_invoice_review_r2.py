"""Review: invoice sequences whose ledger must stay clean, receivables check included.

A negative invoice that still leaves debt due is voided (its credit undone, the debt back on
the balance), and an invoice written off, partly collected and written off again is paid.
"""

from __future__ import annotations

from invoice_support import (
    assert_ledger_clean,
    new_coupon,
    new_customer,
    new_invoice,
    new_item,
    ok,
)
from test_invoice_collect_hook import Processor

from billing.balance.balance_support import credit_held_in_ledger
from billing.renewals.renewal_support import JAN_1, clocked_customer, new_clock
from remit.billing.invoices import lifecycle
from remit.context import CallContext
from remit.jobs.worker import Worker, background_tasks
from remit.plugins.manager import job_handlers, make_manager
from remit.primitives.clock import WallClock


def finalized(api, customer: str, amount: str, **params: str) -> dict:  # type: ignore[no-untyped-def]
    new_item(api, customer, amount=amount)
    invoice = new_invoice(api, customer, **params)
    return ok(api.post(f"/v1/invoices/{invoice['id']}/finalize"))


def test_a_negative_invoice_left_owing_the_debt_is_voided(api, store, pm, account):
    customer = new_customer(api, balance="1000")["id"]
    invoice = finalized(api, customer, "-700")
    # The credit of 700 pays down the debt of 1000; 300 of it is due on the invoice.
    assert (invoice["status"], invoice["amount_due"], invoice["ending_balance"]) == ("open", 300, 0)
    assert_ledger_clean(store, pm, account.account.id)
    voided = ok(api.post(f"/v1/invoices/{invoice['id']}/void"))
    assert voided["status"] == "void"
    assert ok(api.get(f"/v1/customers/{customer}"))["balance"] == 1000
    assert credit_held_in_ledger(store, account.account.id) == -1000
    assert_ledger_clean(store, pm, account.account.id)


def test_a_negative_invoice_written_off_then_voided(api, store, pm, account):
    customer = new_customer(api, balance="1000")["id"]
    invoice = finalized(api, customer, "-700")
    ok(api.post(f"/v1/invoices/{invoice['id']}/mark_uncollectible"))
    assert_ledger_clean(store, pm, account.account.id)
    assert ok(api.post(f"/v1/invoices/{invoice['id']}/void"))["status"] == "void"
    assert ok(api.get(f"/v1/customers/{customer}"))["balance"] == 1000
    assert_ledger_clean(store, pm, account.account.id)


def test_written_off_partly_collected_written_off_again_then_paid(api, store, account):
    customer = new_customer(api)["id"]
    invoice = finalized(api, customer, "1000")
    pm = make_manager()
    pm.register(Processor(pm), name="test-processor")
    ctx = CallContext(account=account.account, now=invoice["created"], pm=pm)
    ok(api.post(f"/v1/invoices/{invoice['id']}/mark_uncollectible"))
    with store.write() as conn:
        half = lifecycle.pay(conn, ctx, invoice["id"], ctx.now, paid_out_of_band=False)
    assert (half["status"], half["amount_remaining"]) == ("open", 500)
    again = ok(api.post(f"/v1/invoices/{invoice['id']}/mark_uncollectible"))
    assert again["status"] == "uncollectible"
    assert_ledger_clean(store, pm, account.account.id)
    paid = ok(api.post(f"/v1/invoices/{invoice['id']}/pay", data={"paid_out_of_band": "true"}))
    assert (paid["status"], paid["amount_paid"], paid["amount_remaining"]) == ("paid", 1000, 0)
    assert_ledger_clean(store, pm, account.account.id)


def test_credit_after_payment_used_by_the_next_invoice_comes_back_on_its_void(
    api, store, pm, account
):
    customer = new_customer(api, balance="-300")["id"]
    coupon = new_coupon(api, percent_off="100")
    free = finalized(api, customer, "1000", **{"discounts[0][coupon]": coupon["id"]})
    assert (free["total"], free["status"], free["ending_balance"]) == (0, "paid", -300)
    invoice = finalized(api, customer, "1000")
    assert invoice["amount_due"] == 700
    ok(api.post("/v1/credit_notes", data={"invoice": invoice["id"], "amount": "200"}))
    ok(api.post(f"/v1/invoices/{invoice['id']}/pay", data={"paid_out_of_band": "true"}))
    data = {"invoice": invoice["id"], "amount": "800", "credit_amount": "800"}
    ok(api.post("/v1/credit_notes", data=data))
    assert ok(api.get(f"/v1/customers/{customer}"))["balance"] == -800
    following = finalized(api, customer, "2000")
    assert (following["amount_due"], following["ending_balance"]) == (1200, 0)
    assert_ledger_clean(store, pm, account.account.id)
    ok(api.post(f"/v1/invoices/{following['id']}/void"))
    assert ok(api.get(f"/v1/customers/{customer}"))["balance"] == -800
    assert credit_held_in_ledger(store, account.account.id) == 800
    assert_ledger_clean(store, pm, account.account.id)


def test_one_draft_that_cannot_be_finalized_does_not_hold_back_the_others(api, store, pm):
    clock = new_clock(api)
    stuck, fine = clocked_customer(api, clock), clocked_customer(api, clock)
    data = {"amount": "-500", "currency": "eur"}
    ok(api.post(f"/v1/customers/{stuck}/balance_transactions", data=data))
    new_item(api, stuck, amount="-700")
    new_invoice(api, stuck, currency="usd", auto_advance="true")
    new_item(api, fine, amount="700")
    waiting = new_invoice(api, fine, auto_advance="true")
    ok(
        api.post(
            f"/v1/test_helpers/test_clocks/{clock}/advance", data={"frozen_time": JAN_1 + 7200}
        )
    )
    Worker(store, job_handlers(pm), WallClock(), tasks=background_tasks(pm)).drain()
    assert ok(api.get(f"/v1/invoices/{waiting['id']}"))["status"] == "open"
    held = [i for i in ok(api.get("/v1/invoices", params={"customer": stuck}))["data"]]
    assert [i["status"] for i in held] == ["draft"]
    assert held[0]["auto_advance"] is False
    assert held[0]["last_finalization_error"]["type"] == "invalid_request_error"
    assert ok(api.get(f"/v1/test_helpers/test_clocks/{clock}"))["status"] == "ready"
    failed = ok(api.get("/v1/events", params={"type": "invoice.finalization_failed"}))["data"]
    assert [e["data"]["object"]["id"] for e in failed] == [held[0]["id"]]
