"""``expand[]``: replace ids in a response by the objects they name, along dotted paths.

Loaders are found by the id's prefix (``cus`` for ``cus_123``) or, for ids a caller may
choose (a product's ``gold-plan``), by the field that holds it: ``"price.product"`` loads
the ``product`` field of a ``price`` object whatever the id looks like. A field inside a
hash that is no object of its own is named through it: ``"promotion_code.promotion.coupon"``
for the ``coupon`` of a promotion code's ``promotion`` hash. A list of ids expands item by
item. A field the
resource already rendered in full (an includable field such as a price's ``tiers``) is
left as it is.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import sqlalchemy as sa

from remit.primitives.errors import invalid_parameter
from remit.primitives.ids import prefix_of

MAX_DEPTH = 4

# prefix, or "object.field" -> loader(conn, account_id, object_id) -> rendered object
Loader = Callable[[sa.Connection, str, str], dict[str, Any]]


def expand(
    conn: sa.Connection,
    account_id: str,
    obj: dict[str, Any],
    paths: Sequence[str],
    loaders: Mapping[str, Loader],
) -> dict[str, Any]:
    for path in paths:
        parts = path.split(".")
        if len(parts) > MAX_DEPTH:
            raise invalid_parameter(
                "expand",
                f"You cannot expand more than {MAX_DEPTH} levels of a property. Property: {path}",
            )
        _expand_path(conn, account_id, obj, parts, path, loaders)
    return obj


def _expand_path(
    conn: sa.Connection,
    account_id: str,
    node: Any,
    parts: list[str],
    path: str,
    loaders: Mapping[str, Loader],
    scope: str | None = None,
) -> None:
    """``scope`` names a hash without an ``object`` of its own by the way it was reached."""
    if isinstance(node, list):
        for item in node:
            _expand_path(conn, account_id, item, parts, path, loaders, scope)
        return
    head, rest = parts[0], parts[1:]
    if not isinstance(node, dict) or head not in node:
        raise _not_expandable(path)
    value = node[head]
    field = f"{node.get('object', scope)}.{head}"
    if rest:
        if value is None:
            return
        value = node[head] = _loaded(conn, account_id, value, field, path, loaders)
        _expand_path(conn, account_id, value, rest, path, loaders, field)
        return
    if isinstance(value, str | list):
        node[head] = _loaded(conn, account_id, value, field, path, loaders)
    elif value is not None and not isinstance(value, dict):
        raise _not_expandable(path)


def _loaded(
    conn: sa.Connection,
    account_id: str,
    value: Any,
    field: str,
    path: str,
    loaders: Mapping[str, Loader],
) -> Any:
    """``value`` with the ids in it replaced by the objects they name: one id, or a list of
    them (Stripe's expandable arrays, such as an invoice's ``discounts``)."""
    if isinstance(value, str):
        return _load(conn, account_id, value, field, path, loaders)
    if isinstance(value, list):
        return [
            _load(conn, account_id, item, field, path, loaders) if isinstance(item, str) else item
            for item in value
        ]
    return value


def _load(
    conn: sa.Connection,
    account_id: str,
    object_id: str,
    field: str,
    path: str,
    loaders: Mapping[str, Loader],
) -> dict[str, Any]:
    loader = loaders.get(field) or loaders.get(prefix_of(object_id))
    if loader is None:
        raise _not_expandable(path)
    return loader(conn, account_id, object_id)


def _not_expandable(path: str) -> Exception:
    return invalid_parameter("expand", f"This property cannot be expanded ({path}).")
