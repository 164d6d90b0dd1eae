"""Catalog as a built-in plugin: the built-in pricing models and expandable objects."""

from __future__ import annotations

from typing import Any

from remit.catalog import prices, products
from remit.catalog.domain.models import BUILTIN_MODELS, PricingModel
from remit.plugins.hookspecs import hookimpl


@hookimpl
def remit_pricing_models() -> list[PricingModel]:
    return list(BUILTIN_MODELS)


@hookimpl
def remit_object_loaders() -> dict[str, Any]:
    # A product id may be caller-chosen ("gold-plan"), so a price's product field is
    # loaded by field name rather than by the id's prefix.
    return {
        "prod": products.retrieve,
        "price": prices.retrieve,
        "price.product": products.retrieve,
    }
