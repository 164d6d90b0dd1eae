"""What a price charges in one currency, as immutable values, and the checks on them.

A price's ``billing_scheme`` names the pricing model that rates it; everything that model
needs sits in :class:`PriceTerms`. Amounts are ``Decimal`` minor units with up to 12 decimal
places (Stripe's ``*_decimal`` fields); quantities are ``Decimal`` because metered usage may
be fractional. Problems are returned as :class:`Finding` records, all at once, never raised
one at a time: the API turns the first into a Stripe error, diagnostics list them all.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Context, Decimal, DivisionByZero, Inexact, InvalidOperation, Overflow
from types import MappingProxyType
from typing import Any

from remit.primitives.money import MAX_UNIT_AMOUNT_DECIMAL, MAX_UNIT_DECIMALS

__all__ = [
    "EXACT",
    "MAX_QUANTITY",
    "MAX_QUANTITY_DIGITS",
    "MAX_TIERS",
    "TRANSFORM_ROUNDS",
    "Finding",
    "PriceTerms",
    "Tier",
    "TransformQuantity",
    "check_amount",
    "check_quantity",
    "check_transform",
    "transform",
]

# Arithmetic that is exact or fails loudly. The default context (28 digits, thread-mutable)
# would silently round a 21-digit unit price times a large quantity. Bounds below keep every
# product and sum of a rating far under 200 digits, so Inexact can only mean a bug.
EXACT = Context(prec=200, traps=[InvalidOperation, Inexact, Overflow, DivisionByZero])

# Stripe's own quantities are 64-bit integers; usage sums may be fractional but never
# larger than that in practice. The digit bound keeps exact products short.
MAX_QUANTITY = Decimal(10) ** 20
MAX_QUANTITY_DIGITS = 60
# Stripe does not document a tier count limit; a bound keeps checks and explains small.
MAX_TIERS = 250
TRANSFORM_ROUNDS = ("up", "down")

_EMPTY: Mapping[str, Any] = MappingProxyType({})


@dataclass(frozen=True, slots=True)
class Tier:
    """One tier. It covers quantities above the previous tier's ``up_to`` (or from 0 for
    the first tier) up to and including its own ``up_to``; ``None`` is Stripe's ``inf``."""

    up_to: int | None
    unit_amount: Decimal | None
    flat_amount: Decimal | None


@dataclass(frozen=True, slots=True)
class TransformQuantity:
    """Divide the quantity by ``divide_by``, then round to a whole number (``up``/``down``)."""

    divide_by: int
    round: str


@dataclass(frozen=True, slots=True)
class PriceTerms:
    """What a price charges in ONE currency (the price's own, or a ``currency_options`` one)."""

    currency: str
    billing_scheme: str
    unit_amount: Decimal | None = None
    tiers_mode: str | None = None
    tiers: tuple[Tier, ...] = ()
    transform_quantity: TransformQuantity | None = None
    config: Mapping[str, Any] = field(default_factory=lambda: _EMPTY)


@dataclass(frozen=True, slots=True)
class Finding:
    """A problem with terms: the Stripe bracket path of the parameter, and what is wrong."""

    param: str
    message: str


def check_amount(value: object, param: str) -> list[Finding]:
    """An amount is a finite Decimal in [0, 10**20] with at most 12 decimal places."""
    if isinstance(value, float):
        return [Finding(param, "Invalid amount: money is never a float.")]
    if not isinstance(value, Decimal) or not value.is_finite():
        return [Finding(param, f"Invalid amount: {value!r} is not a finite decimal number.")]
    findings: list[Finding] = []
    if value < 0:
        findings.append(Finding(param, f"Invalid amount: {value}. It must be at least 0."))
    if value > MAX_UNIT_AMOUNT_DECIMAL:
        findings.append(
            Finding(param, f"Invalid amount: it must be at most {MAX_UNIT_AMOUNT_DECIMAL}.")
        )
    if -_exponent(value) > MAX_UNIT_DECIMALS:
        findings.append(
            Finding(
                param,
                f"Invalid amount: {value}. "
                f"It must have at most {MAX_UNIT_DECIMALS} decimal places.",
            )
        )
    return findings


def check_transform(transform_quantity: TransformQuantity | None) -> list[Finding]:
    if transform_quantity is None:
        return []
    findings: list[Finding] = []
    divide_by = transform_quantity.divide_by
    if type(divide_by) is not int or divide_by < 1:
        findings.append(
            Finding(
                "transform_quantity[divide_by]",
                f"Invalid transform_quantity[divide_by]: {divide_by!r}. "
                "It must be a whole number of at least 1.",
            )
        )
    if transform_quantity.round not in TRANSFORM_ROUNDS:
        findings.append(
            Finding(
                "transform_quantity[round]",
                f"Invalid transform_quantity[round]: {transform_quantity.round!r}. "
                "It must be one of up, down.",
            )
        )
    return findings


def check_quantity(quantity: object, param: str = "quantity") -> list[Finding]:
    """A quantity to rate: a finite Decimal in [0, 10**20] with at most 60 digits.

    Negative quantities are refused rather than rated: Stripe never bills negative usage
    (a metered period whose usage sums below zero is billed as quantity 0), and a credit is
    the rating of a positive quantity, negated by the caller that knows it is a credit.
    """
    if not isinstance(quantity, Decimal):
        return [Finding(param, f"Invalid quantity: {type(quantity).__name__} is not a Decimal.")]
    value = quantity
    if not value.is_finite():
        return [Finding(param, f"Invalid quantity: {value}. It must be a finite number.")]
    if value < 0:
        return [Finding(param, f"Invalid quantity: {value}. It must be at least 0.")]
    if value > MAX_QUANTITY:
        return [Finding(param, f"Invalid quantity: it must be at most {MAX_QUANTITY}.")]
    if len(value.as_tuple().digits) > MAX_QUANTITY_DIGITS:
        return [Finding(param, f"Invalid quantity: at most {MAX_QUANTITY_DIGITS} digits.")]
    return []


def transform(quantity: Decimal, transform_quantity: TransformQuantity | None) -> Decimal:
    """The quantity a model rates: divided by ``divide_by`` and rounded to a whole number.

    ``quantity`` must be non-negative (see :func:`check_quantity`), so ``up`` is the
    ceiling and ``down`` the floor. Without a transform the quantity is rated as given.
    """
    if transform_quantity is None:
        return quantity
    assert quantity >= 0, quantity
    divisor = Decimal(transform_quantity.divide_by)
    # divide_integer and remainder are exact; a plain division may not terminate (1/3).
    whole = EXACT.divide_int(quantity, divisor)
    remainder = EXACT.remainder(quantity, divisor)
    if transform_quantity.round == "up" and remainder != 0:
        whole = EXACT.add(whole, 1)
    return whole


def _exponent(value: Decimal) -> int:
    exponent = value.as_tuple().exponent
    assert isinstance(exponent, int), value
    return exponent
