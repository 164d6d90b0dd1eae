"""Checks on what a subscription may hold: its prices, quantities, currency and interval.

Every check reads and raises a Stripe-shaped error naming the param as sent; none writes.
Services run them all before their first write, so a refused request changes nothing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from remit.billing.subscriptions.lines import ItemView
from remit.billing.subscriptions.status import TERMINAL
from remit.billing.subscriptions.tables import subscriptions
from remit.billing.taxes import tax_rates
from remit.catalog import prices, prices_terms, products
from remit.metering import meters
from remit.primitives.errors import InvalidRequestError, invalid_parameter

# Stripe's limit on the items of one subscription.
MAX_ITEMS = 20


@dataclass(frozen=True)
class CheckedItem:
    """One item as a request asked for it, its price loaded and checked."""

    param: str  # "items[0]" as sent
    price_row: Any
    quantity: int | None
    tax_rates: tuple[str, ...]
    discount_specs: tuple[Mapping[str, str], ...]
    metadata: Mapping[str, str] = field(default_factory=dict)
    product_name: str | None = None
    meter_formula: str | None = None

    def view(self, item_id: str, discounts: tuple[str, ...] = ()) -> ItemView:
        return ItemView(
            id=item_id,
            price_row=self.price_row,
            quantity=self.quantity,
            tax_rates=self.tax_rates,
            discounts=discounts,
            product_name=self.product_name,
            meter_formula=self.meter_formula,
            metadata=self.metadata,
        )


def recurring_price(conn: sa.Connection, account_id: str, price_id: str, param: str) -> Any:
    """An active recurring price whose meter (when metered) is active."""
    price = prices.load(conn, account_id, price_id, param)
    if price.type != "recurring":
        raise invalid_parameter(
            param,
            f"The price specified is set to `type={price.type}` but this field only accepts "
            "prices with `type=recurring`.",
        )
    if not price.active:
        raise invalid_parameter(
            param, "The price specified is inactive. This field only accepts active prices."
        )
    if price.recurring_usage_type == "metered" and price.recurring_meter:
        meter = meters.load(conn, account_id, price.recurring_meter, param)
        if meter.status != "active":
            raise invalid_parameter(
                param,
                f"The price `{price.id}` is metered by the meter `{meter.id}`, which is "
                f"{meter.status}; a subscription cannot start billing an inactive meter.",
            )
    return price


def quantity_for(price: Any, given: int | None, param: str) -> int | None:
    """The item's quantity: none for metered prices (usage decides), default 1 otherwise."""
    if price.recurring_usage_type == "metered":
        if given is not None:
            raise invalid_parameter(
                f"{param}[quantity]",
                "Quantity should not be specified where usage_type is `metered`. "
                f"Remove quantity from `{param}`.",
            )
        return None
    return 1 if given is None else given


def offered_in(price: Any, currency: str, param: str) -> None:
    """Refuse a price that has no terms in the subscription's currency."""
    try:
        prices_terms.terms(price, currency)
    except prices_terms.CurrencyNotOffered as exc:
        offered = sorted({price.currency, *price.currency_options})
        raise invalid_parameter(
            param,
            f"The price `{price.id}` is offered in {', '.join(offered)}, which does not "
            f"include the subscription's currency `{currency}`. Every item of a subscription "
            "must bill in one currency.",
        ) from exc
    except InvalidRequestError as exc:
        raise invalid_parameter(param, exc.message) from exc


def grid_of(price: Any) -> tuple[str, int]:
    return price.recurring_interval, price.recurring_interval_count or 1


def same_interval(rows: Sequence[tuple[str, Any]]) -> tuple[str, int]:
    """The one billing interval every price shares; refuse a mix (``(param, price)`` pairs)."""
    grid = grid_of(rows[0][1])
    for param, price in rows[1:]:
        if grid_of(price) != grid:
            raise invalid_parameter(
                param,
                "The prices of one subscription must share a billing interval: "
                f"`{price.id}` bills every {grid_of(price)[1]} {grid_of(price)[0]}(s), the "
                f"others every {grid[1]} {grid[0]}(s).",
            )
    return grid


def distinct_prices(rows: Sequence[tuple[str, Any]]) -> None:
    seen: set[str] = set()
    for param, price in rows:
        if price.id in seen:
            raise invalid_parameter(
                param,
                f"Cannot add multiple subscription items with the same price: `{price.id}`.",
            )
        seen.add(price.id)


def customer_currency(conn: sa.Connection, customer: Any) -> str | None:
    """The currency a customer already bills in: its own, else its live subscriptions'."""
    if customer.currency is not None:
        return str(customer.currency)
    t = subscriptions.c
    found = conn.execute(
        sa.select(t.currency)
        .where(
            t.account_id == customer.account_id,
            t.customer == customer.id,
            t.status.notin_(tuple(TERMINAL)),
        )
        .limit(1)
    ).scalar()
    return None if found is None else str(found)


def choose_currency(conn: sa.Connection, customer: Any, given: str | None, first_price: Any) -> str:
    """The subscription's currency: as given, else the customer's, else the first price's.

    A customer who already bills in one currency keeps it, as on Stripe.
    """
    held = customer_currency(conn, customer)
    currency = str(given or held or first_price.currency)
    if held is not None and currency != held:
        raise invalid_parameter(
            "currency",
            "You cannot combine currencies on a single customer. This customer bills in "
            f"`{held}`, not `{currency}`.",
        )
    return currency


def check_item(
    conn: sa.Connection, account_id: str, spec: Mapping[str, Any], param: str
) -> CheckedItem:
    """One ``items[i]`` of a request (price, quantity, tax rates, discounts, metadata)."""
    price = recurring_price(conn, account_id, spec["price"], f"{param}[price]")
    rates = tuple(spec.get("tax_rates") or ())
    tax_rates.check_attachable(conn, account_id, rates, f"{param}[tax_rates]")
    meter_formula = None
    if price.recurring_meter:
        meter_formula = meters.load(conn, account_id, price.recurring_meter).formula
    return CheckedItem(
        param=param,
        price_row=price,
        quantity=quantity_for(price, spec.get("quantity"), param),
        tax_rates=rates,
        discount_specs=tuple(spec.get("discounts") or ()),
        metadata=spec["metadata"].apply({}) if "metadata" in spec else {},
        product_name=products.load(conn, account_id, price.product).name,
        meter_formula=meter_formula,
    )


def check_items(
    conn: sa.Connection, account_id: str, specs: Sequence[Mapping[str, Any]]
) -> list[CheckedItem]:
    if not specs:
        raise invalid_parameter("items", "A subscription needs at least one item.")
    if len(specs) > MAX_ITEMS:
        raise invalid_parameter("items", f"A subscription can have at most {MAX_ITEMS} items.")
    return [check_item(conn, account_id, spec, f"items[{i}]") for i, spec in enumerate(specs)]


def collection(method: str, days_until_due: int | None) -> tuple[str, int | None]:
    """``collection_method`` and ``days_until_due`` as they must go together."""
    if method == "send_invoice" and days_until_due is None:
        raise InvalidRequestError(
            "Missing required param: days_until_due. A subscription with "
            "collection_method=send_invoice needs days_until_due.",
            code="parameter_missing",
            param="days_until_due",
        )
    if method == "charge_automatically" and days_until_due is not None:
        raise invalid_parameter(
            "days_until_due",
            "days_until_due can only be set when collection_method is send_invoice.",
        )
    return method, days_until_due


def cancel_terms(
    params: Mapping[str, Any], now_ts: int, period_start_ts: int
) -> tuple[int | None, bool]:
    """``cancel_at`` (a future moment) and ``cancel_at_period_end``, never both."""
    cancel_at = params.get("cancel_at")
    at_period_end = bool(params.get("cancel_at_period_end", False))
    if cancel_at is not None and at_period_end:
        raise invalid_parameter(
            "cancel_at_period_end", "You cannot set both cancel_at and cancel_at_period_end."
        )
    if cancel_at is not None and cancel_at <= max(now_ts, period_start_ts):
        raise invalid_parameter("cancel_at", "cancel_at must be in the future.")
    return cancel_at, at_period_end
