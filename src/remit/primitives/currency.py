"""The currency table: which codes remit accepts and how many minor-unit digits each has.

ISO 4217 (via the maintained ``iso4217`` package) is the base; Stripe's API departs from
it for a handful of codes, and the wire contract is Stripe's, so Stripe's overrides win.
Codes are lower-case everywhere inside remit because that is Stripe's wire form.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from iso4217 import Currency

from remit.primitives.errors import InvalidRequestError

__all__ = [
    "STRIPE_THREE_DECIMAL_CURRENCIES",
    "STRIPE_TWO_DECIMAL_CURRENCIES",
    "STRIPE_ZERO_DECIMAL_CURRENCIES",
    "exponent",
    "is_supported",
    "normalize",
    "supported_currencies",
]

STRIPE_ZERO_DECIMAL_CURRENCIES: frozenset[str] = frozenset(
    {"bif", "clp", "djf", "gnf", "jpy", "kmf", "krw", "mga"}
    | {"pyg", "rwf", "ugx", "vnd", "vuv", "xaf", "xof", "xpf"}
)

STRIPE_THREE_DECIMAL_CURRENCIES: frozenset[str] = frozenset({"bhd", "jod", "kwd", "omr", "tnd"})

# Stripe's API treats these as two-decimal even where ISO disagrees (ISO gives ISK 0):
# integrations send ISK amounts in hundredths, so using ISO's exponent would misread
# every ISK amount by a factor of 100. HUF and TWD are already 2 in ISO; listing them
# pins that against a future ISO data change being picked up silently.
STRIPE_TWO_DECIMAL_CURRENCIES: frozenset[str] = frozenset({"isk", "huf", "twd"})

# The full list is ~170 codes: too long for an error message to stay readable.
_MESSAGE_MAX_CODES = 20
# No code is longer; bounding what we echo keeps error messages short.
_MAX_ECHO_CHARS = 16


def _build_table() -> Mapping[str, int]:
    table: dict[str, int] = {}
    for iso in Currency:
        # ISO gives no exponent for gold, SDRs, test codes and the like: not payable.
        if iso.exponent is None:
            continue
        table[iso.code.lower()] = iso.exponent
    for code in STRIPE_ZERO_DECIMAL_CURRENCIES:
        table[code] = 0
    for code in STRIPE_TWO_DECIMAL_CURRENCIES:
        table[code] = 2
    for code in STRIPE_THREE_DECIMAL_CURRENCIES:
        table[code] = 3
    return MappingProxyType(dict(sorted(table.items())))


_EXPONENTS: Mapping[str, int] = _build_table()
_SORTED_CODES: tuple[str, ...] = tuple(_EXPONENTS)


def supported_currencies() -> tuple[str, ...]:
    """Every accepted code, lower-case, sorted."""
    return _SORTED_CODES


def is_supported(currency: str) -> bool:
    return isinstance(currency, str) and currency.lower() in _EXPONENTS


def normalize(currency: str, param: str = "currency") -> str:
    """Return the lower-case code, or raise Stripe's ``parameter_invalid`` error for ``param``."""
    if isinstance(currency, str):
        code = currency.lower()
        if code in _EXPONENTS:
            return code
        shown = currency[:_MAX_ECHO_CHARS] + ("…" if len(currency) > _MAX_ECHO_CHARS else "")
    else:
        # The wire can deliver a JSON number or object; say what arrived, not its repr.
        shown = type(currency).__name__
    listed = ", ".join(_SORTED_CODES[:_MESSAGE_MAX_CODES])
    more = len(_SORTED_CODES) - _MESSAGE_MAX_CODES
    raise InvalidRequestError(
        f"Invalid currency: {shown}. Stripe currently supports these currencies: "
        f"{listed}, and {more} more.",
        code="parameter_invalid",
        param=param,
    )


def exponent(currency: str) -> int:
    """Minor-unit digits of ``currency`` (case-insensitive): usd -> 2, jpy -> 0, kwd -> 3."""
    return _EXPONENTS[normalize(currency)]
