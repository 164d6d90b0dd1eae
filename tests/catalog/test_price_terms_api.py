"""What the billing engine reads from a stored price: the terms in each offered currency,
and the config of a plugin pricing model."""

from __future__ import annotations

from decimal import Decimal

import pytest
from catalog_support import (
    MATRIX,
    MONTHLY,
    TIERED,
    client_with_plugins,
    new_price,
    ok,
    refused,
    unchanged,
)

from api.test_contract import assert_matches
from remit.catalog import prices
from remit.catalog.domain.rating import rate
from remit.catalog.domain.terms import PriceTerms, Tier, TransformQuantity
from remit.catalog.models import pricing_models
from remit.plugins.manager import make_manager
from remit.primitives.errors import InvalidRequestError
from remit.primitives.money import RoundingMode


@pytest.fixture
def matrix_api(store, account):  # type: ignore[no-untyped-def]
    with client_with_plugins(store, account, frozenset({"matrix_pricing"})) as client:
        yield client


def test_a_plugin_pricing_model_prices_from_its_config(matrix_api, store, account):
    price = new_price(matrix_api, **MATRIX)
    assert price["billing_scheme"] == "matrix"
    assert price["pricing_config"] == {
        "dimensions": ["region"],
        "cells": [
            {"match": {"region": "eu"}, "unit_amount_decimal": "12.5", "flat_amount_decimal": None}
        ],
        "default_unit_amount_decimal": "20",
    }
    assert_matches(price, "price", allowed_extra=frozenset({"pricing_config"}))
    assert ok(matrix_api.get(f"/v1/prices/{price['id']}")) == price
    with store.read() as conn:
        terms = prices.terms(prices.load(conn, account.account.id, price["id"]), "usd")
    assert terms.config == price["pricing_config"]
    models = pricing_models(make_manager(frozenset({"matrix_pricing"})))
    # 3 units in eu at 12.5 = 37.5, rounded once; elsewhere the default 20 each.
    assert (
        rate(terms, Decimal(3), RoundingMode.HALF_UP, models, {"region": "eu"}).amount_minor == 38
    )
    assert (
        rate(terms, Decimal(3), RoundingMode.HALF_UP, models, {"region": "us"}).amount_minor == 60
    )
    with unchanged(store):
        refused(
            matrix_api.post(
                "/v1/prices",
                data={
                    **MATRIX,
                    "product": price["product"],
                    "currency": "usd",
                    "pricing_config[cells][0][unit_amount_decimal]": "1.0000000000001",
                },
            ),
            "pricing_config[cells][0][unit_amount_decimal]",
        )
        refused(
            matrix_api.post(
                "/v1/prices",
                data={**MATRIX, "product": price["product"], "currency": "usd", "unit_amount": "5"},
            ),
            "unit_amount",
        )
        refused(
            matrix_api.post(
                "/v1/prices",
                data={
                    **MATRIX,
                    "product": price["product"],
                    "currency": "usd",
                    "currency_options[eur][unit_amount]": "5",
                },
            ),
            "currency_options",
        )


# -- terms for the billing engine -------------------------------------------------------------
def test_terms_in_each_offered_currency(api, store, account):
    price = new_price(
        api,
        **TIERED,
        **MONTHLY,
        **{
            "transform_quantity[divide_by]": "100",
            "transform_quantity[round]": "up",
            "currency_options[eur][tiers][0][up_to]": "10",
            "currency_options[eur][tiers][0][unit_amount]": "90",
            "currency_options[eur][tiers][1][up_to]": "inf",
            "currency_options[eur][tiers][1][unit_amount]": "80",
        },
    )
    transform = TransformQuantity(divide_by=100, round="up")
    expected_usd = PriceTerms(
        currency="usd",
        billing_scheme="tiered",
        tiers_mode="graduated",
        tiers=(
            Tier(up_to=10, unit_amount=Decimal(100), flat_amount=None),
            Tier(up_to=None, unit_amount=Decimal("0.000000000001"), flat_amount=Decimal(7)),
        ),
        transform_quantity=transform,
    )
    with store.read() as conn:
        row = prices.load(conn, account.account.id, price["id"])
    assert prices.terms(row, "usd") == expected_usd
    assert prices.terms(row, "EUR").tiers == (
        Tier(up_to=10, unit_amount=Decimal(90), flat_amount=None),
        Tier(up_to=None, unit_amount=Decimal(80), flat_amount=None),
    )
    rendered = ok(api.get(f"/v1/prices/{price['id']}?expand[]=tiers&expand[]=currency_options"))
    assert prices.terms(rendered, "usd") == expected_usd
    assert prices.terms(rendered, "eur") == prices.terms(row, "eur")
    with pytest.raises(prices.CurrencyNotOffered, match="offered in eur, usd"):
        prices.terms(row, "gbp")
    # 1,250 units -> 13 after the transform: 10 x 100 + 3 x 0.000000000001 + 7, rounded once.
    rating = rate(
        prices.terms(row, "usd"), Decimal(1250), RoundingMode.HALF_UP, pricing_models(None)
    )
    assert rating.amount_minor == 1007


def test_a_custom_amount_price_has_no_terms(api, store, account):
    price = new_price(api, **{"custom_unit_amount[enabled]": "true"})
    with store.read() as conn:
        row = prices.load(conn, account.account.id, price["id"])
    with pytest.raises(InvalidRequestError, match="custom_unit_amount"):
        prices.terms(row, "usd")


def test_a_rendered_price_without_its_options_does_not_claim_fewer_currencies(api):
    price = new_price(api, unit_amount="100", **{"currency_options[eur][unit_amount]": "90"})
    # Without expand[]=currency_options the object cannot tell which currencies it offers.
    with pytest.raises(ValueError, match="currency_options"):
        prices.terms(price, "eur")
    assert prices.terms(price, "usd").unit_amount == Decimal(100)
    expanded = ok(api.get(f"/v1/prices/{price['id']}", params={"expand[]": "currency_options"}))
    assert prices.terms(expanded, "eur").unit_amount == Decimal(90)
    with pytest.raises(prices.CurrencyNotOffered):
        prices.terms(expanded, "gbp")
