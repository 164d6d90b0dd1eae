"""/v1/subscription_items: one item at a time, with the subscription update's rules."""

from __future__ import annotations

from subscription_support import (
    DAY_S,
    JAN_1,
    clocked_customer,
    events_of,
    new_price,
    ok,
    pending_items,
    refused,
    subscribe,
    unchanged,
)

HALF_WAY = JAN_1 + 31 * DAY_S // 2  # the middle of January, to the second


def _sub(api):  # type: ignore[no-untyped-def]
    customer = clocked_customer(api)
    sub = subscribe(
        api, customer, new_price(api), collection_method="send_invoice", days_until_due="7"
    )
    return customer, sub


def test_create_update_delete_and_list_items(api):
    customer, sub = _sub(api)
    extra = new_price(api, unit_amount=1000)
    added = ok(
        api.post(
            "/v1/subscription_items",
            data={"subscription": sub["id"], "price": extra, "quantity": "4",
                  "metadata[role]": "support", "proration_date": str(HALF_WAY)},
        )
    )  # fmt: skip
    assert (added["object"], added["subscription"], added["quantity"]) == (
        "subscription_item", sub["id"], 4,
    )  # fmt: skip
    assert added["metadata"] == {"role": "support"}
    # 4 x 1000 for half of January: 4000 x 1,339,200 / 2,678,400 = 2000 exactly.
    assert [p["amount"] for p in pending_items(api, customer)] == [2000]
    changed = ok(
        api.post(
            f"/v1/subscription_items/{added['id']}",
            data={"quantity": "2", "proration_behavior": "none"},
        )
    )
    assert changed["quantity"] == 2
    assert ok(api.get(f"/v1/subscription_items/{added['id']}"))["quantity"] == 2
    listed = ok(api.get("/v1/subscription_items", params={"subscription": sub["id"]}))
    assert {item["id"] for item in listed["data"]} == {added["id"], sub["items"]["data"][0]["id"]}
    gone = ok(
        api.delete(f"/v1/subscription_items/{added['id']}", params={"proration_behavior": "none"})
    )
    assert gone == {"id": added["id"], "object": "subscription_item", "deleted": True}
    refused(api.get(f"/v1/subscription_items/{added['id']}"), "id", "resource_missing", 404)
    assert len(events_of(api, "customer.subscription.updated")) == 3


def test_item_errors_name_the_endpoints_own_params(api, store):
    _, sub = _sub(api)
    [only] = sub["items"]["data"]
    yearly = new_price(api, **{"recurring[interval]": "year"})
    with unchanged(store):
        refused(
            api.post("/v1/subscription_items", data={"subscription": sub["id"], "price": yearly}),
            "price",
        )
        refused(api.delete(f"/v1/subscription_items/{only['id']}"), "items")
        missing = {"subscription": "sub_missing", "price": yearly}
        refused(
            api.post("/v1/subscription_items", data=missing),
            "subscription",
            "resource_missing",
            404,
        )
        refused(api.get("/v1/subscription_items"), "subscription", "parameter_missing")
