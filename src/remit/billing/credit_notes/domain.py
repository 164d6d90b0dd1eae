"""Credit note money: what a credit takes of an invoice line, and what the note adds up to.

Pure: no I/O, no clock. Every rounding goes through ``to_minor_units`` with the account's
mode, as invoices round.

A credit of part of an invoice line takes the same part of each of the line's figures
(its amount, each discount, each tax and taxable amount). The part is cumulative: a
credit that brings the line's credited share from ``before`` to ``after`` (of ``base``)
takes ``round(x * after / base) - round(x * before / base)`` of each figure ``x``. So the
credits of a line never add up to more than the line, and once the whole line is credited
they add up to it exactly, to the unit, however many notes it took.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from remit.billing.domain.ratios import divide, spread
from remit.billing.domain.totals import LineInput, TaxAmount, TaxTerms, added_taxes, compute
from remit.primitives.money import RoundingMode, to_minor_units

__all__ = [
    "Credited",
    "Figures",
    "NoteTotals",
    "amount_credit",
    "custom_credit",
    "line_credit",
    "note_totals",
    "settle",
]


@dataclass(frozen=True, slots=True)
class Figures:
    """An invoice line's money (or what its credits add up to): the amount before discounts
    (tax included on tax-inclusive lines), each discount on it, each tax."""

    amount: int
    discount_amounts: tuple[tuple[str, int], ...] = ()
    taxes: tuple[TaxAmount, ...] = ()


@dataclass(frozen=True, slots=True)
class Credited:
    """One credit note line's money, in Stripe's terms: ``amount`` is gross, before the
    discounts credited with it and without exclusive tax."""

    amount: int
    discount_amounts: tuple[tuple[str, int], ...]
    taxes: tuple[TaxAmount, ...]

    @property
    def discount(self) -> int:
        return sum(amount for _, amount in self.discount_amounts)

    @property
    def exclusive_tax(self) -> int:
        return sum(tax.amount for tax in self.taxes if not tax.inclusive)

    @property
    def inclusive_tax(self) -> int:
        return sum(tax.amount for tax in self.taxes if tax.inclusive)

    @property
    def total(self) -> int:
        return self.amount - self.discount + self.exclusive_tax


def _portion(value: int, part: int, base: int, mode: RoundingMode) -> int:
    return to_minor_units(divide(Decimal(value * part), Decimal(base)), mode)


def _share(value: int, before: int, after: int, base: int, mode: RoundingMode) -> int:
    return _portion(value, after, base, mode) - _portion(value, before, base, mode)


def line_credit(
    line: Figures, before: int, after: int, base: int, rounding: RoundingMode
) -> Credited:
    """The credit that brings ``line``'s credited share from ``before / base`` to
    ``after / base`` (``base`` is the line's amount when crediting by amount, its quantity
    when crediting by quantity)."""
    if not 0 <= before <= after <= base or base <= 0:
        raise ValueError(f"a credit share must grow within the line: {before}, {after} of {base}")
    mode = RoundingMode(rounding)
    amount = _share(line.amount, before, after, base, mode)
    discounts = tuple(
        (discount, _share(off, before, after, base, mode))
        for discount, off in line.discount_amounts
    )
    taxes = tuple(
        TaxAmount(
            tax.tax_rate,
            _share(tax.amount, before, after, base, mode),
            _share(tax.taxable_amount, before, after, base, mode),
            tax.inclusive,
            tax.jurisdiction,
        )
        for tax in line.taxes
    )
    return Credited(amount, discounts, taxes)


def custom_credit(
    key: str, amount: int, rates: tuple[TaxTerms, ...], rounding: RoundingMode
) -> Credited:
    """A line of the note's own (not an invoice line's): taxed like an invoice line at
    ``rates``, never discounted."""
    totals = compute([LineInput(key, amount, discountable=False, tax_rates=rates)], (), rounding)
    return Credited(amount, (), totals.lines[0].taxes)


def amount_credit(
    total: int, revenue_left: int, taxes_left: Sequence[TaxAmount], rounding: RoundingMode
) -> Credited:
    """A credit of ``total`` against the invoice as a whole (no lines named): split between
    its revenue and each tax rate in proportion to what each still holds, exact to the unit.
    Each taxable amount takes the share of what is left of it that its tax part takes of
    the tax left.
    """
    weights = [max(revenue_left, 0), *(max(tax.amount, 0) for tax in taxes_left)]
    if total < 0 or total > sum(weights):
        raise ValueError(f"cannot credit {total} of {sum(weights)}")
    parts = spread(total, weights) if total else tuple(0 for _ in weights)
    taxes = tuple(
        TaxAmount(
            tax.tax_rate,
            part,
            _portion(tax.taxable_amount, part, tax.amount, RoundingMode(rounding)),
            tax.inclusive,
            tax.jurisdiction,
        )
        for tax, part in zip(taxes_left, parts[1:], strict=True)
        if part
    )
    exclusive = sum(tax.amount for tax in taxes if not tax.inclusive)
    return Credited(total - exclusive, (), taxes)


@dataclass(frozen=True, slots=True)
class NoteTotals:
    subtotal: int
    subtotal_excluding_tax: int
    discount_amounts: tuple[tuple[str, int], ...]  # per discount, in order of appearance
    total_taxes: tuple[TaxAmount, ...]  # per tax rate, in order of appearance
    total: int
    total_excluding_tax: int

    @property
    def discount_amount(self) -> int:
        return sum(amount for _, amount in self.discount_amounts)


def note_totals(lines: Sequence[Credited]) -> NoteTotals:
    """The note's figures: integer sums of its lines (nothing is rounded again)."""
    discounts: dict[str, int] = {}
    taxes: dict[str, TaxAmount] = {}
    for line in lines:
        for discount, amount in line.discount_amounts:
            discounts[discount] = discounts.get(discount, 0) + amount
        for tax in line.taxes:
            seen = taxes.get(tax.tax_rate)
            taxes[tax.tax_rate] = tax if seen is None else added_taxes(seen, tax)
    subtotal = sum(line.amount for line in lines)
    inclusive = sum(line.inclusive_tax for line in lines)
    discounted = sum(discounts.values())
    totals = NoteTotals(
        subtotal=subtotal,
        subtotal_excluding_tax=subtotal - inclusive,
        discount_amounts=tuple(discounts.items()),
        total_taxes=tuple(taxes.values()),
        total=sum(line.total for line in lines),
        total_excluding_tax=subtotal - discounted - inclusive,
    )
    exclusive = sum(tax.amount for tax in totals.total_taxes if not tax.inclusive)
    assert totals.total == subtotal - discounted + exclusive
    return totals


def settle(total: int, amount_remaining: int) -> tuple[int, int]:
    """``(pre_payment, post_payment)``: a credit first lowers what is still owed on the
    invoice, never below zero; the rest is credited after payment."""
    if total < 0 or amount_remaining < 0:
        raise ValueError("a credit and what is owed are never negative")
    pre = min(total, amount_remaining)
    return pre, total - pre
