"""Stripe's form encoding: bracketed keys to nested Python values and back.

``items[0][price]=p&expand[]=customer&metadata[k]=v`` decodes to
``{"items": [{"price": "p"}], "expand": ["customer"], "metadata": {"k": "v"}}``.
Leaves stay strings: typing is the job of ``remit.api.params``, which knows the schema.

Ambiguous input is rejected rather than guessed at: a key sent twice, a key sent both as a
value and as a hash or list, a malformed bracket name. Every body is bounded in field count
and nesting depth before any tree is built.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qsl, quote

from remit.primitives.errors import InvalidRequestError, invalid_parameter

__all__ = [
    "MAX_DEPTH",
    "MAX_FIELDS",
    "MAX_INDEX",
    "IndexedList",
    "as_hash",
    "as_list",
    "decode_form",
    "decode_query",
    "encode_form",
    "param_path",
]

MAX_FIELDS = 1000  # key=value pairs per body or query string
MAX_DEPTH = 8  # bracket segments after the top-level name
MAX_INDEX = 1000  # exclusive: a larger integer segment is a hash key, never a list index

_KEY = re.compile(r"([^\[\]]+)((?:\[[^\[\]]*\])*)")
_SEGMENT = re.compile(r"\[([^\[\]]*)\]")
# Canonical spellings only, so "01" and "1" never collapse onto the same list slot.
_INDEX = re.compile(r"0|[1-9][0-9]{0,2}")
assert MAX_INDEX == 1000, "_INDEX allows at most three digits"


class IndexedList(list[Any]):
    """A list decoded from integer-indexed keys, ordered by index, remembering those keys.

    Only the schema knows whether ``metadata[0]=x`` means index 0 or the hash key "0", and
    whether ``items[5][quantity]`` should be reported as ``items[5]`` after it became the
    list's first element; ``source_keys`` keeps both readings available. Treat as read-only.
    """

    source_keys: tuple[str, ...]

    def __init__(self, by_index: Mapping[str, Any]) -> None:
        ordered = sorted(by_index.items(), key=lambda pair: int(pair[0]))
        super().__init__(value for _, value in ordered)
        self.source_keys = tuple(key for key, _ in ordered)

    def as_hash(self) -> dict[str, Any]:
        return dict(zip(self.source_keys, self, strict=True))


class _Appended(list[Any]):
    """A list being built from ``k[]`` keys; distinct from hashes so that mixing is caught."""


def decode_form(body: bytes) -> dict[str, Any]:
    """Decode an ``application/x-www-form-urlencoded`` body."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise _not_utf8("body") from None
    return _decode(text, "body")


def decode_query(query: str) -> dict[str, Any]:
    """Decode a URL query string (without the leading ``?``) by the same rules as a body."""
    return _decode(query, "query string")


def param_path(parts: Sequence[str | int]) -> str:
    """Render ``("items", 0, "price")`` as Stripe's ``items[0][price]``."""
    assert parts, "a parameter path names at least the top-level key"
    head, *rest = parts
    return str(head) + "".join(f"[{part}]" for part in rest)


def as_hash(node: Any) -> dict[str, Any] | None:
    """A decoded node read as a hash (``metadata[0]=x`` gives ``{"0": "x"}``), else None."""
    if isinstance(node, IndexedList):
        return node.as_hash()
    return node if isinstance(node, dict) else None


def as_list(node: Any) -> list[tuple[int, Any]] | None:
    """A decoded node read as a list of (index the caller sent, item), else None."""
    if isinstance(node, IndexedList):
        return [(int(key), item) for key, item in zip(node.source_keys, node, strict=True)]
    return list(enumerate(node)) if isinstance(node, list) else None


def encode_form(params: Mapping[str, Any]) -> str:
    """Encode nested params the way the Stripe SDKs do (the inverse of ``decode_form``).

    Lists are indexed (``k[0]``), booleans are ``true``/``false``, ``None`` is omitted, and
    so are empty lists and hashes (as in stripe-python): send ``""`` explicitly to unset.
    """
    return "&".join(
        f"{quote(key, safe='[]')}={quote(value, safe='')}" for key, value in _flatten(params, ())
    )


def _decode(text: str, source: str) -> dict[str, Any]:
    try:
        pairs = parse_qsl(
            text,
            keep_blank_values=True,
            strict_parsing=False,
            encoding="utf-8",
            errors="strict",
            max_num_fields=MAX_FIELDS,
        )
    except UnicodeDecodeError:  # before ValueError, of which it is a subclass
        raise _not_utf8(source) from None
    except ValueError:
        raise InvalidRequestError(
            f"Invalid request: too many parameters; at most {MAX_FIELDS} are allowed."
        ) from None
    root: dict[str, Any] = {}
    for key, value in pairs:
        _insert(root, _split_key(key), value)
    return {key: _finish(node) for key, node in root.items()}


def _not_utf8(source: str) -> InvalidRequestError:
    return InvalidRequestError(f"Invalid request: {source} is not valid UTF-8.")


def _split_key(key: str) -> list[str]:
    """``items[0][price]`` -> ``["items", "0", "price"]``; ``expand[]`` -> ``["expand", ""]``."""
    match = _KEY.fullmatch(key)
    if match is None:
        raise InvalidRequestError(
            f"Invalid parameter name: '{_clip(key)}'. Nest with brackets, as in a[b][c].",
            code="parameter_invalid",
            param=key or None,
        )
    segments = _SEGMENT.findall(match.group(2))
    if len(segments) > MAX_DEPTH:
        raise invalid_parameter(
            match.group(1),
            f"Invalid parameter name: {_clip(key)} is nested more than {MAX_DEPTH} levels deep.",
        )
    if "" in segments[:-1]:
        raise invalid_parameter(
            key,
            f"Invalid parameter name: {_clip(key)}. [] may only end a name; "
            "send lists of hashes with indices, as in items[0][price].",
        )
    return [match.group(1), *segments]


def _insert(root: dict[str, Any], parts: list[str], value: str) -> None:
    node: dict[str, Any] | _Appended = root
    for depth, part in enumerate(parts[:-1]):
        assert isinstance(node, dict), "[] only ends a name, so every inner node is a hash"
        wanted: type[dict[str, Any]] | type[_Appended] = dict
        if parts[depth + 1] == "":
            wanted = _Appended
        child = node.get(part)
        if child is None:
            child = wanted()
            node[part] = child
        elif type(child) is not wanted:
            raise _conflict(parts[: depth + 1], child, wanted())
        node = child
    last = parts[-1]
    if isinstance(node, _Appended):
        node.append(value)
    elif last not in node:
        node[last] = value
    elif isinstance(node[last], str):
        path = param_path(parts)
        raise invalid_parameter(
            path,
            f"Received duplicate parameter: {_clip(path)}. Send each parameter once; "
            f"send lists as {_clip(path)}[0], {_clip(path)}[1], ...",
        )
    else:
        raise _conflict(parts, node[last], value)


def _conflict(parts: list[str], existing: Any, incoming: Any) -> InvalidRequestError:
    path = param_path(parts)
    return invalid_parameter(
        path,
        f"Invalid parameter {_clip(path)}: it was sent both as {_kind(existing)} "
        f"and as {_kind(incoming)}.",
    )


def _kind(node: Any) -> str:
    if isinstance(node, str):
        return "a value"
    if isinstance(node, _Appended):
        return "a list with []"
    return "a hash or indexed list"


def _finish(node: Any) -> Any:
    if isinstance(node, str):
        return node
    if isinstance(node, _Appended):
        return list(node)
    finished = {key: _finish(child) for key, child in node.items()}
    if all(_INDEX.fullmatch(key) for key in finished):
        return IndexedList(finished)
    return finished


def _flatten(value: Any, path: tuple[str | int, ...]) -> Iterator[tuple[str, str]]:
    if value is None:
        return
    if isinstance(value, Mapping):
        for key, child in value.items():
            if not isinstance(key, str | int) or not str(key) or _has_bracket(str(key)):
                raise ValueError(f"cannot form-encode key {key!r} under {path!r}")
            yield from _flatten(child, (*path, key))
    elif isinstance(value, list | tuple):
        for index, child in enumerate(value):
            yield from _flatten(child, (*path, index))
    else:
        yield param_path(path), _scalar(value)


def _has_bracket(key: str) -> bool:
    return "[" in key or "]" in key


def _scalar(value: Any) -> str:
    if isinstance(value, bool):  # before int: bool is an int subclass
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    if isinstance(value, int):
        return str(value)
    if isinstance(value, Decimal):
        return format(value, "f")
    # Floats included on purpose: money is integers, and a float here is a bug upstream.
    raise TypeError(f"cannot form-encode {type(value).__name__} value {value!r}")


def _clip(text: str, limit: int = 100) -> str:
    """Bound what an error echoes back: keys come straight from the caller."""
    return text if len(text) <= limit else text[:limit] + "..."
