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
) -> dict[str, Any]:
    """One page of the account's ``table`` rows that match ``where``."""
    limit = params.get("limit", DEFAULT_LIMIT)
    after, before = params.get("starting_after"), params.get("ending_before")
    scope = table.c.account_id == account_id
    clauses = [scope, *where]
    for cursor, param in ((after, "starting_after"), (before, "ending_before")):
        if cursor is not None:
            _check_cursor(conn, table, scope, cursor, param, object_name)
    if before is not None:
        clauses.append(table.c.id > before)
        order = table.c.id.asc()
    else:
        if after is not None:
            clauses.append(table.c.id < after)
        order = table.c.id.desc()
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


def _check_cursor(
    conn: sa.Connection,
    table: sa.Table,
    scope: sa.ColumnElement[bool],
    cursor: str,
    param: str,
    object_name: str,
) -> None:
    # The cursor must be an object this caller could see; else no page is well defined.
    found = conn.execute(sa.select(table.c.id).where(table.c.id == cursor, scope)).first()
    if found is None:
        raise ResourceMissing(object_name, cursor, param=param)
