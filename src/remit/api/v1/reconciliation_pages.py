"""Pages of one run's breaks, matches and rejects, in the run's own order.

A run writes all its findings at once, so "newest first" means nothing inside one;
they are listed in the order the run found them (breaks by key, matches by number,
rejects by side and line), keyset-paged on that order with Stripe's cursors: the
``id`` of the last (or first) object of the previous page.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import sqlalchemy as sa

from remit.api.listing import DEFAULT_LIMIT
from remit.fde.reconcile import render
from remit.fde.reconcile.tables import (
    reconciliation_breaks,
    reconciliation_matches,
    reconciliation_rejects,
)
from remit.primitives.errors import ResourceMissing

# A cursor's values for the page's order columns, or None when it names nothing there.
Cursor = Callable[[sa.Connection, str], tuple[Any, ...] | None]


def breaks_page(
    conn: sa.Connection, account_id: str, run_id: str, params: dict[str, Any], url: str
) -> dict[str, Any]:
    b = reconciliation_breaks.c
    where = [b.account_id == account_id, b.run_id == run_id]
    if "type" in params:
        where.append(b.type == params["type"])

    def cursor(conn: sa.Connection, value: str) -> tuple[Any, ...] | None:
        found = conn.execute(sa.select(b.id).where(b.id == value, *where[:2])).first()
        return None if found is None else (found.id,)

    # Break ids are minted in the run's break order, so the id is that order.
    return _page(
        conn, reconciliation_breaks, where, (b.id,), cursor, params, render.break_, url,
        render.BREAK,
    )  # fmt: skip


def matches_page(
    conn: sa.Connection, account_id: str, run_id: str, params: dict[str, Any], url: str
) -> dict[str, Any]:
    m = reconciliation_matches.c
    where = [m.account_id == account_id, m.run_id == run_id]

    def cursor(conn: sa.Connection, value: str) -> tuple[Any, ...] | None:
        run, _, number = value.partition(":")
        return (int(number),) if run == run_id and number.isdigit() else None

    return _page(
        conn, reconciliation_matches, where, (m.match_no,), cursor, params, render.match, url,
        render.MATCH,
    )  # fmt: skip


def rejects_page(
    conn: sa.Connection, account_id: str, run_id: str, params: dict[str, Any], url: str
) -> dict[str, Any]:
    r = reconciliation_rejects.c
    where = [r.account_id == account_id, r.run_id == run_id]
    if "side" in params:
        where.append(r.side == params["side"])

    def cursor(conn: sa.Connection, value: str) -> tuple[Any, ...] | None:
        parts = value.split(":", 3)  # run, side, line, then the field (which may hold ':')
        if len(parts) != 4 or parts[0] != run_id or not parts[2].isdigit():
            return None
        return (parts[1], int(parts[2]), parts[3])

    order = (r.side, r.line_no, r.field)
    return _page(
        conn, reconciliation_rejects, where, order, cursor, params, render.reject, url,
        render.REJECT,
    )  # fmt: skip


def _page(
    conn: sa.Connection,
    table: sa.Table,
    where: list[sa.ColumnElement[bool]],
    order: Sequence[sa.ColumnElement[Any]],
    cursor: Cursor,
    params: dict[str, Any],
    render_row: Callable[[Any], dict[str, Any]],
    url: str,
    object_name: str,
) -> dict[str, Any]:
    """One page in ascending ``order``; ``ending_before`` reads backwards and turns round."""
    limit = params.get("limit", DEFAULT_LIMIT)
    key = order[0] if len(order) == 1 else sa.tuple_(*order)
    clauses = list(where)
    backwards = "ending_before" in params
    for param in ("starting_after", "ending_before"):
        if param in params:
            values = cursor(conn, params[param])
            if values is None:
                raise ResourceMissing(object_name, params[param], param=param)
            bound = values[0] if len(values) == 1 else sa.tuple_(*values)
            clauses.append(key < bound if backwards else key > bound)
    sort = [column.desc() if backwards else column.asc() for column in order]
    rows = list(conn.execute(sa.select(table).where(*clauses).order_by(*sort).limit(limit + 1)))
    has_more = len(rows) > limit
    rows = rows[:limit]
    if backwards:
        rows.reverse()
    return {"object": "list", "data": [render_row(row) for row in rows], "has_more": has_more,
            "url": url}  # fmt: skip
