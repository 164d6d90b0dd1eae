"""/v1/prices create, retrieve and list: every pricing model, includable fields, refusals."""

from __future__ import annotations

import httpx
import pytest
from catalog_support import (
    GRADUATED,
    MONTHLY,
    events_of,
    new_price,
    new_product,
    ok,
    refused,
    unchanged,
)

from api.test_contract import assert_event_matches, assert_matches


def test_a_per_unit_price_has_the_fixture_shape(api):
    price = new_price(api, unit_amount="2000", nickname="Standard", **{"metadata[k]": "v"})
    assert_matches(price, "price")
    assert price["id"].startswith("price_")
    assert (price["type"], price["recurring"], price["billing_scheme"]) == (
        "one_time",
        None,
        "per_unit",
    )
    assert (price["unit_amount"], price["unit_amount_decimal"]) == (2000, "2000")
    assert (price["tax_behavior"], price["lookup_key"], price["tiers_mode"]) == (
        "unspecified",
        None,
        None,
    )
    assert price["custom_unit_amount"] is None and price["transform_quantity"] is None
    assert "tiers" not in price and "currency_options" not in price
    assert ok(api.get(f"/v1/prices/{price['id']}")) == price
    (event,) = events_of(api, "price.created")
    assert event["data"]["object"] == price
    assert_event_matches(event)


@pytest.mark.parametrize(
    ("sent", "stored", "unit_amount"),
    [
        ("0.000000000001", "0.000000000001", None),
        ("1E-12", "0.000000000001", None),
        ("123456789.123456789012", "123456789.123456789012", None),
        ("12.500", "12.5", None),
        ("1250.000", "1250", 1250),
        ("0", "0", 0),
    ],
)
def test_unit_amount_decimal_keeps_twelve_places_exactly(api, sent, stored, unit_amount):
    price = new_price(api, unit_amount_decimal=sent)
    assert (price["unit_amount_decimal"], price["unit_amount"]) == (stored, unit_amount)
    assert_matches(price, "price")


def test_a_recurring_licensed_price(api):
    price = new_price(
        api,
        unit_amount="900",
        **{
            "recurring[interval]": "week",
            "recurring[interval_count]": "2",
            "recurring[trial_period_days]": "14",
        },
    )
    assert_matches(price, "price")
    assert price["type"] == "recurring"
    assert price["recurring"] == {
        "interval": "week",
        "interval_count": 2,
        "meter": None,
        "trial_period_days": 14,
        "usage_type": "licensed",
    }


@pytest.mark.parametrize(
    ("interval", "longest"), [("day", 1095), ("week", 156), ("month", 36), ("year", 3)]
)
def test_the_longest_interval_is_three_years(api, store, interval, longest):
    recurring = {"recurring[interval]": interval}
    longest_price = new_price(
        api, unit_amount="1", **recurring, **{"recurring[interval_count]": str(longest)}
    )
    assert longest_price["recurring"]["interval_count"] == longest
    product = longest_price["product"]
    with unchanged(store):
        refused(
            api.post(
                "/v1/prices",
                data={
                    "product": product,
                    "currency": "usd",
                    "unit_amount": "1",
                    **recurring,
                    "recurring[interval_count]": str(longest + 1),
                },
            ),
            "recurring[interval_count]",
        )


def test_tiers_are_rendered_only_when_expanded(api):
    price = new_price(api, **GRADUATED, **MONTHLY)
    assert_matches(price, "price")
    assert (price["billing_scheme"], price["tiers_mode"]) == ("tiered", "graduated")
    assert (price["unit_amount"], price["unit_amount_decimal"]) == (None, None)
    assert "tiers" not in price
    expanded = ok(api.get(f"/v1/prices/{price['id']}", params={"expand[]": "tiers"}))
    assert expanded["tiers"] == [
        {
            "flat_amount": 100,
            "flat_amount_decimal": "100",
            "unit_amount": 500,
            "unit_amount_decimal": "500",
            "up_to": 5,
        },
        {
            "flat_amount": None,
            "flat_amount_decimal": None,
            "unit_amount": None,
            "unit_amount_decimal": "400.5",
            "up_to": 10,
        },
        {
            "flat_amount": 50,
            "flat_amount_decimal": "50",
            "unit_amount": 300,
            "unit_amount_decimal": "300",
            "up_to": None,
        },
    ]
    assert {k: v for k, v in expanded.items() if k != "tiers"} == price
    created = ok(
        api.post(
            "/v1/prices",
            data={"product": price["product"], "currency": "usd", "expand[]": "tiers", **GRADUATED},
        )
    )
    assert created["tiers"] == expanded["tiers"]
    per_unit = new_price(api, unit_amount="5")
    assert ok(api.get(f"/v1/prices/{per_unit['id']}?expand[]=tiers"))["tiers"] is None


def test_volume_tiers_with_a_transform_beyond_stripe(api):
    price = new_price(
        api,
        billing_scheme="tiered",
        tiers_mode="volume",
        **{
            "tiers[0][up_to]": "100",
            "tiers[0][unit_amount]": "10",
            "tiers[1][up_to]": "inf",
            "tiers[1][unit_amount]": "8",
            "transform_quantity[divide_by]": "1000",
            "transform_quantity[round]": "up",
            **MONTHLY,
        },
    )
    assert_matches(price, "price")
    assert price["tiers_mode"] == "volume"
    assert price["transform_quantity"] == {"divide_by": 1000, "round": "up"}


def test_a_per_unit_price_with_a_transform(api):
    price = new_price(
        api,
        unit_amount="250",
        **{"transform_quantity[divide_by]": "10", "transform_quantity[round]": "down"},
    )
    assert price["transform_quantity"] == {"divide_by": 10, "round": "down"}
    assert_matches(price, "price")


def test_currency_options_are_rendered_only_when_expanded(api):
    price = new_price(
        api,
        unit_amount="1000",
        tax_behavior="exclusive",
        **{
            "currency_options[eur][unit_amount]": "900",
            "currency_options[eur][tax_behavior]": "inclusive",
            "currency_options[jpy][unit_amount_decimal]": "150.5",
        },
    )
    assert "currency_options" not in price
    expanded = ok(api.get(f"/v1/prices/{price['id']}?expand[]=currency_options"))
    assert expanded["currency_options"] == {
        "eur": {
            "custom_unit_amount": None,
            "tax_behavior": "inclusive",
            "tiers": None,
            "unit_amount": 900,
            "unit_amount_decimal": "900",
        },
        "jpy": {
            "custom_unit_amount": None,
            "tax_behavior": "unspecified",
            "tiers": None,
            "unit_amount": None,
            "unit_amount_decimal": "150.5",
        },
        "usd": {
            "custom_unit_amount": None,
            "tax_behavior": "exclusive",
            "tiers": None,
            "unit_amount": 1000,
            "unit_amount_decimal": "1000",
        },
    }


def test_tiered_currency_options_carry_their_own_tiers(api):
    price = new_price(
        api,
        **GRADUATED,
        **{
            "currency_options[gbp][tiers][0][up_to]": "5",
            "currency_options[gbp][tiers][0][unit_amount]": "450",
            "currency_options[gbp][tiers][1][up_to]": "inf",
            "currency_options[gbp][tiers][1][unit_amount]": "250",
        },
    )
    options = ok(api.get(f"/v1/prices/{price['id']}?expand[]=currency_options"))
    assert [tier["up_to"] for tier in options["currency_options"]["gbp"]["tiers"]] == [5, None]
    assert len(options["currency_options"]["usd"]["tiers"]) == 3


def test_custom_unit_amount_for_one_time_prices(api):
    price = new_price(
        api,
        **{
            "custom_unit_amount[enabled]": "true",
            "custom_unit_amount[minimum]": "500",
            "custom_unit_amount[maximum]": "5000",
            "custom_unit_amount[preset]": "1000",
        },
    )
    assert_matches(price, "price")
    assert price["custom_unit_amount"] == {"maximum": 5000, "minimum": 500, "preset": 1000}
    assert price["unit_amount"] is None and price["unit_amount_decimal"] is None


def test_product_data_creates_the_product_too(api):
    price = new_price(
        api,
        unit_amount="100",
        **{
            "product_data[name]": "Gold",
            "product_data[id]": "gold",
            "product_data[unit_label]": "seat",
            "product_data[metadata][tier]": "1",
        },
    )
    assert price["product"] == "gold"
    product = ok(api.get("/v1/products/gold"))
    assert (product["name"], product["unit_label"], product["metadata"]) == (
        "Gold",
        "seat",
        {"tier": "1"},
    )
    assert [e["data"]["object"]["id"] for e in events_of(api, "product.created")] == ["gold"]


def test_expand_product_works_for_chosen_and_minted_ids(api):
    for product in (new_product(api, id="plan-a"), new_product(api)):
        price = new_price(api, product["id"], unit_amount="1")
        expanded = ok(api.get(f"/v1/prices/{price['id']}?expand[]=product"))
        assert expanded["product"] == product
        assert_matches(expanded, "price")
    listed = ok(api.get("/v1/prices?expand[]=data.product&expand[]=data.tiers"))
    assert [p["product"]["object"] for p in listed["data"]] == ["product", "product"]
    assert [p["tiers"] for p in listed["data"]] == [None, None]


def test_unknown_prices_are_missing(api):
    refused(api.get("/v1/prices/price_nope"), "id", "resource_missing", 404)
    refused(
        api.post("/v1/prices/price_nope", data={"nickname": "x"}), "id", "resource_missing", 404
    )


def test_list_filters(api):
    product = new_product(api)
    one_time = new_price(api, product["id"], unit_amount="1", lookup_key="basic")
    monthly = new_price(api, product["id"], unit_amount="2", **MONTHLY)
    yearly_eur = new_price(
        api, currency="eur", unit_amount="3", active="false", **{"recurring[interval]": "year"}
    )

    def ids(**params: str) -> list[str]:
        return [p["id"] for p in ok(api.get("/v1/prices", params=params))["data"]]

    assert ids() == [yearly_eur["id"], monthly["id"], one_time["id"]]
    assert ids(product=product["id"]) == [monthly["id"], one_time["id"]]
    assert ids(active="false") == [yearly_eur["id"]]
    assert ids(currency="EUR") == [yearly_eur["id"]]
    assert ids(type="one_time") == [one_time["id"]]
    assert ids(type="recurring") == [yearly_eur["id"], monthly["id"]]
    assert ids(**{"recurring[interval]": "month"}) == [monthly["id"]]
    assert ids(**{"recurring[usage_type]": "licensed"}) == [yearly_eur["id"], monthly["id"]]
    assert ids(**{"lookup_keys[0]": "basic", "lookup_keys[1]": "nope"}) == [one_time["id"]]
    assert ids(**{"created[lt]": str(one_time["created"])}) == []
    assert ids(limit="1", starting_after=monthly["id"]) == [one_time["id"]]
    listed = ok(api.get("/v1/prices", params={"limit": 2}))
    assert (listed["url"], listed["has_more"]) == ("/v1/prices", True)
    for item in listed["data"]:
        assert_matches(item, "price")
    refused(api.get("/v1/prices", params={"type": "sometimes"}), "type")
    refused(
        api.get("/v1/prices", params={f"lookup_keys[{n}]": str(n) for n in range(11)}),
        "lookup_keys",
    )


def test_another_accounts_product_cannot_be_priced(api, server, store):
    from conftest import new_account

    product = new_product(api)
    intruder = new_account(store, "Intruder")
    headers = {"Authorization": f"Bearer {intruder.secret_key}"}
    with httpx.Client(base_url=server.url, headers=headers) as client, unchanged(store):
        refused(
            client.post(
                "/v1/prices", data={"product": product["id"], "currency": "usd", "unit_amount": "1"}
            ),
            "product",
            "resource_missing",
            404,
        )
