"""Meter event values: payload text to an exact ``Decimal``, and back to JSON.

A value is decimal text as a person writes it (``"12"``, ``"-0.25"``): no exponent,
no ``NaN``/``Infinity``, no whitespace or sign other than a leading ``-``. At most 15
significant digits (Stripe's 2026 rule: beyond that a double would lose them) and at
most ``MAX_VALUE_CHARS`` characters, so every value is ``k * 10**-38`` with
``|value| < 10**40`` and ``CONTEXT`` holds any sum of up to 10**18 of them exactly.
Arithmetic on values goes through ``CONTEXT``, which raises rather than round.
"""

from __future__ import annotations

import decimal
import re
from dataclasses import dataclass
from decimal import Decimal

MAX_SIGNIFICANT_DIGITS = 15
MAX_VALUE_CHARS = 40
_NUMBER = re.compile(r"-?([0-9]+)(?:\.([0-9]+))?")

# 100 digits: 40 before and 38 after the point of one value, plus 18 for the count of
# values summed, with room to spare. Inexact or overflowing results raise.
CONTEXT = decimal.Context(
    prec=100,
    rounding=decimal.ROUND_HALF_EVEN,
    Emax=999,
    Emin=-999,
    traps=[
        decimal.InvalidOperation,
        decimal.DivisionByZero,
        decimal.Overflow,
        decimal.Underflow,
        decimal.Inexact,
    ],
)


@dataclass(frozen=True, slots=True)
class ValueProblem:
    """Why a payload value was refused, with the Stripe error code reported for it."""

    code: str
    message: str


def significant_digits(integer_part: str, fraction_part: str) -> int:
    """Digits from the first non-zero one to the last written one, trailing fraction
    zeros aside: ``"100"`` has 3, ``"0.0012"`` has 2, ``"1.50"`` has 2."""
    digits = (integer_part + fraction_part.rstrip("0")).lstrip("0")
    return len(digits)


def parse_value(text: str) -> Decimal | ValueProblem:
    """The exact value of payload text, or the problem with it."""
    match = _NUMBER.fullmatch(text) if len(text) <= MAX_VALUE_CHARS else None
    if match is None:
        return ValueProblem(
            "meter_event_invalid_value",
            f"The value in the event payload must be a decimal number written with digits "
            f"(at most {MAX_VALUE_CHARS} characters, no exponent). Received {text[:60]!r}.",
        )
    if significant_digits(match.group(1), match.group(2) or "") > MAX_SIGNIFICANT_DIGITS:
        return ValueProblem(
            "meter_event_value_too_many_digits",
            f"The value in the event payload can have at most {MAX_SIGNIFICANT_DIGITS} "
            f"digits. Received {text}.",
        )
    value = Decimal(text)
    return Decimal(0) if value.is_zero() else value


def add(a: Decimal, b: Decimal) -> Decimal:
    return CONTEXT.add(a, b)


def decimal_text(value: Decimal) -> str:
    """Plain decimal text without exponent or trailing fraction zeros: ``"12.5"``, ``"100"``."""
    if value.is_zero():
        return "0"
    text = format(value, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text
