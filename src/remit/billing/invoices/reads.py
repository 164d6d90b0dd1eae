"""Reading invoices, lines and items back, and rendering them with what they name.

Batched: a page of invoices loads its lines and tax rates in a few statements whatever
its size.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Any

import sqlalchemy as sa

from remit.billing.invoices import render
from remit.billing.invoices.tables import invoice_items, invoice_lines, invoices
from remit.billing.taxes import tax_rates as tax_rate_service
from remit.billing.taxes.tables import tax_rates
from remit.primitives.errors import ResourceMissing

CHUNK_IDS = 500  # ids per IN list: far under both databases' bound-parameter limits


def chunks(ids: Sequence[str]) -> Iterable[Sequence[str]]:
    return (ids[at : at + CHUNK_IDS] for at in range(0, len(ids), CHUNK_IDS))


def load_invoice(
    conn: sa.Connection, account_id: str, invoice_id: str, param: str = "id", *, lock: bool = False
) -> Any:
    """The account's invoice; ``lock`` holds its row for this transaction on PostgreSQL."""
    query = sa.select(invoices).where(
        invoices.c.account_id == account_id, invoices.c.id == invoice_id
    )
    row = conn.execute(query.with_for_update() if lock else query).first()
    if row is None:
        raise ResourceMissing("invoice", invoice_id, param=param)
    return row


def invoices_by_id(
    conn: sa.Connection, account_id: str, ids: Sequence[str], *, lock: bool = False
) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for chunk in chunks(list(ids)):
        query = sa.select(invoices).where(
            invoices.c.account_id == account_id, invoices.c.id.in_(chunk)
        )
        found.update(
            (row.id, row) for row in conn.execute(query.with_for_update() if lock else query)
        )
    return found


def lines_of(
    conn: sa.Connection, account_id: str, invoice_ids: Sequence[str]
) -> dict[str, list[Any]]:
    """Invoice id -> its lines in position order (every id asked is a key)."""
    found: dict[str, list[Any]] = {invoice_id: [] for invoice_id in invoice_ids}
    t = invoice_lines.c
    for chunk in chunks(list(found)):
        rows = conn.execute(
            sa.select(invoice_lines)
            .where(t.account_id == account_id, t.invoice.in_(chunk))
            .order_by(t.invoice, t.position)
        )
        for row in rows:
            found[row.invoice].append(row)
    return found


def rendered_rates(
    conn: sa.Connection, account_id: str, ids: Iterable[str]
) -> dict[str, dict[str, Any]]:
    """Tax rate id -> the rendered rate, for every id named."""
    wanted = sorted(set(ids))
    found: dict[str, dict[str, Any]] = {}
    for chunk in chunks(wanted):
        query = sa.select(tax_rates).where(
            tax_rates.c.account_id == account_id, tax_rates.c.id.in_(chunk)
        )
        found.update((row.id, tax_rate_service.render(row)) for row in conn.execute(query))
    return found


def render_invoices(
    conn: sa.Connection, account_id: str, rows: Sequence[Any]
) -> list[dict[str, Any]]:
    """Rows as wire invoices, each with its first page of lines."""
    lines = lines_of(conn, account_id, [row.id for row in rows])
    rates = rendered_rates(
        conn, account_id, (rate for row in rows for rate in row.default_tax_rates)
    )
    return [
        render.render_invoice(
            row,
            lines[row.id][: render.LINES_PAGE],
            len(lines[row.id]) > render.LINES_PAGE,
            rates,
        )
        for row in rows
    ]


def retrieve(conn: sa.Connection, account_id: str, invoice_id: str) -> dict[str, Any]:
    return render_invoices(conn, account_id, [load_invoice(conn, account_id, invoice_id)])[0]


def load_item(conn: sa.Connection, account_id: str, item_id: str, param: str = "id") -> Any:
    t = invoice_items.c
    row = conn.execute(
        sa.select(invoice_items).where(t.account_id == account_id, t.id == item_id)
    ).first()
    if row is None or row.deleted:
        raise ResourceMissing("invoiceitem", item_id, param=param)
    return row


def render_items(conn: sa.Connection, account_id: str, rows: Sequence[Any]) -> list[dict[str, Any]]:
    rates = rendered_rates(conn, account_id, (rate for row in rows for rate in row.tax_rates))
    return [render.render_item(row, rates) for row in rows]


def pending_items(
    conn: sa.Connection, account_id: str, customer_ids: Sequence[str]
) -> dict[str, list[Any]]:
    """Customer id -> their pending (not yet invoiced) items, oldest first."""
    found: dict[str, list[Any]] = defaultdict(list)
    t = invoice_items.c
    for chunk in chunks(sorted(set(customer_ids))):
        rows = conn.execute(
            sa.select(invoice_items)
            .where(
                t.account_id == account_id,
                t.customer.in_(chunk),
                t.invoice.is_(None),
                t.deleted.is_(False),
            )
            .order_by(t.id)
        )
        for row in rows:
            found[row.customer].append(row)
    return found
