"""Bad subscriptions are refused with Stripe-shaped errors and write nothing at all."""

from __future__ import annotations

from subscription_support import (
    FEB_1,
    JAN_1,
    clocked_customer,
    metered_price,
    new_price,
    ok,
    refused,
    subscribe,
    unchanged,
)


def _create(api, customer, *prices, **params):  # type: ignore[no-untyped-def]
    data = {"customer": customer, **params}
    for index, price in enumerate(prices):
        data[f"items[{index}][price]"] = price
    return api.post("/v1/subscriptions", data=data)


def test_mixed_currencies_are_refused(api, store):
    customer = clocked_customer(api)
    usd = new_price(api)
    eur = new_price(api, currency="eur")
    with unchanged(store):
        error = refused(_create(api, customer, usd, eur), "items[1][price]")
        assert "one currency" in error["message"]
        refused(_create(api, customer, usd, currency="eur"), "items[0][price]")


def test_a_currency_option_makes_a_price_billable_in_that_currency(api):
    customer = clocked_customer(api)
    price = new_price(api, **{"currency_options[eur][unit_amount]": "1800"})
    sub = subscribe(api, customer, price, currency="eur")
    assert sub["currency"] == "eur"


def test_a_customer_keeps_one_currency(api, store):
    customer = clocked_customer(api)
    subscribe(api, customer, new_price(api))
    euro = new_price(api, currency="eur")
    with unchanged(store):
        refused(_create(api, customer, euro), "items[0][price]")
        error = refused(_create(api, customer, euro, currency="eur"), "currency")
        assert "combine currencies" in error["message"]


def test_an_inactive_meter_cannot_start_billing(api, store):
    customer = clocked_customer(api)
    price, meter = metered_price(api)
    ok(api.post(f"/v1/billing/meters/{meter}/deactivate"))
    with unchanged(store):
        error = refused(_create(api, customer, price), "items[0][price]")
        assert meter in error["message"]


def test_inconsistent_params_are_refused(api, store):
    customer = clocked_customer(api)
    metered, _ = metered_price(api)
    price = new_price(api)
    with unchanged(store):
        error = refused(
            _create(api, customer, metered, **{"items[0][quantity]": "2"}), "items[0][quantity]"
        )
        assert "metered" in error["message"]
        refused(
            _create(api, customer, price, collection_method="send_invoice"),
            "days_until_due", "parameter_missing",
        )  # fmt: skip
        refused(_create(api, customer, price, days_until_due="3"), "days_until_due")
        refused(
            _create(api, customer, price, cancel_at=str(FEB_1), cancel_at_period_end="true"),
            "cancel_at_period_end",
        )


def test_prices_a_subscription_cannot_hold(api, store):
    customer = clocked_customer(api)
    monthly = new_price(api)
    one_time = ok(
        api.post(
            "/v1/prices",
            data={"currency": "usd", "unit_amount": "100", "product_data[name]": "Setup"},
        )
    )["id"]
    yearly = new_price(api, **{"recurring[interval]": "year"})
    archived = new_price(api)
    ok(api.post(f"/v1/prices/{archived}", data={"active": "false"}))
    with unchanged(store):
        assert (
            "type=recurring"
            in refused(_create(api, customer, one_time), "items[0][price]")["message"]
        )
        refused(_create(api, customer, monthly, yearly), "items[1][price]")
        refused(_create(api, customer, monthly, monthly), "items[1][price]")
        assert "inactive" in refused(_create(api, customer, archived), "items[0][price]")["message"]
        refused(_create(api, customer, "price_missing"), "items[0][price]", "resource_missing", 404)
        refused(_create(api, "cus_missing", monthly), "customer", "resource_missing", 404)


def test_trials_and_anchors_out_of_bounds(api, store):
    customer = clocked_customer(api)
    price = new_price(api)
    with unchanged(store):
        refused(_create(api, customer, price, trial_end=str(JAN_1 - 1)), "trial_end")
        refused(
            _create(api, customer, price, trial_end=str(FEB_1), trial_period_days="3"),
            "trial_period_days",
        )
        refused(
            _create(api, customer, price, billing_cycle_anchor=str(FEB_1 + 1)),
            "billing_cycle_anchor",
        )
        refused(
            _create(api, customer, price, billing_cycle_anchor=str(FEB_1), trial_period_days="3"),
            "billing_cycle_anchor",
        )
        refused(_create(api, customer, price, cancel_at=str(JAN_1 - 5)), "cancel_at")


def test_error_if_incomplete_refuses_an_unpaid_start_and_keeps_nothing(api, store):
    customer = clocked_customer(api)
    price = new_price(api)
    with unchanged(store):
        refused(
            _create(api, customer, price, payment_behavior="error_if_incomplete"),
            "payment_behavior", None, 402,
        )  # fmt: skip
    free = new_price(api, unit_amount=0)
    sub = subscribe(api, customer, free, payment_behavior="error_if_incomplete")
    assert sub["status"] == "active"
