"""How an invoice item's amount is derived, and items as invoice line drafts.

An item's amount comes from exactly one source: ``amount`` as given, a one-time
``price`` rated for ``quantity`` by the rating engine, or a unit amount (``price_data`` of
one of the account's products, or ``unit_amount_decimal``) times ``quantity`` rounded once
with the account's mode. The source and the arithmetic are kept
in the item's ``explain``, which its invoice line carries on.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from remit.billing.invoices.drafts import LineDraft
from remit.catalog import prices, products
from remit.catalog.domain.rating import decimal_text, rate
from remit.catalog.domain.terms import EXACT
from remit.catalog.models import pricing_models
from remit.catalog.tables import prices as prices_table
from remit.context import CallContext
from remit.primitives.errors import InvalidRequestError, invalid_parameter
from remit.primitives.money import MAX_AMOUNT_MINOR, to_minor_units

SOURCES = ("amount", "price", "price_data", "unit_amount_decimal")
# An item's bound: an invoice's 250 lines of it still sum within 64-bit columns.
MAX_ITEM_AMOUNT = MAX_AMOUNT_MINOR // 1000


@dataclass(frozen=True)
class Derived:
    amount: int
    quantity: int
    price: str | None
    product: str | None
    unit_amount_decimal: str | None  # canonical text, as stored
    explain: dict[str, Any]


def price_param(params: Mapping[str, Any]) -> str | None:
    """The price named by ``pricing[price]`` (today's API) or ``price`` (older versions)."""
    pricing = params.get("pricing") or {}
    return pricing.get("price") or params.get("price")


def derive(
    conn: sa.Connection,
    ctx: CallContext,
    source: Mapping[str, Any],
    currency: str,
    quantity: int | None,
) -> Derived:
    """The amount of an item from ``source`` (the params, or an item's stored source)."""
    given = [key for key in SOURCES if source.get(key) is not None]
    if not given:
        raise InvalidRequestError(
            "Missing required param: amount, pricing[price], price_data or unit_amount_decimal.",
            code="parameter_missing",
            param="amount",
        )
    if len(given) > 1:
        raise invalid_parameter(
            given[-1], f"You may only specify one of these parameters: {', '.join(given)}."
        )
    if given[0] == "amount":
        if quantity not in (None, 1):
            raise invalid_parameter(
                "quantity",
                "quantity goes with pricing[price] or unit_amount_decimal; amount is the "
                "item's whole amount.",
            )
        amount = source["amount"]
        explain = {"source": "amount", "amount": amount}
        return Derived(amount, 1, None, None, str(amount), explain)
    count = 1 if quantity is None else quantity
    if given[0] == "price":
        return _rated(conn, ctx, source["price"], currency, count)
    if given[0] == "price_data":
        return _inline(conn, ctx, source["price_data"], currency, count)
    return _by_unit(ctx, source["unit_amount_decimal"], count, None, "unit_amount_decimal")


def _by_unit(
    ctx: CallContext, unit: Decimal, count: int, product: str | None, source: str
) -> Derived:
    """``unit`` times ``count``, rounded once with the account's mode."""
    exact = EXACT.multiply(unit, Decimal(count))
    amount = _bounded(to_minor_units(exact, ctx.account.rounding_mode))
    explain = {
        "source": source,
        "product": product,
        "unit_amount_decimal": decimal_text(unit),
        "quantity": count,
        "exact_amount": decimal_text(exact),
        "rounding": ctx.account.rounding_mode.value,
        "amount": amount,
    }
    return Derived(amount, count, None, product, decimal_text(unit), explain)


def _inline(
    conn: sa.Connection, ctx: CallContext, data: Mapping[str, Any], currency: str, count: int
) -> Derived:
    """``price_data``: a unit amount of one of the account's products, priced in place."""
    if data["currency"] != currency:
        raise invalid_parameter(
            "price_data[currency]", f"The item is in {currency}, not {data['currency']}."
        )
    product = products.load(conn, ctx.account_id, data["product"], "price_data[product]")
    unit = data.get("unit_amount_decimal")
    if unit is None:
        if data.get("unit_amount") is None:
            raise InvalidRequestError(
                "Missing required param: price_data[unit_amount].",
                code="parameter_missing",
                param="price_data[unit_amount]",
            )
        unit = Decimal(data["unit_amount"])
    return _by_unit(ctx, unit, count, str(product.id), "price_data")


def _rated(
    conn: sa.Connection, ctx: CallContext, price_id: str, currency: str, quantity: int
) -> Derived:
    row = prices.load(conn, ctx.account_id, price_id, param="pricing[price]")
    if not row.active:
        raise invalid_parameter(
            "pricing[price]", f"The price `{price_id}` is not active; it cannot be billed anew."
        )
    if row.type != "one_time":
        raise invalid_parameter(
            "pricing[price]",
            f"The price `{price_id}` is set to type=recurring, but invoice items take prices "
            "with type=one_time.",
        )
    terms = prices.terms(row, currency)
    rating = rate(terms, Decimal(quantity), ctx.account.rounding_mode, pricing_models(ctx.pm))
    explain = {
        "source": "price",
        "price": row.id,
        "product": row.product,
        "quantity": quantity,
        "rating": rating.explain(),
        "amount": rating.amount_minor,
    }
    unit = None if terms.unit_amount is None else decimal_text(terms.unit_amount)
    amount = _bounded(rating.amount_minor)
    return Derived(amount, quantity, row.id, row.product, unit, explain)


def _bounded(amount: int) -> int:
    if amount > MAX_ITEM_AMOUNT:
        raise invalid_parameter("quantity", "The item's amount is too large to invoice.")
    return amount


def stored_source(item: Any) -> dict[str, Any]:
    """The source an item's amount was derived from, to derive it again (a new quantity)."""
    kind = item.explain.get("source", "amount")
    if kind == "price":
        return {"price": item.price}
    if kind == "unit_amount_decimal":
        return {"unit_amount_decimal": Decimal(item.unit_amount_decimal)}
    if kind == "price_data":
        unit = Decimal(item.unit_amount_decimal)
        inline = {"currency": item.currency, "product": item.explain["product"]}
        return {"price_data": {**inline, "unit_amount_decimal": unit}}
    return {"amount": item.amount}


def line_drafts(conn: sa.Connection, account_id: str, items: Sequence[Any]) -> list[LineDraft]:
    """Items as the lines of the invoice that takes them, with their price's product."""
    price_ids = sorted({item.price for item in items if item.price is not None})
    owners: dict[str, str] = {}
    if price_ids:
        rows = conn.execute(
            sa.select(prices_table.c.id, prices_table.c.product).where(
                prices_table.c.account_id == account_id, prices_table.c.id.in_(price_ids)
            )
        )
        owners = {row.id: row.product for row in rows}
    return [
        line_draft(item, owners.get(item.price or "", item.explain.get("product")))
        for item in items
    ]


def line_draft(item: Any, product: str | None) -> LineDraft:
    unit = item.unit_amount_decimal
    return LineDraft(
        amount=item.amount,
        currency=item.currency,
        description=item.description,
        period_start=item.period_start,
        period_end=item.period_end,
        quantity=item.quantity,
        price=item.price,
        product=product,
        unit_amount_decimal=None if unit is None else Decimal(unit),
        proration=item.proration,
        discountable=item.discountable,
        tax_rates=tuple(item.tax_rates),
        discounts=tuple(item.discounts),
        parent_type="invoice_item_details",
        subscription=item.subscription,
        subscription_item=item.subscription_item,
        invoice_item=item.id,
        metadata=dict(item.metadata),
        explain=dict(item.explain),
    )
