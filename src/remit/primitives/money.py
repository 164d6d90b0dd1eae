"""Money: integer minor units plus a currency, and the one way to round into them.

Amounts are ``int`` minor units. Unit prices may carry up to 12 decimal places as
``Decimal`` (Stripe's ``unit_amount_decimal``); :func:`to_minor_units` is the only place a
Decimal becomes an int, always with a named :class:`RoundingMode`. No float anywhere: a float
cannot represent 0.1, so a float amount is a bug, never an input.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import (
    ROUND_DOWN,
    ROUND_HALF_EVEN,
    ROUND_HALF_UP,
    ROUND_UP,
    Context,
    Decimal,
    DivisionByZero,
    Inexact,
    InvalidOperation,
    Overflow,
)
from enum import StrEnum
from types import MappingProxyType

from remit.primitives import currency as _currency
from remit.primitives.errors import InvalidRequestError

__all__ = [
    "DEFAULT_ROUNDING",
    "MAX_ALLOCATION_SHARES",
    "MAX_AMOUNT_MINOR",
    "MAX_UNIT_AMOUNT_DECIMAL",
    "MAX_UNIT_DECIMALS",
    "Money",
    "RoundingMode",
    "format_amount",
    "major_to_minor",
    "parse_unit_amount_decimal",
    "to_minor_units",
]


class RoundingMode(StrEnum):
    """How a fractional minor-unit amount becomes an int. Accounts store one of these.

    Every mode is symmetric around zero, so a credit rounds exactly like the charge it undoes:
    ``half_up`` sends ties away from zero, ``half_even`` sends ties to the even neighbour,
    ``down`` goes toward zero (truncates), ``up`` goes away from zero.
    """

    HALF_UP = "half_up"
    HALF_EVEN = "half_even"
    DOWN = "down"
    UP = "up"

    @property
    def decimal_rounding(self) -> str:
        """The ``decimal`` module's constant with exactly these semantics."""
        return _DECIMAL_ROUNDING[self]


# decimal's ROUND_HALF_UP/ROUND_DOWN/ROUND_UP are already defined relative to zero, which
# is the symmetry we promise; ROUND_FLOOR/ROUND_CEILING would break it for negatives.
_DECIMAL_ROUNDING: Mapping[RoundingMode, str] = MappingProxyType(
    {
        RoundingMode.HALF_UP: ROUND_HALF_UP,
        RoundingMode.HALF_EVEN: ROUND_HALF_EVEN,
        RoundingMode.DOWN: ROUND_DOWN,
        RoundingMode.UP: ROUND_UP,
    }
)

DEFAULT_ROUNDING = RoundingMode.HALF_UP
MAX_UNIT_DECIMALS = 12
MAX_UNIT_AMOUNT_DECIMAL = Decimal(10) ** 20
# Amounts are stored in signed 64-bit (BIGINT) columns; anything larger could not be written.
MAX_AMOUNT_MINOR = 2**63 - 1
# Bounds the work of one allocation (e.g. a year of daily revenue schedules fits easily).
MAX_ALLOCATION_SHARES = 100_000

# Arithmetic that must be exact or fail loudly: the default context (28 digits) would
# silently round a 21-digit unit price with 12 decimals, and it is thread-mutable state.
_EXACT = Context(prec=200, traps=[InvalidOperation, Inexact, Overflow, DivisionByZero])
# Longest legitimate input is ~40 chars (21 digits, '.', 12 decimals, exponent); the bound
# keeps regex work and echoed messages small.
_MAX_DECIMAL_CHARS = 64
# The shapes str(Decimal) produces (the official SDKs encode Decimal with str(), which
# gives "1E-7" for 0.0000001), minus '+', whitespace, non-ASCII digits, NaN and Infinity.
_DECIMAL_RE = re.compile(r"-?[0-9]+(?:\.[0-9]+)?(?:[eE][-+]?[0-9]{1,3})?", re.ASCII)


def to_minor_units(amount: Decimal, mode: RoundingMode) -> int:
    """Round ``amount`` (already in minor units, e.g. ``Decimal("12.5")`` cents) to an int.

    The one Decimal-to-int conversion for money; every other module goes through it.
    """
    if not isinstance(amount, Decimal):
        raise TypeError(f"amount must be a Decimal, not {type(amount).__name__}")
    if not amount.is_finite():
        raise ValueError(f"amount must be finite, got {amount}")
    rounding = RoundingMode(mode).decimal_rounding
    # to_integral_value is exact at any magnitude: it ignores the context's precision.
    result = int(amount.to_integral_value(rounding=rounding))
    assert abs(_EXACT.subtract(Decimal(result), amount)) < 1, (amount, mode, result)
    return result


def major_to_minor(amount: Decimal, currency: str, mode: RoundingMode) -> int:
    """Convert a major-unit amount (``Decimal("10.005")`` USD) to minor units with ``mode``."""
    if not isinstance(amount, Decimal):
        raise TypeError(f"amount must be a Decimal, not {type(amount).__name__}")
    if not amount.is_finite():
        raise ValueError(f"amount must be finite, got {amount}")
    return to_minor_units(_EXACT.scaleb(amount, _currency.exponent(currency)), mode)


def format_amount(amount_minor: int, currency: str) -> str:
    """Exact human form: ``format_amount(123456, "usd") == "1234.56 USD"``."""
    code = _currency.normalize(currency).upper()
    return f"{decimal_string(amount_minor, currency)} {code}"


def decimal_string(amount_minor: int, currency: str) -> str:
    """The major unit as exact decimal text: ``decimal_string(123456, "usd") == "1234.56"``,
    ``decimal_string(-5, "jpy") == "-5"`` (what files and other systems write)."""
    _require_int(amount_minor, "amount_minor")
    digits = _currency.exponent(currency)
    sign = "-" if amount_minor < 0 else ""
    whole, fraction = divmod(abs(amount_minor), 10**digits)
    if digits == 0:
        return f"{sign}{whole}"
    return f"{sign}{whole}.{fraction:0{digits}d}"


def parse_unit_amount_decimal(value: str | int | Decimal, param: str) -> Decimal:
    """Validate Stripe's ``unit_amount_decimal`` and return it in canonical form.

    Accepts a non-negative finite value of at most 10**20 with at most 12 decimal places,
    written plainly or in the exponent notation ``str(Decimal)`` produces. The result has no
    trailing fractional zeros and no positive exponent, so ``str(result)`` re-parses to
    itself; ``format(result, "f")`` gives plain notation for the wire.
    """
    if isinstance(value, float):
        raise TypeError(f"{param} must not be a float: money is never a float")
    if isinstance(value, bool) or not isinstance(value, str | int | Decimal):
        raise TypeError(f"{param} must be a str, int or Decimal, not {type(value).__name__}")
    if isinstance(value, str):
        parsed = _parse_decimal_string(value, param)
    elif isinstance(value, int):
        parsed = Decimal(value)
    else:
        parsed = value
    if not parsed.is_finite():
        raise _invalid(param, f"Invalid decimal: {parsed}. It must be a finite number.")
    if parsed < 0:
        raise _invalid(param, f"Invalid decimal: {parsed}. It must be greater than or equal to 0.")
    if parsed > MAX_UNIT_AMOUNT_DECIMAL:
        raise _invalid(param, f"Invalid decimal: it must be at most {MAX_UNIT_AMOUNT_DECIMAL}.")
    if -_exponent(parsed) > MAX_UNIT_DECIMALS:
        raise _invalid(
            param,
            f"Invalid decimal: {parsed}. It must have at most {MAX_UNIT_DECIMALS} decimal places.",
        )
    return _canonical(parsed)


@dataclass(frozen=True, slots=True)
class Money:
    """An exact amount: integer minor units of one currency (lower-case ISO code)."""

    amount_minor: int
    currency: str

    def __post_init__(self) -> None:
        _require_int(self.amount_minor, "amount_minor")
        if abs(self.amount_minor) > MAX_AMOUNT_MINOR:
            raise ValueError(f"amount_minor {self.amount_minor} exceeds {MAX_AMOUNT_MINOR}")
        code = _currency.normalize(self.currency)
        if code != self.currency:
            # Frozen: normalizing "USD" to "usd" is part of construction, not a mutation.
            object.__setattr__(self, "currency", code)

    @classmethod
    def zero(cls, currency: str) -> Money:
        return cls(0, currency)

    def __add__(self, other: Money) -> Money:
        if not isinstance(other, Money):
            return NotImplemented
        self._require_same_currency(other)
        return Money(self.amount_minor + other.amount_minor, self.currency)

    def __sub__(self, other: Money) -> Money:
        if not isinstance(other, Money):
            return NotImplemented
        self._require_same_currency(other)
        return Money(self.amount_minor - other.amount_minor, self.currency)

    def __neg__(self) -> Money:
        return Money(-self.amount_minor, self.currency)

    def allocate(self, weights: Sequence[int]) -> list[Money]:
        """Split into shares proportional to ``weights`` that sum exactly to this amount.

        Largest remainder method: each share is the floor of its exact share, then the
        leftover units go to the largest remainders, ties to the lower index. A negative
        amount is split as its magnitude and negated, so a refund mirrors its charge.
        Every share is within 1 minor unit of its exact proportional share.
        """
        _check_weights(weights)
        total_weight = sum(weights)
        magnitude = abs(self.amount_minor)
        floors = [magnitude * w // total_weight for w in weights]
        remainders = [magnitude * w % total_weight for w in weights]
        leftover = magnitude - sum(floors)
        assert 0 <= leftover < len(weights), (leftover, weights)
        by_remainder = sorted(range(len(weights)), key=lambda i: (-remainders[i], i))
        for index in by_remainder[:leftover]:
            floors[index] += 1
        sign = -1 if self.amount_minor < 0 else 1
        shares = [Money(sign * share, self.currency) for share in floors]
        assert sum(share.amount_minor for share in shares) == self.amount_minor
        return shares

    def _require_same_currency(self, other: Money) -> None:
        if other.currency != self.currency:
            raise ValueError(f"currency mismatch: {self.currency} and {other.currency}")


def _check_weights(weights: Sequence[int]) -> None:
    if not 0 < len(weights) <= MAX_ALLOCATION_SHARES:
        raise ValueError(f"weights must have 1 to {MAX_ALLOCATION_SHARES} entries")
    for weight in weights:
        _require_int(weight, "weight")
        if weight < 0:
            raise ValueError(f"weights must be non-negative, got {weight}")
    if sum(weights) == 0:
        raise ValueError("weights must not all be zero")


def _require_int(value: object, name: str) -> None:
    # bool is an int subclass; True cents is always a bug.
    if type(value) is not int:
        raise TypeError(f"{name} must be an int, not {type(value).__name__}")


def _parse_decimal_string(value: str, param: str) -> Decimal:
    if len(value) > _MAX_DECIMAL_CHARS or not _DECIMAL_RE.fullmatch(value):
        shown = value[:_MAX_DECIMAL_CHARS] + ("…" if len(value) > _MAX_DECIMAL_CHARS else "")
        raise _invalid(param, f"Invalid decimal: {shown!r}. It must be a decimal number.")
    return Decimal(value)


def _canonical(value: Decimal) -> Decimal:
    if value.is_zero():
        return Decimal(0)  # also folds "-0" and "0E+3" into one form
    # normalize() strips trailing zeros but turns 100 into 1E+2; quantizing integers back
    # to exponent 0 keeps str() in plain notation. _EXACT makes both steps lossless.
    stripped = _EXACT.normalize(value)
    if _exponent(stripped) > 0:
        stripped = stripped.quantize(Decimal(1), context=_EXACT)
    return stripped


def _exponent(value: Decimal) -> int:
    exponent = value.as_tuple().exponent
    assert isinstance(exponent, int), value  # only NaN/Infinity carry a str exponent
    return exponent


def _invalid(param: str, message: str) -> InvalidRequestError:
    return InvalidRequestError(message, code="parameter_invalid", param=param)
