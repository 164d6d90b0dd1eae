"""Review: what an immediate cancellation does with the prorations still pending.

Stripe: canceled now with neither ``prorate`` nor ``invoice_now``, the subscription's pending
prorations are removed; with either, they stay (``invoice_now`` sweeps them at once).
"""

from __future__ import annotations

from subscription_support import (
    DAY_S,
    JAN_1,
    clocked_customer,
    events_of,
    new_price,
    ok,
    pending_items,
    subscribe,
)

UPGRADE_AT = JAN_1 + 10 * DAY_S + 7 * 3600 + 15 * 60 + 23


def _upgraded(api):  # type: ignore[no-untyped-def]
    """A send_invoice subscription of 3 seats moved to 5 mid-January: two pending prorations
    (-4006 and 6677, see test_subscription_update), and an unrelated pending one-off item."""
    customer = clocked_customer(api)
    sub = subscribe(
        api, customer, new_price(api),
        collection_method="send_invoice", days_until_due="30", **{"items[0][quantity]": "3"},
    )  # fmt: skip
    [item] = sub["items"]["data"]
    ok(
        api.post(
            f"/v1/subscriptions/{sub['id']}",
            data={"items[0][id]": item["id"], "items[0][quantity]": "5",
                  "proration_date": str(UPGRADE_AT)},
        )
    )  # fmt: skip
    ok(api.post("/v1/invoiceitems", data={"customer": customer, "amount": "700",
                                          "currency": "usd"}))  # fmt: skip
    assert [p["amount"] for p in pending_items(api, customer)] == [-4006, 700, 6677]
    return customer, sub


def test_canceling_now_without_prorate_or_invoice_now_removes_pending_prorations(api):
    customer, sub = _upgraded(api)
    ok(api.delete(f"/v1/subscriptions/{sub['id']}"))
    assert [p["amount"] for p in pending_items(api, customer)] == [700]
    removed = events_of(api, "invoiceitem.deleted")
    assert sorted(event["data"]["object"]["amount"] for event in removed) == [-4006, 6677]


def test_canceling_now_with_prorate_keeps_them_beside_the_credit(api):
    customer, sub = _upgraded(api)
    ok(api.delete(f"/v1/subscriptions/{sub['id']}", params={"prorate": "true"}))
    # Nothing of the 5 seats was used (the clock is at Jan 1): -10000 for the unused time.
    assert [p["amount"] for p in pending_items(api, customer)] == [-10000, -4006, 700, 6677]
    assert events_of(api, "invoiceitem.deleted") == []
