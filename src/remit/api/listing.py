"""Stripe list objects: newest first, cursor pagination on the creation-ordered id."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import sqlalchemy as sa

from remit.primitives.errors import ResourceMissing

DEFAULT_LIMIT = 10


def created_filter(column: sa.ColumnElement[Any], spec: Any) -> list[sa.ColumnElement[bool]]:
    """``created=123`` or ``created[gte]=..&created[lt]=..``, as validated by the params schema."""
    if isinstance(spec, int):
        return [column == spec]
    ops = {"gt": column.__gt__, "gte": column.__ge__, "lt": column.__lt__, "lte": column.__le__}
    return [ops[op](value) for op, value in spec.items()]


def page(
    conn: sa.Connection,
    account_id: str,
    table: sa.Table,
    where: Sequence[sa.ColumnElement[bool]],
    params: dict[str, Any],
    render: Callable[[Any], dict[str, Any]],
    url: str,
    object_name: str,
    order_key: sa.Column[str] | None = None,
) -> dict[str, Any]:
    """One page of the account's ``table`` rows that match ``where``.

    Rows are ordered by ``order_key``, a creation-ordered column (the id unless the table
    lets callers choose ids); cursors still name objects by id.
    """
    limit = params.get("limit", DEFAULT_LIMIT)
    after, before = params.get("starting_after"), params.get("ending_before")
    key = table.c.id if order_key is None else order_key
    scope = table.c.account_id == account_id
    clauses = [scope, *where]
    if after is not None:
        after = _cursor_key(conn, table, key, scope, after, "starting_after", object_name)
    if before is not None:
        before = _cursor_key(conn, table, key, scope, before, "ending_before", object_name)
    if before is not None:
        clauses.append(key > before)
        order = key.asc()
    else:
        if after is not None:
            clauses.append(key < after)
        order = key.desc()
    rows = list(conn.execute(sa.select(table).where(*clauses).order_by(order).limit(limit + 1)))
    has_more = len(rows) > limit
    rows = rows[:limit]
    if before is not None:
        rows.reverse()
    return {
        "object": "list",
        "data": [render(row) for row in rows],
        "has_more": has_more,
        "url": url,
    }


def _cursor_key(
    conn: sa.Connection,
    table: sa.Table,
    key: sa.Column[str],
    scope: sa.ColumnElement[bool],
    cursor: str,
    param: str,
    object_name: str,
) -> Any:
    # The cursor must be an object this caller could see; else no page is well defined.
    found = conn.execute(sa.select(key).where(table.c.id == cursor, scope)).first()
    if found is None:
        raise ResourceMissing(object_name, cursor, param=param)
    return found[0]
