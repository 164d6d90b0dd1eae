"""Declarative validation of decoded params: one ``Schema`` per endpoint.

Turns decoded params into typed values, or raises the first problem as an
``InvalidRequestError`` whose ``param`` is Stripe's bracket path (``items[0][quantity]``).
Errors come in a fixed order (unknown keys, missing keys, exclusive groups, then values as
sent) so the same request always gets the same error. Keys absent from a request stay
absent from the result: an update endpoint can tell "not given" from "given as empty".

``""`` is Stripe's way to unset: ``nullable=True`` fields turn it (or JSON null) into
``None``, ``Str(blank_ok=True)`` keeps it, others reject it (``parameter_invalid_empty``).
``Metadata`` has its own unset rules, carried by ``MetadataUpdate``.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from remit.api.forms import IndexedList, as_hash, as_list, param_path
from remit.primitives import errors
from remit.primitives.errors import InvalidRequestError

Path = tuple[str | int, ...]
Groups = Iterable[Collection[str]]

INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
TIMESTAMP_MAX = 253_402_300_799  # 9999-12-31T23:59:59Z: anything later is a unit mistake
METADATA_MAX_KEYS, METADATA_KEY_MAX_LENGTH, METADATA_VALUE_MAX_LENGTH = 50, 40, 500
EXPAND_MAX_ITEMS, EXPAND_MAX_LENGTH, EXPAND_MAX_DEPTH = 100, 200, 4

_INT_TEXT = re.compile(r"-?[0-9]{1,19}")
_EMAIL = re.compile(r"[^@\s\x00]+@[^@\s.\x00]+(?:\.[^@\s.\x00]+)+")
_INTEGER = "parameter_invalid_integer"


@dataclass(frozen=True)
class Field:
    """A param type. ``parse`` applies the unset rules, then ``coerce`` checks the value."""

    nullable: bool = field(default=False, kw_only=True)

    def parse(self, value: Any, path: Path) -> Any:
        if value is None or value == "":
            if self.nullable:
                return None
            if value is None or not self.keeps_blank():
                raise _empty(path, value)
        return self.coerce(value, path)

    def keeps_blank(self) -> bool:
        """Whether ``""`` is a value of this type rather than an attempt to unset."""
        return False

    def coerce(self, value: Any, path: Path) -> Any:
        raise NotImplementedError


@dataclass(frozen=True)
class Str(Field):
    max_length: int = 5000
    blank_ok: bool = True
    choices: tuple[str, ...] | None = None

    def keeps_blank(self) -> bool:
        return self.blank_ok

    def coerce(self, value: Any, path: Path) -> str:
        if not isinstance(value, str) or "\x00" in value:  # PostgreSQL text cannot hold NUL
            raise _invalid(path, f"Invalid string: {_shown(value)}")
        if len(value) > self.max_length:
            message = (
                f"Invalid string: {_shown(value)}; must be at most {self.max_length} characters"
            )
            raise _invalid(path, message)
        if not self.blank_ok and not value.strip():
            message = f"Invalid {param_path(path)}: must not be blank"
            raise _invalid(path, message, "parameter_invalid_string_blank")
        if self.choices is not None and value not in self.choices:
            raise _not_one_of(path, self.choices)
        return value


@dataclass(frozen=True)
class Email(Field):
    max_length: int = 512

    def coerce(self, value: Any, path: Path) -> str:
        if isinstance(value, str) and len(value) <= self.max_length and _EMAIL.fullmatch(value):
            return value
        raise _invalid(path, f"Invalid email address: {_shown(value)}", "email_invalid")


@dataclass(frozen=True)
class Enum(Field):
    values: tuple[str, ...]

    def coerce(self, value: Any, path: Path) -> str:
        if not isinstance(value, str) or value not in self.values:
            raise _not_one_of(path, self.values)
        return value


@dataclass(frozen=True)
class Int(Field):
    """An integer sent as digits (forms) or as an int (JSON); never a float or a bool."""

    min: int | None = None
    max: int | None = None

    def coerce(self, value: Any, path: Path) -> int:
        number = _to_int(value)
        if number is None:
            raise _invalid(path, f"Invalid integer: {_shown(value)}", _INTEGER)
        if self.min is not None and number < self.min:
            message = f"This value must be greater than or equal to {self.min}."
            raise _invalid(path, message, _INTEGER)
        if self.max is not None and number > self.max:
            raise _invalid(path, f"This value must be less than or equal to {self.max}.", _INTEGER)
        return number


@dataclass(frozen=True)
class Bool(Field):
    def coerce(self, value: Any, path: Path) -> bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value in ("true", "false"):
            return value == "true"
        raise _invalid(path, f"Invalid boolean: {_shown(value)}")


@dataclass(frozen=True)
class Timestamp(Field):
    """Unix seconds; with ``allow_now`` also the literal ``"now"``, returned as is."""

    allow_now: bool = False

    def coerce(self, value: Any, path: Path) -> int | str:
        if self.allow_now and value == "now":
            return "now"
        return Int(min=1, max=TIMESTAMP_MAX).coerce(value, path)


@dataclass(frozen=True)
class MetadataUpdate:
    """How one request changes an object's metadata, by Stripe's rules.

    ``metadata=""`` clears every key (``clear_all``); ``metadata[k]=""`` removes ``k``
    (listed in ``unset``); ``metadata[k]=v`` sets ``k`` (in ``set``). A create endpoint
    uses ``apply({})``; an update endpoint applies it to the stored metadata.
    """

    set: Mapping[str, str] = field(default_factory=dict)
    unset: frozenset[str] = frozenset()
    clear_all: bool = False

    def apply(self, current: Mapping[str, str]) -> dict[str, str]:
        """The metadata after this update; raises if it would exceed the key limit."""
        kept = {} if self.clear_all else dict(current)
        result = {k: v for k, v in kept.items() if k not in self.unset} | dict(self.set)
        if len(result) > METADATA_MAX_KEYS:
            raise _too_many_metadata_keys(("metadata",), f"this update would leave {len(result)}")
        return result


@dataclass(frozen=True)
class Metadata(Field):
    """Always unsettable: ``""`` (or null) is ``MetadataUpdate(clear_all=True)``."""

    def parse(self, value: Any, path: Path) -> MetadataUpdate:
        if value is None or value == "":
            return MetadataUpdate(clear_all=True)
        return self.coerce(value, path)

    def coerce(self, value: Any, path: Path) -> MetadataUpdate:
        given = _expect_hash(value, path)
        if len(given) > METADATA_MAX_KEYS:
            raise _too_many_metadata_keys(path, f"you passed in {len(given)}")
        for key, item in given.items():
            _check_metadata_entry(path, key, item)
        return MetadataUpdate(
            set={key: item for key, item in given.items() if item != ""},
            unset=frozenset(key for key, item in given.items() if item == ""),
        )


def _check_metadata_entry(path: Path, key: str, item: Any) -> None:
    if len(key) > METADATA_KEY_MAX_LENGTH:
        raise _invalid(
            path,
            f"Metadata keys can have up to {METADATA_KEY_MAX_LENGTH} characters, but you passed "
            f"in a key that is {len(key)} characters. Invalid key: {_shown(key)}",
        )
    if not isinstance(item, str) or "\x00" in item + key:
        raise _invalid((*path, key), f"Invalid metadata value: {_shown(item)}; must be a string")
    if len(item) > METADATA_VALUE_MAX_LENGTH:
        raise _invalid(
            (*path, key),
            f"Metadata values can have up to {METADATA_VALUE_MAX_LENGTH} characters, but you "
            f"passed in a value that is {len(item)} characters. Invalid value: {_shown(item)}",
        )


def _too_many_metadata_keys(path: Path, count: str) -> InvalidRequestError:
    return _invalid(path, f"Metadata can have up to {METADATA_MAX_KEYS} keys, but {count} keys.")


@dataclass(frozen=True)
class Obj(Field):
    """A nested hash with its own fields; returns only the keys that were sent."""

    fields: Mapping[str, Field]
    required: Collection[str] = ()
    # Groups of keys of which at most one may be sent (Stripe's ``parameters_exclusive``).
    exclusive: Collection[Collection[str]] = ()

    def __post_init__(self) -> None:
        assert set(self.required) <= set(self.fields), "every required key must be a field"
        assert all(set(group) <= set(self.fields) for group in self.exclusive)

    def coerce(self, value: Any, path: Path) -> dict[str, Any]:
        given = _expect_hash(value, path)
        self.check_keys(given, path)
        return self.parse_values(given, path)

    def check_keys(self, given: Mapping[str, Any], path: Path) -> None:
        for key in given:
            if key not in self.fields:
                raise errors.unknown_parameter(param_path((*path, key)))
        # Declaration order, not the order of `required`: a frozenset's order varies by run.
        for key in self.fields:
            if key in self.required and key not in given:
                raise errors.missing_parameter(param_path((*path, key)))
        for group in self.exclusive:
            sent = [param_path((*path, key)) for key in group if key in given]
            if len(sent) > 1:
                raise InvalidRequestError(
                    f"You may only specify one of these parameters: {', '.join(sent)}.",
                    code="parameters_exclusive",
                    param=sent[-1],
                )

    def parse_values(self, given: Mapping[str, Any], path: Path) -> dict[str, Any]:
        return {key: self.fields[key].parse(item, (*path, key)) for key, item in given.items()}


@dataclass(frozen=True)
class ListOf(Field):
    """A list (``k[0]=..`` or ``k[]=..``); item errors name the index that was sent."""

    item: Field
    max_items: int = 100

    def coerce(self, value: Any, path: Path) -> list[Any]:
        entries = _expect_list(value, path)
        if len(entries) > self.max_items:
            message = f"Invalid array: {param_path(path)} can have at most {self.max_items} items"
            raise _invalid(path, message)
        return [self.item.parse(entry, (*path, index)) for index, entry in entries]


@dataclass(frozen=True)
class Expand(Field):
    """Dotted paths; a lone string is a one-item list, ``""`` none. Errors name ``expand``."""

    def keeps_blank(self) -> bool:
        return True

    def coerce(self, value: Any, path: Path) -> list[str]:
        if value == "":
            return []
        entries = [value] if isinstance(value, str) else [e for _, e in _expect_list(value, path)]
        if len(entries) > EXPAND_MAX_ITEMS:
            raise _invalid(path, f"You cannot expand more than {EXPAND_MAX_ITEMS} properties.")
        for entry in entries:
            if not isinstance(entry, str) or len(entry) > EXPAND_MAX_LENGTH:
                message = f"must be a string of at most {EXPAND_MAX_LENGTH} characters"
                raise _invalid(path, f"Invalid expand: {_shown(entry)}; {message}")
            segments = entry.split(".")
            if "" in segments:
                raise _invalid(path, f"Invalid expand: {_shown(entry)}")
            if len(segments) > EXPAND_MAX_DEPTH:
                too_deep = f"You cannot expand more than {EXPAND_MAX_DEPTH} levels of a property."
                raise _invalid(path, f"{too_deep} Property: {_shown(entry)}")
        return entries


@dataclass(frozen=True)
class RangeFilter(Field):
    """``created=123`` gives ``123``; ``created[gte]=100&created[lt]=200`` gives
    ``{"gte": 100, "lt": 200}`` (only the bounds sent)."""

    def coerce(self, value: Any, path: Path) -> int | dict[str, int]:
        if not isinstance(value, dict | IndexedList):
            return Int().coerce(value, path)
        given = _expect_hash(value, path)
        bounds = Obj({key: Int() for key in ("gt", "gte", "lt", "lte")})
        bounds.check_keys(given, path)
        return bounds.parse_values(given, path)


class Schema:
    """The params of one endpoint. ``exclusive`` lists groups of keys of which at most one
    may be sent (answered with Stripe's ``parameters_exclusive``)."""

    def __init__(
        self, fields: Mapping[str, Field], required: Iterable[str] = (), exclusive: Groups = ()
    ) -> None:
        groups = tuple(tuple(group) for group in exclusive)
        self.root = Obj(MappingProxyType(dict(fields)), tuple(required), groups)

    def validate(self, params: Mapping[str, Any]) -> dict[str, Any]:
        self.root.check_keys(params, ())
        return self.root.parse_values(params, ())


LIST_PARAMS: Mapping[str, Field] = MappingProxyType(
    {
        "limit": Int(min=1, max=100),
        "starting_after": Str(max_length=255, blank_ok=False),
        "ending_before": Str(max_length=255, blank_ok=False),
        "expand": Expand(),
    }
)


def list_schema(fields: Mapping[str, Field] | None = None, required: Iterable[str] = ()) -> Schema:
    """A list endpoint's schema: pagination params plus the endpoint's own filters.

    ``limit`` stays absent when not sent; the handler applies its default (10).
    """
    pagination = [("starting_after", "ending_before")]
    return Schema({**LIST_PARAMS, **(fields or {})}, required, exclusive=pagination)


def _invalid(path: Path, message: str, code: str = "parameter_invalid") -> InvalidRequestError:
    return errors.invalid_parameter(param_path(path), message, code)


def _empty(path: Path, value: Any) -> InvalidRequestError:
    name = param_path(path)
    what = "an empty string" if value == "" else "null"
    return _invalid(
        path,
        f"You passed {what} for '{name}'. We assume empty values are an attempt to unset a "
        f"parameter; however '{name}' cannot be unset. You should remove '{name}' from your "
        "request or supply a non-empty value.",
        "parameter_invalid_empty",
    )


def _not_one_of(path: Path, values: tuple[str, ...]) -> InvalidRequestError:
    listed = (
        " or ".join(values) if len(values) <= 2 else f"{', '.join(values[:-1])}, or {values[-1]}"
    )
    return _invalid(path, f"Invalid {param_path(path)}: must be one of {listed}")


def _expect_hash(value: Any, path: Path) -> dict[str, Any]:
    given = as_hash(value)
    if given is not None:
        return given
    name = param_path(path)
    raise _invalid(path, f"Invalid object: {name} must be a hash, sent as {name}[key]=value")


def _expect_list(value: Any, path: Path) -> list[tuple[int, Any]]:
    entries = as_list(value)
    if entries is not None:
        return entries
    hint = ""
    if isinstance(value, dict) and all(key.isascii() and key.isdigit() for key in value):
        hint = " with indices from 0 to 999"  # forms.MAX_INDEX: larger ones decode as a hash
    name = param_path(path)
    raise _invalid(path, f"Invalid array: {name} must be a list, sent as {name}[0]=value{hint}")


def _to_int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, str) and _INT_TEXT.fullmatch(value):
        value = int(value)
    if isinstance(value, int) and INT64_MIN <= value <= INT64_MAX:
        return value
    return None


def _shown(value: Any, limit: int = 50) -> str:
    """Echo a bad value back, bounded, without dumping whole hashes into the message."""
    if isinstance(value, dict | list):
        return "a hash" if isinstance(value, dict) else "an array"
    if isinstance(value, bool):
        return "true" if value else "false"
    text = value if isinstance(value, str) else repr(value)
    return text if len(text) <= limit else text[:limit] + "..."
