"""Credit notes through the service: after payment to the customer's balance, before payment
against what is owed, and every limit refused with nothing written."""

from __future__ import annotations

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
    line_ids,
    new_customer,
    new_discount,
    new_rate,
    unchanged,
)

from remit.api.v1.credit_notes import CREATE, UPDATE
from remit.billing import test_clocks
from remit.billing.balance import service as balance
from remit.billing.balance.tables import customer_balance_transactions
from remit.billing.credit_notes import service
from remit.billing.invoices import lifecycle
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


def seats_invoice(store, business, *, paid: bool):  # type: ignore[no-untyped-def]
    """Two seats for the coming month at 500 each, 19% VAT on top: 1190."""
    ctx, customer, vat = business
    invoice = finalized_invoice(
        store, ctx, customer, [line(1000, quantity=2, deferred=True)], paid=paid,
        default_tax_rates=(vat,),
    )  # fmt: skip
    assert (invoice.status, invoice.total) == ("paid" if paid else "open", 1190)
    return invoice


def test_a_credit_after_payment_goes_to_the_customers_balance(store, pm, business):
    ctx, customer, _ = business
    invoice = seats_invoice(store, business, paid=True)
    (seats,) = line_ids(store, ctx.account_id, invoice.id)
    note = issue(
        store, ctx, invoice=invoice.id, credit_amount="595", reason="order_change",
        lines=[{"type": "invoice_line_item", "invoice_line_item": seats, "quantity": "1"}],
    )  # fmt: skip
    assert (note["type"], note["number"]) == ("post_payment", f"{invoice.number}-CN-01")
    assert (note["subtotal"], note["total"], note["total_excluding_tax"]) == (500, 595, 500)
    assert (note["pre_payment_amount"], note["post_payment_amount"]) == (0, 595)
    assert note["total_taxes"][0]["amount"] == 95
    (credited,) = note["lines"]["data"]
    assert (credited["quantity"], credited["amount"], credited["unit_amount"]) == (1, 500, 500)
    with store.read() as conn:
        after = invoice_row(conn, ctx, invoice.id)
        txn = conn.execute(
            sa.select(customer_balance_transactions).where(
                customer_balance_transactions.c.id == note["customer_balance_transaction"]
            )
        ).one()
    assert (after.post_payment_credit_notes_amount, after.amount_remaining) == (595, 0)
    assert (after.status, after.amount_due) == ("paid", 1190)
    assert balance_of(store, customer) == -595
    assert (txn.type, txn.amount, txn.credit_note) == ("credit_note", -595, note["id"])
    # The note's entry credits the customer's credit balance; the balance transaction posts
    # nothing of its own (it would count the credit twice).
    assert ledger_balance(store, ctx.account_id, "customer_credit_balance") == -595
    assert ledger_balance(store, ctx.account_id, "tax_payable.de") == -190 + 95
    assert "credit_note.created" in event_types(store, ctx.account_id)
    assert_ledger_clean(store, pm, ctx.account_id)


def test_a_credit_before_payment_lowers_what_is_owed_until_the_invoice_is_paid(store, pm, business):
    ctx, _, _ = business
    invoice = seats_invoice(store, business, paid=False)
    first = issue(store, ctx, invoice=invoice.id, amount="595")
    assert (first["type"], first["pre_payment_amount"], first["total"]) == ("pre_payment", 595, 595)
    # A credit of the invoice as a whole gives back revenue and tax in proportion.
    assert first["total_taxes"][0]["amount"] == 95 and first["lines"]["data"] == []
    with store.read() as conn:
        half = invoice_row(conn, ctx, invoice.id)
    assert (half.status, half.amount_due, half.amount_remaining) == ("open", 595, 595)
    assert half.pre_payment_credit_notes_amount == 595
    second = issue(store, ctx, invoice=invoice.id, amount="595", memo="Cancelled")
    assert second["number"].endswith("-CN-02")
    with store.read() as conn:
        settled = invoice_row(conn, ctx, invoice.id)
    assert (settled.status, settled.amount_remaining, settled.amount_paid) == ("paid", 0, 0)
    assert settled.pre_payment_credit_notes_amount == 1190
    assert event_types(store, ctx.account_id)[-3:] == [
        "credit_note.created", "invoice.updated", "invoice.paid",
    ]  # fmt: skip
    assert ledger_balance(store, ctx.account_id, "accounts_receivable") == 0
    assert ledger_balance(store, ctx.account_id, "tax_payable.de") == 0
    assert_ledger_clean(store, pm, ctx.account_id)


def refused(store, ctx, param: str | None, **params: Any) -> InvalidRequestError:  # type: ignore[no-untyped-def]
    with unchanged(store, ctx.account_id), pytest.raises(InvalidRequestError) as caught:
        issue(store, ctx, **params)
    assert caught.value.param == param, caught.value.message
    return caught.value


def test_an_over_credit_is_refused_and_writes_nothing(store, business):
    ctx, _, _ = business
    invoice = seats_invoice(store, business, paid=True)
    (seats,) = line_ids(store, ctx.account_id, invoice.id)
    by_amount = {"type": "invoice_line_item", "invoice_line_item": seats}
    issue(store, ctx, invoice=invoice.id, out_of_band_amount="595",
          lines=[{**by_amount, "amount": "500"}])  # fmt: skip
    error = refused(store, ctx, "amount", invoice=invoice.id, amount="596", credit_amount="596")
    assert "1190" in error.message and "595" in error.message
    refused(store, ctx, "lines[0][amount]", invoice=invoice.id, credit_amount="596",
            lines=[{**by_amount, "amount": "501"}])  # fmt: skip
    refused(store, ctx, "lines[0][quantity]", invoice=invoice.id, credit_amount="595",
            lines=[{**by_amount, "quantity": "1"}])  # fmt: skip
    refused(store, ctx, "lines[1][amount]", invoice=invoice.id, credit_amount="595",
            lines=[{**by_amount, "amount": "300"}, {**by_amount, "amount": "201"}])  # fmt: skip


def test_after_payment_the_credit_must_be_given_out_exactly(store, business):
    ctx, _, _ = business
    invoice = seats_invoice(store, business, paid=True)
    refused(store, ctx, "out_of_band_amount", invoice=invoice.id, amount="100", credit_amount="60")
    refused(store, ctx, "credit_amount", invoice=invoice.id, amount="100", credit_amount="160")
    error = refused(store, ctx, "refund_amount", invoice=invoice.id, amount="100",
                    refund_amount="100")  # fmt: skip
    assert "no charge to refund" in error.message
    note = issue(store, ctx, invoice=invoice.id, amount="100", refund_amount="0",
                 credit_amount="40", out_of_band_amount="60")  # fmt: skip
    assert (note["out_of_band_amount"], note["post_payment_amount"]) == (60, 100)


def test_only_open_or_paid_invoices_take_credit_notes(store, pm, business):
    ctx, _, _ = business
    invoice = seats_invoice(store, business, paid=False)
    with store.write() as conn:
        lifecycle.void(conn, ctx, invoice.id, ctx.now)
    error = refused(store, ctx, "invoice", invoice=invoice.id, amount="100")
    assert "void" in error.message


def settled_outside(store, ctx, invoice_id: str, *lines: dict[str, Any]) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    """A note of ``lines`` settled outside remit: its preview says how much."""
    params = {"invoice": invoice_id, "lines": list(lines)}
    with store.read() as conn:
        preview = service.preview(conn, ctx, CREATE.validate(params))
    note = issue(store, ctx, **params, out_of_band_amount=str(preview["total"]))
    assert preview["id"] is None and preview["number"] == note["number"]
    for key in ("total", "subtotal", "total_taxes", "discount_amounts", "type"):
        assert preview[key] == note[key], key
    return note


def test_a_line_credit_carries_its_share_of_the_lines_discount_and_tax(store, pm, business):
    ctx, customer, vat = business
    with store.write() as conn:
        ten_off = new_discount(conn, ctx, customer, "10")
    invoice = finalized_invoice(
        store, ctx, customer, [line(999, quantity=3), line(400, description="Setup")],
        paid=True, default_tax_rates=(vat,), discounts=(ten_off,),
    )  # fmt: skip
    seats, setup = line_ids(store, ctx.account_id, invoice.id)
    by_line = {"type": "invoice_line_item", "invoice_line_item": seats}
    # Seats: 999 less 10% (99.9 -> 100) is 899, VAT 170.81 -> 171; one seat of three a third.
    note = settled_outside(store, ctx, invoice.id, {**by_line, "quantity": "1"})
    (credited,) = note["lines"]["data"]
    assert (credited["amount"], credited["discount_amount"]) == (333, 33)
    assert credited["discount_amounts"] == [{"amount": 33, "discount": ten_off}]
    assert credited["pretax_credit_amounts"][0]["discount"] == ten_off
    assert credited["taxes"][0]["amount"] == 57 and credited["tax_rates"][0]["id"] == vat
    assert (note["discount_amount"], note["total"]) == (33, 333 - 33 + 57)
    # The other two seats, then the setup line whole: every figure credited exactly once.
    rest = settled_outside(store, ctx, invoice.id, {**by_line, "quantity": "2"})
    assert (rest["discount_amount"], rest["total_taxes"][0]["amount"]) == (100 - 33, 171 - 57)
    last = settled_outside(
        store, ctx, invoice.id, {**by_line, "invoice_line_item": setup, "amount": "400"}
    )
    assert last["number"].endswith("-CN-03")
    with store.read() as conn:
        after = invoice_row(conn, ctx, invoice.id)
    assert after.post_payment_credit_notes_amount == invoice.total
    assert note["total"] + rest["total"] + last["total"] == invoice.total
    assert ledger_balance(store, ctx.account_id, "tax_payable.de") == 0
    assert_ledger_clean(store, pm, ctx.account_id)


def test_a_credit_beyond_what_is_owed_is_split_before_and_after_payment(store, pm, business):
    ctx, customer, vat = business
    with store.write() as conn:
        balance.adjust(conn, ctx, customer, -300, "usd", "adjustment")
    invoice = seats_invoice(store, business, paid=False)
    assert (invoice.amount_due, invoice.amount_remaining) == (890, 890)
    note = issue(store, ctx, invoice=invoice.id, amount="1190", credit_amount="300")
    assert (note["type"], note["pre_payment_amount"], note["post_payment_amount"]) == (
        "mixed", 890, 300,
    )  # fmt: skip
    with store.read() as conn:
        after = invoice_row(conn, ctx, invoice.id)
    assert (after.status, after.amount_remaining) == ("paid", 0)
    assert (after.pre_payment_credit_notes_amount, after.post_payment_credit_notes_amount) == (
        890, 300,
    )  # fmt: skip
    assert balance_of(store, customer) == -300
    assert_ledger_clean(store, pm, ctx.account_id)


def test_custom_lines_are_credited_at_the_invoices_tax_rates_only(store, pm, business):
    ctx, customer, vat = business
    invoice = seats_invoice(store, business, paid=True)
    with store.write() as conn:
        other = new_rate(conn, ctx, "7", jurisdiction="AT")
    custom = {"type": "custom_line_item", "description": "Goodwill", "unit_amount": "100"}
    note = issue(store, ctx, invoice=invoice.id, credit_amount="238",
                 lines=[{**custom, "quantity": "2", "tax_rates": [vat]}])  # fmt: skip
    (credited,) = note["lines"]["data"]
    assert (credited["type"], credited["amount"], credited["unit_amount_decimal"]) == (
        "custom_line_item", 200, "100",
    )  # fmt: skip
    assert note["total_taxes"][0]["amount"] == 38
    error = refused(store, ctx, "lines", invoice=invoice.id, credit_amount="107",
                    lines=[{**custom, "tax_rates": [other]}])  # fmt: skip
    assert other in error.message
    # Untaxed, the custom credit may give back no more than the revenue left (800).
    refused(store, ctx, "lines", invoice=invoice.id, credit_amount="801",
            lines=[{**custom, "unit_amount": "801"}])  # fmt: skip
    assert_ledger_clean(store, pm, ctx.account_id)


def test_a_note_that_moved_no_money_is_voided_and_keeps_its_number(store, pm, business):
    ctx, _, _ = business
    invoice = seats_invoice(store, business, paid=True)
    issue(store, ctx, invoice=invoice.id, amount="100", credit_amount="100")
    empty = issue(store, ctx, invoice=invoice.id, amount="0", memo="Nothing owed")
    with store.write() as conn:
        voided = service.void(conn, ctx, empty["id"])
    assert (voided["status"], voided["voided_at"]) == ("void", ctx.now)
    assert event_types(store, ctx.account_id)[-1] == "credit_note.voided"
    with pytest.raises(InvalidRequestError), store.write() as conn:
        service.void(conn, ctx, empty["id"])
    # A void note keeps its number: the next one is the third.
    assert issue(store, ctx, invoice=invoice.id, amount="0")["number"].endswith("-CN-03")
    assert_ledger_clean(store, pm, ctx.account_id)


def test_memo_and_metadata_change_with_an_event(store, business):
    ctx, _, _ = business
    invoice = seats_invoice(store, business, paid=True)
    note = issue(store, ctx, invoice=invoice.id, amount="10", credit_amount="10",
                 metadata={"ticket": "42"})  # fmt: skip
    with store.write() as conn:
        updated = service.update(
            conn, ctx, note["id"], UPDATE.validate({"memo": "Sorry", "metadata": {"ticket": ""}})
        )
    assert (updated["memo"], updated["metadata"]) == ("Sorry", {})
    assert event_types(store, ctx.account_id)[-1] == "credit_note.updated"


def test_an_inclusive_tax_line_gives_back_its_share_of_the_tax_inside(store, pm, business):
    ctx, customer, _ = business
    with store.write() as conn:
        inclusive = new_rate(conn, ctx, "19", inclusive=True)
    invoice = finalized_invoice(
        store, ctx, customer, [line(1190, tax_rates=(inclusive,))], paid=True
    )
    (only,) = line_ids(store, ctx.account_id, invoice.id)
    by_amount = {"type": "invoice_line_item", "invoice_line_item": only, "amount": "595"}
    refused(store, ctx, "amount", invoice=invoice.id, amount="1", lines=[by_amount],
            credit_amount="595")  # fmt: skip
    note = issue(store, ctx, invoice=invoice.id, amount="595", lines=[by_amount],
                 credit_amount="595")  # fmt: skip
    assert (note["subtotal"], note["total"], note["amount"]) == (595, 595, 595)
    assert (note["total_excluding_tax"], note["subtotal_excluding_tax"]) == (500, 500)
    assert note["total_taxes"][0]["tax_behavior"] == "inclusive"
    assert note["total_taxes"][0]["amount"] == 95
    assert ledger_balance(store, ctx.account_id, "tax_payable.de") == -190 + 95
    assert_ledger_clean(store, pm, ctx.account_id)


def test_a_customer_on_a_test_clock_is_credited_on_the_clocks_time(store, pm, business):
    ctx, _, vat = business
    frozen = ctx.now - 10 * 86_400
    with store.write() as conn:
        clock = test_clocks.create(conn, ctx, {"frozen_time": frozen})["id"]
        customer = new_customer(conn, ctx, clock)
    invoice = finalized_invoice(
        store, ctx, customer, [line(1000)], paid=True, default_tax_rates=(vat,), test_clock=clock
    )
    assert invoice.effective_at == frozen
    note = issue(store, ctx, invoice=invoice.id, amount="119", out_of_band_amount="119")
    assert (note["created"], note["effective_at"]) == (frozen, frozen)
    refused(store, ctx, "effective_at", invoice=invoice.id, amount="119",
            out_of_band_amount="119", effective_at=str(frozen + 1))  # fmt: skip
    assert_ledger_clean(store, pm, ctx.account_id)
