"""Finalization on the clock: a draft that cannot be finalized never holds back the others.

The scheduler finalizes every draft due in one batch. When the batch is refused, each draft
is finalized alone; one that still fails stays a draft, as on Stripe: its
``last_finalization_error`` says why, ``invoice.finalization_failed`` announces it, and it
stops advancing on its own (``auto_advance`` false), so the clock does not retry it forever.
Finalizing it by hand once the cause is fixed works as for any draft.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa

from remit.billing.invoices import lifecycle, reads
from remit.billing.invoices.tables import invoices
from remit.context import CallContext
from remit.events import service as events
from remit.events import types as event_types
from remit.primitives.errors import InvalidRequestError

event_types.register("invoice.finalization_failed")


def finalize_due_drafts(
    conn: sa.Connection, ctx: CallContext, invoice_ids: Sequence[str], at_ts: int
) -> list[str]:
    """Finalize ``invoice_ids`` in order; returns those finalized (the others failed)."""
    if not invoice_ids:
        return []
    try:
        with conn.begin_nested():
            lifecycle.finalize_many(conn, ctx, invoice_ids, at_ts)
        return list(invoice_ids)
    except InvalidRequestError:
        pass  # the savepoint is rolled back: find the draft at fault
    finalized = []
    for invoice_id in invoice_ids:
        try:
            with conn.begin_nested():
                lifecycle.finalize_many(conn, ctx, [invoice_id], at_ts)
            finalized.append(invoice_id)
        except InvalidRequestError as error:
            _failed(conn, ctx, invoice_id, error, at_ts)
    return finalized


def _failed(
    conn: sa.Connection, ctx: CallContext, invoice_id: str, error: InvalidRequestError, at_ts: int
) -> None:
    reason = {"type": error.type, "code": error.code, "message": error.message,
              "param": error.param}  # fmt: skip
    conn.execute(
        invoices.update()
        .where(invoices.c.account_id == ctx.account_id, invoices.c.id == invoice_id)
        .values(last_finalization_error=reason, auto_advance=False)
    )
    obj = reads.retrieve(conn, ctx.account_id, invoice_id)
    ctx.touch(invoice_id)
    events.emit(conn, ctx, "invoice.finalization_failed", obj, created=at_ts)
