"""The official Stripe SDK builds a catalog of every pricing model against remit unchanged."""

from __future__ import annotations

from decimal import Decimal

import pytest
import stripe


@pytest.fixture
def client(server, account) -> stripe.StripeClient:
    return stripe.StripeClient(
        account.secret_key, base_addresses={"api": server.url}, max_network_retries=0
    )


def test_products_through_the_sdk(client):
    product = client.v1.products.create(
        params={
            "id": "sdk-widget",
            "name": "Widget",
            "metadata": {"line": "hardware"},
            "marketing_features": [{"name": "Sturdy"}],
            "package_dimensions": {"height": 1.5, "length": 2, "weight": 3.25, "width": 4},
            "shippable": True,
            "default_price_data": {"currency": "usd", "unit_amount": 1999},
        }
    )
    assert isinstance(product, stripe.Product)
    assert product.id == "sdk-widget"
    assert product.package_dimensions is not None
    assert product.package_dimensions.weight == 3.25
    assert isinstance(product.default_price, str)
    expanded = client.v1.products.retrieve(product.id, params={"expand": ["default_price"]})
    assert isinstance(expanded.default_price, stripe.Price)
    assert expanded.default_price.unit_amount == 1999
    renamed = client.v1.products.update(product.id, params={"name": "Widget 2", "url": ""})
    assert (renamed.name, renamed.url) == ("Widget 2", None)
    plain = client.v1.products.create(params={"name": "Plain"})
    listed = client.v1.products.list(params={"shippable": True})
    assert [p.id for p in listed.data] == ["sdk-widget"]
    deleted = client.v1.products.delete(plain.id)
    assert deleted.deleted is True
    with pytest.raises(stripe.InvalidRequestError) as refused:
        client.v1.products.delete(product.id)
    assert "prices" in str(refused.value.user_message)
    with pytest.raises(stripe.InvalidRequestError) as missing:
        client.v1.products.retrieve(plain.id)
    assert missing.value.code == "resource_missing"


@pytest.fixture
def price(client):  # type: ignore[no-untyped-def]
    """Create a USD price of one product through the SDK."""
    product = client.v1.products.create(params={"name": "Compute"}).id

    def create(**params):  # type: ignore[no-untyped-def]
        return client.v1.prices.create(params={"product": product, "currency": "usd", **params})

    return create


TIERS = [
    {"up_to": 100, "unit_amount_decimal": Decimal("0.5"), "flat_amount": 1000},
    {"up_to": "inf", "unit_amount_decimal": Decimal("0.000000000001")},
]


def test_per_unit_and_tiered_prices_through_the_sdk(price):
    per_unit = price(unit_amount=1200, lookup_key="per_unit")
    assert (per_unit.unit_amount, per_unit.unit_amount_decimal) == (1200, Decimal(1200))
    assert per_unit.type == "one_time"

    packaged = price(unit_amount=500, transform_quantity={"divide_by": 10, "round": "up"})
    assert packaged.transform_quantity is not None
    assert (packaged.transform_quantity.divide_by, packaged.transform_quantity.round) == (10, "up")

    graduated = price(
        billing_scheme="tiered",
        tiers_mode="graduated",
        tiers=TIERS,
        recurring={"interval": "month"},
        expand=["tiers"],
    )
    assert graduated.tiers is not None
    assert [t.up_to for t in graduated.tiers] == [100, None]
    assert graduated.tiers[0].flat_amount == 1000
    assert graduated.tiers[1].unit_amount_decimal == Decimal("0.000000000001")
    assert graduated.tiers[1].unit_amount is None

    volume = price(billing_scheme="tiered", tiers_mode="volume", tiers=TIERS)
    assert volume.tiers_mode == "volume"

    # Stripe refuses tiers with transform_quantity; remit rates them (transform first).
    tiered_transform = price(
        billing_scheme="tiered",
        tiers_mode="volume",
        tiers=TIERS,
        transform_quantity={"divide_by": 1000, "round": "down"},
    )
    assert tiered_transform.transform_quantity is not None


def test_recurring_metered_and_multi_currency_prices_through_the_sdk(client, price):
    licensed = price(
        unit_amount=4900,
        recurring={"interval": "year", "interval_count": 1, "trial_period_days": 30},
        tax_behavior="exclusive",
    )
    assert licensed.recurring is not None
    assert (licensed.recurring.interval, licensed.recurring.usage_type) == ("year", "licensed")
    assert licensed.recurring.trial_period_days == 30

    meter = client.v1.billing.meters.create(
        params={
            "display_name": "API calls",
            "event_name": "api_calls",
            "default_aggregation": {"formula": "sum"},
        }
    )
    metered = price(
        unit_amount_decimal=Decimal("0.000000000001"),
        recurring={"interval": "month", "usage_type": "metered", "meter": meter.id},
    )
    assert metered.recurring is not None
    assert metered.recurring.meter == meter.id
    assert metered.unit_amount is None
    assert metered.unit_amount_decimal == Decimal("0.000000000001")
    by_meter = client.v1.prices.list(params={"recurring": {"meter": meter.id}})
    assert [p.id for p in by_meter.data] == [metered.id]

    twelve = price(unit_amount_decimal=Decimal("123456.789012345678"))
    assert twelve.unit_amount_decimal == Decimal("123456.789012345678")

    multi = price(
        unit_amount=1000,
        currency_options={
            "eur": {"unit_amount": 900, "tax_behavior": "inclusive"},
            "jpy": {"unit_amount_decimal": Decimal("150.25")},
        },
        expand=["currency_options"],
    )
    assert multi.currency_options is not None
    assert multi.currency_options["eur"].unit_amount == 900
    # The SDK types currency_options entries loosely: their decimals arrive as strings.
    assert multi.currency_options["jpy"].unit_amount_decimal == "150.25"
    assert multi.currency_options["usd"].unit_amount == 1000


def test_prices_listed_moved_and_archived_through_the_sdk(client, price):
    made = [
        price(unit_amount=1200, lookup_key="per_unit"),
        price(billing_scheme="tiered", tiers_mode="volume", tiers=TIERS),
        price(unit_amount=900, recurring={"interval": "week"}),
    ]
    # Every price is listed, newest first.
    listed = client.v1.prices.list(params={"product": made[0].product, "limit": 100})
    assert [p.id for p in listed.data] == [p.id for p in reversed(made)]

    # A lookup key moves to a new price atomically.
    replacement = price(unit_amount=1300, lookup_key="per_unit", transfer_lookup_key=True)
    by_key = client.v1.prices.list(params={"lookup_keys": ["per_unit"]})
    assert [p.id for p in by_key.data] == [replacement.id]
    assert client.v1.prices.retrieve(made[0].id).lookup_key is None

    archived = client.v1.prices.update(made[0].id, params={"active": False, "nickname": "old"})
    assert (archived.active, archived.nickname, archived.unit_amount) == (False, "old", 1200)
    with pytest.raises(stripe.InvalidRequestError) as refused:
        price(unit_amount_decimal=Decimal("1E-13"))
    assert refused.value.param == "unit_amount_decimal"
    with pytest.raises(stripe.InvalidRequestError) as refused:
        # A float is never money: 0.1 + 0.2 arrives with 17 places and is refused.
        price(tiers_mode="volume", billing_scheme="tiered", tiers=[
            {"up_to": "inf", "unit_amount_decimal": 0.1 + 0.2},
        ])  # fmt: skip
    assert refused.value.param == "tiers[0][unit_amount_decimal]"


@pytest.fixture
def matrix_client(store, account):  # type: ignore[no-untyped-def]
    from remit.api.app import RemitApp
    from remit.plugins.manager import make_manager
    from remit.primitives.clock import WallClock
    from remit.serving import ServerThread

    app = RemitApp(store, make_manager(frozenset({"matrix_pricing"})), WallClock())
    with ServerThread(app) as running:
        yield stripe.StripeClient(
            account.secret_key, base_addresses={"api": running.url}, max_network_retries=0
        )


def test_a_plugin_pricing_model_through_the_sdk(matrix_client):
    product = matrix_client.v1.products.create(params={"name": "GPU hours"}).id
    config = {
        "dimensions": ["region", "instance"],
        "cells": [
            {"match": {"region": "eu", "instance": "gpu"}, "unit_amount_decimal": Decimal("250")},
            {"match": {"region": "us", "instance": "gpu"}, "unit_amount_decimal": Decimal("199.5")},
        ],
        "default_unit_amount_decimal": Decimal("300"),
    }
    # billing_scheme and pricing_config beyond Stripe's enum: the SDK passes them through.
    price = matrix_client.v1.prices.create(
        params={  # type: ignore[typeddict-unknown-key]
            "product": product,
            "currency": "usd",
            "billing_scheme": "matrix",
            "pricing_config": config,
            "recurring": {"interval": "month"},
        }
    )
    assert price.billing_scheme == "matrix"
    assert price.unit_amount is None
    stored = price.to_dict()["pricing_config"]
    assert stored["dimensions"] == ["region", "instance"]
    assert [cell["unit_amount_decimal"] for cell in stored["cells"]] == ["250", "199.5"]
    assert matrix_client.v1.prices.retrieve(price.id).to_dict() == price.to_dict()
