"""Prorations of a subscription change, to the second (Stripe's rules).

A change inside a period (a new price, a new quantity, an item added or removed) is billed
as two kinds of line over the rest of the period, ``[proration_date, period_end)``: a
credit for the unused time of what the subscription had, and a charge for the remaining
time of what it has now. Each is its item's whole-period amount (rated exactly, unrounded)
times ``seconds left / seconds in the period``, rounded once with the account's mode by
``remit.billing.domain.proration.prorate``. Only licensed items prorate: metered ones bill
their usage at the period's end whatever happened in between.

As Stripe's default (``proration_discounts=included``), a proration is net of the percent-off
discounts in force on its item (the item's own, then the subscription's, each on what the
one before left), and the line is not discounted again: the unused time of a discounted
period is given back at the price that period was charged. Amount-off discounts stay on
the invoices of whole periods (how they spread depends on every line of an invoice).

Pure: item views in, ``LineDraft`` values out; the caller stores them as pending invoice
items or puts them on an invoice (``always_invoice``) or a preview.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from remit.billing.domain.proration import prorate
from remit.billing.domain.totals import DiscountTerms
from remit.billing.invoices.drafts import LineDraft
from remit.billing.subscriptions.lines import ItemView, describe, item_line, rate_item
from remit.catalog.domain.models import PricingModel
from remit.catalog.domain.terms import EXACT
from remit.primitives.money import RoundingMode

PRORATION_BEHAVIORS = ("create_prorations", "always_invoice", "none")
# Item id -> the discounts in force on it, in the order they apply.
DiscountsOf = Mapping[str, Sequence[DiscountTerms]]
_NONE: DiscountsOf = {}
_HUNDRED = Decimal(100)


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
    credit_discounts: DiscountsOf = _NONE,
    charge_discounts: DiscountsOf = _NONE,
) -> list[LineDraft]:
    """Credits for the licensed items of ``before`` that changed or went, then charges for
    the licensed items of ``after`` that changed or came, over ``[from_ts, period end)``;
    each net of its item's discounts (``credit_discounts`` as they were before the change,
    ``charge_discounts`` as they are after it)."""
    if from_ts >= period[1]:
        return []
    old = {item.id: item for item in before if not item.metered}
    new = {item.id: item for item in after if not item.metered}

    def changed(
        side: Mapping[str, ItemView], other: Mapping[str, ItemView], discounts: DiscountsOf,
        *, credit: bool,
    ) -> list[LineDraft]:  # fmt: skip
        """Lines for the items of ``side`` that ``other`` lacks or bills otherwise."""
        return [
            _proration_line(
                sub,
                item,
                period,
                from_ts,
                rounding,
                models,
                discounts.get(item_id, ()),
                credit=credit,
            )
            for item_id, item in side.items()
            if item_id not in other or billed_terms(other[item_id]) != billed_terms(item)
        ]

    credits = changed(old, new, credit_discounts, credit=True)
    return credits + changed(new, old, charge_discounts, credit=False)


def unused_time(
    sub: Any,
    items: Sequence[ItemView],
    period: tuple[int, int],
    from_ts: int,
    *,
    rounding: RoundingMode,
    models: Mapping[str, PricingModel],
    discounts: DiscountsOf = _NONE,
) -> list[LineDraft]:
    """Credits for the unused time of every licensed item (a cancellation, a new cycle)."""
    return prorations(
        sub, items, [], period, from_ts, rounding=rounding, models=models,
        credit_discounts=discounts,
    )  # fmt: skip


def net_of_percent_off(
    amount: Decimal, product: str, discounts: Sequence[DiscountTerms]
) -> tuple[Decimal, list[dict[str, str]]]:
    """``amount`` with each percent-off discount that covers ``product`` taken off in
    turn (exactly, unrounded), and the discounts taken."""
    taken = []
    for discount in discounts:
        if discount.percent_off is None:
            continue
        if discount.products is not None and product not in discount.products:
            continue
        kept = EXACT.subtract(_HUNDRED, discount.percent_off)
        amount = EXACT.scaleb(EXACT.multiply(amount, kept), -2)
        taken.append({"discount": discount.id, "percent_off": format(discount.percent_off, "f")})
    return amount, taken


def _proration_line(
    sub: Any,
    item: ItemView,
    period: tuple[int, int],
    from_ts: int,
    rounding: RoundingMode,
    models: Mapping[str, PricingModel],
    discounts: Sequence[DiscountTerms],
    *,
    credit: bool,
) -> LineDraft:
    quantity = item.quantity or 0
    rating = rate_item(item, sub.currency, Decimal(quantity), rounding, models)
    full_amount, taken = net_of_percent_off(rating.exact_amount, item.price_row.product, discounts)
    share = prorate(full_amount, *period, from_ts, period[1], rounding, credit=credit)
    what = "Unused time on" if credit else "Remaining time on"
    when = datetime.fromtimestamp(from_ts, UTC).strftime("%d %b %Y")
    explain = {
        "kind": "proration",
        "price": item.price_row.id,
        "quantity": quantity,
        "rating": rating.explain(),
        "discounts": taken,
        "proration": share.explain(),
    }
    # Its discounts are taken off already (above), as Stripe's included prorations.
    return item_line(
        sub, item, share.amount, (from_ts, period[1]), explain, quantity=quantity,
        description=f"{what} {describe(item, quantity, sub.currency)} after {when}",
        proration=True, discountable=False,
    )  # fmt: skip
