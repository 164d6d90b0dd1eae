"""The terms of a stored price in one of its currencies: what the billing engine rates.

Prices store canonical decimal strings; here they become the rating domain's immutable
``PriceTerms`` (``Decimal`` amounts), from a database row or from a rendered price.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

from remit.catalog.domain.terms import PriceTerms, Tier, TransformQuantity
from remit.primitives.errors import InvalidRequestError


def own_option(row: Any) -> dict[str, Any]:
    """A stored price's own currency in the shape of one of its ``currency_options``."""
    return {
        "unit_amount_decimal": row.unit_amount_decimal,
        "tiers": row.tiers,
        "custom_unit_amount": row.custom_unit_amount,
        "tax_behavior": row.tax_behavior,
    }


class CurrencyNotOffered(InvalidRequestError):
    """The price has no terms in the currency asked for."""


def terms(price: Any, currency: str) -> PriceTerms:
    """What ``price`` charges in ``currency`` (its own, or one of its currency options).

    ``price`` is a row from :func:`load` or an object from :func:`render` with ``tiers``
    and ``currency_options`` included. Raises :class:`CurrencyNotOffered` for another
    currency, and ``InvalidRequestError`` for a price whose customer names the amount.
    """
    view = _view(price, currency)
    code = currency.lower()
    option = view.own if code == view.currency else view.options.get(code)
    if option is None:
        offered = ", ".join(sorted({view.currency, *view.options}))
        raise CurrencyNotOffered(
            f"The price {view.id} is not offered in {code}; it is offered in {offered}.",
            code="parameter_invalid",
            param="currency",
        )
    if option["custom_unit_amount"] is not None:
        raise InvalidRequestError(
            f"The price {view.id} has a custom_unit_amount: its customer names the amount.",
            code="parameter_invalid",
            param="price",
        )
    unit = option["unit_amount_decimal"]
    return PriceTerms(
        currency=code,
        billing_scheme=view.billing_scheme,
        unit_amount=None if unit is None else Decimal(unit),
        tiers_mode=view.tiers_mode,
        tiers=tuple(_terms_tier(tier) for tier in option["tiers"] or ()),
        transform_quantity=(
            None if view.transform is None else TransformQuantity(**view.transform)
        ),
        config=view.config,
    )


def _terms_tier(tier: Mapping[str, Any]) -> Tier:
    unit, flat = tier["unit_amount_decimal"], tier["flat_amount_decimal"]
    return Tier(
        up_to=tier["up_to"],
        unit_amount=None if unit is None else Decimal(unit),
        flat_amount=None if flat is None else Decimal(flat),
    )


def _view(price: Any, currency: str) -> SimpleNamespace:
    """The stored shape of a price, from a row or from a rendered object."""
    if not isinstance(price, Mapping):
        return SimpleNamespace(
            id=price.id,
            currency=price.currency,
            billing_scheme=price.billing_scheme,
            tiers_mode=price.tiers_mode,
            transform=price.transform_quantity,
            config=price.pricing_config or {},
            own=own_option(price),
            options=dict(price.currency_options),
        )
    options = dict(price.get("currency_options") or {})
    if "currency_options" not in price and currency.lower() != price["currency"]:
        raise ValueError(
            "render the price with currency_options included (expand[]=currency_options) "
            "to read its terms in another currency"
        )
    own = options.pop(price["currency"], None) or {
        "unit_amount_decimal": price["unit_amount_decimal"],
        "tiers": price.get("tiers"),
        "custom_unit_amount": price["custom_unit_amount"],
    }
    if price["billing_scheme"] == "tiered" and own["tiers"] is None:
        raise ValueError("render the price with tiers included (expand[]=tiers) to read its terms")
    return SimpleNamespace(
        id=price["id"],
        currency=price["currency"],
        billing_scheme=price["billing_scheme"],
        tiers_mode=price["tiers_mode"],
        transform=price["transform_quantity"],
        config=price.get("pricing_config") or {},
        own=own,
        options=options,
    )
