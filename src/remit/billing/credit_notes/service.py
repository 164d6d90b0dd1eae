"""Credit notes: issue (or preview) one against an open or paid invoice, update its memo and
metadata, void one (``voiding``), read them back.

Issuing writes, in the caller's transaction: the note and its lines; the invoice's
``amount_due``/``amount_remaining`` (lowered by the pre-payment part) and its credit note
sums, and its status when nothing is left to pay; the ledger's ``credit_note.issued``
through revenue recognition (receivable, customer credit balance, out of band, contra
revenue, deferred revenue released, tax per jurisdiction); the customer's balance
transaction for ``credit_amount`` (no posting of its own: the note's entry credits the
customer's credit balance); and the events.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import SimpleNamespace
from typing import Any

import sqlalchemy as sa

from remit.billing import test_clocks
from remit.billing.balance import service as balance
from remit.billing.credit_notes import reads, rows, voiding
from remit.billing.credit_notes.plan import Plan, plan
from remit.billing.credit_notes.tables import credit_note_lines, credit_notes
from remit.billing.customers import load as load_customer
from remit.billing.invoices import booking, lifecycle
from remit.billing.invoices import reads as invoice_reads
from remit.billing.invoices.amounts import stored_taxes
from remit.billing.invoices.tables import invoices
from remit.context import CallContext
from remit.events import service as events
from remit.events import types as event_types
from remit.ledger.revrec import service as revrec
from remit.primitives.ids import new_id, register_prefix

register_prefix("cn")
register_prefix("cnli")
event_types.register("credit_note.created", "credit_note.updated", "credit_note.voided")


def preview(conn: sa.Connection, ctx: CallContext, params: Mapping[str, Any]) -> dict[str, Any]:
    """The note ``create`` would issue with these params; nothing is written."""
    return reads.render_preview(conn, ctx.account_id, plan(conn, ctx, params, for_preview=True))


def preview_lines(
    conn: sa.Connection, ctx: CallContext, params: Mapping[str, Any]
) -> tuple[list[Any], dict[str, dict[str, Any]]]:
    """The lines ``create`` would write with these params, and the tax rates they name."""
    return reads.preview_lines(conn, ctx.account_id, plan(conn, ctx, params, for_preview=True))


def create(conn: sa.Connection, ctx: CallContext, params: Mapping[str, Any]) -> dict[str, Any]:
    found = plan(conn, ctx, params)
    invoice = found.invoice
    if found.credit_amount:
        customer = load_customer(conn, ctx.account_id, invoice.customer, "invoice")
        balance.check_currency(customer, invoice.currency, "credit_amount")
    note_id = new_id("cn")
    txn_id = None
    if found.credit_amount:
        txn = balance.adjust(
            conn, ctx, invoice.customer, -found.credit_amount, invoice.currency, "credit_note",
            invoice=invoice.id, credit_note=note_id, post_ledger=False, at_ts=found.created,
        )  # fmt: skip
        txn_id = str(txn.id)
    row = rows.note_row(ctx.account_id, found, note_id, txn_id)
    conn.execute(credit_notes.insert(), row)
    if found.lines:
        line_ids = [new_id("cnli") for _ in found.lines]
        conn.execute(
            credit_note_lines.insert(), rows.line_rows(ctx.account_id, found, note_id, line_ids)
        )
    if found.totals.total:
        _book(conn, ctx, found, note_id)
    ctx.touch(note_id)
    obj = reads.retrieve(conn, ctx.account_id, note_id)
    events.emit(conn, ctx, "credit_note.created", obj, created=found.created)
    _credit_invoice(conn, ctx, found)
    return obj


def _book(conn: sa.Connection, ctx: CallContext, found: Plan, note_id: str) -> None:
    """``credit_note.issued``: what is no longer owed, credited to the customer's balance
    and settled outside, against contra or deferred revenue and tax per jurisdiction."""
    revrec.credit_note(
        conn, ctx, balance.posting_rules(ctx), found.invoice.id, note_id, found.effective_at,
        to_receivable=found.pre_payment_amount,
        to_balance=found.credit_amount,
        out_of_band=found.out_of_band_amount or 0,
        taxes=booking.taxes_by_jurisdiction(stored_taxes(found.totals.total_taxes)),
    )  # fmt: skip


def _credit_invoice(conn: sa.Connection, ctx: CallContext, found: Plan) -> None:
    """Lower what the invoice still owes and add to its credit note sums; an open invoice
    left owing nothing is paid."""
    invoice = found.invoice
    before = invoice_reads.retrieve(conn, ctx.account_id, invoice.id)
    remaining = invoice.amount_remaining - found.pre_payment_amount
    values: dict[str, Any] = {
        "amount_due": invoice.amount_due - found.pre_payment_amount,
        "amount_remaining": remaining,
        "pre_payment_credit_notes_amount": (
            invoice.pre_payment_credit_notes_amount + found.pre_payment_amount
        ),
        "post_payment_credit_notes_amount": (
            invoice.post_payment_credit_notes_amount + found.post_payment_amount
        ),
    }
    paid = invoice.status == "open" and remaining == 0
    if paid:
        values.update(status="paid", paid_at=found.created)
    i = invoices.c
    conn.execute(
        invoices.update().where(i.account_id == ctx.account_id, i.id == invoice.id).values(values)
    )
    after = invoice_reads.retrieve(conn, ctx.account_id, invoice.id)
    changed = events.previous_attributes(before, after)
    if changed:
        events.emit(
            conn, ctx, "invoice.updated", after, previous_attributes=changed, created=found.created
        )
    if paid:
        lifecycle.announce(conn, ctx, invoice.id, ["invoice.paid"], "open", found.created)


def update(
    conn: sa.Connection, ctx: CallContext, note_id: str, params: Mapping[str, Any]
) -> dict[str, Any]:
    row = reads.load(conn, ctx.account_id, note_id)
    ctx.touch(row.id)
    values: dict[str, Any] = {}
    if "memo" in params:
        values["memo"] = params["memo"] or None
    if "metadata" in params:
        values["metadata"] = params["metadata"].apply(dict(row.metadata))
    before = reads.render_row(conn, ctx.account_id, row)
    after = reads.render_row(conn, ctx.account_id, SimpleNamespace(**{**row._asdict(), **values}))
    changed = events.previous_attributes(before, after)
    if not changed:
        return before
    _set(conn, ctx, row.id, values)
    at = _now(conn, ctx, row)
    events.emit(conn, ctx, "credit_note.updated", after, previous_attributes=changed, created=at)
    return after


def void(conn: sa.Connection, ctx: CallContext, note_id: str) -> dict[str, Any]:
    """Void a note: what it moved is undone (``voiding``)."""
    return voiding.void(conn, ctx, note_id)


def _set(conn: sa.Connection, ctx: CallContext, note_id: str, values: dict[str, Any]) -> None:
    n = credit_notes.c
    conn.execute(
        credit_notes.update().where(n.account_id == ctx.account_id, n.id == note_id).values(values)
    )


def _now(conn: sa.Connection, ctx: CallContext, row: Any) -> int:
    invoice = invoice_reads.load_invoice(conn, ctx.account_id, row.invoice)
    return test_clocks.now_for(conn, ctx, invoice.test_clock)
