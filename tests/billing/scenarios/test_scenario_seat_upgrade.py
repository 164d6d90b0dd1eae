"""A design studio pays 20.00 USD a seat a month for 3 seats from Jan 1 2024 (send_invoice).

On Jan 10 at 08:13:07 its admin previews going to 5 seats, and confirms at 09:00 with the
preview's ``proration_date``: the unused time of 3 seats is credited and the remaining time
of 5 charged, to the second, as pending items the Feb 1 invoice sweeps. On Feb 20 at
17:45:30 it cuts to 2 seats with ``always_invoice``: an invoice at once, whose negative
total becomes the customer's credit, used by the Mar 1 invoice.
"""

from __future__ import annotations

import stripe
from scenario_support import (
    HOUR_S,
    advance,
    assert_books_clean,
    invoices_of,
    line_amounts,
    pay_out_of_band,
    prorated,
    sdk,
    ts,
)

SEAT_MINOR = 2000
JANUARY_S = 31 * 86_400  # 2,678,400
FEBRUARY_S = 29 * 86_400  # 2,505,600 (2024 is a leap year)


def _studio(client: stripe.StripeClient) -> tuple[str, str, str]:
    clock = client.v1.test_helpers.test_clocks.create(params={"frozen_time": ts(2024, 1, 1)})
    customer = client.v1.customers.create(params={"name": "Studio", "test_clock": clock.id})
    price = client.v1.prices.create(
        params={
            "currency": "usd",
            "unit_amount": SEAT_MINOR,
            "recurring": {"interval": "month"},
            "product_data": {"name": "Design seat"},
        }
    )
    return clock.id, customer.id, price.id


def test_a_mid_cycle_seat_upgrade_then_a_downgrade_invoiced_at_once(server, account, store, pm):
    client = sdk(server, account)
    clock, customer, price = _studio(client)
    sub = client.v1.subscriptions.create(
        params={"customer": customer, "items": [{"price": price, "quantity": 3}],
                "collection_method": "send_invoice", "days_until_due": 14}
    )  # fmt: skip
    seats = sub["items"].data[0].id
    [first] = invoices_of(client, subscription=sub.id)
    assert first.total == 3 * SEAT_MINOR
    pay_out_of_band(client, first.id)

    # Jan 10 08:13:07 is 807,187 s into January; 1,871,213 s of its 2,678,400 s are left.
    proration_date = ts(2024, 1, 10, 8, 13, 7)
    left_s = ts(2024, 2, 1) - proration_date
    assert (proration_date - ts(2024, 1, 1), left_s) == (807_187, 1_871_213)
    # Credit: 6000 x 1,871,213 / 2,678,400 = 4191.785... -> 4192 back.
    # Charge: 10000 x 1,871,213 / 2,678,400 = 6986.308... -> 6986.
    credit, charge = -4192, 6986
    assert credit == -prorated(3 * SEAT_MINOR, left_s, JANUARY_S)
    assert charge == prorated(5 * SEAT_MINOR, left_s, JANUARY_S)
    change = {
        "items": [{"id": seats, "quantity": 5}],
        "proration_behavior": "create_prorations",
        "proration_date": proration_date,
    }
    advance(client, store, pm, clock, proration_date)
    preview = client.v1.invoices.create_preview(
        params={"customer": customer, "subscription": sub.id, "subscription_details": change}
    )
    assert sorted(line_amounts(preview)) == sorted([credit, charge, 5 * SEAT_MINOR])

    advance(client, store, pm, clock, ts(2024, 1, 10, 9))
    client.v1.subscriptions.update(sub.id, params=change)
    pending = client.v1.invoice_items.list(params={"customer": customer, "pending": True})
    assert sorted(item.amount for item in pending.data) == [credit, charge]
    for item in pending.data:
        assert (item.proration, item.period.start, item.period.end) == (
            True, proration_date, ts(2024, 2, 1),
        )  # fmt: skip
    assert len(invoices_of(client, subscription=sub.id)) == 1, "create_prorations waits"

    # Feb 1: five seats for February in advance, and January's two prorations swept in.
    advance(client, store, pm, clock, ts(2024, 2, 1) + 2 * HOUR_S)
    _, february = invoices_of(client, subscription=sub.id)
    assert february.billing_reason == "subscription_cycle"
    assert sorted(line_amounts(february)) == sorted([credit, charge, 5 * SEAT_MINOR])
    assert sorted(line.amount for line in february.lines.data if _proration(line)) == [
        credit, charge,
    ]  # fmt: skip
    assert february.total == 5 * SEAT_MINOR + credit + charge == 12_794
    assert client.v1.invoice_items.list(params={"customer": customer, "pending": True}).data == []
    pay_out_of_band(client, february.id)

    # Feb 20 17:45:30: 800,070 s (9 days, 6:14:30) of February's 2,505,600 s are left.
    # Down to 2 seats:
    # credit 10000 x 800,070 / 2,505,600 = 3193.127... -> 3193 back,
    # charge 4000 x 800,070 / 2,505,600 = 1277.250... -> 1277; invoiced at once.
    cut_at = ts(2024, 2, 20, 17, 45, 30)
    advance(client, store, pm, clock, cut_at)
    feb_left_s = ts(2024, 3, 1) - cut_at
    assert feb_left_s == 9 * 86_400 + 6 * 3600 + 14 * 60 + 30 == 800_070
    cut_credit, cut_charge = -3193, 1277
    assert cut_credit == -prorated(5 * SEAT_MINOR, feb_left_s, FEBRUARY_S)
    assert cut_charge == prorated(2 * SEAT_MINOR, feb_left_s, FEBRUARY_S)
    updated = client.v1.subscriptions.update(
        sub.id, params={"items": [{"id": seats, "quantity": 2}],
                        "proration_behavior": "always_invoice"}
    )  # fmt: skip
    cut = client.v1.invoices.retrieve(str(updated.latest_invoice))
    assert (cut.billing_reason, cut.created) == ("subscription_update", cut_at)
    assert sorted(line_amounts(cut)) == [cut_credit, cut_charge]
    # A negative total owes nothing: the customer keeps 3193 - 1277 = 1916 as credit.
    assert (cut.total, cut.amount_due, cut.status) == (cut_credit + cut_charge, 0, "paid")
    assert (cut.starting_balance, cut.ending_balance) == (0, -1916)
    assert client.v1.customers.retrieve(customer).balance == -1916

    # Mar 1: two seats for March, less the credit: 4000 - 1916 = 2084 due.
    advance(client, store, pm, clock, ts(2024, 3, 1) + 2 * HOUR_S)
    march = invoices_of(client, subscription=sub.id)[-1]
    assert line_amounts(march) == [2 * SEAT_MINOR]
    assert (march.total, march.starting_balance, march.ending_balance) == (4000, -1916, 0)
    assert (march.amount_due, march.status) == (4000 - 1916, "open")
    assert client.v1.customers.retrieve(customer).balance == 0
    assert_books_clean(store, pm, account.account.id, open_amount=2084)


def _proration(line: stripe.InvoiceLineItem) -> bool:
    """Whether ``line`` is a proration, whichever parent (the pending item, or the
    subscription item) it names."""
    details = line.parent[line.parent.type]
    return bool(details.proration)


def test_a_discounted_seat_upgrade_prorates_what_was_charged(server, account, store, pm):
    """The studio has 25% off forever. April 2024 has 30 days; going from 3 to 5 seats on
    Apr 16 00:00 leaves exactly half of it: each seat costs 2000 - 25% = 1500 a month, so
    the unused half of 3 seats gives back 3 x 1500 / 2 = 2250 and the remaining half of 5
    costs 5 x 1500 / 2 = 3750 (Stripe's default: prorations net of the discount, and not
    discounted again)."""
    client = sdk(server, account)
    clock = client.v1.test_helpers.test_clocks.create(params={"frozen_time": ts(2024, 4, 1)}).id
    customer = client.v1.customers.create(params={"name": "Studio", "test_clock": clock}).id
    price = client.v1.prices.create(
        params={"currency": "usd", "unit_amount": SEAT_MINOR, "recurring": {"interval": "month"},
                "product_data": {"name": "Design seat"}}
    ).id  # fmt: skip
    coupon = client.v1.coupons.create(params={"percent_off": 25, "duration": "forever"}).id
    sub = client.v1.subscriptions.create(
        params={"customer": customer, "items": [{"price": price, "quantity": 3}],
                "discounts": [{"coupon": coupon}], "collection_method": "send_invoice",
                "days_until_due": 14}
    )  # fmt: skip
    [april] = invoices_of(client, subscription=sub.id)
    assert april.total == 3 * SEAT_MINOR * 3 // 4 == 4500
    pay_out_of_band(client, april.id)

    advance(client, store, pm, clock, ts(2024, 4, 16))
    seats = sub["items"].data[0].id
    client.v1.subscriptions.update(sub.id, params={"items": [{"id": seats, "quantity": 5}]})
    pending = client.v1.invoice_items.list(params={"customer": customer, "pending": True})
    assert sorted(item.amount for item in pending.data) == [-2250, 3750]

    # May: 5 seats less 25% (10000 - 2500 = 7500), and April's prorations, 3750 - 2250.
    advance(client, store, pm, clock, ts(2024, 5, 1) + 2 * HOUR_S)
    may = invoices_of(client, subscription=sub.id)[-1]
    assert sorted(line_amounts(may)) == [-2250, 3750, 5 * SEAT_MINOR]
    assert [d.amount for d in may.total_discount_amounts if d.amount] == [2500]
    assert may.total == 7500 + 3750 - 2250 == 9000
    assert_books_clean(store, pm, account.account.id, open_amount=9000)
