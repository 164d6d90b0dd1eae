"""The official Stripe SDK bills a customer through remit: items, an invoice, its lines,
finalization, payment out of band, a void, a credit balance, and SDK-typed errors."""

from __future__ import annotations

import pytest
import stripe
from invoice_support import assert_ledger_clean


@pytest.fixture
def client(server, account) -> stripe.StripeClient:
    return stripe.StripeClient(
        account.secret_key, base_addresses={"api": server.url}, max_network_retries=0
    )


def test_a_customer_billed_through_the_sdk(client, store, pm, account):
    customer = client.v1.customers.create(params={"email": "sdk@example.com"})
    product = client.v1.products.create(params={"name": "Setup"})
    price = client.v1.prices.create(
        params={"currency": "usd", "product": product.id, "unit_amount": 2500}
    )
    item = client.v1.invoice_items.create(
        params={"customer": customer.id, "pricing": {"price": price.id}, "quantity": 2}
    )
    assert isinstance(item, stripe.InvoiceItem) and item.amount == 5000
    client.v1.invoice_items.create(
        params={"customer": customer.id, "amount": -1000, "currency": "usd"}
    )
    invoice = client.v1.invoices.create(
        params={"customer": customer.id, "pending_invoice_items_behavior": "include",
                "collection_method": "send_invoice", "days_until_due": 30}
    )  # fmt: skip
    assert isinstance(invoice, stripe.Invoice)
    assert (invoice.status, invoice.total, invoice.amount_due) == ("draft", 4000, 4000)
    lines = client.v1.invoices.line_items.list(invoice.id, params={"limit": 1})
    assert len(lines.data) == 1 and lines.has_more
    every = [line.amount for line in lines.auto_paging_iter()]
    assert every == [5000, -1000]
    final = client.v1.invoices.finalize_invoice(invoice.id)
    assert (final.status, final.number) == ("open", f"{customer.invoice_prefix}-0001")
    paid = client.v1.invoices.pay(invoice.id, params={"paid_out_of_band": True})
    assert (paid.status, paid.amount_paid, paid.amount_remaining) == ("paid", 4000, 0)
    assert_ledger_clean(store, pm, account.account.id)


def test_void_credit_and_errors_through_the_sdk(client, store, pm, account):
    customer = client.v1.customers.create(params={"email": "sdk@example.com"})
    credit = client.v1.customers.balance_transactions.create(
        customer.id, params={"amount": -300, "currency": "usd"}
    )
    assert isinstance(credit, stripe.CustomerBalanceTransaction) and credit.ending_balance == -300
    client.v1.invoice_items.create(
        params={"customer": customer.id, "amount": 1000, "currency": "usd"}
    )
    invoice = client.v1.invoices.create(
        params={"customer": customer.id, "pending_invoice_items_behavior": "include"}
    )
    final = client.v1.invoices.finalize_invoice(invoice.id)
    assert (final.amount_due, final.starting_balance, final.ending_balance) == (700, -300, 0)
    with pytest.raises(stripe.InvalidRequestError) as refused:
        client.v1.invoices.finalize_invoice(invoice.id)
    assert refused.value.http_status == 400
    voided = client.v1.invoices.void_invoice(invoice.id)
    assert voided.status == "void"
    assert client.v1.customers.retrieve(customer.id).balance == -300
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.invoices.pay(invoice.id, params={"paid_out_of_band": True})
    assert_ledger_clean(store, pm, account.account.id)
