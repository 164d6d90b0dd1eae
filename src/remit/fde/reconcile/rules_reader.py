"""Typed, path-aware reading of a YAML mapping for rules.py.

Each read checks one value and, when it is wrong, records a problem at its YAML path
and returns a placeholder, so validation carries on and the final error lists every
problem at once. Bounds live here too: names, lists, maps and durations are all
finite, so a rules file cannot make a run (or its error message) unbounded.
"""

from __future__ import annotations

import difflib
import functools
import re
import zoneinfo
from collections.abc import Sequence
from typing import Any

import yaml

from remit.fde.reconcile import model
from remit.fde.reconcile.transforms import strptime_directives
from remit.primitives import currency as currencies
from remit.primitives.errors import InvalidRequestError

__all__ = [
    "MAX_DURATION_S",
    "MAX_MAP_VALUES",
    "Problems",
    "Reader",
    "date_format",
    "field_path",
    "load_mapping",
]

# A year and a day: a window wider than that is no longer a matching window.
MAX_DURATION_S = 366 * 86_400
MAX_MAP_VALUES = 1_000
# An error message stays readable; the count of the rest is still given.
MAX_PROBLEMS_LISTED = 50
_MAX_ECHO_CHARS = 40
_DURATION = re.compile(r"([0-9]{1,9})([smhd])")
_UNIT_S = {"s": 1, "m": 60, "h": 3_600, "d": 86_400}
_FIELD_PATH = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z0-9_\-]+)*")
_NAMED_FORMATS = ("unix", "unix_ms", "iso8601")
# strptime directives DuckDB reads the same way on every machine. Locale-dependent ones
# (%c, %x, %X), week numbers and zone names (%Z: abbreviations are ambiguous) are out.
_DIRECTIVES = frozenset(
    "%" + d
    for d in ("a", "A", "b", "B", "d", "-d", "m", "-m", "y", "-y", "Y", "H", "-H", "I", "-I")
    + ("p", "M", "-M", "S", "-S", "f", "z", "j", "-j")
)
_MAX_PATTERN_CHARS = 64


def _echo(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= _MAX_ECHO_CHARS else text[: _MAX_ECHO_CHARS - 1] + "…"


def _duplicate_key(root: Any) -> Any:
    """The first key given twice in one mapping of the composed YAML, or None. PyYAML
    silently keeps the last, which would let a pasted-over setting win unnoticed."""
    stack, seen_nodes = [root], set()
    while stack:
        node = stack.pop()
        if node is None or id(node) in seen_nodes:
            continue
        seen_nodes.add(id(node))  # aliases share nodes: visit each once
        if isinstance(node, yaml.MappingNode):
            keys: set[tuple[str, str]] = set()
            for key_node, value_node in node.value:
                if isinstance(key_node, yaml.ScalarNode):
                    key = (key_node.tag, key_node.value)
                    if key in keys and key_node.tag != "tag:yaml.org,2002:merge":
                        return key_node
                    keys.add(key)
                stack.append(value_node)
        elif isinstance(node, yaml.SequenceNode):
            stack.extend(node.value)
    return None


def load_mapping(text: str, code: str, max_bytes: int) -> dict[Any, Any]:
    """The YAML document as a mapping, or the error (``code``) saying why it is not one."""
    if not isinstance(text, str):
        raise InvalidRequestError("Rules must be text (YAML).", code=code)
    size = len(text.encode("utf-8"))
    if size > max_bytes:
        raise InvalidRequestError(
            f"Rules are {size} bytes; at most {max_bytes} are accepted.", code=code
        )
    try:
        duplicate = _duplicate_key(yaml.compose(text, Loader=yaml.SafeLoader))
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise InvalidRequestError(
            f"Rules are not valid YAML{where}: {problem}.", code=code
        ) from None
    if duplicate is not None:
        mark = duplicate.start_mark
        raise InvalidRequestError(
            f"Rules give the key {duplicate.value!r} twice in one mapping "
            f"(line {mark.line + 1}, column {mark.column + 1}).",
            code=code,
        )
    if not isinstance(data, dict):
        raise InvalidRequestError(
            "Rules must be a YAML mapping (name, version, mode, ...).", code=code
        )
    return data


class Problems:
    """Every problem found, in the order found: (YAML path, what is wrong)."""

    def __init__(self) -> None:
        self.items: list[tuple[str, str]] = []

    def add(self, path: str, message: str) -> None:
        self.items.append((path, message))

    def raise_if_any(self, code: str) -> None:
        if not self.items:
            return
        listed = [f"{path}: {message}" for path, message in self.items[:MAX_PROBLEMS_LISTED]]
        more = len(self.items) - len(listed)
        if more:
            listed.append(f"and {more} more")
        count = len(self.items)
        raise InvalidRequestError(
            f"Invalid reconciliation rules ({count} problem{'s' if count > 1 else ''}): "
            + "; ".join(listed),
            code=code,
            param=self.items[0][0],
        )


class Reader:
    """One YAML mapping at ``path``, whose keys must be among ``allowed``."""

    def __init__(
        self, problems: Problems, path: str, data: dict[Any, Any], allowed: Sequence[str]
    ) -> None:
        self.problems = problems
        self.path = path
        self.data = data
        for key in data:
            if not isinstance(key, str):
                problems.add(path or "rules", f"keys must be text, got {_echo(key)}")
            elif key not in allowed:
                close = difflib.get_close_matches(key, allowed, n=1)
                hint = f" (did you mean {close[0]!r}?)" if close else ""
                problems.add(self.child(key), f"unknown key{hint}")

    def child(self, key: str) -> str:
        return f"{self.path}.{key}" if self.path else key

    def problem(self, key: str, message: str) -> None:
        self.problems.add(self.child(key), message)

    def has(self, key: str) -> bool:
        """Whether the key is given (a YAML null counts as not given)."""
        return self.data.get(key) is not None

    def empty(self, key: str) -> Reader:
        """A stand-in for a missing or broken mapping, so reading can go on."""
        return Reader(self.problems, self.child(key), {}, ())

    def _get(self, key: str, required: bool) -> Any:
        value = self.data.get(key)
        if value is None and required:
            self.problem(key, "required")
        return value

    def text(self, key: str, *, required: bool = False, max_chars: int) -> str | None:
        value = self._get(key, required)
        if value is None:
            return None
        if not isinstance(value, str) or not value or "\x00" in value:
            self.problem(key, f"must be non-empty text, got {_echo(value)}")
            return None
        if len(value) > max_chars:
            self.problem(key, f"longer than {max_chars} characters")
            return None
        return value

    def integer(
        self, key: str, *, required: bool = False, minimum: int, maximum: int
    ) -> int | None:
        value = self._get(key, required)
        if value is None:
            return None
        # bool is an int in Python and `yes` is true in YAML 1.1: neither is a number here.
        if isinstance(value, bool) or not isinstance(value, int):
            self.problem(key, f"must be an integer, got {_echo(value)}")
            return None
        if not minimum <= value <= maximum:
            self.problem(key, f"must be between {minimum} and {maximum}, got {value}")
            return None
        return value

    def boolean(self, key: str, default: bool) -> bool:
        value = self.data.get(key)
        if value is None:
            return default
        if not isinstance(value, bool):
            self.problem(key, f"must be true or false, got {_echo(value)}")
            return default
        return value

    def choice(
        self, key: str, options: Sequence[str], default: str | None, *, required: bool = False
    ) -> str | None:
        value = self._get(key, required)
        if value is None:
            return default
        if value not in options or not isinstance(value, str):
            self.problem(key, f"must be one of {', '.join(options)}, got {_echo(value)}")
            return default
        return value

    def duration(self, key: str) -> int | None:
        """Seconds from an integer or ``90s`` / ``15m`` / ``36h`` / ``5d``."""
        value = self.data.get(key)
        if value is None:
            return None
        seconds: int | None = None
        if isinstance(value, int) and not isinstance(value, bool):
            seconds = value
        elif isinstance(value, str) and (m := _DURATION.fullmatch(value.strip())):
            seconds = int(m.group(1)) * _UNIT_S[m.group(2)]
        if seconds is None:
            self.problem(key, f"must be seconds or like 90s, 15m, 36h, 5d; got {_echo(value)}")
            return None
        if not 0 <= seconds <= MAX_DURATION_S:
            self.problem(key, "must be between 0 and 366d")
            return None
        return seconds

    def mapping(self, key: str, allowed: Sequence[str], *, required: bool = False) -> Reader | None:
        value = self._get(key, required)
        if value is None:
            return None
        if not isinstance(value, dict):
            self.problem(key, f"must be a mapping, got {_echo(value)}")
            return None
        return Reader(self.problems, self.child(key), value, allowed)

    def items(
        self, key: str, allowed: Sequence[str], *, required: bool = False, maximum: int
    ) -> list[Reader]:
        """A list of mappings, each read at ``key[i]``."""
        value = self._get(key, required)
        if value is None:
            return []
        if not isinstance(value, list) or (required and not value):
            self.problem(key, "must be a non-empty list")
            return []
        if len(value) > maximum:
            self.problem(key, f"at most {maximum} entries, got {len(value)}")
            return []
        readers = []
        for i, item in enumerate(value):
            path = f"{self.child(key)}[{i}]"
            if not isinstance(item, dict):
                self.problems.add(path, f"must be a mapping, got {_echo(item)}")
                continue
            readers.append(Reader(self.problems, path, item, allowed))
        return readers

    def currency(self, key: str) -> str | None:
        value = self.data.get(key)
        if value is None:
            return None
        if not isinstance(value, str) or not currencies.is_supported(value):
            self.problem(key, f"unknown currency {_echo(value)}")
            return None
        return value.lower()

    def currency_list(self, key: str) -> tuple[str, ...]:
        """An allow-list, sorted: its order means nothing, so it must not move the digest."""
        value = self.data.get(key)
        if value is None:
            return ()
        if not isinstance(value, list):
            self.problem(key, f"must be a list of currency codes, got {_echo(value)}")
            return ()
        codes: set[str] = set()
        for i, code in enumerate(value):
            if not isinstance(code, str) or not currencies.is_supported(code):
                self.problems.add(f"{self.child(key)}[{i}]", f"unknown currency {_echo(code)}")
            elif code.lower() in codes:
                self.problems.add(f"{self.child(key)}[{i}]", f"{code} is listed twice")
            else:
                codes.add(code.lower())
        return tuple(sorted(codes))

    def string_map(self, key: str) -> dict[str, str]:
        """External value -> platform value, both text. YAML turns ``yes`` and ``1`` into
        a bool and an int: those must be quoted, or the map would silently miss them."""
        value = self.data.get(key)
        if value is None:
            return {}
        if not isinstance(value, dict) or not value:
            self.problem(key, "must be a non-empty mapping of external value: platform value")
            return {}
        if len(value) > MAX_MAP_VALUES:
            self.problem(key, f"at most {MAX_MAP_VALUES} entries, got {len(value)}")
            return {}
        result: dict[str, str] = {}
        for k, v in value.items():
            path = f"{self.child(key)}.{k}"
            if not isinstance(k, str) or not isinstance(v, str):
                self.problems.add(path, "keys and values must be text (quote them: 'yes', '1')")
            elif not k or k != k.strip() or not v:
                self.problems.add(path, "empty text or surrounding spaces never match a cell")
            else:
                result[k] = v
        return result


@functools.cache
def _timezones() -> frozenset[str]:
    """IANA names both Python and DuckDB's ICU know. ``localtime`` is the machine's own
    zone: it would make a run depend on where it ran, and DuckDB refuses it anyway."""
    return frozenset(zoneinfo.available_timezones()) - {"localtime"}


def field_path(text: str) -> bool:
    """Whether ``text`` names a (possibly nested) platform field: ``status``,
    ``metadata.crm_id``."""
    return _FIELD_PATH.fullmatch(text) is not None


def _pattern_problem(pattern: str) -> str | None:
    """Why a strptime pattern cannot be used, or None when it can."""
    if len(pattern) > _MAX_PATTERN_CHARS:
        return f"longer than {_MAX_PATTERN_CHARS} characters"
    directives = set(strptime_directives(pattern))
    unknown = sorted(directives - _DIRECTIVES)
    if unknown:
        return f"unsupported directive {unknown[0]!r}"
    has = directives.__contains__
    if not (has("%Y") or has("%y") or has("%-y")):
        return "needs a year (%Y)"
    month_day = (has("%m") or has("%-m") or has("%b") or has("%B")) and (has("%d") or has("%-d"))
    if not (month_day or has("%j") or has("%-j")):
        return "needs a month and a day (%m and %d) or a day of the year (%j)"
    if (has("%I") or has("%-I")) != has("%p"):
        return "a 12-hour clock (%I) needs AM/PM (%p), and %p needs %I"
    return None


def date_format(r: Reader, fmt_key: str, tz_key: str) -> model.DateFormat:
    """A DateFormat from a format key (unix, unix_ms, iso8601 or a strptime pattern) and
    a time zone key (an IANA name, for values without an offset)."""
    fmt = r.text(fmt_key, max_chars=_MAX_PATTERN_CHARS + 1) or "unix"
    if fmt not in _NAMED_FORMATS:
        if "%" not in fmt:
            r.problem(fmt_key, f"must be one of {', '.join(_NAMED_FORMATS)} or a strptime pattern")
        elif (why := _pattern_problem(fmt)) is not None:
            r.problem(fmt_key, why)
    tz = r.text(tz_key, max_chars=64) or "UTC"
    if tz not in _timezones():
        r.problem(tz_key, f"unknown time zone {_echo(tz)} (use an IANA name such as UTC)")
        tz = "UTC"
    return model.DateFormat(format=fmt, timezone=tz)
