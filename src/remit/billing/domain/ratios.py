"""The two ways billing divides money: a rational amount to be rounded once, and an integer
amount split into shares that sum back exactly.

Pure: no I/O, no clock.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import ROUND_HALF_EVEN, Context, Decimal, DivisionByZero, InvalidOperation, Overflow

from remit.catalog.domain.terms import EXACT

__all__ = ["divide", "shown", "spread"]

# EXACT's traps without Inexact: a proration fraction such as 1/3 never terminates. 100
# significant digits are enough for the quotient to round like the true rational: one that is
# an integer or lies exactly halfway has a short decimal form and comes out exact, and any
# other one is at least 1/(2 * denominator) away from every such point, far beyond the 100th
# digit for any amount and period a bill carries. Half of EXACT's precision keeps the exact
# check inside to_minor_units (an integer minus the quotient) representable.
_QUOTIENT = Context(prec=EXACT.prec // 2, traps=[InvalidOperation, Overflow, DivisionByZero])


def divide(numerator: Decimal, denominator: Decimal) -> Decimal:
    """``numerator / denominator`` to 100 significant digits, for one rounding afterwards."""
    return _QUOTIENT.divide(numerator, denominator)


def shown(value: Decimal, places: int) -> Decimal:
    """``value`` to ``places`` decimals (half even), for display only, never for money."""
    return value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_EVEN, context=_QUOTIENT)


def spread(amount: int, weights: Sequence[int]) -> tuple[int, ...]:
    """Split ``amount`` into shares proportional to ``weights`` that sum to it exactly.

    Largest remainder in integers: each share is the floor of its exact share, and the
    leftover units go to the largest remainders, ties to the earlier weight. A negative amount
    is split as its magnitude and negated. A share never exceeds ``amount * w / sum(weights)``
    rounded up, so when ``amount <= sum(weights)`` no share exceeds its weight.
    """
    if not weights or any(type(w) is not int or w < 0 for w in weights) or sum(weights) == 0:
        raise ValueError(f"weights must be non-negative ints, not all zero: {weights!r}")
    total_weight = sum(weights)
    magnitude = abs(amount)
    floors = [magnitude * w // total_weight for w in weights]
    leftover = magnitude - sum(floors)
    by_remainder = sorted(
        range(len(weights)), key=lambda i: (-(magnitude * weights[i] % total_weight), i)
    )
    for index in by_remainder[:leftover]:
        floors[index] += 1
    sign = -1 if amount < 0 else 1
    shares = tuple(sign * share for share in floors)
    assert sum(shares) == amount, (amount, weights)
    return shares
