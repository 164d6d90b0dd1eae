"""What the scheduler does to a subscription when its ``next_action_at`` comes, besides
renewing it: the ``trial_will_end`` notice, the expiry of an incomplete subscription, a
paused collection that resumes, and a cancellation that falls due.

Each takes the subscription row and the moment it is due (``at_ts``, the clock's time of
the action, not of the caller) and is a no-op when there is nothing to do, so a rerun
after a crash changes nothing twice.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from remit.billing.invoices import lifecycle, reads
from remit.billing.subscriptions import cancel, records, status
from remit.context import CallContext


def send_trial_will_end(conn: sa.Connection, ctx: CallContext, row: Any, at_ts: int) -> bool:
    """``customer.subscription.trial_will_end``, three days before the trial ends, once."""
    if row.status != "trialing" or row.trial_will_end_sent or row.trial_end is None:
        return False
    if at_ts < status.trial_will_end_at(row.trial_end):
        return False
    records.write(conn, row, {"trial_will_end_sent": True})
    records.emit(conn, ctx, "customer.subscription.trial_will_end", row.id, at_ts)
    return True


def expire_incomplete(conn: sa.Connection, ctx: CallContext, row: Any, at_ts: int) -> bool:
    """An incomplete subscription whose first invoice stayed unpaid 23 hours expires for
    good, and that invoice is voided (Stripe)."""
    if row.status != "incomplete" or at_ts < status.incomplete_expires_at(row.created):
        return False
    records.update(conn, ctx, row, {"status": "incomplete_expired"}, at_ts)
    if row.latest_invoice is not None:
        invoice = reads.load_invoice(conn, ctx.account_id, row.latest_invoice)
        if invoice.status == "open":
            lifecycle.void(conn, ctx, invoice.id, at_ts)
    return True


def resume_collection(conn: sa.Connection, ctx: CallContext, row: Any, at_ts: int) -> bool:
    """A paused collection whose ``resumes_at`` has come is paused no more."""
    pause = row.pause_collection or {}
    resumes_at = pause.get("resumes_at")
    if resumes_at is None or at_ts < resumes_at:
        return False
    records.update(conn, ctx, row, {"pause_collection": None}, at_ts)
    return True


def cancel_due(conn: sa.Connection, ctx: CallContext, row: Any, at_ts: int) -> bool:
    """``cancel_at`` reached, or the end of the period of a ``cancel_at_period_end``
    subscription: it ends there. A mid-period ``cancel_at`` credits the unused time (the
    update that set it chose prorations by default, as Stripe's does)."""
    if row.status in status.TERMINAL:
        return False
    due_at_ts = row.cancel_at
    if due_at_ts is None and row.cancel_at_period_end:
        due_at_ts = row.current_period_end
    if due_at_ts is None or at_ts < due_at_ts:
        return False
    cancel.end(
        conn, ctx, row, due_at_ts,
        prorate=due_at_ts < row.current_period_end, invoice_now=False,
        details={"reason": "cancellation_requested"},
    )  # fmt: skip
    return True
