"""What a subscription bills for a period, as invoice line drafts, and moving it on a period.

The line builders are pure: loaded rows in, ``LineDraft`` out, each line carrying its
derivation in ``explain`` (the price, the quantity and where it came from, the rating, the
window). Licensed items bill in advance for the period that starts; metered items bill in
arrears for the period that ended, from the usage the caller measured. The renewal engine
calls them for many subscriptions at once; ``items_of`` loads their items in a few
statements whatever their number.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from types import MappingProxyType
from typing import Any

import sqlalchemy as sa

from remit.billing.domain.proration import Proration, prorate
from remit.billing.invoices.drafts import LineDraft
from remit.billing.subscriptions import status
from remit.billing.subscriptions.tables import subscription_items, subscriptions
from remit.catalog import prices_terms
from remit.catalog.domain.models import PricingModel
from remit.catalog.domain.rating import Rating, billable_usage, decimal_text, rate
from remit.catalog.tables import prices, products
from remit.metering.tables import billing_meters
from remit.primitives.money import RoundingMode, format_amount

# Ids per IN list: far under both databases' bound-parameter limits.
CHUNK_IDS = 500
_NO_METADATA: Mapping[str, str] = MappingProxyType({})


@dataclass(frozen=True)
class ItemView:
    """One live subscription item with what billing it needs, loaded by ``items_of``."""

    id: str
    price_row: Any
    quantity: int | None
    tax_rates: tuple[str, ...]
    discounts: tuple[str, ...]
    product_name: str | None = None
    # The aggregation formula of a metered price's meter (explains name it).
    meter_formula: str | None = None
    metadata: Mapping[str, str] = field(default_factory=lambda: _NO_METADATA)

    @property
    def metered(self) -> bool:
        return bool(self.price_row.recurring_usage_type == "metered")


def _chunks(ids: Sequence[str]) -> list[Sequence[str]]:
    return [ids[at : at + CHUNK_IDS] for at in range(0, len(ids), CHUNK_IDS)]


def items_of(
    conn: sa.Connection, account_id: str, subscription_ids: Sequence[str]
) -> dict[str, list[ItemView]]:
    """Subscription id -> its live items in creation order (every id asked is a key)."""
    found: dict[str, list[ItemView]] = {sub_id: [] for sub_id in subscription_ids}
    rows: list[Any] = []
    t = subscription_items
    for chunk in _chunks(list(found)):
        rows += conn.execute(
            sa.select(t)
            .where(t.c.account_id == account_id, t.c.subscription.in_(chunk))
            .where(t.c.deleted.is_(False))
            .order_by(t.c.id)
        ).all()
    price_rows = _prices(conn, account_id, sorted({row.price for row in rows}))
    names = _product_names(conn, account_id, sorted({p.product for p in price_rows.values()}))
    meter_ids = {p.recurring_meter for p in price_rows.values() if p.recurring_meter}
    formulas = _meter_formulas(conn, account_id, sorted(meter_ids))
    for row in rows:
        price_row = price_rows[row.price]
        found[row.subscription].append(
            ItemView(
                id=row.id,
                price_row=price_row,
                quantity=row.quantity,
                tax_rates=tuple(row.tax_rates),
                discounts=tuple(row.discounts),
                product_name=names.get(price_row.product),
                meter_formula=formulas.get(price_row.recurring_meter),
                metadata=MappingProxyType(dict(row.metadata)),
            )
        )
    return found


def _prices(conn: sa.Connection, account_id: str, ids: Sequence[str]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for chunk in _chunks(ids):
        query = sa.select(prices).where(prices.c.account_id == account_id, prices.c.id.in_(chunk))
        found.update((row.id, row) for row in conn.execute(query))
    return found


def _product_names(conn: sa.Connection, account_id: str, ids: Sequence[str]) -> dict[str, str]:
    found: dict[str, str] = {}
    for chunk in _chunks(ids):
        query = sa.select(products.c.id, products.c.name).where(
            products.c.account_id == account_id, products.c.id.in_(chunk)
        )
        found.update((row.id, row.name) for row in conn.execute(query))
    return found


def _meter_formulas(conn: sa.Connection, account_id: str, ids: Sequence[str]) -> dict[str, str]:
    found: dict[str, str] = {}
    t = billing_meters
    for chunk in _chunks(ids):
        query = sa.select(t.c.id, t.c.formula).where(
            t.c.account_id == account_id, t.c.id.in_(chunk)
        )
        found.update((row.id, row.formula) for row in conn.execute(query))
    return found


def rate_item(
    item: ItemView,
    currency: str,
    quantity: Decimal,
    rounding: RoundingMode,
    models: Mapping[str, PricingModel],
) -> Rating:
    """What ``quantity`` of the item's price costs for one whole period in ``currency``."""
    terms = prices_terms.terms(item.price_row, currency)
    return rate(terms, quantity, rounding, models)


def unit_amount(item: ItemView, currency: str) -> Decimal | None:
    """The per-unit price in ``currency`` (its own or a currency option); None when tiered."""
    if item.price_row.billing_scheme != "per_unit":
        return None
    return prices_terms.terms(item.price_row, currency).unit_amount


def describe(item: ItemView, quantity: int | None, currency: str) -> str:
    """Stripe's line description: ``3 × Seats (at 20.00 USD / month)``."""
    name = item.product_name or item.price_row.product
    head = f"{quantity if quantity is not None else 0} × {name}"
    unit = unit_amount(item, currency)
    if unit is None or unit != unit.to_integral_value():
        return head
    per = interval_text(item.price_row)
    return f"{head} (at {format_amount(int(unit), currency)} / {per})"


def interval_text(price: Any) -> str:
    count = price.recurring_interval_count or 1
    return price.recurring_interval if count == 1 else f"{count} {price.recurring_interval}s"


def item_line(
    sub: Any,
    item: ItemView,
    amount: int,
    period: tuple[int, int],
    explain: Mapping[str, Any],
    *,
    quantity: int | None,
    description: str,
    proration: bool = False,
    discountable: bool = True,
) -> LineDraft:
    """A line of ``sub`` billing ``item``; one not ``discountable`` (its amount is net of
    the item's discounts already) carries none of them."""
    return LineDraft(
        amount=amount,
        currency=sub.currency,
        description=description,
        period_start=period[0],
        period_end=period[1],
        quantity=quantity,
        price=item.price_row.id,
        product=item.price_row.product,
        unit_amount_decimal=unit_amount(item, sub.currency),
        proration=proration,
        discountable=discountable,
        tax_rates=item.tax_rates,
        discounts=item.discounts if discountable else (),
        subscription=sub.id,
        subscription_item=item.id,
        metadata=dict(sub.metadata),
        explain=explain,
    )


def licensed_lines(
    sub: Any,
    items: Sequence[ItemView],
    period_start: int,
    period_end: int,
    *,
    rounding: RoundingMode,
    models: Mapping[str, PricingModel],
) -> list[LineDraft]:
    """Licensed items billed in advance for ``[period_start, period_end)``, at their quantity."""
    lines = []
    for item in items:
        if item.metered:
            continue
        quantity = item.quantity or 0
        rating = rate_item(item, sub.currency, Decimal(quantity), rounding, models)
        explain = {
            "kind": "licensed_in_advance",
            "price": item.price_row.id,
            "quantity": quantity,
            "quantity_source": "subscription_item",
            "period": {"start": period_start, "end": period_end},
        }
        lines.append(_rated_line(sub, item, rating, (period_start, period_end), explain, quantity))
    return lines


def metered_lines(
    sub: Any,
    items: Sequence[ItemView],
    usage: Mapping[str, Decimal],
    period_start: int,
    period_end: int,
    rounding: RoundingMode,
    models: Mapping[str, PricingModel],
) -> list[LineDraft]:
    """Metered items billed in arrears for ``[period_start, period_end)``.

    ``usage`` maps a subscription item id to its meter's aggregate over the window (an item
    missing from it used nothing). A negative total bills as zero, as Stripe does.
    """
    lines = []
    for item in items:
        if not item.metered:
            continue
        measured = usage.get(item.id, Decimal(0))
        quantity = billable_usage(measured)
        rating = rate_item(item, sub.currency, quantity, rounding, models)
        whole = int(quantity) if quantity == quantity.to_integral_value() else None
        explain = {
            "kind": "metered_in_arrears",
            "price": item.price_row.id,
            "quantity_source": {
                "meter": item.price_row.recurring_meter,
                "aggregation": item.meter_formula,
                "window": {"start": period_start, "end": period_end},
                "measured": decimal_text(measured),
                "billed": decimal_text(quantity),
            },
        }
        lines.append(_rated_line(sub, item, rating, (period_start, period_end), explain, whole))
    return lines


def _rated_line(
    sub: Any,
    item: ItemView,
    rating: Rating,
    period: tuple[int, int],
    explain: Mapping[str, Any],
    quantity: int | None,
) -> LineDraft:
    """A line billing ``rating`` of ``quantity``, the rating last in its derivation."""
    return item_line(
        sub, item, rating.amount_minor, period, {**explain, "rating": rating.explain()},
        quantity=quantity, description=describe(item, quantity, sub.currency),
    )  # fmt: skip


def trial_lines(
    sub: Any, items: Sequence[ItemView], period_start: int, period_end: int
) -> list[LineDraft]:
    """The zero lines of a trial period's invoice (Stripe bills a trial as a $0 invoice)."""
    return [
        item_line(
            sub, item, 0, (period_start, period_end),
            {"kind": "trial", "price": item.price_row.id, "quantity": item.quantity,
             "period": {"start": period_start, "end": period_end}},
            quantity=item.quantity,
            description=f"Trial period for {item.product_name or item.price_row.product}",
        )
        for item in items
        if not item.metered
    ]  # fmt: skip


def stub_lines(
    sub: Any,
    items: Sequence[ItemView],
    stub: tuple[int, int],
    full_period: tuple[int, int],
    *,
    prorated: bool,
    rounding: RoundingMode,
    models: Mapping[str, PricingModel],
) -> list[LineDraft]:
    """Licensed items for a first period shorter than a whole one (up to a future anchor).

    ``full_period`` is the whole period on the anchor's grid that ends at the anchor; the
    stub is billed as its share of it, to the second (``prorated``), or free (Stripe's
    ``proration_behavior=none``: nothing is charged until the anchor).
    """
    lines = []
    for item in items:
        if item.metered:
            continue
        quantity = item.quantity or 0
        amount, explain = 0, {"kind": "free_until_anchor", "price": item.price_row.id}
        if prorated:
            rating = rate_item(item, sub.currency, Decimal(quantity), rounding, models)
            share = prorate(rating.exact_amount, *full_period, *stub, rounding, credit=False)
            amount, explain = share.amount, _prorated_explain(item, quantity, rating, share)
        lines.append(
            item_line(
                sub, item, amount, stub, explain, quantity=quantity, proration=prorated,
                description=describe(item, quantity, sub.currency),
            )
        )  # fmt: skip
    return lines


def _prorated_explain(
    item: ItemView, quantity: int, rating: Rating, share: Proration
) -> dict[str, Any]:
    return {
        "kind": "prorated",
        "price": item.price_row.id,
        "quantity": quantity,
        "rating": rating.explain(),
        "proration": share.explain(),
    }


def advance_period(
    conn: sa.Connection,
    sub_row: Any,
    to_start: int,
    to_end: int,
    *,
    latest_invoice: str | None = None,
) -> dict[str, Any]:
    """Move ``sub_row`` on to the period ``[to_start, to_end)``; returns the values written.

    A trial that has ended by ``to_start`` ends here (trialing -> active); the renewal's
    invoice, when given, becomes ``latest_invoice``; ``next_action_at`` is recomputed.
    """
    assert to_start < to_end, (to_start, to_end)
    values: dict[str, Any] = {"current_period_start": to_start, "current_period_end": to_end}
    trial_end = sub_row.trial_end
    if sub_row.status == "trialing" and trial_end is not None and trial_end <= to_start:
        values["status"] = "active"
    if latest_invoice is not None:
        values["latest_invoice"] = latest_invoice
    values["next_action_at"] = status.next_action_at({**sub_row._asdict(), **values})
    conn.execute(
        subscriptions.update()
        .where(subscriptions.c.id == sub_row.id, subscriptions.c.account_id == sub_row.account_id)
        .values(**values)
    )
    return values
