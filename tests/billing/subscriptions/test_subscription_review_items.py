"""Review: an update's ``items[]`` names each live item at most once."""

from __future__ import annotations

from subscription_support import clocked_customer, new_price, ok, refused, subscribe, unchanged


def test_an_item_named_twice_in_one_update_is_refused_and_nothing_written(api, store):
    customer = clocked_customer(api)
    sub = subscribe(
        api, customer, new_price(api),
        collection_method="send_invoice", days_until_due="30", **{"items[0][quantity]": "3"},
    )  # fmt: skip
    [item] = sub["items"]["data"]
    url = f"/v1/subscriptions/{sub['id']}"
    twice = {
        "items[0][id]": item["id"], "items[0][quantity]": "5",
        "items[1][id]": item["id"], "items[1][quantity]": "2",
    }  # fmt: skip
    with unchanged(store):
        refused(api.post(url, data=twice), "items[1][id]")
    changed_then_deleted = {
        "items[0][id]": item["id"], "items[0][quantity]": "5",
        "items[1][id]": item["id"], "items[1][deleted]": "true",
        "items[2][price]": new_price(api, 900),
    }  # fmt: skip
    with unchanged(store):
        refused(api.post(url, data=changed_then_deleted), "items[1][id]")
    assert ok(api.get(url))["items"]["data"][0]["quantity"] == 3
