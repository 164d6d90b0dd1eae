"""A translation agency owes a client 50.00 for a late delivery and credits the client's
balance. The next invoice (30.00) is covered by the credit entirely; the one after (45.00)
takes the 20.00 left and asks for 25.00. That invoice is then voided: the credit it took
comes back, and a third invoice (15.00) is covered by it.
"""

from __future__ import annotations

import stripe
from scenario_support import assert_books_clean, sdk


def _bill(client: stripe.StripeClient, customer: str, amount: int, what: str) -> stripe.Invoice:
    client.v1.invoice_items.create(
        params={"customer": customer, "amount": amount, "currency": "usd", "description": what}
    )
    draft = client.v1.invoices.create(
        params={"customer": customer, "pending_invoice_items_behavior": "include",
                "collection_method": "send_invoice", "days_until_due": 14}
    )  # fmt: skip
    assert (draft.status, draft.total) == ("draft", amount)
    return client.v1.invoices.finalize_invoice(draft.id)


def test_a_credit_balance_applied_to_invoices(server, account, store, pm):
    client = sdk(server, account)
    customer = client.v1.customers.create(params={"name": "Lingua"}).id
    goodwill = client.v1.customers.balance_transactions.create(
        customer, params={"amount": -5000, "currency": "usd", "description": "Late delivery"}
    )
    assert (goodwill.type, goodwill.ending_balance) == ("adjustment", -5000)

    # 30.00 against a 50.00 credit: nothing due, 20.00 of credit left.
    first = _bill(client, customer, 3000, "Contract, 1,500 words")
    assert (first.total, first.starting_balance, first.ending_balance) == (3000, -5000, -2000)
    assert (first.amount_due, first.amount_remaining, first.status) == (0, 0, "paid")
    assert client.v1.customers.retrieve(customer).balance == -5000 + 3000

    # 45.00 against the 20.00 left: 25.00 due.
    second = _bill(client, customer, 4500, "Website, 2,250 words")
    assert (second.starting_balance, second.ending_balance) == (-2000, 0)
    assert (second.amount_due, second.status) == (4500 - 2000, "open")
    assert client.v1.customers.retrieve(customer).balance == 0

    listed = client.v1.customers.balance_transactions.list(customer, params={"limit": 10})
    history = sorted(listed.data, key=lambda t: (t.created, t.ending_balance))
    assert [(t.type, t.amount, t.invoice) for t in history] == [
        ("adjustment", -5000, None),
        ("applied_to_invoice", 3000, first.id),
        ("applied_to_invoice", 2000, second.id),
    ]
    assert [t.ending_balance for t in history] == [-5000, -2000, 0]
    assert_books_clean(store, pm, account.account.id, open_amount=2500)

    # Voided, the second invoice gives the 20.00 it took back; the third uses it.
    voided = client.v1.invoices.void_invoice(second.id)
    assert voided.status == "void"
    assert client.v1.customers.retrieve(customer).balance == -2000
    returned = client.v1.customers.balance_transactions.list(customer, params={"limit": 1})
    [back] = returned.data
    assert (back.type, back.amount, back.invoice) == ("unapplied_from_invoice", -2000, second.id)
    third = _bill(client, customer, 1500, "Letter, 750 words")
    assert (third.starting_balance, third.ending_balance, third.amount_due) == (-2000, -500, 0)
    assert client.v1.customers.retrieve(customer).balance == -500
    assert_books_clean(store, pm, account.account.id, open_amount=0)
