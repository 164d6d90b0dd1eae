"""Param types beyond the basics: exact decimal amounts, currencies, tier bounds, hashes
keyed by the caller (``currency_options[eur]``) and hashes whose shape a plugin owns.
Same rules as ``remit.api.params``."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from remit.api.forms import IndexedList, as_list, param_path
from remit.api.params import (
    _INTEGER,
    Field,
    ListOf,
    Path,
    _expect_hash,
    _invalid,
    _shown,
    _to_int,
)
from remit.primitives import currency, money


@dataclass(frozen=True)
class IntOrInf(Field):
    """An integer, or the literal ``"inf"`` (Stripe's unbounded tier), returned as None."""

    def coerce(self, value: Any, path: Path) -> int | None:
        if value == "inf":
            return None
        number = _to_int(value)
        if number is None:
            raise _invalid(path, f'Invalid integer or "inf": {_shown(value)}', _INTEGER)
        return number


@dataclass(frozen=True)
class IndexedListOf(ListOf):
    """A ``ListOf`` that remembers the indices the caller sent (an ``IndexedList``), so checks
    made after the schema (a tier's ``up_to`` against the one before) name ``tiers[7]`` as
    sent rather than the item's position."""

    def coerce(self, value: Any, path: Path) -> IndexedList:
        items = super().coerce(value, path)
        indices = [str(index) for index, _ in as_list(value) or ()]
        return IndexedList(dict(zip(indices, items, strict=True)))


@dataclass(frozen=True)
class DecimalAmount(Field):
    """A non-negative decimal sent as a string (forms) or a JSON number, returned as Decimal.

    Stripe's ``*_decimal`` params: at most 12 places and 10**20 (``places`` and ``maximum``
    tighten those). The exponent form ``1E-7`` is accepted because the official SDKs encode a
    ``Decimal`` with ``str()``, which writes small values that way.
    """

    places: int = money.MAX_UNIT_DECIMALS
    positive: bool = False
    maximum: Decimal = money.MAX_UNIT_AMOUNT_DECIMAL

    def coerce(self, value: Any, path: Path) -> Decimal:
        if isinstance(value, bool) or not isinstance(value, str | int | Decimal):
            raise _invalid(path, f"Invalid decimal: {_shown(value)}")
        number = money.parse_unit_amount_decimal(value, param_path(path))
        exponent = number.as_tuple().exponent
        assert isinstance(exponent, int)  # parse_unit_amount_decimal returns finite values
        if -exponent > self.places:
            message = (
                f"Invalid decimal: {number}. It must have at most {self.places} decimal places."
            )
            raise _invalid(path, message)
        if self.positive and number == 0:
            raise _invalid(path, f"Invalid decimal: {number}. It must be greater than 0.")
        if number > self.maximum:
            raise _invalid(path, f"Invalid decimal: {number}. It must be at most {self.maximum}.")
        return number


@dataclass(frozen=True)
class Currency(Field):
    """A supported ISO currency code, returned lower-case."""

    def coerce(self, value: Any, path: Path) -> str:
        if not isinstance(value, str):
            raise _invalid(path, f"Invalid currency: {_shown(value)}")
        return currency.normalize(value, param_path(path))


FREE_FORM_MAX_DEPTH, FREE_FORM_MAX_LEAVES = 5, 500
FREE_FORM_KEY_MAX_LENGTH, FREE_FORM_VALUE_MAX_LENGTH = 100, 500


@dataclass(frozen=True)
class FreeForm(Field):
    """A hash whose shape belongs to someone else (a plugin's config), bounded in size.

    Returns JSON values: hashes, lists (``IndexedList`` when sent with indexed keys, as the
    form decoder gives them), strings, integers and booleans; a JSON number with a fraction
    becomes its exact decimal string. Whoever owns the shape validates it further.
    """

    def coerce(self, value: Any, path: Path) -> dict[str, Any]:
        given = _expect_hash(value, path)
        leaves = [0]
        return {key: _free_form(item, (*path, key), leaves) for key, item in given.items()}


def _free_form(value: Any, path: Path, leaves: list[int]) -> Any:
    if len(path) > FREE_FORM_MAX_DEPTH + 1:
        raise _invalid(path, f"Invalid {param_path(path[:1])}: nested too deeply")
    if isinstance(value, IndexedList):
        # Keep the keys as sent: only the shape's owner knows whether "0" was an index.
        pairs = zip(value.source_keys, value, strict=True)
        return IndexedList({key: _free_form(item, (*path, key), leaves) for key, item in pairs})
    if isinstance(value, list):
        return [_free_form(item, (*path, index), leaves) for index, item in enumerate(value)]
    if isinstance(value, dict):
        for key in value:
            if len(key) > FREE_FORM_KEY_MAX_LENGTH:
                raise _invalid((*path, key[:20]), f"Invalid key: {_shown(key)}; too long")
        return {key: _free_form(item, (*path, key), leaves) for key, item in value.items()}
    leaves[0] += 1
    if leaves[0] > FREE_FORM_MAX_LEAVES:
        raise _invalid(path[:1], f"Invalid {param_path(path[:1])}: too many values")
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, str) and len(value) > FREE_FORM_VALUE_MAX_LENGTH:
        message = f"Invalid string: must be at most {FREE_FORM_VALUE_MAX_LENGTH} characters"
        raise _invalid(path, message)
    if value is None or not isinstance(value, str | int | bool):
        raise _invalid(path, f"Invalid value: {_shown(value)}")
    return value


@dataclass(frozen=True)
class HashOf(Field):
    """A hash with caller-chosen keys (``currency_options[eur][...]``): each key is parsed by
    ``key`` (which may normalize it) and each value by ``value``."""

    key: Field
    value: Field
    max_items: int = 100

    def coerce(self, value: Any, path: Path) -> dict[Any, Any]:
        given = _expect_hash(value, path)
        if len(given) > self.max_items:
            message = f"Invalid hash: {param_path(path)} can have at most {self.max_items} keys"
            raise _invalid(path, message)
        result: dict[Any, Any] = {}
        for key, item in given.items():
            parsed = self.key.parse(key, (*path, key))
            if parsed in result:
                raise _invalid((*path, key), f"Duplicate key: {_shown(key)}")
            result[parsed] = self.value.parse(item, (*path, key))
        return result
