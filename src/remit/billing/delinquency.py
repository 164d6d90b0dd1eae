"""A customer's ``delinquent`` flag: the most recent turn of any of its invoices.

Stripe documents it so: an invoice that passes its ``due_date`` unpaid (or an automatic
payment that fails) makes the customer delinquent; paying any of its invoices, or marking
one uncollectible, makes it not delinquent, whether or not that invoice is the one that
was late. Each change is a ``customer.updated`` with ``previous_attributes``.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from remit.billing import customers
from remit.billing.tables import customers as customer_rows
from remit.context import CallContext
from remit.events import service as events
from remit.plugins.hookspecs import hookimpl

# What an invoice turned into that settles the customer's standing.
SETTLING = frozenset({"paid", "uncollectible"})
_SETTLED_AT_KEYS = {"paid": "paid_at", "uncollectible": "marked_uncollectible_at"}


def mark(
    conn: sa.Connection, ctx: CallContext, customer_id: str, delinquent: bool, at_ts: int
) -> bool:
    """Set the customer's flag; returns whether it changed (and was announced)."""
    row = customers.load(conn, ctx.account_id, customer_id)
    if row.deleted or row.delinquent == delinquent:
        return False
    before = customers.render(row)
    conn.execute(
        customer_rows.update()
        .where(customer_rows.c.account_id == ctx.account_id, customer_rows.c.id == row.id)
        .values(delinquent=delinquent)
    )
    after = {**before, "delinquent": delinquent}
    changed = events.previous_attributes(before, after)
    events.emit(conn, ctx, "customer.updated", after, previous_attributes=changed, created=at_ts)
    return True


@hookimpl
def remit_invoice_status_changed(
    conn: sa.Connection, ctx: CallContext, invoice: dict[str, Any], previous_status: str
) -> None:
    status = invoice["status"]
    if status not in SETTLING or previous_status == status:
        return
    at_ts = invoice["status_transitions"][_SETTLED_AT_KEYS[status]]
    mark(conn, ctx, _customer_of(invoice), False, int(at_ts))


def _customer_of(invoice: dict[str, Any]) -> str:
    found = invoice["customer"]
    return str(found["id"] if isinstance(found, dict) else found)
