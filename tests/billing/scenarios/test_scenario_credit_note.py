"""A hosting company bills 10 seats at 15.00 a month with 12% tax on top (send_invoice); the
customer pays January's invoice by bank transfer (out of band). Two seats never worked, so
the company issues a credit note after payment for them, tax included: 20.00 stays with the
customer as balance credit, the rest was refunded by bank outside remit. February's invoice
uses the credit.
"""

from __future__ import annotations

from scenario_support import (
    HOUR_S,
    advance,
    assert_books_clean,
    events_of,
    invoices_of,
    pay_out_of_band,
    sdk,
    ts,
)


def test_a_credit_note_after_payment(server, account, store, pm):
    client = sdk(server, account)
    clock = client.v1.test_helpers.test_clocks.create(params={"frozen_time": ts(2024, 1, 1)})
    customer = client.v1.customers.create(params={"name": "Hostly", "test_clock": clock.id}).id
    tax = client.v1.tax_rates.create(
        params={"display_name": "Tax", "percentage": 12, "inclusive": False}
    ).id
    price = client.v1.prices.create(
        params={"currency": "usd", "unit_amount": 1500,
                "recurring": {"interval": "month"}, "product_data": {"name": "Seat"}}
    ).id  # fmt: skip
    sub = client.v1.subscriptions.create(
        params={"customer": customer, "items": [{"price": price, "quantity": 10}],
                "default_tax_rates": [tax], "collection_method": "send_invoice",
                "days_until_due": 30}
    )  # fmt: skip
    [january] = invoices_of(client, subscription=sub.id)
    # 10 x 1500 = 15000, 12% = 1800 on top.
    assert (january.subtotal, january.total) == (15_000, 15_000 + 1_800)
    paid = pay_out_of_band(client, january.id)
    assert (paid.amount_paid, paid.amount_remaining) == (16_800, 0)

    advance(client, store, pm, clock.id, ts(2024, 1, 12))
    [seats] = paid.lines.data
    # Two of ten seats: 2 x 1500 = 3000, and their share of the tax, 1800 x 2 / 10 = 360.
    credited = 3_000 + 360
    to_balance, by_bank = 2_000, credited - 2_000
    note = client.v1.credit_notes.create(
        params={
            "invoice": january.id,
            "lines": [{"type": "invoice_line_item", "invoice_line_item": seats.id,
                       "quantity": 2}],
            "reason": "product_unsatisfactory",
            "credit_amount": to_balance,
            "out_of_band_amount": by_bank,
            "memo": "Two seats were down all month",
        }
    )  # fmt: skip
    assert (note.type, note.status, note.created) == ("post_payment", "issued", ts(2024, 1, 12))
    assert (note.subtotal, note.total, note.amount) == (3_000, credited, credited)
    assert (note.out_of_band_amount, note.refunds) == (by_bank, [])
    assert (note.post_payment_amount, note.pre_payment_amount) == (credited, 0)
    assert [t.amount for t in note.total_taxes] == [360]
    [line] = note.lines.data
    assert (line.quantity, line.amount, line.invoice_line_item) == (2, 3_000, seats.id)

    after = client.v1.invoices.retrieve(january.id)
    assert (after.status, after.post_payment_credit_notes_amount) == ("paid", credited)
    assert client.v1.customers.retrieve(customer).balance == -to_balance
    [balance_credit] = client.v1.customers.balance_transactions.list(customer).data
    assert (balance_credit.type, balance_credit.amount, balance_credit.credit_note) == (
        "credit_note", -to_balance, note.id,
    )  # fmt: skip
    assert note.customer_balance_transaction == balance_credit.id
    [created] = events_of(client, "credit_note.created")
    assert (created.data.object.id, created.created) == (note.id, ts(2024, 1, 12))
    assert_books_clean(store, pm, account.account.id, open_amount=0)

    # February: the full 16,800 again, less the 2,000 credit.
    advance(client, store, pm, clock.id, ts(2024, 2, 1) + 2 * HOUR_S)
    _, february = invoices_of(client, subscription=sub.id)
    assert (february.total, february.starting_balance, february.ending_balance) == (
        16_800, -to_balance, 0,
    )  # fmt: skip
    assert february.amount_due == 16_800 - to_balance
    assert client.v1.customers.retrieve(customer).balance == 0
    assert_books_clean(store, pm, account.account.id, open_amount=14_800)
