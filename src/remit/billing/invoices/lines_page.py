"""``GET /v1/invoices/{id}/lines``: an invoice's lines in their order, paged by line id."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from remit.billing.invoices import reads, render
from remit.billing.invoices.tables import invoice_lines
from remit.primitives.errors import ResourceMissing


def page(
    conn: sa.Connection,
    account_id: str,
    invoice_id: str,
    limit: int,
    after: str | None = None,
    before: str | None = None,
) -> dict[str, Any]:
    """Lines run in invoice order (not newest first, as other lists do): a cursor names a
    line, and the page continues after it (``starting_after``) or ends before it."""
    reads.load_invoice(conn, account_id, invoice_id)
    t = invoice_lines.c
    scope = [t.account_id == account_id, t.invoice == invoice_id]
    order = t.position.asc()
    if after is not None:
        scope.append(t.position > _position(conn, scope, after, "starting_after"))
    elif before is not None:
        scope.append(t.position < _position(conn, scope, before, "ending_before"))
        order = t.position.desc()
    rows = list(
        conn.execute(sa.select(invoice_lines).where(*scope).order_by(order).limit(limit + 1))
    )
    has_more = len(rows) > limit
    rows = rows[:limit]
    if before is not None:
        rows.reverse()
    return {
        "object": "list",
        "data": [render.render_line(row) for row in rows],
        "has_more": has_more,
        "url": f"/v1/invoices/{invoice_id}/lines",
    }


def _position(
    conn: sa.Connection, scope: list[sa.ColumnElement[bool]], line_id: str, param: str
) -> int:
    found = conn.execute(
        sa.select(invoice_lines.c.position).where(*scope, invoice_lines.c.id == line_id)
    ).scalar()
    if found is None:
        raise ResourceMissing("line_item", line_id, param=param)
    return int(found)
