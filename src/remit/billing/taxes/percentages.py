"""Percentages (a tax rate's ``percentage``, a coupon's ``percent_off``).

Stored as canonical decimal strings ("19", "8.875") and computed with as ``Decimal``;
Stripe's wire type is a JSON number, so that is how they are rendered.
"""

from __future__ import annotations

from decimal import Decimal

# At most 100 with four places: seven significant digits, which a float's shortest repr
# keeps exactly, so the number on the wire reads back as the stored decimal.
MAX_PLACES = 4
MAXIMUM = Decimal(100)


def stored(value: Decimal) -> str:
    """The canonical text of a parsed percentage: plain notation, no trailing zeros."""
    assert 0 <= value <= MAXIMUM, value
    text = format(value.normalize(), "f")
    exponent = Decimal(text).as_tuple().exponent
    assert isinstance(exponent, int) and -exponent <= MAX_PLACES, text
    return text


def wire(text: str) -> int | float:
    """A stored percentage as Stripe's JSON number: an int when whole, else the float
    whose shortest repr is the stored decimal."""
    value = Decimal(text)
    if value == value.to_integral_value():
        return int(value)
    number = float(value)
    assert Decimal(repr(number)) == value, text
    return number
