"""Voiding a credit note that moved money: the invoice owes again what the note took off
before payment, the customer's balance gives back what the note credited, an amount
settled outside is simply no longer recorded, and the ledger and revenue recognition
return to where they stood without the note."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
import sqlalchemy as sa
from credit_note_support import (
    assert_ledger_clean,
    balance_of,
    context,
    event_types,
    finalized_invoice,
    invoice_row,
    ledger_balance,
    line,
    new_customer,
    new_rate,
    unchanged,
)

from remit.api.v1.credit_notes import CREATE
from remit.billing.balance import service as balance
from remit.billing.balance.tables import customer_balance_transactions
from remit.billing.credit_notes import service
from remit.billing.invoices import lifecycle
from remit.ledger.revrec import service as revrec
from remit.ledger.revrec.domain import day_of
from remit.primitives.errors import InvalidRequestError


@pytest.fixture
def business(store, account, pm):  # type: ignore[no-untyped-def]
    """A customer and the 19% VAT (DE) its invoices charge."""
    ctx = context(account, pm)
    with store.write() as conn:
        customer = new_customer(conn, ctx)
        vat = new_rate(conn, ctx, "19")
    return ctx, customer, vat


def issue(store, ctx, **params: Any) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    with store.write() as conn:
        return service.create(conn, ctx, CREATE.validate(params))


def void(store, ctx, note_id: str) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    with store.write() as conn:
        return service.void(conn, ctx, note_id)


def seats_invoice(store, business, *, paid: bool, deferred: bool = True):  # type: ignore[no-untyped-def]
    """Two seats at 500 each, 19% VAT on top: 1190."""
    ctx, customer, vat = business
    return finalized_invoice(
        store, ctx, customer, [line(1000, quantity=2, deferred=deferred)], paid=paid,
        default_tax_rates=(vat,),
    )  # fmt: skip


def invoice_now(store, ctx, invoice_id: str):  # type: ignore[no-untyped-def]
    with store.read() as conn:
        return invoice_row(conn, ctx, invoice_id)


def books(store, ctx) -> dict[str, int]:  # type: ignore[no-untyped-def]
    codes = ("accounts_receivable", "customer_credit_balance", "bank", "contra_revenue",
             "deferred_revenue", "revenue", "tax_payable.de")  # fmt: skip
    return {code: ledger_balance(store, ctx.account_id, code) for code in codes}


def test_a_pre_payment_note_voided_puts_the_amount_back_on_the_open_invoice(store, pm, business):
    ctx, _, _ = business
    invoice = seats_invoice(store, business, paid=False)
    before = books(store, ctx)
    note = issue(store, ctx, invoice=invoice.id, amount="595")
    assert invoice_now(store, ctx, invoice.id).amount_remaining == 595

    voided = void(store, ctx, note["id"])
    assert (voided["status"], voided["voided_at"]) == ("void", ctx.now)
    after = invoice_now(store, ctx, invoice.id)
    assert (after.status, after.amount_due, after.amount_remaining) == ("open", 1190, 1190)
    assert after.pre_payment_credit_notes_amount == after.post_payment_credit_notes_amount == 0
    assert books(store, ctx) == before
    assert event_types(store, ctx.account_id)[-2:] == ["credit_note.voided", "invoice.updated"]
    assert_ledger_clean(store, pm, ctx.account_id)
    # The invoice can be credited in full again, and paid.
    issue(store, ctx, invoice=invoice.id, amount="1190")
    assert invoice_now(store, ctx, invoice.id).status == "paid"
    assert_ledger_clean(store, pm, ctx.account_id)


def test_a_note_to_the_customers_balance_voided_takes_the_credit_back(store, pm, business):
    ctx, customer, _ = business
    invoice = seats_invoice(store, business, paid=True)
    before = books(store, ctx)
    note = issue(store, ctx, invoice=invoice.id, amount="595", credit_amount="595")
    assert balance_of(store, customer) == -595

    void(store, ctx, note["id"])
    assert balance_of(store, customer) == 0
    with store.read() as conn:
        t = customer_balance_transactions.c
        taken_back = conn.execute(
            sa.select(customer_balance_transactions)
            .where(t.customer == customer)
            .order_by(t.created, t.ending_balance)
        ).all()[-1]
    assert (taken_back.type, taken_back.amount, taken_back.ending_balance) == (
        "credit_note", 595, 0,
    )  # fmt: skip
    assert (taken_back.credit_note, taken_back.invoice) == (note["id"], invoice.id)
    after = invoice_now(store, ctx, invoice.id)
    assert (after.status, after.post_payment_credit_notes_amount) == ("paid", 0)
    assert books(store, ctx) == before
    assert "customer.updated" in event_types(store, ctx.account_id)[-3:]
    assert_ledger_clean(store, pm, ctx.account_id)


def test_a_credit_already_spent_leaves_the_customer_owing_it(store, pm, business):
    ctx, customer, _ = business
    invoice = seats_invoice(store, business, paid=True)
    note = issue(store, ctx, invoice=invoice.id, amount="595", credit_amount="595")
    spent = seats_invoice(store, business, paid=False)  # finalizing applies the credit
    assert (balance_of(store, customer), spent.amount_due) == (0, 1190 - 595)

    void(store, ctx, note["id"])
    # As Stripe's balance does: a positive balance is owed and the next invoice adds it.
    assert balance_of(store, customer) == 595
    assert ledger_balance(store, ctx.account_id, "customer_credit_balance") == 595
    assert_ledger_clean(store, pm, ctx.account_id)
    following = seats_invoice(store, business, paid=False)
    assert following.amount_due == 1190 + 595
    assert_ledger_clean(store, pm, ctx.account_id)


def test_an_out_of_band_note_voided_is_no_longer_recorded(store, pm, business):
    ctx, customer, _ = business
    invoice = seats_invoice(store, business, paid=True, deferred=False)
    before = books(store, ctx)
    note = issue(store, ctx, invoice=invoice.id, amount="1190", out_of_band_amount="1190")
    assert books(store, ctx)["bank"] == before["bank"] - 1190

    void(store, ctx, note["id"])
    assert books(store, ctx) == before
    assert balance_of(store, customer) == 0
    assert invoice_now(store, ctx, invoice.id).post_payment_credit_notes_amount == 0
    assert_ledger_clean(store, pm, ctx.account_id)
    # With its only note void, the invoice may be credited in full again.
    issue(store, ctx, invoice=invoice.id, amount="1190", credit_amount="1190")
    assert_ledger_clean(store, pm, ctx.account_id)


def test_recognition_before_and_after_the_void_ends_at_the_invoices_revenue(store, pm, business):
    ctx, _, _ = business
    invoice = seats_invoice(store, business, paid=False)
    rules = balance.posting_rules(ctx)
    with store.write() as conn:
        revrec.recognize_through(conn, ctx, rules, day_of(ctx.now))
    note = issue(store, ctx, invoice=invoice.id, amount="595")
    void(store, ctx, note["id"])
    assert_ledger_clean(store, pm, ctx.account_id)
    later = replace(ctx, now=ctx.now + 40 * 86_400)
    with store.write() as conn:
        revrec.recognize_through(conn, later, rules, day_of(later.now))
    held = books(store, ctx)
    # Credit-normal accounts read negative: all 1000 recognized, nothing deferred or offset.
    assert (held["revenue"], held["deferred_revenue"], held["contra_revenue"]) == (-1000, 0, 0)
    assert_ledger_clean(store, pm, ctx.account_id)


def refused_void(store, ctx, note_id: str) -> InvalidRequestError:  # type: ignore[no-untyped-def]
    with unchanged(store, ctx.account_id), pytest.raises(InvalidRequestError) as caught:
        void(store, ctx, note_id)
    return caught.value


def test_a_note_whose_invoice_is_paid_since_cannot_give_back_its_pre_payment_part(
    store, pm, business
):  # type: ignore[no-untyped-def]
    ctx, _, _ = business
    by_notes = seats_invoice(store, business, paid=False)
    first = issue(store, ctx, invoice=by_notes.id, amount="595")
    second = issue(store, ctx, invoice=by_notes.id, amount="595")
    assert invoice_now(store, ctx, by_notes.id).status == "paid"
    for note in (first, second):
        error = refused_void(store, ctx, note["id"])
        assert error.code == "credit_note_not_voidable"
        assert "paid" in error.message
    paid_since = seats_invoice(store, business, paid=False)
    note = issue(store, ctx, invoice=paid_since.id, amount="100")
    with store.write() as conn:
        lifecycle.pay(conn, ctx, paid_since.id, ctx.now, paid_out_of_band=True)
    assert refused_void(store, ctx, note["id"]).code == "credit_note_not_voidable"
    assert_ledger_clean(store, pm, ctx.account_id)


def test_a_void_note_is_not_voided_twice(store, pm, business):
    ctx, _, _ = business
    invoice = seats_invoice(store, business, paid=True)
    note = issue(store, ctx, invoice=invoice.id, amount="100", credit_amount="100")
    void(store, ctx, note["id"])
    assert refused_void(store, ctx, note["id"]).code == "credit_note_already_voided"
    assert_ledger_clean(store, pm, ctx.account_id)


def test_a_note_on_an_invoice_written_off_since_is_not_voided(store, pm, business):
    ctx, _, _ = business
    invoice = seats_invoice(store, business, paid=False)
    note = issue(store, ctx, invoice=invoice.id, amount="190")
    with store.write() as conn:
        lifecycle.mark_uncollectible(conn, ctx, invoice.id, ctx.now)
    error = refused_void(store, ctx, note["id"])
    assert error.code == "credit_note_not_voidable" and "uncollectible" in error.message
    assert_ledger_clean(store, pm, ctx.account_id)


def test_an_invoice_whose_notes_are_all_void_can_be_voided(store, pm, business):
    ctx, customer, _ = business
    invoice = seats_invoice(store, business, paid=False)
    note = issue(store, ctx, invoice=invoice.id, amount="300")
    void(store, ctx, note["id"])
    with store.write() as conn:
        lifecycle.void(conn, ctx, invoice.id, ctx.now)
    assert invoice_now(store, ctx, invoice.id).status == "void"
    assert balance_of(store, customer) == 0
    assert_ledger_clean(store, pm, ctx.account_id)
