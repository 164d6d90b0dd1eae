"""Fuzzing price creation: a valid multi-currency tiered request with one key changed to junk,
dropped, or invented at some nesting level. Whatever arrives, the answer is a price that rates
or a Stripe error naming a parameter of the endpoint, never a 500, and a refusal writes
nothing."""

from __future__ import annotations

from decimal import Decimal

from catalog_support import new_product, snapshot
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from remit.api.v1.prices import CREATE
from remit.catalog import prices
from remit.catalog.domain.rating import RatingError, rate
from remit.catalog.models import pricing_models
from remit.primitives.money import RoundingMode

VALID = {
    "currency": "usd",
    "billing_scheme": "tiered",
    "tiers_mode": "graduated",
    "tiers[0][up_to]": "100",
    "tiers[0][unit_amount_decimal]": "0.25",
    "tiers[0][flat_amount]": "500",
    "tiers[1][up_to]": "inf",
    "tiers[1][unit_amount]": "1",
    "transform_quantity[divide_by]": "10",
    "transform_quantity[round]": "up",
    "recurring[interval]": "month",
    "currency_options[eur][tiers][0][up_to]": "50",
    "currency_options[eur][tiers][0][unit_amount]": "2",
    "currency_options[eur][tiers][1][up_to]": "inf",
    "currency_options[eur][tiers][1][flat_amount_decimal]": "0.5",
    "currency_options[eur][tax_behavior]": "exclusive",
    "metadata[k]": "v",
}
JUNK = [
    "", " ", "x", "-1", "0", "-0", "1.5", "1e3", "1E-13", "NaN", "Infinity", "inf", "INF",
    "99999999999999999999999", "99999999999999999999", "9223372036854775808",
    "true", "null", "[]", "{}", "0x1F",
    "１", "1,5", "1_0", "\x00", "a" * 300,
]  # fmt: skip
NEW_KEYS = [
    "tiers[2][up_to]", "tiers[0][bogus]", "tiers[]", "tiers[1000][up_to]", "tiers[0][0]",
    "currency_options[eur][tiers][5][unit_amount]", "currency_options[zzz][unit_amount]",
    "currency_options[usd][unit_amount]", "currency_options[eur][custom_unit_amount][enabled]",
    "recurring[meter]", "recurring[usage_type]", "transform_quantity[extra]", "unit_amount",
    "custom_unit_amount[enabled]", "product_data[name]", "pricing_config[x]", "expand[]",
]  # fmt: skip
TOP_LEVEL = frozenset(CREATE.root.fields) | {"product"}
MODELS = pricing_models(None)

changes = st.one_of(
    st.tuples(st.just("set"), st.sampled_from(sorted(VALID)), st.sampled_from(JUNK)),
    st.tuples(st.just("drop"), st.sampled_from(sorted(VALID)), st.just("")),
    st.tuples(st.just("add"), st.sampled_from(NEW_KEYS), st.sampled_from(JUNK)),
)


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(edits=st.lists(changes, min_size=1, max_size=3))
def test_any_price_request_is_rated_or_refused_cleanly(api, store, edits):
    data = {"product": new_product(api)["id"], **VALID}
    for action, key, value in edits:
        if action == "drop":
            data.pop(key, None)
        else:
            data[key] = value
    before = snapshot(store)
    response = api.post("/v1/prices", data=data)
    assert response.status_code in (200, 400, 404), response.text
    if response.status_code != 200:
        error = response.json()["error"]
        assert error["type"] == "invalid_request_error", error
        assert error.get("param", "").partition("[")[0] in TOP_LEVEL, error
        assert snapshot(store) == before, "a refused request wrote something"
        return
    price = response.json()
    read = api.get(f"/v1/prices/{price['id']}", params={"expand[]": ["tiers", "currency_options"]})
    rendered = read.json()
    for currency in rendered["currency_options"]:
        if rendered["custom_unit_amount"] is not None:
            continue
        terms = prices.terms(rendered, currency)
        for quantity in (Decimal(0), Decimal(1), Decimal(999), Decimal("12345.678")):
            try:
                rate(terms, quantity, RoundingMode.HALF_EVEN, MODELS)
            except RatingError as error:  # only a total past 64-bit minor units may refuse
                assert error.param == "quantity", error


UPDATE_KEYS = [
    "active", "nickname", "lookup_key", "transfer_lookup_key", "tax_behavior", "metadata",
    "metadata[k]", "currency_options", "currency_options[eur][tax_behavior]",
    "currency_options[eur][tiers][0][up_to]", "currency_options[eur][tiers][0][unit_amount]",
    "currency_options[gbp][tiers][0][up_to]", "currency_options[gbp][tiers][0][unit_amount]",
    "currency_options[gbp][unit_amount]", "currency_options[usd][tax_behavior]",
    "unit_amount", "tiers[0][up_to]", "expand[]",
]  # fmt: skip
update_edits = st.lists(
    st.tuples(st.sampled_from(UPDATE_KEYS), st.sampled_from([*JUNK, "exclusive", "false"])),
    min_size=1,
    max_size=4,
)


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(edits=update_edits)
def test_any_price_update_keeps_the_amounts_or_is_refused_cleanly(api, store, edits):
    data = {"product": new_product(api)["id"], **VALID}
    price = api.post("/v1/prices", data=data).json()
    query = {"expand[]": ["tiers", "currency_options"]}
    before_price = api.get(f"/v1/prices/{price['id']}", params=query).json()
    before = snapshot(store)
    response = api.post(f"/v1/prices/{price['id']}", data=dict(edits))
    assert response.status_code in (200, 400, 404), response.text
    if response.status_code != 200:
        error = response.json()["error"]
        assert error["type"] == "invalid_request_error", error
        assert snapshot(store) == before, "a refused update wrote something"
        return
    after_price = api.get(f"/v1/prices/{price['id']}", params=query).json()
    for currency in before_price["currency_options"]:
        # Amounts never change; an added currency option is the only new terms.
        assert prices.terms(after_price, currency) == prices.terms(before_price, currency)


PRODUCT = {
    "name": "Crate",
    "type": "good",
    "images[0]": "https://example.com/crate.png",
    "marketing_features[0][name]": "Sturdy",
    "package_dimensions[height]": "10.25",
    "package_dimensions[length]": "4",
    "package_dimensions[weight]": "0.5",
    "package_dimensions[width]": "7",
    "statement_descriptor": "CRATES",
    "default_price_data[currency]": "usd",
    "default_price_data[unit_amount_decimal]": "1999.5",
    "default_price_data[recurring][interval]": "year",
    "default_price_data[currency_options][eur][unit_amount]": "1800",
}


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    edits=st.lists(
        st.tuples(st.sampled_from(sorted(PRODUCT)), st.sampled_from(JUNK)), min_size=1, max_size=3
    )
)
def test_any_product_request_is_created_or_refused_cleanly(api, store, edits):
    before = snapshot(store)
    response = api.post("/v1/products", data={**PRODUCT, **dict(edits)})
    assert response.status_code in (200, 400), response.text
    if response.status_code == 400:
        assert response.json()["error"]["type"] == "invalid_request_error"
        assert snapshot(store) == before, "a refused request wrote something"
        return
    product = response.json()
    assert api.get(f"/v1/products/{product['id']}").json() == product
