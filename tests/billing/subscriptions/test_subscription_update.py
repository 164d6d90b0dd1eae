"""POST /v1/subscriptions/{id}: item changes with prorations to the second, fields, trials,
a new cycle now, and changes a subscription refuses."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import httpx
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

# Jan 11, 07:15:23 UTC: a moment well inside January, to the second.
UPGRADE_AT = JAN_1 + 10 * DAY_S + 7 * 3600 + 15 * 60 + 23


def _seats(api, seats: int = 3, **params):  # type: ignore[no-untyped-def]
    customer = clocked_customer(api)
    sub = subscribe(
        api, customer, new_price(api),
        collection_method="send_invoice", days_until_due="30",
        **{"items[0][quantity]": str(seats)}, **params,
    )  # fmt: skip
    return customer, sub


def test_a_mid_cycle_seat_upgrade_prorates_to_the_second(api):
    customer, sub = _seats(api, 3)
    [item] = sub["items"]["data"]
    updated = ok(
        api.post(
            f"/v1/subscriptions/{sub['id']}",
            data={"items[0][id]": item["id"], "items[0][quantity]": "5",
                  "proration_date": str(UPGRADE_AT)},
        )
    )  # fmt: skip
    assert updated["items"]["data"][0]["quantity"] == 5
    # The period is January: 2,678,400 s. Left after Jan 11 07:15:23: FEB_1 - UPGRADE_AT
    # = 1,706,745,600 - 1,704,957,323 = 1,788,277 s.
    left_s = FEB_1 - UPGRADE_AT
    assert (JANUARY_S, left_s) == (2_678_400, 1_788_277)
    # Credit, 3 seats x 2000 unused: -6000 x 1,788,277 / 2,678,400 = -4005.9968... -> -4006
    # Charge, 5 seats x 2000 remaining: 10000 x 1,788,277 / 2,678,400 = 6676.6614... -> 6677
    credit, charge = pending_items(api, customer)
    assert (credit["amount"], charge["amount"]) == (-4006, 6677)
    for pending, quantity in ((credit, 3), (charge, 5)):
        assert pending["proration"] is True
        assert pending["quantity"] == quantity
        assert pending["period"] == {"start": UPGRADE_AT, "end": FEB_1}
        assert pending["parent"]["subscription_details"]["subscription"] == sub["id"]
    assert credit["description"].startswith("Unused time on 3 × Seats")
    assert charge["description"].startswith("Remaining time on 5 × Seats")
    [event] = events_of(api, "customer.subscription.updated")
    assert event["data"]["previous_attributes"]["items"]["data"][0]["quantity"] == 3


def test_always_invoice_bills_the_prorations_at_once(api):
    customer, sub = _seats(api, 3)
    [item] = sub["items"]["data"]
    updated = ok(
        api.post(
            f"/v1/subscriptions/{sub['id']}",
            data={"items[0][id]": item["id"], "items[0][quantity]": "5",
                  "proration_date": str(UPGRADE_AT), "proration_behavior": "always_invoice"},
        )
    )  # fmt: skip
    assert updated["latest_invoice"] != sub["latest_invoice"]
    bill = invoice(api, updated["latest_invoice"])
    assert (bill["billing_reason"], bill["status"], bill["total"]) == (
        "subscription_update", "open", -4006 + 6677,
    )  # fmt: skip
    assert sorted(line["amount"] for line in bill["lines"]["data"]) == [-4006, 6677]
    assert pending_items(api, customer) == []


def test_proration_behavior_none_changes_without_billing(api):
    customer, sub = _seats(api, 3)
    [item] = sub["items"]["data"]
    ok(
        api.post(
            f"/v1/subscriptions/{sub['id']}",
            data={"items[0][id]": item["id"], "items[0][quantity]": "1",
                  "proration_behavior": "none"},
        )
    )  # fmt: skip
    assert pending_items(api, customer) == []


def test_a_new_price_an_added_item_and_a_removed_one(api):
    customer, sub = _seats(api, 2)
    [seats] = sub["items"]["data"]
    pro = new_price(api, unit_amount=5000)
    support = new_price(api, unit_amount=1000)
    changed = ok(
        api.post(
            f"/v1/subscriptions/{sub['id']}",
            data={"items[0][id]": seats["id"], "items[0][price]": pro,
                  "items[1][price]": support, "proration_date": str(JAN_1 + JANUARY_S // 2)},
        )
    )  # fmt: skip
    by_price = {item["price"]["id"]: item for item in changed["items"]["data"]}
    assert (by_price[pro]["id"], by_price[pro]["quantity"]) == (seats["id"], 2)
    assert by_price[support]["quantity"] == 1
    # Half of January left: -4000/2, +10000/2, +1000/2.
    assert [p["amount"] for p in pending_items(api, customer)] == [-2000, 500, 5000]
    removed = ok(
        api.post(
            f"/v1/subscriptions/{sub['id']}",
            data={"items[0][id]": by_price[support]["id"], "items[0][deleted]": "true",
                  "proration_behavior": "none"},
        )
    )  # fmt: skip
    assert [item["price"]["id"] for item in removed["items"]["data"]] == [pro]


def test_fields_change_and_announce_their_previous_values(api):
    _, sub = _seats(api)
    updated = ok(
        api.post(
            f"/v1/subscriptions/{sub['id']}",
            data={"cancel_at_period_end": "true", "description": "Team plan",
                  "metadata[team]": "blue", "pause_collection[behavior]": "void",
                  "collection_method": "charge_automatically"},
        )
    )  # fmt: skip
    assert updated["cancel_at_period_end"] is True
    assert updated["pause_collection"] == {"behavior": "void", "resumes_at": None}
    assert (updated["collection_method"], updated["days_until_due"]) == (
        "charge_automatically", None,
    )  # fmt: skip
    [event] = events_of(api, "customer.subscription.updated")
    previous = event["data"]["previous_attributes"]
    assert previous["cancel_at_period_end"] is False
    assert previous["description"] is None
    assert previous["days_until_due"] == 30
    cleared = ok(
        api.post(
            f"/v1/subscriptions/{sub['id']}",
            data={"pause_collection": "", "cancel_at": str(FEB_1 - 5)},
        )
    )
    assert cleared["pause_collection"] is None
    assert (cleared["cancel_at"], cleared["cancel_at_period_end"]) == (FEB_1 - 5, False)


def test_billing_cycle_anchor_now_starts_a_new_period_and_invoices_it(api):
    customer, sub = _seats(api, 1)
    reset = ok(api.post(f"/v1/subscriptions/{sub['id']}", data={"billing_cycle_anchor": "now"}))
    # The clock is still at Jan 1 00:00:00: the whole of January is credited back.
    assert reset["billing_cycle_anchor"] == JAN_1
    bill = invoice(api, reset["latest_invoice"])
    assert sorted(line["amount"] for line in bill["lines"]["data"]) == [-2000, 2000]
    assert pending_items(api, customer) == []


def test_trial_changes(api):
    customer = clocked_customer(api)
    sub = subscribe(
        api, customer, new_price(api), trial_period_days="10",
        collection_method="send_invoice", days_until_due="30",
    )  # fmt: skip
    longer = ok(api.post(f"/v1/subscriptions/{sub['id']}", data={"trial_end": str(FEB_1)}))
    assert (longer["status"], longer["trial_end"], longer["billing_cycle_anchor"]) == (
        "trialing", FEB_1, FEB_1,
    )  # fmt: skip
    ended = ok(api.post(f"/v1/subscriptions/{sub['id']}", data={"trial_end": "now"}))
    assert (ended["status"], ended["trial_end"]) == ("active", JAN_1)
    bill = invoice(api, ended["latest_invoice"])
    assert (bill["total"], bill["billing_reason"]) == (2000, "subscription_update")


def test_an_ended_subscription_refuses_every_change_and_keeps_its_state(api, store):
    _, sub = _seats(api)
    ok(api.delete(f"/v1/subscriptions/{sub['id']}"))
    [item] = ok(api.get(f"/v1/subscriptions/{sub['id']}"))["items"]["data"]
    with unchanged(store):
        refused(api.post(f"/v1/subscriptions/{sub['id']}", data={"metadata[a]": "b"}), None, None)
        refused(
            api.post(
                f"/v1/subscriptions/{sub['id']}",
                data={"items[0][id]": item["id"], "items[0][quantity]": "9"},
            ),
            None, None,
        )  # fmt: skip
        refused(
            api.post(f"/v1/subscription_items/{item['id']}", data={"quantity": "9"}), None, None
        )


def test_changes_out_of_bounds_are_refused(api, store):
    _, sub = _seats(api)
    [item] = sub["items"]["data"]
    yearly = new_price(api, **{"recurring[interval]": "year"})
    url = f"/v1/subscriptions/{sub['id']}"
    with unchanged(store):
        refused(api.post(url, data={"proration_date": str(FEB_1 + 1)}), "proration_date")
        refused(
            api.post(url, data={"items[0][id]": "si_missing", "items[0][quantity]": "2"}),
            "items[0][id]", "resource_missing", 404,
        )  # fmt: skip
        refused(api.post(url, data={"items[0][id]": item["id"], "items[0][deleted]": "true"}),
                "items")  # fmt: skip
        refused(api.post(url, data={"items[0][price]": yearly}), "items[0][price]")
        refused(api.post(url, data={"pause_collection[behavior]": "void",
                                    "pause_collection[resumes_at]": str(JAN_1)}),
                "pause_collection[resumes_at]")  # fmt: skip


def test_an_incomplete_subscription_only_takes_metadata(api, store):
    customer = clocked_customer(api)
    sub = subscribe(api, customer, new_price(api))
    assert sub["status"] == "incomplete"
    url = f"/v1/subscriptions/{sub['id']}"
    with unchanged(store):
        refused(api.post(url, data={"description": "x"}), "description")
    assert ok(api.post(url, data={"metadata[k]": "v"}))["metadata"] == {"k": "v"}


def test_discounts_and_default_tax_rates_are_replaced_or_cleared(api):
    _, sub = _seats(api, 2)
    first = ok(api.post("/v1/coupons", data={"percent_off": "10", "duration": "forever"}))
    second = ok(api.post("/v1/coupons", data={"amount_off": "500", "currency": "usd",
                                               "duration": "once"}))  # fmt: skip
    rate = ok(
        api.post("/v1/tax_rates", data={"display_name": "VAT", "percentage": "7",
                                        "inclusive": "false"})
    )  # fmt: skip
    url = f"/v1/subscriptions/{sub['id']}"
    with_first = ok(
        api.post(
            url, data={"discounts[0][coupon]": first["id"], "default_tax_rates[0]": rate["id"]}
        )
    )
    [first_discount] = with_first["discounts"]
    replaced = ok(api.post(url, data={"discounts[0][coupon]": second["id"]}))
    [second_discount] = replaced["discounts"]
    assert second_discount != first_discount
    assert ok(api.get(f"/v1/coupons/{first['id']}"))["times_redeemed"] == 1
    cleared = ok(api.post(url, data={"discounts": "", "default_tax_rates": ""}))
    assert (cleared["discounts"], cleared["default_tax_rates"]) == ([], [])
    previous = events_of(api, "customer.subscription.updated")[0]["data"]["previous_attributes"]
    assert previous["discounts"] == [second_discount]


def test_concurrent_seat_changes_chain_their_prorations(api, server, account):
    customer, sub = _seats(api, 3)
    [item] = sub["items"]["data"]
    headers = {"Authorization": f"Bearer {account.secret_key}"}

    def change(seats: int) -> int:
        with httpx.Client(base_url=server.url, headers=headers, timeout=30) as client:
            data = {"items[0][id]": item["id"], "items[0][quantity]": str(seats),
                    "proration_date": str(UPGRADE_AT)}  # fmt: skip
            return client.post(f"/v1/subscriptions/{sub['id']}", data=data).status_code

    with ThreadPoolExecutor(max_workers=2) as pool:
        assert list(pool.map(change, [5, 7])) == [200, 200]
    final = ok(api.get(f"/v1/subscriptions/{sub['id']}"))["items"]["data"][0]["quantity"]
    # Each change credits what the one before left, so the middle one's charge and credit
    # cancel exactly (a credit rounds like the charge it undoes) and the pending items add
    # up to 3 seats credited and the final seats charged for the rest of January:
    # 2000 x seats x 1,788,277 / 2,678,400 -> 3: 4006 (credit), 5: 6677, 7: 9347.
    charge = {5: 6677, 7: 9347}
    assert sum(p["amount"] for p in pending_items(api, customer)) == -4006 + charge[final]
    assert len(pending_items(api, customer)) == 4


def test_a_trial_added_to_a_paid_subscription_credits_its_unused_time(api):
    customer, sub = _seats(api, 1)
    trial_end = JAN_1 + 10 * DAY_S
    trialing = ok(api.post(f"/v1/subscriptions/{sub['id']}", data={"trial_end": str(trial_end)}))
    assert (trialing["status"], trialing["trial_start"], trialing["trial_end"]) == (
        "trialing", JAN_1, trial_end,
    )  # fmt: skip
    [item] = trialing["items"]["data"]
    assert (item["current_period_start"], item["current_period_end"]) == (JAN_1, trial_end)
    # The clock is at Jan 1: all of January's 2000 is unused.
    assert [p["amount"] for p in pending_items(api, customer)] == [-2000]


def test_a_new_interval_starts_a_new_cycle_now(api):
    customer, sub = _seats(api, 1)
    [item] = sub["items"]["data"]
    yearly = new_price(api, unit_amount=20000, **{"recurring[interval]": "year"})
    moved = ok(
        api.post(
            f"/v1/subscriptions/{sub['id']}",
            data={"items[0][id]": item["id"], "items[0][price]": yearly},
        )
    )
    [item] = moved["items"]["data"]
    assert (item["current_period_start"], item["current_period_end"]) == (JAN_1, 1_735_689_600)
    bill = invoice(api, moved["latest_invoice"])
    assert sorted(line["amount"] for line in bill["lines"]["data"]) == [-2000, 20000]
    assert pending_items(api, customer) == []
