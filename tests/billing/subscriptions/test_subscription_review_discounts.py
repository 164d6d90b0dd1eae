"""Review: prorations of a discounted subscription are net of its percent-off discounts.

Stripe's default (``proration_discounts=included``): a proration's amount already has the
discounts of the item and of the subscription taken off, and the proration line is not
discounted again. Crediting unused time at the list price would give back more than the
discounted invoice charged.
"""

from __future__ import annotations

from subscription_support import (
    DAY_S,
    FEB_1,
    JAN_1,
    JANUARY_S,
    clocked_customer,
    invoice,
    new_price,
    ok,
    pending_items,
    subscribe,
)

UPGRADE_AT = JAN_1 + 10 * DAY_S + 7 * 3600 + 15 * 60 + 23  # Jan 11, 07:15:23
LEFT_S = FEB_1 - UPGRADE_AT  # 1,788,277 of January's 2,678,400 s


def _coupon(api, percent: str) -> str:  # type: ignore[no-untyped-def]
    return str(
        ok(api.post("/v1/coupons", data={"percent_off": percent, "duration": "forever"}))["id"]
    )


def test_an_upgrade_under_two_coupons_prorates_the_discounted_amounts(api):
    customer = clocked_customer(api)
    sub = subscribe(
        api, customer, new_price(api),
        collection_method="send_invoice", days_until_due="30",
        **{"items[0][quantity]": "3", "items[0][discounts][0][coupon]": _coupon(api, "10"),
           "discounts[0][coupon]": _coupon(api, "50")},
    )  # fmt: skip
    # 3 seats x 2000 = 6000, 10% off the item (5400), then 50% off the invoice: 2700.
    assert invoice(api, sub["latest_invoice"])["total"] == 2700
    [item] = sub["items"]["data"]
    preview = ok(
        api.post(
            "/v1/invoices/create_preview",
            data={"subscription": sub["id"], "subscription_details[items][0][id]": item["id"],
                  "subscription_details[items][0][quantity]": "5",
                  "subscription_details[proration_date]": str(UPGRADE_AT)},
        )
    )  # fmt: skip
    updated = ok(
        api.post(
            f"/v1/subscriptions/{sub['id']}",
            data={"items[0][id]": item["id"], "items[0][quantity]": "5",
                  "proration_date": str(UPGRADE_AT), "proration_behavior": "always_invoice"},
        )
    )  # fmt: skip
    bill = invoice(api, updated["latest_invoice"])
    # Credit: -6000 x 0.9 x 0.5 x 1,788,277 / 2,678,400 = -1802.6985... -> -1803
    # Charge: 10000 x 0.9 x 0.5 x 1,788,277 / 2,678,400 = 3004.4976... -> 3004
    assert (JANUARY_S, LEFT_S) == (2_678_400, 1_788_277)
    amounts = sorted(line["amount"] for line in bill["lines"]["data"])
    assert amounts == [-1803, 3004]
    assert bill["total"] == 3004 - 1803
    for line in bill["lines"]["data"]:
        assert [d["amount"] for d in line["discount_amounts"]] in ([], [0], [0, 0])
    previewed = sorted(
        line["amount"] for line in preview["lines"]["data"] if line["parent"][
            "subscription_item_details"]["proration"]
    )  # fmt: skip
    assert previewed == [-1803, 3004]


def test_a_canceled_discounted_subscription_credits_what_it_charged(api):
    customer = clocked_customer(api)
    sub = subscribe(
        api, customer, new_price(api),
        collection_method="send_invoice", days_until_due="30",
        **{"items[0][quantity]": "2", "discounts[0][coupon]": _coupon(api, "50")},
    )  # fmt: skip
    assert invoice(api, sub["latest_invoice"])["total"] == 2000
    clock = ok(api.get(f"/v1/customers/{customer}"))["test_clock"]
    mid_january = JAN_1 + 15 * DAY_S + 3600
    ok(
        api.post(
            f"/v1/test_helpers/test_clocks/{clock}/advance",
            data={"frozen_time": str(mid_january)},
        )
    )
    ok(api.delete(f"/v1/subscriptions/{sub['id']}", params={"prorate": "true"}))
    # -4000 x 0.5 x (FEB_1 - Jan 16 01:00) / January = -2000 x 1,378,800 / 2,678,400
    # = -1029.569... -> -1030 (the list price would credit -2059, more than was charged).
    assert FEB_1 - mid_january == 1_378_800
    assert [p["amount"] for p in pending_items(api, customer)] == [-1030]
