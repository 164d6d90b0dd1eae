"""A demanding caller's bad input, at every nesting level of a product or a price: each answer
is a Stripe error naming the bracket path that was sent, and nothing is written."""

from __future__ import annotations

import pytest
from catalog_support import (
    MATRIX,
    client_with_plugins,
    new_price,
    new_product,
    ok,
    refused,
    unchanged,
)

BAD_AMOUNTS = [
    # (sent, error code); none of these is a whole number of minor units.
    ("1e3", "parameter_invalid_integer"),
    ("100.0", "parameter_invalid_integer"),
    ("NaN", "parameter_invalid_integer"),
    ("Infinity", "parameter_invalid_integer"),
    ("-1", "parameter_invalid_integer"),
    ("9223372036854775808", "parameter_invalid_integer"),
    ("99999999999999999999999", "parameter_invalid_integer"),
    ("0x10", "parameter_invalid_integer"),
]
BAD_DECIMALS = [
    "NaN",
    "Infinity",
    "-Infinity",
    "0.1234567890123",  # 13 places
    "1e-13",
    "-0.5",
    "100000000000000000000.000000000001",
    "1e21",
    " 1",
    ".5",
    "1_000",
    "1,5",
]
# Where an integer amount may appear, as (param prefix, the rest of a valid request).
AMOUNT_PLACES = [
    ("unit_amount", {}),
    ("currency_options[eur][unit_amount]", {"unit_amount": "1"}),
    (
        "tiers[0][flat_amount]",
        {
            "billing_scheme": "tiered",
            "tiers_mode": "volume",
            "tiers[0][up_to]": "inf",
            "tiers[0][unit_amount]": "1",
        },
    ),
    (
        "currency_options[eur][tiers][0][unit_amount]",
        {
            "billing_scheme": "tiered",
            "tiers_mode": "volume",
            "tiers[0][up_to]": "inf",
            "tiers[0][unit_amount]": "1",
            "currency_options[eur][tiers][0][up_to]": "inf",
        },
    ),
    ("custom_unit_amount[maximum]", {"custom_unit_amount[enabled]": "true"}),
]
DECIMAL_PLACES = [
    ("unit_amount_decimal", {}),
    ("currency_options[eur][unit_amount_decimal]", {"unit_amount": "1"}),
    (
        "tiers[0][flat_amount_decimal]",
        {
            "billing_scheme": "tiered",
            "tiers_mode": "graduated",
            "tiers[0][up_to]": "inf",
            "tiers[0][unit_amount]": "1",
        },
    ),
]


@pytest.mark.parametrize(("place", "rest"), AMOUNT_PLACES)
@pytest.mark.parametrize(("sent", "code"), BAD_AMOUNTS)
def test_an_amount_is_a_whole_number_of_minor_units_at_every_level(
    api, store, place, rest, sent, code
):
    product = new_product(api)["id"]
    data = {"product": product, "currency": "usd", **rest, place: sent}
    with unchanged(store):
        refused(api.post("/v1/prices", data=data), place, code)


@pytest.mark.parametrize(("place", "rest"), DECIMAL_PLACES)
@pytest.mark.parametrize("sent", BAD_DECIMALS)
def test_a_decimal_amount_is_exact_finite_and_bounded_at_every_level(api, store, place, rest, sent):
    product = new_product(api)["id"]
    data = {"product": product, "currency": "usd", **rest, place: sent}
    with unchanged(store):
        refused(api.post("/v1/prices", data=data), place)


@pytest.mark.parametrize("sent", ["1e3", "NaN", "-1", "1.5"])
def test_default_price_data_amounts_are_checked_inside_their_hash(api, store, sent):
    data = {
        "name": "Widget",
        "default_price_data[currency]": "usd",
        "default_price_data[unit_amount]": "1",
        "default_price_data[currency_options][eur][unit_amount]": sent,
    }
    with unchanged(store):
        refused(
            api.post("/v1/products", data=data),
            "default_price_data[currency_options][eur][unit_amount]",
            "parameter_invalid_integer",
        )


def test_a_decimal_in_exponent_form_is_read_exactly(api):
    # The SDKs send str(Decimal), which writes 0.00001 as 1E-5.
    price = new_price(api, unit_amount_decimal="1.5E-5")
    assert (price["unit_amount"], price["unit_amount_decimal"]) == (None, "0.000015")
    price = new_price(api, unit_amount_decimal="1e3")
    assert (price["unit_amount"], price["unit_amount_decimal"]) == (1000, "1000")


SPARSE_TIERS = [
    # Indices need not be dense; an error names the index the caller sent, not the position.
    (
        {
            "tiers[0][up_to]": "10",
            "tiers[0][unit_amount]": "5",
            "tiers[3][up_to]": "5",
            "tiers[3][unit_amount]": "1",
            "tiers[7][up_to]": "inf",
            "tiers[7][unit_amount]": "1",
        },
        "tiers[3][up_to]",
    ),
    (
        {"tiers[2][up_to]": "10", "tiers[2][unit_amount]": "5", "tiers[5][up_to]": "inf"},
        "tiers[5]",
    ),
    (
        {
            "tiers[0][up_to]": "inf",
            "tiers[0][unit_amount]": "5",
            "currency_options[eur][tiers][4][up_to]": "3",
            "currency_options[eur][tiers][4][unit_amount]": "5",
        },
        "currency_options[eur][tiers][4][up_to]",
    ),
]


@pytest.mark.parametrize(("tiers", "param"), SPARSE_TIERS)
def test_a_tier_error_names_the_index_that_was_sent(api, store, tiers, param):
    product = new_product(api)["id"]
    data = {
        "product": product,
        "currency": "usd",
        "billing_scheme": "tiered",
        "tiers_mode": "graduated",
        **tiers,
    }
    with unchanged(store):
        error = refused(api.post("/v1/prices", data=data), param)
    assert param in error["message"]


def test_sparse_tier_indices_keep_their_order(api):
    price = new_price(
        api,
        billing_scheme="tiered",
        tiers_mode="volume",
        **{
            "tiers[2][up_to]": "10",
            "tiers[2][unit_amount]": "5",
            "tiers[9][up_to]": "inf",
            "tiers[9][unit_amount]": "3",
            "expand[]": "tiers",
        },
    )
    assert [(t["up_to"], t["unit_amount"]) for t in price["tiers"]] == [(10, 5), (None, 3)]


@pytest.mark.parametrize("height", ["99999999999999999999", "18446744073709551616", "1000000001"])
def test_package_dimensions_beyond_a_plain_json_number_are_refused(api, store, height):
    data = {
        "name": "Crate",
        "package_dimensions[height]": height,
        "package_dimensions[length]": "1",
        "package_dimensions[weight]": "1",
        "package_dimensions[width]": "1",
    }
    with unchanged(store):
        refused(api.post("/v1/products", data=data), "package_dimensions[height]")


def test_the_largest_package_dimension_reads_back_exactly(api):
    data = {
        "name": "Crate",
        "package_dimensions[height]": "1000000000",
        "package_dimensions[length]": "999999999.99",
        "package_dimensions[weight]": "0.01",
        "package_dimensions[width]": "123456789.12",
    }
    product = ok(api.post("/v1/products", data=data))
    # A fractional dimension is a JSON number (as on Stripe) with its two places intact.
    assert product["package_dimensions"] == {
        "height": 1000000000,
        "length": 999999999.99,
        "weight": 0.01,
        "width": 123456789.12,
    }
    assert '"length": 999999999.99' in api.get(f"/v1/products/{product['id']}").text


MIXED_OPTIONS = [
    # Every currency of one price is priced the same way: fixed, or named by the customer.
    (
        {"unit_amount": "3", "currency_options[eur][custom_unit_amount][enabled]": "true"},
        "currency_options[eur][custom_unit_amount]",
        "parameter_invalid",
    ),
    (
        {"custom_unit_amount[enabled]": "true", "currency_options[eur][unit_amount]": "5"},
        "currency_options[eur][unit_amount]",
        "parameter_invalid",
    ),
    (
        {"custom_unit_amount[enabled]": "true", "currency_options[eur][tax_behavior]": "inclusive"},
        "currency_options[eur][custom_unit_amount]",
        "parameter_missing",
    ),
]


@pytest.mark.parametrize(("data", "param", "code"), MIXED_OPTIONS)
def test_a_currency_option_prices_the_way_the_price_does(api, store, data, param, code):
    product = new_product(api)["id"]
    with unchanged(store):
        refused(
            api.post("/v1/prices", data={"product": product, "currency": "usd", **data}),
            param,
            code,
        )


def test_options_added_later_price_the_way_the_price_does(api, store):
    fixed = new_price(api, unit_amount="3")
    custom = new_price(api, **{"custom_unit_amount[enabled]": "true"})
    with unchanged(store):
        refused(
            api.post(
                f"/v1/prices/{fixed['id']}",
                data={"currency_options[gbp][custom_unit_amount][enabled]": "true"},
            ),
            "currency_options[gbp][custom_unit_amount]",
        )
        refused(
            api.post(
                f"/v1/prices/{custom['id']}", data={"currency_options[gbp][unit_amount]": "5"}
            ),
            "currency_options[gbp][unit_amount]",
        )
    added = ok(
        api.post(
            f"/v1/prices/{custom['id']}",
            data={
                "currency_options[gbp][custom_unit_amount][enabled]": "true",
                "currency_options[gbp][custom_unit_amount][minimum]": "100",
                "expand[]": "currency_options",
            },
        )
    )
    assert added["currency_options"]["gbp"]["custom_unit_amount"] == {
        "maximum": None,
        "minimum": 100,
        "preset": None,
    }


def test_an_update_refuses_a_blank_lookup_key_as_create_does(api, store):
    price = new_price(api, unit_amount="1", lookup_key="gold")
    with unchanged(store):
        refused(
            api.post(f"/v1/prices/{price['id']}", data={"lookup_key": "   "}),
            "lookup_key",
            "parameter_invalid_string_blank",
        )
    cleared = ok(api.post(f"/v1/prices/{price['id']}", data={"lookup_key": ""}))
    assert cleared["lookup_key"] is None


@pytest.fixture
def matrix_api(store, account):
    with client_with_plugins(store, account, frozenset({"matrix_pricing"})) as client:
        yield client


@pytest.mark.parametrize(
    "option",
    [
        {"currency_options[eur][tax_behavior]": "exclusive"},
        {"currency_options[eur][unit_amount]": "5"},
        {"currency_options[eur][custom_unit_amount][enabled]": "true"},
    ],
)
def test_a_plugin_model_price_gains_no_currency_option_later(matrix_api, store, option):
    # Its config's amounts are in its own currency: no other currency can be priced by it.
    price = new_price(matrix_api, **MATRIX)
    with unchanged(store):
        refused(matrix_api.post(f"/v1/prices/{price['id']}", data=option), "currency_options")


def test_a_refused_price_leaves_no_product_from_its_product_data(api, store):
    new_price(api, unit_amount="1", lookup_key="taken")
    data = {
        "currency": "usd",
        "unit_amount": "2",
        "lookup_key": "taken",
        "product_data[name]": "Orphan",
        "product_data[id]": "orphan",
    }
    with unchanged(store):
        refused(api.post("/v1/prices", data=data), "lookup_key")
    assert api.get("/v1/products/orphan").status_code == 404


def test_a_deactivated_meter_cannot_be_attached_to_a_price(api, store):
    # docs.stripe.com/api/billing/meter/deactivate: "You can't attach a deactivated meter to a
    # price." Reactivated, it can be again.
    body = {"display_name": "Calls", "event_name": "calls", "default_aggregation[formula]": "sum"}
    meter = ok(api.post("/v1/billing/meters", data=body))["id"]
    ok(api.post(f"/v1/billing/meters/{meter}/deactivate"))
    metered = {
        "unit_amount": "1",
        "recurring[interval]": "month",
        "recurring[usage_type]": "metered",
        "recurring[meter]": meter,
    }
    product = new_product(api)["id"]
    with unchanged(store):
        refused(
            api.post("/v1/prices", data={"product": product, "currency": "usd", **metered}),
            "recurring[meter]",
        )
    ok(api.post(f"/v1/billing/meters/{meter}/reactivate"))
    assert new_price(api, product, **metered)["recurring"]["meter"] == meter
