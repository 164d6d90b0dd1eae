"""Finalization applies the customer's balance; a void gives it back. The ledger's
receivables and customer credit follow every step, and verify stays clean."""

from __future__ import annotations

from invoice_support import assert_ledger_clean, new_customer, new_invoice, new_item, ok

from billing.balance.balance_support import balances, credit_held_in_ledger


def balance_txns(api, customer: str) -> list[dict]:  # type: ignore[no-untyped-def]
    return ok(api.get(f"/v1/customers/{customer}/balance_transactions"))["data"]


def finalized(api, customer: str, amount: str) -> dict:  # type: ignore[no-untyped-def]
    new_item(api, customer, amount=amount)
    invoice = new_invoice(api, customer)
    return ok(api.post(f"/v1/invoices/{invoice['id']}/finalize"))


def test_credit_covers_what_it_can_and_the_rest_is_due(api, store, pm, account):
    customer = new_customer(api, balance="-500")["id"]
    first = finalized(api, customer, "300")
    assert (first["status"], first["amount_due"]) == ("paid", 0)
    assert (first["starting_balance"], first["ending_balance"]) == (-500, -200)
    applied = balance_txns(api, customer)[0]
    assert (applied["type"], applied["amount"], applied["invoice"]) == (
        "applied_to_invoice", 300, first["id"],
    )  # fmt: skip
    second = finalized(api, customer, "1000")
    assert (second["status"], second["amount_due"], second["ending_balance"]) == ("open", 800, 0)
    assert (
        credit_held_in_ledger(store, account.account.id) == 0 == balances(store, account.account.id)
    )
    assert_ledger_clean(store, pm, account.account.id)


def test_a_debt_is_added_to_what_is_due_and_a_void_gives_it_back(api, store, pm, account):
    customer = new_customer(api, balance="200")["id"]
    invoice = finalized(api, customer, "1000")
    assert (invoice["amount_due"], invoice["starting_balance"], invoice["ending_balance"]) == (
        1200, 200, 0,
    )  # fmt: skip
    assert_ledger_clean(store, pm, account.account.id)
    voided = ok(api.post(f"/v1/invoices/{invoice['id']}/void"))
    assert voided["status"] == "void"
    assert ok(api.get(f"/v1/customers/{customer}"))["balance"] == 200
    back = balance_txns(api, customer)[0]
    assert (back["type"], back["amount"]) == ("unapplied_from_invoice", 200)
    assert credit_held_in_ledger(store, account.account.id) == -200
    assert_ledger_clean(store, pm, account.account.id)


def test_a_voided_invoice_returns_the_credit_it_used(api, store, pm, account):
    customer = new_customer(api, balance="-300")["id"]
    invoice = finalized(api, customer, "1000")
    assert invoice["amount_due"] == 700
    ok(api.post(f"/v1/invoices/{invoice['id']}/void"))
    assert ok(api.get(f"/v1/customers/{customer}"))["balance"] == -300
    assert credit_held_in_ledger(store, account.account.id) == 300
    assert_ledger_clean(store, pm, account.account.id)


def test_a_negative_invoice_becomes_credit(api, store, pm, account):
    customer = new_customer(api)["id"]
    invoice = finalized(api, customer, "-700")
    assert (invoice["total"], invoice["amount_due"], invoice["status"]) == (-700, 0, "paid")
    assert ok(api.get(f"/v1/customers/{customer}"))["balance"] == -700
    assert credit_held_in_ledger(store, account.account.id) == 700
    assert_ledger_clean(store, pm, account.account.id)
    later = finalized(api, customer, "1000")
    assert (later["amount_due"], later["ending_balance"]) == (300, 0)
    assert_ledger_clean(store, pm, account.account.id)


def test_written_off_then_paid_or_voided_after_all(api, store, pm, account):
    customer = new_customer(api)["id"]
    paid_later = finalized(api, customer, "900")
    voided_later = finalized(api, customer, "400")
    for invoice in (paid_later, voided_later):
        gone = ok(api.post(f"/v1/invoices/{invoice['id']}/mark_uncollectible"))
        assert gone["status"] == "uncollectible"
        assert gone["status_transitions"]["marked_uncollectible_at"] is not None
    assert_ledger_clean(store, pm, account.account.id)
    paid = ok(api.post(f"/v1/invoices/{paid_later['id']}/pay", data={"paid_out_of_band": "true"}))
    assert (paid["status"], paid["amount_paid"]) == ("paid", 900)
    assert ok(api.post(f"/v1/invoices/{voided_later['id']}/void"))["status"] == "void"
    assert_ledger_clean(store, pm, account.account.id)
