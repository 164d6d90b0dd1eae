"""What a renewal announces: customer.subscription.updated with exactly what changed (as a
rendering before and after would show it), and the invoice's own events at its moments."""

from __future__ import annotations

from renewal_support import (
    HOUR_S,
    JAN_1,
    clocked_customer,
    events_of,
    new_clock,
    new_price,
    ok,
    service_ctx,
    subscribe,
)

from remit.billing.subscriptions import render, scheduler
from remit.events.service import previous_attributes

FEB_1 = 1_706_745_600


def test_the_updated_event_shows_what_the_renewal_changed(api, store, pm, account):
    clock = new_clock(api)
    coupon = ok(api.post("/v1/coupons", data={"percent_off": "10", "duration": "once"}))["id"]
    sub = subscribe(api, clocked_customer(api, clock), {"price": new_price(api, 700)},
                    trial_period_days="31", **{"discounts[0][coupon]": coupon})  # fmt: skip
    with store.read() as conn:
        before = render.retrieve(conn, account.account.id, sub["id"])
    ctx = service_ctx(store, account, JAN_1, pm)
    with store.write() as conn:
        scheduler.catch_up(conn, ctx, clock, FEB_1)
    with store.read() as conn:
        after = render.retrieve(conn, account.account.id, sub["id"])
    [event] = [e for e in events_of(api, "customer.subscription.updated")
               if e["created"] == FEB_1]  # fmt: skip
    assert event["data"]["object"] == after
    assert event["data"]["previous_attributes"] == previous_attributes(before, after)
    assert (before["status"], after["status"]) == ("trialing", "active")
    assert after["items"]["data"][0]["current_period_start"] == FEB_1
    assert [e["created"] for e in events_of(api, "invoice.created")][-1] == FEB_1
    with store.write() as conn:
        scheduler.catch_up(conn, ctx, clock, FEB_1 + HOUR_S)
    assert [e["created"] for e in events_of(api, "invoice.finalized")][-1] == FEB_1 + HOUR_S
