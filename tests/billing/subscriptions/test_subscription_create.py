"""POST /v1/subscriptions: statuses at the start, the first invoice, anchors and trials."""

from __future__ import annotations

from subscription_support import (
    DAY_S,
    FEB_1,
    JAN_1,
    JANUARY_S,
    clocked_customer,
    events_of,
    invoice,
    metered_price,
    new_price,
    ok,
    subscribe,
)


def test_a_charged_subscription_starts_incomplete_with_its_first_invoice_open(api):
    customer = clocked_customer(api)
    price = new_price(api)
    sub = subscribe(api, customer, price, **{"items[0][quantity]": "3"})
    assert sub["status"] == "incomplete"
    assert (sub["created"], sub["start_date"], sub["billing_cycle_anchor"]) == (JAN_1,) * 3
    [item] = sub["items"]["data"]
    assert (item["current_period_start"], item["current_period_end"]) == (JAN_1, FEB_1)
    assert (item["quantity"], item["price"]["id"], item["plan"]["amount"]) == (3, price, 2000)
    assert sub["items"]["url"] == f"/v1/subscription_items?subscription={sub['id']}"
    first = invoice(api, sub["latest_invoice"])
    assert (first["status"], first["billing_reason"]) == ("open", "subscription_create")
    assert (first["amount_due"], first["subscription"]) == (6000, sub["id"])
    [line] = first["lines"]["data"]
    assert (line["amount"], line["quantity"]) == (6000, 3)
    assert (line["period"]["start"], line["period"]["end"]) == (JAN_1, FEB_1)
    [created] = events_of(api, "customer.subscription.created")
    assert created["data"]["object"]["id"] == sub["id"]
    assert created["created"] == JAN_1
    assert sub["next_pending_invoice_item_invoice"] is None


def test_a_send_invoice_subscription_is_active_at_once(api):
    customer = clocked_customer(api)
    sub = subscribe(
        api, customer, new_price(api),
        collection_method="send_invoice", days_until_due="30",
    )  # fmt: skip
    assert (sub["status"], sub["collection_method"], sub["days_until_due"]) == (
        "active", "send_invoice", 30,
    )  # fmt: skip
    first = invoice(api, sub["latest_invoice"])
    assert (first["status"], first["due_date"]) == ("open", JAN_1 + 30 * DAY_S)


def test_nothing_to_pay_activates_a_charged_subscription_at_once(api):
    customer = clocked_customer(api)
    sub = subscribe(api, customer, new_price(api, unit_amount=0))
    assert sub["status"] == "active"
    assert invoice(api, sub["latest_invoice"])["status"] == "paid"
    [updated] = events_of(api, "customer.subscription.updated")
    assert updated["data"]["previous_attributes"] == {"status": "incomplete"}


def test_a_trial_bills_a_zero_invoice_and_anchors_the_cycle_at_its_end(api):
    customer = clocked_customer(api)
    sub = subscribe(api, customer, new_price(api), trial_period_days="14")
    trial_end = JAN_1 + 14 * DAY_S
    assert sub["status"] == "trialing"
    assert (sub["trial_start"], sub["trial_end"], sub["billing_cycle_anchor"]) == (
        JAN_1, trial_end, trial_end,
    )  # fmt: skip
    [item] = sub["items"]["data"]
    assert (item["current_period_start"], item["current_period_end"]) == (JAN_1, trial_end)
    first = invoice(api, sub["latest_invoice"])
    assert (first["status"], first["total"], first["billing_reason"]) == (
        "paid", 0, "subscription_create",
    )  # fmt: skip
    [line] = first["lines"]["data"]
    assert (line["amount"], line["description"]) == (0, "Trial period for Seats")


def test_trial_from_plan_and_a_trial_end_of_now(api):
    customer = clocked_customer(api)
    planned = new_price(api, **{"recurring[trial_period_days]": "7"})
    sub = subscribe(api, customer, planned, trial_from_plan="true")
    assert (sub["status"], sub["trial_end"]) == ("trialing", JAN_1 + 7 * DAY_S)
    other = clocked_customer(api)
    no_trial = subscribe(api, other, new_price(api), trial_end="now")
    assert (no_trial["status"], no_trial["trial_end"]) == ("incomplete", None)


def test_a_later_anchor_bills_the_stub_to_the_second(api):
    customer = clocked_customer(api, frozen_time=JAN_1 + 10 * DAY_S + 7)
    sub = subscribe(
        api, customer, new_price(api), billing_cycle_anchor=str(FEB_1),
        **{"items[0][quantity]": "3"},
    )  # fmt: skip
    assert sub["billing_cycle_anchor"] == FEB_1
    [item] = sub["items"]["data"]
    assert (item["current_period_start"], item["current_period_end"]) == (
        JAN_1 + 10 * DAY_S + 7, FEB_1,
    )  # fmt: skip
    [line] = invoice(api, sub["latest_invoice"])["lines"]["data"]
    # 3 seats x 2000 for what is left of January: 6000 x (2,678,400 - 864,007) / 2,678,400
    # = 6000 x 1,814,393 / 2,678,400 = 4064.50045... -> 4065
    assert JANUARY_S == 2_678_400
    assert (line["amount"], line["period"]["start"], line["period"]["end"]) == (
        4065, JAN_1 + 10 * DAY_S + 7, FEB_1,
    )  # fmt: skip


def test_proration_behavior_none_leaves_the_stub_free(api):
    customer = clocked_customer(api, frozen_time=JAN_1 + 10 * DAY_S)
    sub = subscribe(
        api, customer, new_price(api), billing_cycle_anchor=str(FEB_1), proration_behavior="none"
    )
    first = invoice(api, sub["latest_invoice"])
    assert (first["total"], first["status"]) == (0, "paid")
    assert sub["status"] == "active"


def test_an_anchor_config_picks_the_next_matching_day(api):
    customer = clocked_customer(api, frozen_time=JAN_1 + 14 * DAY_S)  # Jan 15
    sub = subscribe(
        api, customer, new_price(api),
        **{"billing_cycle_anchor_config[day_of_month]": "1",
           "billing_cycle_anchor_config[hour]": "0"},
    )  # fmt: skip
    assert sub["billing_cycle_anchor"] == FEB_1
    assert sub["billing_cycle_anchor_config"] == {
        "day_of_month": 1, "hour": 0, "minute": None, "month": None, "second": None,
    }  # fmt: skip


def test_metered_items_bill_nothing_up_front(api):
    customer = clocked_customer(api)
    price, _ = metered_price(api)
    sub = subscribe(api, customer, price)
    [item] = sub["items"]["data"]
    assert item["quantity"] is None
    assert item["plan"]["usage_type"] == "metered"
    first = invoice(api, sub["latest_invoice"])
    assert first["total"] == 0
    assert sub["status"] == "active"


def test_discounts_and_taxes_apply_to_the_first_invoice(api):
    customer = clocked_customer(api)
    coupon = ok(api.post("/v1/coupons", data={"percent_off": "25", "duration": "forever"}))
    rate = ok(
        api.post(
            "/v1/tax_rates",
            data={"display_name": "VAT", "percentage": "20", "inclusive": "false"},
        )
    )
    sub = subscribe(
        api, customer, new_price(api),
        **{"discounts[0][coupon]": coupon["id"], "default_tax_rates[0]": rate["id"],
           "items[0][quantity]": "2"},
    )  # fmt: skip
    [discount_id] = sub["discounts"]
    assert discount_id.startswith("di_")
    assert [r["id"] for r in sub["default_tax_rates"]] == [rate["id"]]
    first = invoice(api, sub["latest_invoice"])
    # 4000 - 25% = 3000, + 20% tax = 3600
    assert (first["subtotal"], first["total"]) == (4000, 3600)


def test_retrieve_list_and_expand(api):
    customer = clocked_customer(api)
    price = new_price(api)
    sub = subscribe(api, customer, price, **{"metadata[team]": "blue"})
    again = ok(
        api.get(
            f"/v1/subscriptions/{sub['id']}",
            params={"expand[]": ["latest_invoice", "customer", "items.data.price.product"]},
        )
    )
    assert again["latest_invoice"]["object"] == "invoice"
    assert again["customer"]["id"] == customer
    assert again["items"]["data"][0]["price"]["product"]["name"] == "Seats"
    listed = ok(api.get("/v1/subscriptions", params={"customer": customer}))
    assert [s["id"] for s in listed["data"]] == [sub["id"]]
    assert ok(api.get("/v1/subscriptions", params={"price": price}))["data"][0]["id"] == sub["id"]
    assert ok(api.get("/v1/subscriptions", params={"status": "canceled"}))["data"] == []
