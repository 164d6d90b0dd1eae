"""Invoice totals: discounts, then taxes, per line, then summed. Pure: no I/O, no clock.

Where rounding happens (the account's one mode, always through ``to_minor_units``):

1. Discounts, in order: each line's own discounts, then the invoice's, each on what is left of
   the line. ``percent_off`` rounds once per line. ``amount_off`` is integral already: on a line
   it takes at most what is left; on the invoice it is spread over the lines it applies to in
   proportion to what is left of each (largest remainder, exact to the unit), capped at their
   sum. Lines that are not discountable, not positive (credits) or of a product the coupon does
   not apply to get no part of a discount.
2. Taxes, per line, on the line's amount after its discounts. An exclusive rate rounds once per
   line and is added on top. Inclusive rates are extracted together, once per line: the line's
   combined inclusive tax is rounded, then split between its rates by largest remainder, so the
   line's net plus its inclusive taxes is exactly its discounted amount.
3. Invoice figures are integer sums of the lines: nothing is rounded twice.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal

from remit.billing.domain.ratios import divide, spread
from remit.catalog.domain.terms import EXACT
from remit.primitives.money import RoundingMode, to_minor_units

__all__ = [
    "BalanceApplied",
    "DiscountTerms",
    "LineInput",
    "LineTotals",
    "TaxAmount",
    "TaxTerms",
    "Totals",
    "apply_balance",
    "compute",
]

_HUNDRED = Decimal(100)


@dataclass(frozen=True, slots=True)
class TaxTerms:
    id: str
    percentage: Decimal
    inclusive: bool
    jurisdiction: str | None
    display_name: str

    def __post_init__(self) -> None:
        if not isinstance(self.percentage, Decimal) or not 0 <= self.percentage <= _HUNDRED:
            raise ValueError(f"tax rate {self.id}: percentage must be a Decimal 0 to 100")


@dataclass(frozen=True, slots=True)
class DiscountTerms:
    id: str  # the di_ id
    coupon: str
    percent_off: Decimal | None
    amount_off: int | None  # already in the invoice's currency
    products: frozenset[str] | None  # the coupon's applies_to; None: every product

    def __post_init__(self) -> None:
        if (self.percent_off is None) == (self.amount_off is None):
            raise ValueError(f"discount {self.id}: exactly one of percent_off, amount_off")
        if self.percent_off is not None and not (
            isinstance(self.percent_off, Decimal) and 0 < self.percent_off <= _HUNDRED
        ):
            raise ValueError(f"discount {self.id}: percent_off must be a Decimal above 0 to 100")
        if self.amount_off is not None and (
            type(self.amount_off) is not int or self.amount_off < 0
        ):
            raise ValueError(f"discount {self.id}: amount_off must be a non-negative int")


@dataclass(frozen=True, slots=True)
class LineInput:
    key: str
    amount: int  # line amounts of tax-inclusive lines include their tax
    discountable: bool = True
    product: str | None = None
    tax_rates: tuple[TaxTerms, ...] = ()
    discounts: tuple[DiscountTerms, ...] = ()

    def __post_init__(self) -> None:
        if type(self.amount) is not int:
            raise TypeError(f"line {self.key}: amount must be an int")
        _require_unique((rate.id for rate in self.tax_rates), f"line {self.key} tax rates")
        _require_unique((d.id for d in self.discounts), f"line {self.key} discounts")
        if len({rate.inclusive for rate in self.tax_rates}) > 1:
            raise ValueError(f"line {self.key} mixes inclusive and exclusive tax rates")


@dataclass(frozen=True, slots=True)
class TaxAmount:
    tax_rate: str
    amount: int
    taxable_amount: int  # excluding the tax itself, also for inclusive rates
    inclusive: bool
    jurisdiction: str | None


@dataclass(frozen=True, slots=True)
class LineTotals:
    key: str
    amount: int
    discount_amounts: tuple[tuple[str, int], ...]  # (di_ id, amount) in application order
    taxes: tuple[TaxAmount, ...]
    net: int  # amount - discounts - inclusive taxes: the line's revenue


@dataclass(frozen=True, slots=True)
class Totals:
    lines: tuple[LineTotals, ...]
    subtotal: int
    subtotal_excluding_tax: int  # subtotal - inclusive taxes, before discounts (Stripe's field)
    total_discount_amounts: tuple[tuple[str, int], ...]
    total_taxes: tuple[TaxAmount, ...]  # one per tax rate, summed over lines
    total: int
    total_excluding_tax: int


def compute(
    lines: Sequence[LineInput], invoice_discounts: Sequence[DiscountTerms], rounding: RoundingMode
) -> Totals:
    """Discount, tax and total an invoice's lines (see the module's rounding rules)."""
    mode = RoundingMode(rounding)
    _require_unique((line.key for line in lines), "line keys")
    _require_unique((d.id for d in invoice_discounts), "invoice discounts")
    invoice_ids = {d.id for d in invoice_discounts}
    for line in lines:
        if invoice_ids & {d.id for d in line.discounts}:
            raise ValueError(f"line {line.key} has a discount that is also the invoice's")
    left = [line.amount for line in lines]
    applied: list[list[tuple[str, int]]] = [[] for _ in lines]
    for index, line in enumerate(lines):
        for discount in line.discounts:
            if _applies(line, discount):
                off = _line_discount(left[index], discount, mode)
                left[index] -= off
                applied[index].append((discount.id, off))
    for discount in invoice_discounts:
        eligible = [i for i, line in enumerate(lines) if _applies(line, discount)]
        offs = _invoice_discount(left, eligible, discount, mode)
        for index, off in zip(eligible, offs, strict=True):
            left[index] -= off
            applied[index].append((discount.id, off))
    line_totals = tuple(
        _taxed(line, tuple(applied[i]), left[i], mode) for i, line in enumerate(lines)
    )
    order = [d.id for line in lines for d in line.discounts] + [d.id for d in invoice_discounts]
    return _summed(line_totals, order)


@dataclass(frozen=True, slots=True)
class BalanceApplied:
    """How an invoice's total settles against the customer's balance.

    Balances follow Stripe's sign: negative is credit the customer holds, positive is what
    the customer owes. ``applied = total - amount_due`` is what the balance took of the
    total: positive when credit was used, negative when debt was added to what is due (or
    when a negative total became credit), and ``ending_balance = starting_balance + applied``.
    """

    starting_balance: int
    ending_balance: int
    amount_due: int
    applied: int


def apply_balance(total: int, customer_balance: int) -> BalanceApplied:
    """Credit covers at most the total (amount due never goes below 0); debt is added to what
    is due; a negative total (more credited than charged) becomes credit on the balance."""
    if type(total) is not int or type(customer_balance) is not int:
        raise TypeError("total and customer_balance are int minor units")
    amount_due = max(0, total + customer_balance)
    applied = total - amount_due
    result = BalanceApplied(customer_balance, customer_balance + applied, amount_due, applied)
    # Nothing appears or vanishes: due plus still owed equals charged plus owed before.
    assert result.amount_due + result.ending_balance == total + customer_balance
    assert result.amount_due >= 0 and (result.amount_due == 0 or result.ending_balance == 0)
    return result


def _applies(line: LineInput, discount: DiscountTerms) -> bool:
    return (
        line.discountable
        and line.amount > 0
        and (discount.products is None or line.product in discount.products)
    )


def _line_discount(left: int, discount: DiscountTerms, mode: RoundingMode) -> int:
    if discount.amount_off is not None:
        return min(discount.amount_off, left)
    assert discount.percent_off is not None
    share = EXACT.scaleb(EXACT.multiply(Decimal(left), discount.percent_off), -2)
    return min(to_minor_units(share, mode), left)


def _invoice_discount(
    left: list[int], eligible: list[int], discount: DiscountTerms, mode: RoundingMode
) -> list[int]:
    if discount.percent_off is not None:
        return [_line_discount(left[i], discount, mode) for i in eligible]
    assert discount.amount_off is not None
    weights = [left[i] for i in eligible]
    if sum(weights) == 0:
        return [0 for _ in eligible]
    return list(spread(min(discount.amount_off, sum(weights)), weights))


def _taxed(
    line: LineInput, discounts: tuple[tuple[str, int], ...], taxable: int, mode: RoundingMode
) -> LineTotals:
    rates = line.tax_rates
    if rates and rates[0].inclusive:
        taxes = _extracted(rates, taxable, mode)
    else:
        taxes = tuple(
            TaxAmount(
                rate.id,
                _percent_of(taxable, rate.percentage, mode),
                taxable,
                False,
                rate.jurisdiction,
            )
            for rate in rates
        )
    inclusive = sum(tax.amount for tax in taxes if tax.inclusive)
    net = taxable - inclusive
    assert all(tax.taxable_amount == net for tax in taxes), line.key
    assert net + inclusive + sum(off for _, off in discounts) == line.amount, line.key
    return LineTotals(line.key, line.amount, discounts, taxes, net)


def _extracted(
    rates: tuple[TaxTerms, ...], taxable: int, mode: RoundingMode
) -> tuple[TaxAmount, ...]:
    """Inclusive rates share one extraction, ``taxable * P / (100 + P)`` for their combined P,
    so a line's net and inclusive taxes add back to its amount exactly."""
    combined = functools.reduce(EXACT.add, (rate.percentage for rate in rates), Decimal(0))
    tax = to_minor_units(
        divide(EXACT.multiply(Decimal(taxable), combined), EXACT.add(_HUNDRED, combined)), mode
    )
    weights = _integer_weights([rate.percentage for rate in rates])
    shares = spread(tax, weights) if sum(weights) else tuple(0 for _ in rates)
    return tuple(
        TaxAmount(rate.id, share, taxable - tax, True, rate.jurisdiction)
        for rate, share in zip(rates, shares, strict=True)
    )


def _summed(lines: tuple[LineTotals, ...], discount_order: list[str]) -> Totals:
    discounts = dict.fromkeys(discount_order, 0)
    taxes: dict[str, TaxAmount] = {}
    for line in lines:
        for discount_id, off in line.discount_amounts:
            discounts[discount_id] += off
        for tax in line.taxes:
            seen = taxes.get(tax.tax_rate)
            if seen is not None and seen.inclusive != tax.inclusive:
                raise ValueError(f"tax rate {tax.tax_rate} is both inclusive and exclusive")
            taxes[tax.tax_rate] = tax if seen is None else added_taxes(seen, tax)
    subtotal = sum(line.amount for line in lines)
    discounted = sum(discounts.values())
    inclusive = sum(tax.amount for tax in taxes.values() if tax.inclusive)
    exclusive = sum(tax.amount for tax in taxes.values() if not tax.inclusive)
    totals = Totals(
        lines=lines,
        subtotal=subtotal,
        subtotal_excluding_tax=subtotal - inclusive,
        total_discount_amounts=tuple(discounts.items()),
        total_taxes=tuple(taxes.values()),
        total=subtotal - discounted + exclusive,
        total_excluding_tax=subtotal - discounted - inclusive,
    )
    # The same figure reached from the lines' revenue: nothing was lost between lines and sums.
    assert totals.total == sum(line.net for line in lines) + inclusive + exclusive
    return totals


def added_taxes(left: TaxAmount, right: TaxAmount) -> TaxAmount:
    """Two amounts of one tax rate (from two lines) as one."""
    return TaxAmount(
        left.tax_rate,
        left.amount + right.amount,
        left.taxable_amount + right.taxable_amount,
        left.inclusive,
        left.jurisdiction,
    )


def _percent_of(amount: int, percentage: Decimal, mode: RoundingMode) -> int:
    return to_minor_units(EXACT.scaleb(EXACT.multiply(Decimal(amount), percentage), -2), mode)


def _integer_weights(percentages: Sequence[Decimal]) -> list[int]:
    """Percentages as integers in the same proportions (scaled by a common denominator)."""
    ratios = [p.as_integer_ratio() for p in percentages]
    common = math.lcm(*(denominator for _, denominator in ratios))
    return [numerator * (common // denominator) for numerator, denominator in ratios]


def _require_unique(values: Iterable[str], what: str) -> None:
    seen: set[str] = set()
    for value in values:
        if value in seen:
            raise ValueError(f"{what}: {value} appears twice")
        seen.add(value)
