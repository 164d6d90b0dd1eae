"""The official Stripe SDK credits invoices through remit: after payment to the customer's
balance, before payment against what is owed, previews, lists, lines and voids."""

from __future__ import annotations

from typing import Any

import pytest
import stripe
from credit_note_support import assert_ledger_clean


@pytest.fixture
def client(server, account) -> stripe.StripeClient:
    return stripe.StripeClient(
        account.secret_key, base_addresses={"api": server.url}, max_network_retries=0
    )


def billed(client: stripe.StripeClient, *, paid: bool) -> tuple[Any, Any]:
    """A customer billed 1000 for four seats, 19% VAT on top (1190), finalized and, when
    ``paid``, paid outside remit."""
    customer = client.v1.customers.create(params={"email": "sdk@example.com"})
    vat = client.v1.tax_rates.create(
        params={"display_name": "VAT", "percentage": 19, "inclusive": False, "jurisdiction": "DE"}
    )
    client.v1.invoice_items.create(
        params={"customer": customer.id, "currency": "usd", "unit_amount_decimal": "250",
                "quantity": 4, "description": "Seats"}
    )  # fmt: skip
    invoice = client.v1.invoices.create(
        params={"customer": customer.id, "pending_invoice_items_behavior": "include",
                "collection_method": "send_invoice", "days_until_due": 30,
                "default_tax_rates": [vat.id]}
    )  # fmt: skip
    invoice = client.v1.invoices.finalize_invoice(invoice.id)
    if paid:
        invoice = client.v1.invoices.pay(invoice.id, params={"paid_out_of_band": True})
    assert invoice.total == 1190
    return customer, invoice


def test_a_credit_note_after_payment_through_the_sdk(client, store, pm, account):
    customer, invoice = billed(client, paid=True)
    seats = invoice.lines.data[0].id
    wanted: dict[str, Any] = {
        "invoice": invoice.id,
        "lines": [{"type": "invoice_line_item", "invoice_line_item": seats, "quantity": 1}],
        "reason": "product_unsatisfactory",
    }
    preview = client.v1.credit_notes.preview(params=wanted)
    assert isinstance(preview, stripe.CreditNote) and preview.total == 250 + 48
    previewed = client.v1.credit_notes.preview_lines.list(params=wanted)
    assert [line.amount for line in previewed.data] == [250]
    note = client.v1.credit_notes.create(params={**wanted, "credit_amount": preview.total})
    assert isinstance(note, stripe.CreditNote)
    assert (note.type, note.total, note.number) == ("post_payment", 298, f"{invoice.number}-CN-01")
    assert note.lines.data[0].tax_rates[0].percentage == 19
    assert client.v1.customers.retrieve(customer.id).balance == -298
    listed = client.v1.credit_notes.list(params={"invoice": invoice.id})
    assert [found.id for found in listed.data] == [note.id]
    lines = client.v1.credit_notes.line_items.list(note.id)
    assert [line.invoice_line_item for line in lines.data] == [seats]
    memo = client.v1.credit_notes.update(note.id, params={"memo": "One seat unused"})
    assert memo.memo == "One seat unused"
    after = client.v1.invoices.retrieve(invoice.id)
    assert (after.post_payment_credit_notes_amount, after.status) == (298, "paid")
    assert_ledger_clean(store, pm, account.account.id)
    voided = client.v1.credit_notes.void_credit_note(note.id)
    assert (voided.status, voided.voided_at is not None) == ("void", True)
    assert client.v1.customers.retrieve(customer.id).balance == 0
    taken_back = client.v1.customers.balance_transactions.list(customer.id).data[0]
    assert (taken_back.type, taken_back.amount, taken_back.credit_note) == (
        "credit_note", 298, note.id,
    )  # fmt: skip
    restored = client.v1.invoices.retrieve(invoice.id)
    assert (restored.post_payment_credit_notes_amount, restored.status) == (0, "paid")
    with pytest.raises(stripe.InvalidRequestError) as refused:
        client.v1.credit_notes.void_credit_note(note.id)
    assert refused.value.code == "credit_note_already_voided"
    assert_ledger_clean(store, pm, account.account.id)


def test_a_credit_note_before_payment_through_the_sdk(client, store, pm, account):
    _, invoice = billed(client, paid=False)
    note = client.v1.credit_notes.create(params={"invoice": invoice.id, "amount": 190})
    assert (note.type, note.pre_payment_amount) == ("pre_payment", 190)
    lowered = client.v1.invoices.retrieve(invoice.id)
    assert (lowered.amount_due, lowered.amount_remaining, lowered.status) == (1000, 1000, "open")
    with pytest.raises(stripe.InvalidRequestError) as refused:
        client.v1.credit_notes.create(params={"invoice": invoice.id, "amount": 1001})
    assert refused.value.param == "amount"
    client.v1.credit_notes.create(params={"invoice": invoice.id, "amount": 1000})
    settled = client.v1.invoices.retrieve(invoice.id)
    assert (settled.status, settled.pre_payment_credit_notes_amount) == ("paid", 1190)
    nothing = client.v1.credit_notes.create(params={"invoice": invoice.id, "amount": 0})
    assert client.v1.credit_notes.void_credit_note(nothing.id).status == "void"
    assert_ledger_clean(store, pm, account.account.id)
