"""A gym software vendor sells a 49.99 USD monthly plan; a new club joins on Jan 1 2024 with
a launch coupon, 20% off for three months. The clock then runs to May 1 in one advance:
January, February and March are discounted, April and May are not.
"""

from __future__ import annotations

from scenario_support import (
    HOUR_S,
    advance,
    assert_books_clean,
    invoices_of,
    pay_out_of_band,
    sdk,
    ts,
)

PLAN_MINOR = 4999


def test_a_coupon_repeating_three_months(server, account, store, pm):
    client = sdk(server, account)
    clock = client.v1.test_helpers.test_clocks.create(params={"frozen_time": ts(2024, 1, 1)})
    customer = client.v1.customers.create(params={"name": "Iron Club", "test_clock": clock.id})
    price = client.v1.prices.create(
        params={"currency": "usd", "unit_amount": PLAN_MINOR,
                "recurring": {"interval": "month"}, "product_data": {"name": "Gym plan"}}
    )  # fmt: skip
    coupon = client.v1.coupons.create(
        params={"percent_off": 20, "duration": "repeating", "duration_in_months": 3,
                "name": "Launch"}
    )  # fmt: skip
    sub = client.v1.subscriptions.create(
        params={
            "customer": customer.id,
            "items": [{"price": price.id}],
            "discounts": [{"coupon": coupon.id}],
            "collection_method": "send_invoice",
            "days_until_due": 30,
            "expand": ["discounts"],
        }
    )
    [discount] = sub.discounts
    assert (discount.start, discount.end) == (ts(2024, 1, 1), ts(2024, 4, 1))

    advance(client, store, pm, clock.id, ts(2024, 5, 1) + 2 * HOUR_S)
    found = invoices_of(client, subscription=sub.id)
    assert [i.created for i in found] == [ts(2024, m, 1) for m in (1, 2, 3, 4, 5)]
    # 20% of 4999 is 999.8, rounded to 1000: 3999 for three months, then 4999.
    off = 1000
    discounted, full = found[:3], found[3:]
    for invoice in discounted:
        [(di, amount)] = [(d.discount, d.amount) for d in invoice.total_discount_amounts]
        assert (di, amount) == (discount.id, off)
        assert (invoice.subtotal, invoice.total) == (PLAN_MINOR, PLAN_MINOR - off)
        assert invoice.discounts == [discount.id]
    for invoice in full:
        assert (invoice.total_discount_amounts, invoice.discounts) == ([], [])
        assert (invoice.subtotal, invoice.total) == (PLAN_MINOR, PLAN_MINOR)
    assert client.v1.subscriptions.retrieve(sub.id).discounts == []
    assert client.v1.coupons.retrieve(coupon.id).times_redeemed == 1

    for invoice in found[:4]:
        pay_out_of_band(client, invoice.id)
    assert_books_clean(store, pm, account.account.id, open_amount=PLAN_MINOR)
