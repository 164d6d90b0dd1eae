"""Helpers shared by the billing domain tests, written independently of the code under test."""

from __future__ import annotations

import math
from fractions import Fraction

from remit.primitives.money import RoundingMode


def reference(value: Fraction, mode: RoundingMode) -> int:
    """Rounding of an exact rational, written without the decimal module."""
    magnitude, sign = abs(value), (1 if value >= 0 else -1)
    low = math.floor(magnitude)
    rest = magnitude - low
    if mode is RoundingMode.DOWN or rest == 0:
        return sign * low
    if mode is RoundingMode.UP:
        return sign * (low + 1)
    if rest != Fraction(1, 2):
        return sign * (low + (1 if rest > Fraction(1, 2) else 0))
    if mode is RoundingMode.HALF_UP:
        return sign * (low + 1)
    return sign * (low + low % 2)
