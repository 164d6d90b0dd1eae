"""DELETE /v1/subscriptions/{id}: ending now, crediting unused time, a final invoice."""

from __future__ import annotations

from subscription_support import (
    DAY_S,
    FEB_1,
    JAN_1,
    JANUARY_S,
    clocked_customer,
    events_of,
    invoice,
    new_price,
    ok,
    pending_items,
    refused,
    subscribe,
    unchanged,
)

MID_JANUARY = JAN_1 + 15 * DAY_S + 3_600  # Jan 16, 01:00:00


def _sub_then_advance(api, to_ts: int = MID_JANUARY, seats: int = 2):  # type: ignore[no-untyped-def]
    """A send_invoice subscription from Jan 1, its clock then moved to ``to_ts`` (the clock's
    own catch-up job is not run: only its time matters here)."""
    customer = clocked_customer(api)
    sub = subscribe(
        api, customer, new_price(api),
        collection_method="send_invoice", days_until_due="30",
        **{"items[0][quantity]": str(seats)},
    )  # fmt: skip
    clock = ok(api.get(f"/v1/customers/{customer}"))["test_clock"]
    ok(api.post(f"/v1/test_helpers/test_clocks/{clock}/advance", data={"frozen_time": str(to_ts)}))
    return customer, sub


def test_canceling_ends_the_subscription_now(api, store):
    customer, sub = _sub_then_advance(api)
    canceled = ok(
        api.delete(
            f"/v1/subscriptions/{sub['id']}",
            params={"cancellation_details[comment]": "too pricey",
                    "cancellation_details[feedback]": "too_expensive"},
        )
    )  # fmt: skip
    assert (canceled["status"], canceled["canceled_at"], canceled["ended_at"]) == (
        "canceled", MID_JANUARY, MID_JANUARY,
    )  # fmt: skip
    assert canceled["cancellation_details"] == {
        "comment": "too pricey", "feedback": "too_expensive", "reason": "cancellation_requested",
    }  # fmt: skip
    [deleted] = events_of(api, "customer.subscription.deleted")
    assert (deleted["created"], deleted["data"]["object"]["id"]) == (MID_JANUARY, sub["id"])
    assert pending_items(api, customer) == []
    with unchanged(store):
        refused(api.delete(f"/v1/subscriptions/{sub['id']}"), None, None)
    default_list = ok(api.get("/v1/subscriptions", params={"customer": customer}))
    assert default_list["data"] == []
    ended = ok(api.get("/v1/subscriptions", params={"customer": customer, "status": "ended"}))
    assert [s["id"] for s in ended["data"]] == [sub["id"]]


def test_prorate_credits_the_unused_time_as_a_pending_item(api):
    customer, sub = _sub_then_advance(api)
    ok(api.delete(f"/v1/subscriptions/{sub['id']}", params={"prorate": "true"}))
    [credit] = pending_items(api, customer)
    # 2 seats x 2000 unused from Jan 16 01:00 to Feb 1, 16 days less an hour:
    # 4000 x 1,378,800 / 2,678,400 = 2059.1397... -> 2059 credited.
    assert (FEB_1 - MID_JANUARY, JANUARY_S) == (16 * DAY_S - 3_600, 2_678_400)
    assert credit["amount"] == -2059
    assert credit["period"] == {"start": MID_JANUARY, "end": FEB_1}
    assert credit["proration"] is True


def test_invoice_now_issues_the_final_invoice_with_the_credit(api):
    customer, sub = _sub_then_advance(api)
    canceled = ok(
        api.delete(
            f"/v1/subscriptions/{sub['id']}", params={"prorate": "true", "invoice_now": "true"}
        )
    )
    assert canceled["latest_invoice"] != sub["latest_invoice"]
    final = invoice(api, canceled["latest_invoice"])
    assert [line["amount"] for line in final["lines"]["data"]] == [-2059]
    assert (final["total"], final["status"], final["billing_reason"]) == (
        -2059, "paid", "subscription_update",
    )  # fmt: skip
    assert pending_items(api, customer) == []
    assert ok(api.get(f"/v1/subscriptions/{sub['id']}"))["status"] == "canceled"


def test_canceling_an_incomplete_subscription(api):
    sub = subscribe(api, clocked_customer(api), new_price(api))
    canceled = ok(api.delete(f"/v1/subscriptions/{sub['id']}", params={"prorate": "true"}))
    assert canceled["status"] == "canceled"
    assert canceled["latest_invoice"] == sub["latest_invoice"]
