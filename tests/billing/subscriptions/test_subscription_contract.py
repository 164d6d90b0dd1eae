"""Subscriptions, their items and their events have exactly Stripe's fixture keys."""

from __future__ import annotations

from subscription_support import (
    FEB_1,
    clocked_customer,
    events_of,
    new_price,
    ok,
    subscribe,
)

from api.test_contract import assert_matches


def _full_subscription(api):  # type: ignore[no-untyped-def]
    customer = clocked_customer(api)
    coupon = ok(api.post("/v1/coupons", data={"percent_off": "10", "duration": "forever"}))
    rate = ok(
        api.post("/v1/tax_rates", data={"display_name": "VAT", "percentage": "20",
                                        "inclusive": "false"})
    )  # fmt: skip
    sub = subscribe(
        api, customer, new_price(api), new_price(api, unit_amount=500),
        collection_method="send_invoice", days_until_due="14",
        **{"discounts[0][coupon]": coupon["id"], "default_tax_rates[0]": rate["id"],
           "items[0][tax_rates][0]": rate["id"], "items[1][discounts][0][coupon]": coupon["id"],
           "billing_cycle_anchor_config[day_of_month]": "1", "metadata[plan]": "team"},
    )  # fmt: skip
    return ok(
        api.post(
            f"/v1/subscriptions/{sub['id']}",
            data={"pause_collection[behavior]": "keep_as_draft",
                  "pause_collection[resumes_at]": str(FEB_1),
                  "cancellation_details[comment]": "moving", "cancel_at_period_end": "true"},
        )
    )  # fmt: skip


def test_a_subscription_and_its_items_have_the_fixture_shape(api):
    sub = _full_subscription(api)
    assert_matches(sub, "subscription")
    for item in sub["items"]["data"]:
        assert_matches(item, "subscription_item")
    item = ok(api.get(f"/v1/subscription_items/{sub['items']['data'][0]['id']}"))
    assert_matches(item, "subscription_item")
    listed = ok(api.get("/v1/subscription_items", params={"subscription": sub["id"]}))
    assert (listed["object"], listed["url"], len(listed["data"])) == (
        "list", "/v1/subscription_items", 2,
    )  # fmt: skip


def test_an_expanded_subscription_holds_its_objects_to_their_fixtures(api):
    sub = _full_subscription(api)
    expanded = ok(
        api.get(
            f"/v1/subscriptions/{sub['id']}",
            params={"expand[]": ["customer", "latest_invoice", "test_clock"]},
        )
    )
    assert_matches(expanded, "subscription")


def test_subscription_events_carry_the_fixture_shape(api):
    sub = _full_subscription(api)
    ok(api.delete(f"/v1/subscriptions/{sub['id']}"))
    for event_type in (
        "customer.subscription.created",
        "customer.subscription.updated",
        "customer.subscription.deleted",
    ):
        [event] = events_of(api, event_type)
        assert_matches(event["data"]["object"], "subscription")
    [deleted] = events_of(api, "customer.subscription.deleted")
    assert deleted["data"]["object"]["status"] == "canceled"
    assert deleted["data"]["object"]["cancellation_details"] == {
        "comment": "moving", "feedback": None, "reason": "cancellation_requested",
    }  # fmt: skip
