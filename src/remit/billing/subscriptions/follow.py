"""Subscriptions follow their latest invoice (the ``remit_invoice_status_changed`` hook).

Stripe's rules, as documented for subscription statuses:

- ``incomplete`` becomes ``active`` once the first invoice is paid (nothing else moves it:
  it expires 23 hours after creation otherwise, on the scheduler);
- a ``past_due`` (or ``unpaid``) subscription becomes ``active`` again when its latest
  invoice is paid *or marked uncollectible*; a voided invoice does not count, so voiding
  the latest one leaves the status to the most recent invoice that is not void;
- a charge_automatically invoice that is finalized with an amount left to pay and that no
  payment method collects makes an ``active`` subscription ``past_due`` (the payments
  capability, once it collects at finalization, pays the invoice and the next call turns
  it back). ``unpaid`` is where Stripe's "all retries failed" setting may send a
  subscription; without retries nothing sends one there.

Only the subscription's latest invoice moves it: an older invoice paid late changes nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa

from remit.billing import test_clocks
from remit.billing.invoices.tables import invoices
from remit.billing.subscriptions import records, render, status
from remit.context import CallContext

SETTLED = frozenset({"paid", "uncollectible"})
_TRANSITION_KEYS = {
    "open": "finalized_at",
    "paid": "paid_at",
    "void": "voided_at",
    "uncollectible": "marked_uncollectible_at",
}


def subscription_of(invoice: Mapping[str, Any]) -> str | None:
    found = invoice.get("subscription")
    if isinstance(found, dict):  # expanded
        found = found.get("id")
    if found:
        return str(found)
    parent = invoice.get("parent") or {}
    details = parent.get("subscription_details") or {}
    sub = details.get("subscription")
    return str(sub) if sub else None


def invoice_status_changed(
    conn: sa.Connection, ctx: CallContext, invoice: Mapping[str, Any], previous_status: str
) -> None:
    sub_id = subscription_of(invoice)
    if sub_id is None:
        return
    row = render.find(conn, ctx.account_id, sub_id, lock=True)
    if row is None or row.latest_invoice != invoice["id"]:
        return
    at_ts = _changed_at(conn, ctx, row, invoice)
    new_status = _status_after(conn, row, invoice, previous_status, at_ts)
    if new_status is not None and new_status != row.status:
        records.update(conn, ctx, row, {"status": new_status}, at_ts)


def _changed_at(conn: sa.Connection, ctx: CallContext, row: Any, invoice: Mapping[str, Any]) -> int:
    """When the invoice changed: its own transition time (a test clock catching up runs
    many moments in one call), else the subscription's clock now."""
    key = _TRANSITION_KEYS.get(invoice["status"])
    transitions = invoice.get("status_transitions") or {}
    at_ts = transitions.get(key) if key else None
    return int(at_ts) if at_ts is not None else test_clocks.now_for(conn, ctx, row.test_clock)


def _status_after(
    conn: sa.Connection, row: Any, invoice: Mapping[str, Any], previous: str, at_ts: int
) -> str | None:
    current = row.status
    if current in status.TERMINAL or current == "paused":
        return None
    new = invoice["status"]
    if current == "incomplete":
        return "active" if new == "paid" else None
    if current in ("past_due", "unpaid"):
        if new in SETTLED or (new == "void" and _settled_before(conn, row, invoice["id"])):
            return _in_good_standing(row, at_ts)
        return None
    paused = bool(row.pause_collection)  # no payment is attempted while collection pauses
    if current == "active" and new == "open" and previous == "draft" and not paused:
        return "past_due" if _uncollected(invoice) else None
    return None


def _uncollected(invoice: Mapping[str, Any]) -> bool:
    """A charge_automatically invoice left open with money due: the payment attempt failed."""
    return bool(
        invoice["collection_method"] == "charge_automatically" and invoice["amount_remaining"] > 0
    )


def _in_good_standing(row: Any, at_ts: int) -> str:
    if row.trial_end is not None and at_ts < row.trial_end:
        return "trialing"
    return "active"


def _settled_before(conn: sa.Connection, row: Any, voided_id: str) -> bool:
    """Whether the most recent finalized, non-void invoice before ``voided_id`` is settled
    (or there is none): Stripe reads the status from it once the latest is voided."""
    t = invoices
    query = (
        sa.select(t.c.status)
        .where(
            t.c.account_id == row.account_id,
            t.c.subscription == row.id,
            t.c.id != voided_id,
            t.c.status.notin_(("draft", "void")),
        )
        .order_by(t.c.created.desc(), t.c.id.desc())
        .limit(1)
    )
    found = conn.execute(query).scalar()
    return found is None or found in SETTLED
