"""A coworking space rents a desk at 31.00 a month from Jan 1 2024 (send_invoice). The member
leaves on Jan 21 and the space cancels with ``prorate``: the 11 unused days are credited
as a pending item. The subscription will never invoice again, so the credit waits for the
member's next invoice, a one-off 50.00 for meeting rooms, which takes it (Stripe: only a
``subscription`` restricts which pending items an invoice sweeps).
"""

from __future__ import annotations

from scenario_support import (
    DAY_S,
    advance,
    assert_books_clean,
    invoices_of,
    pay_out_of_band,
    prorated,
    sdk,
    ts,
)


def test_a_canceled_subscriptions_credit_reaches_the_next_invoice(server, account, store, pm):
    client = sdk(server, account)
    clock = client.v1.test_helpers.test_clocks.create(params={"frozen_time": ts(2024, 1, 1)}).id
    member = client.v1.customers.create(params={"name": "Desk 12", "test_clock": clock}).id
    desk = client.v1.prices.create(
        params={"currency": "usd", "unit_amount": 3100, "recurring": {"interval": "month"},
                "product_data": {"name": "Desk"}}
    ).id  # fmt: skip
    sub = client.v1.subscriptions.create(
        params={"customer": member, "items": [{"price": desk}],
                "collection_method": "send_invoice", "days_until_due": 7}
    )  # fmt: skip
    [january] = invoices_of(client, customer=member)
    pay_out_of_band(client, january.id)

    advance(client, store, pm, clock, ts(2024, 1, 21))
    canceled = client.v1.subscriptions.cancel(sub.id, params={"prorate": True})
    assert (canceled.status, canceled.ended_at) == ("canceled", ts(2024, 1, 21))
    # 11 of January's 31 days unused: 3100 x 11 / 31 = 1100 back, exactly.
    credit = -1100
    assert credit == -prorated(3100, 11 * DAY_S, 31 * DAY_S)
    [pending] = client.v1.invoice_items.list(params={"customer": member, "pending": True}).data
    assert (pending.amount, pending.proration) == (credit, True)

    client.v1.invoice_items.create(
        params={"customer": member, "amount": 5000, "currency": "usd",
                "description": "Meeting rooms"}
    )  # fmt: skip
    preview = client.v1.invoices.create_preview(params={"customer": member})
    assert sorted(line.amount for line in preview.lines.data) == [credit, 5000]
    rooms = client.v1.invoices.create(
        params={"customer": member, "pending_invoice_items_behavior": "include",
                "collection_method": "send_invoice", "days_until_due": 7}
    )  # fmt: skip
    assert sorted(line.amount for line in rooms.lines.data) == [credit, 5000]
    rooms = client.v1.invoices.finalize_invoice(rooms.id)
    assert (rooms.total, rooms.amount_due) == (5000 + credit, 3900)
    assert client.v1.invoice_items.list(params={"customer": member, "pending": True}).data == []
    assert_books_clean(store, pm, account.account.id, open_amount=3900)
