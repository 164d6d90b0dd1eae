"""Proration to the second: the share of a full-period amount that a window of it is worth.

Pure: no I/O, no clock. The fraction is ``seconds / period_seconds`` exactly; the product is
rounded once, with the account's mode, into minor units. A credit is the negation of the
charge for the same window before rounding, and every rounding mode is symmetric around zero,
so a credit and a charge for the same window and amount always cancel to the unit.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from remit.billing.domain.ratios import divide, shown
from remit.catalog.domain.terms import EXACT
from remit.primitives.money import MAX_UNIT_DECIMALS, RoundingMode, to_minor_units

__all__ = ["Proration", "prorate"]


@dataclass(frozen=True, slots=True)
class Proration:
    """One prorated amount and how it was derived."""

    amount: int  # minor units, signed (credits negative), rounded once
    exact: Decimal  # before rounding
    seconds: int  # to_ts - from_ts
    period_seconds: int  # period_end_ts - period_start_ts
    full_amount: Decimal
    period_start_ts: int
    period_end_ts: int
    from_ts: int
    to_ts: int
    credit: bool
    rounding: RoundingMode

    def explain(self) -> dict[str, Any]:
        """The derivation as plain JSON values, for an invoice line's explanation."""
        return {
            "kind": "credit" if self.credit else "charge",
            "window": {"start": self.from_ts, "end": self.to_ts},
            "period": {"start": self.period_start_ts, "end": self.period_end_ts},
            "fraction": f"{self.seconds}/{self.period_seconds}",
            "full_amount": format(self.full_amount, "f"),
            # Shortened for reading (1/3 never ends); fraction and full amount give it exactly.
            "exact": format(shown(self.exact, MAX_UNIT_DECIMALS), "f"),
            "rounding": self.rounding.value,
            "rounded": self.amount,
        }


def prorate(
    full_amount: Decimal,
    period_start_ts: int,
    period_end_ts: int,
    from_ts: int,
    to_ts: int,
    rounding: RoundingMode,
    *,
    credit: bool,
) -> Proration:
    """``full_amount`` (minor units, the whole period's amount) times
    ``(to_ts - from_ts) / (period_end_ts - period_start_ts)``, negated when ``credit`` (the
    unused time given back). The window must lie inside the period.
    """
    if not isinstance(full_amount, Decimal) or not full_amount.is_finite():
        raise TypeError(f"full_amount must be a finite Decimal, not {full_amount!r}")
    for name, value in (
        ("period_start_ts", period_start_ts),
        ("period_end_ts", period_end_ts),
        ("from_ts", from_ts),
        ("to_ts", to_ts),
    ):
        if type(value) is not int:
            raise TypeError(f"{name} must be an int, not {type(value).__name__}")
    if not period_start_ts <= from_ts <= to_ts <= period_end_ts or period_start_ts == period_end_ts:
        raise ValueError(
            f"window [{from_ts}, {to_ts}) must lie inside a non-empty period "
            f"[{period_start_ts}, {period_end_ts})"
        )
    seconds = to_ts - from_ts
    period_seconds = period_end_ts - period_start_ts
    signed = EXACT.minus(full_amount) if credit else EXACT.plus(full_amount)
    exact = divide(EXACT.multiply(signed, Decimal(seconds)), Decimal(period_seconds))
    return Proration(
        amount=to_minor_units(exact, rounding),
        exact=exact,
        seconds=seconds,
        period_seconds=period_seconds,
        full_amount=full_amount,
        period_start_ts=period_start_ts,
        period_end_ts=period_end_ts,
        from_ts=from_ts,
        to_ts=to_ts,
        credit=credit,
        rounding=RoundingMode(rounding),
    )
