"""Prorations of a subscription change, to the second (Stripe's rules).

A change inside a period (a new price, a new quantity, an item added or removed) is billed
as two kinds of line over the rest of the period, ``[proration_date, period_end)``: a
credit for the unused time of what the subscription had, and a charge for the remaining
time of what it has now. Each is its item's whole-period amount (rated exactly, unrounded)
times ``seconds left / seconds in the period``, rounded once with the account's mode by
``remit.billing.domain.proration.prorate``. Only licensed items prorate: metered ones bill
their usage at the period's end whatever happened in between.

Pure: item views in, ``LineDraft`` values out; the caller stores them as pending invoice
items or puts them on an invoice (``always_invoice``) or a preview.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from remit.billing.domain.proration import prorate
from remit.billing.invoices.drafts import LineDraft
from remit.billing.subscriptions.lines import ItemView, describe, rate_item, unit_amount
from remit.catalog.domain.models import PricingModel
from remit.primitives.money import RoundingMode

PRORATION_BEHAVIORS = ("create_prorations", "always_invoice", "none")


def billed_terms(item: ItemView) -> tuple[str, int | None]:
    """What of an item a proration follows: its price and its quantity."""
    return item.price_row.id, item.quantity


def prorations(
    sub: Any,
    before: Sequence[ItemView],
    after: Sequence[ItemView],
    period: tuple[int, int],
    from_ts: int,
    *,
    rounding: RoundingMode,
    models: Mapping[str, PricingModel],
) -> list[LineDraft]:
    """Credits for the licensed items of ``before`` that changed or went, then charges for
    the licensed items of ``after`` that changed or came, over ``[from_ts, period end)``."""
    if from_ts >= period[1]:
        return []
    old = {item.id: item for item in before if not item.metered}
    new = {item.id: item for item in after if not item.metered}
    credits = [
        _proration_line(sub, item, period, from_ts, rounding, models, credit=True)
        for item_id, item in old.items()
        if item_id not in new or billed_terms(new[item_id]) != billed_terms(item)
    ]
    charges = [
        _proration_line(sub, item, period, from_ts, rounding, models, credit=False)
        for item_id, item in new.items()
        if item_id not in old or billed_terms(old[item_id]) != billed_terms(item)
    ]
    return credits + charges


def unused_time(
    sub: Any,
    items: Sequence[ItemView],
    period: tuple[int, int],
    from_ts: int,
    *,
    rounding: RoundingMode,
    models: Mapping[str, PricingModel],
) -> list[LineDraft]:
    """Credits for the unused time of every licensed item (a cancellation, a new cycle)."""
    return prorations(sub, items, [], period, from_ts, rounding=rounding, models=models)


def _proration_line(
    sub: Any,
    item: ItemView,
    period: tuple[int, int],
    from_ts: int,
    rounding: RoundingMode,
    models: Mapping[str, PricingModel],
    *,
    credit: bool,
) -> LineDraft:
    quantity = item.quantity or 0
    rating = rate_item(item, sub.currency, Decimal(quantity), rounding, models)
    share = prorate(rating.exact_amount, *period, from_ts, period[1], rounding, credit=credit)
    what = "Unused time on" if credit else "Remaining time on"
    when = datetime.fromtimestamp(from_ts, UTC).strftime("%d %b %Y")
    return LineDraft(
        amount=share.amount,
        currency=sub.currency,
        description=f"{what} {describe(item, quantity, sub.currency)} after {when}",
        period_start=from_ts,
        period_end=period[1],
        quantity=quantity,
        price=item.price_row.id,
        product=item.price_row.product,
        unit_amount_decimal=unit_amount(item, sub.currency),
        proration=True,
        # Stripe discounts no proration: the coupon already applied to what is credited.
        discountable=False,
        tax_rates=item.tax_rates,
        subscription=sub.id,
        subscription_item=item.id,
        metadata=dict(sub.metadata),
        explain={
            "kind": "proration",
            "price": item.price_row.id,
            "quantity": quantity,
            "rating": rating.explain(),
            "proration": share.explain(),
        },
    )
