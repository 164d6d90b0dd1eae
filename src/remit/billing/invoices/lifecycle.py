"""An invoice's life: draft -> open -> paid / void / uncollectible (-> paid / void).

Each transition checks the invoice's status first (an illegal one is a Stripe error and
changes nothing), then moves the money in the ledger, the status and its timestamps, the
customer's balance where it applies, and announces the change: its Stripe event and the
``remit_invoice_status_changed`` hook, all in the caller's transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from types import SimpleNamespace
from typing import Any

import sqlalchemy as sa

from remit.billing.balance import service as balance
from remit.billing.discounts import discounts as discount_service
from remit.billing.domain.totals import BalanceApplied, apply_balance
from remit.billing.invoices import booking, numbering, reads
from remit.billing.invoices.build import customer_details
from remit.billing.invoices.tables import invoices
from remit.billing.tables import customers
from remit.context import CallContext
from remit.events import service as events
from remit.ledger.revrec import service as revrec
from remit.primitives.errors import InvalidRequestError, ResourceMissing

DAY_S = 86_400
# Where each action may start from (Stripe's state machine).
ALLOWED = {
    "finalize": ("draft",),
    "pay": ("open", "uncollectible"),
    "void": ("open", "uncollectible"),
    "mark_uncollectible": ("open",),
}


def refuse(row: Any, action: str) -> InvalidRequestError:
    allowed = " or ".join(ALLOWED[action])
    return InvalidRequestError(
        f"You cannot {action.replace('_', ' ')} the invoice {row.id}: it is {row.status}, and "
        f"only {allowed} invoices can be.",
    )


def _checked(conn: sa.Connection, ctx: CallContext, invoice_id: str, action: str) -> Any:
    row = reads.load_invoice(conn, ctx.account_id, invoice_id, lock=True)
    if row.status not in ALLOWED[action]:
        raise refuse(row, action)
    ctx.touch(row.id)
    return row


def _set(conn: sa.Connection, ctx: CallContext, invoice_id: str, **values: Any) -> None:
    conn.execute(
        invoices.update()
        .where(invoices.c.account_id == ctx.account_id, invoices.c.id == invoice_id)
        .values(**values)
    )


def announce(
    conn: sa.Connection,
    ctx: CallContext,
    invoice_id: str,
    event_types: Sequence[str],
    previous_status: str,
    at_ts: int,
) -> dict[str, Any]:
    obj = reads.retrieve(conn, ctx.account_id, invoice_id)
    return _announced(conn, ctx, obj, event_types, previous_status, at_ts)


def _announced(
    conn: sa.Connection,
    ctx: CallContext,
    obj: dict[str, Any],
    event_types: Sequence[str],
    previous_status: str,
    at_ts: int,
) -> dict[str, Any]:
    for event_type in event_types:
        events.emit(conn, ctx, event_type, obj, created=at_ts)
    if ctx.pm is not None:
        ctx.pm.hook.remit_invoice_status_changed(
            conn=conn, ctx=ctx, invoice=obj, previous_status=previous_status
        )
    return obj


# -- finalization -----------------------------------------------------------------------------
def finalize(
    conn: sa.Connection,
    ctx: CallContext,
    invoice_id: str,
    at_ts: int,
    *,
    auto_advance: bool | None = None,
) -> dict[str, Any]:
    _checked(conn, ctx, invoice_id, "finalize")
    if auto_advance is not None:
        _set(conn, ctx, invoice_id, auto_advance=auto_advance)
    finalize_many(conn, ctx, [invoice_id], at_ts)
    return reads.retrieve(conn, ctx.account_id, invoice_id)


def finalize_many(
    conn: sa.Connection, ctx: CallContext, invoice_ids: Sequence[str], at_ts: int
) -> None:
    """Number, apply the customer's balance, book in the ledger and open (or, when nothing is
    due, pay) each draft, in the order given."""
    found = reads.invoices_by_id(conn, ctx.account_id, invoice_ids, lock=True)
    rows = []
    for invoice_id in invoice_ids:
        row = found.get(invoice_id)
        if row is None:
            raise ResourceMissing("invoice", invoice_id)
        if row.status != "draft":
            raise refuse(row, "finalize")
        rows.append(row)
    lines = reads.lines_of(conn, ctx.account_id, invoice_ids)
    holders = _locked_customers(conn, ctx.account_id, [row.customer for row in rows])
    numbers = numbering.assign(conn, ctx.account_id, rows)
    rules = balance.posting_rules(ctx)
    updates, bookings = [], []
    for row in rows:
        applied, txn = _apply_balance(conn, ctx, row, holders, at_ts)
        holder = holders[row.customer]
        values = _finalized_values(row, applied, numbers[row.id], holder, at_ts)
        updates.append({"invoice_id": row.id, **values})
        booked = booking.book(conn, ctx, rules, row, lines[row.id], applied, at_ts, txn)
        if booked is not None:
            bookings.append(booked)
    if bookings:
        revrec.book_invoices(conn, ctx, rules, bookings)
    i = invoices.c
    conn.execute(
        invoices.update()
        .where(i.account_id == ctx.account_id, i.id == sa.bindparam("invoice_id"))
        .values({key: sa.bindparam(key) for key in updates[0] if key != "invoice_id"}),
        updates,
    )
    used = {d["discount"] for row in rows for d in row.total_discount_amounts}
    discount_service.mark_spent(conn, ctx.account_id, sorted(used))
    final = reads.invoices_by_id(conn, ctx.account_id, invoice_ids)
    for obj in reads.render_invoices(conn, ctx.account_id, [final[i] for i in invoice_ids]):
        kinds = ["invoice.finalized", *(["invoice.paid"] if obj["status"] == "paid" else [])]
        ctx.touch(obj["id"])
        _announced(conn, ctx, obj, kinds, "draft", at_ts)


def _locked_customers(conn: sa.Connection, account_id: str, ids: Sequence[str]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for chunk in reads.chunks(sorted(set(ids))):
        query = sa.select(customers).where(
            customers.c.account_id == account_id, customers.c.id.in_(chunk)
        )
        found.update((row.id, row) for row in conn.execute(query.with_for_update()))
    return found


def _apply_balance(
    conn: sa.Connection, ctx: CallContext, row: Any, holders: dict[str, Any], at_ts: int
) -> tuple[BalanceApplied, str | None]:
    """How the customer's balance meets this invoice's total, recorded as a balance
    transaction. A balance held in another currency does not apply."""
    holder = holders[row.customer]
    if holder.currency not in (None, row.currency):
        if row.total < 0:
            raise InvalidRequestError(
                f"The customer's balance is in {holder.currency}; the credit of an invoice in "
                f"{row.currency} cannot go to it.",
                param="invoice",
            )
        return apply_balance(row.total, 0), None
    applied = apply_balance(row.total, holder.balance)
    if not applied.applied:
        return applied, None
    txn = balance.adjust(
        conn, ctx, row.customer, applied.applied, row.currency, "applied_to_invoice",
        invoice=row.id, post_ledger=False, at_ts=at_ts,
    )  # fmt: skip
    holders[row.customer] = SimpleNamespace(
        **{**holder._asdict(), "balance": txn.ending_balance, "currency": row.currency}
    )
    return applied, str(txn.id)


def _finalized_values(
    row: Any, applied: BalanceApplied, number: str, holder: Any, at_ts: int
) -> dict[str, Any]:
    paid = applied.amount_due == 0
    due_date = row.due_date
    if row.collection_method == "send_invoice" and row.days_until_due is not None:
        due_date = at_ts + row.days_until_due * DAY_S
    return {
        "status": "paid" if paid else "open",
        "number": number,
        "finalized_at": at_ts,
        "effective_at": at_ts,
        "paid_at": at_ts if paid else None,
        "due_date": due_date if row.collection_method == "send_invoice" else None,
        "automatically_finalizes_at": None,
        "starting_balance": applied.starting_balance,
        "ending_balance": applied.ending_balance,
        "amount_due": applied.amount_due,
        "amount_paid": 0,
        "amount_remaining": applied.amount_due,
        "customer_details": customer_details(holder),
    }


def due_for_finalization(
    conn: sa.Connection, account_id: str, test_clock: str | None, until_ts: int
) -> list[tuple[int, str]]:
    """(automatically_finalizes_at, id) of the auto-advancing drafts due by ``until_ts`` on
    ``test_clock`` (None: those on no clock), in time order."""
    i = invoices.c
    clock = i.test_clock.is_(None) if test_clock is None else i.test_clock == test_clock
    rows = conn.execute(
        sa.select(i.automatically_finalizes_at, i.id)
        .where(
            i.account_id == account_id,
            i.status == "draft",
            i.auto_advance.is_(True),
            i.automatically_finalizes_at <= until_ts,
            clock,
        )
        .order_by(i.automatically_finalizes_at, i.id)
    )
    return [(int(row.automatically_finalizes_at), str(row.id)) for row in rows]


# -- settling ---------------------------------------------------------------------------------
def pay(
    conn: sa.Connection, ctx: CallContext, invoice_id: str, at_ts: int, *, paid_out_of_band: bool
) -> dict[str, Any]:
    """Settle what remains: recorded as received outside remit (``paid_out_of_band``), or
    collected by the payments capability through ``remit_invoice_collect``."""
    row = _checked(conn, ctx, invoice_id, "pay")
    if row.status == "uncollectible":
        booking.reverse_write_off(conn, ctx, row.id, at_ts)
    if paid_out_of_band:
        booking.paid_out_of_band(conn, ctx, balance.posting_rules(ctx), row, at_ts)
        collected = row.amount_remaining
    else:
        collected = _collect(conn, ctx, row, at_ts)
    remaining = row.amount_remaining - collected
    values: dict[str, Any] = {
        "amount_paid": row.amount_paid + collected,
        "amount_remaining": remaining,
        "attempt_count": row.attempt_count + (0 if paid_out_of_band else 1),
    }
    if remaining == 0:
        values.update(status="paid", paid_at=at_ts, paid_out_of_band=paid_out_of_band)
    elif row.status == "uncollectible":
        # Its write-off was reversed to take the payment: what remains is owed again.
        values["status"] = "open"
    before = reads.retrieve(conn, ctx.account_id, row.id)
    _set(conn, ctx, row.id, **values)
    if remaining == 0:
        return announce(conn, ctx, row.id, ["invoice.paid"], row.status, at_ts)
    after = reads.retrieve(conn, ctx.account_id, row.id)
    changed = events.previous_attributes(before, after)
    events.emit(conn, ctx, "invoice.updated", after, previous_attributes=changed, created=at_ts)
    if row.status != after["status"] and ctx.pm is not None:
        ctx.pm.hook.remit_invoice_status_changed(
            conn=conn, ctx=ctx, invoice=after, previous_status=row.status
        )
    return after


def _collect(conn: sa.Connection, ctx: CallContext, row: Any, at_ts: int) -> int:
    invoice = reads.retrieve(conn, ctx.account_id, row.id)
    outcome = None
    if ctx.pm is not None:
        outcome = ctx.pm.hook.remit_invoice_collect(
            conn=conn, ctx=ctx, invoice=invoice, at_ts=at_ts
        )
    if outcome is None:
        raise InvalidRequestError(
            "This customer has no attached payment source or default payment method, and no "
            "payment processor is installed to charge one. To record a payment received "
            "outside remit, pay with paid_out_of_band=true.",
            param="paid_out_of_band",
        )
    amount = outcome["amount_paid"]
    assert type(amount) is int and 0 <= amount <= row.amount_remaining, outcome
    return amount


def void(conn: sa.Connection, ctx: CallContext, invoice_id: str, at_ts: int) -> dict[str, Any]:
    """Cancel a finalized invoice nobody paid: its booking is reversed and the customer's
    balance gets back what the invoice took of it."""
    row = _checked(conn, ctx, invoice_id, "void")
    if row.amount_paid:
        raise InvalidRequestError(
            f"The invoice {row.id} has payments; refund them or issue a credit note instead."
        )
    rules = balance.posting_rules(ctx)
    has_lines = bool(reads.lines_of(conn, ctx.account_id, [row.id])[row.id])
    booking.void(conn, ctx, rules, row, has_lines, at_ts)
    applied = row.ending_balance - row.starting_balance
    if applied:
        txn = balance.adjust(
            conn, ctx, row.customer, -applied, row.currency, "unapplied_from_invoice",
            invoice=row.id, post_ledger=False, at_ts=at_ts,
        )  # fmt: skip
        # A debt the invoice carried goes back to the balance; a negative invoice's booking,
        # reversed whole by the void, carried it already.
        if applied < 0 and row.total >= 0:
            booking.move_balance(conn, ctx, rules, row, applied, at_ts, str(txn.id))
    _set(conn, ctx, row.id, status="void", voided_at=at_ts)
    return announce(conn, ctx, row.id, ["invoice.voided"], row.status, at_ts)


def mark_uncollectible(
    conn: sa.Connection, ctx: CallContext, invoice_id: str, at_ts: int
) -> dict[str, Any]:
    """Write off what remains as bad debt; the invoice may still be paid or voided."""
    row = _checked(conn, ctx, invoice_id, "mark_uncollectible")
    booking.write_off(conn, ctx, balance.posting_rules(ctx), row, at_ts)
    _set(conn, ctx, row.id, status="uncollectible", marked_uncollectible_at=at_ts)
    return announce(conn, ctx, row.id, ["invoice.marked_uncollectible"], row.status, at_ts)
