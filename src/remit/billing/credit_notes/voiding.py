"""Voiding a credit note (``POST /v1/credit_notes/{id}/void``): everything it did undone,
in the caller's transaction.

- The pre-payment part is owed again: the invoice's ``amount_due`` and
  ``amount_remaining`` go back up and its ``pre_payment_credit_notes_amount`` down. Only
  an open invoice takes it back: once the invoice is paid (by the note itself, by other
  notes, or since) reopening it would undo a settlement, so such a note is not voided;
  the amount is invoiced again instead.
- The credit to the customer's balance is taken back by a balance transaction of type
  ``credit_note`` of the opposite amount. As with Stripe's balance, a credit the customer
  already spent leaves the balance positive: owed, and added to their next invoice.
- An amount settled outside remit (``out_of_band_amount``) is simply no longer recorded.
- The invoice's ``post_payment_credit_notes_amount`` goes back down.
- The ledger gets the exact reverse of the note's ``credit_note.issued`` entry, and
  revenue recognition plans what the note reduced as if it had never been issued.

A note on an invoice that is no longer open or paid (written off since) is not voided.
Locks are taken in the order issuing takes them: invoice, customer, ledger.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from remit.billing import test_clocks
from remit.billing.balance import service as balance
from remit.billing.credit_notes import reads
from remit.billing.credit_notes.tables import credit_notes
from remit.billing.invoices import booking
from remit.billing.invoices import reads as invoice_reads
from remit.billing.invoices.tables import invoices
from remit.context import CallContext
from remit.events import service as events
from remit.ledger.revrec import service as revrec
from remit.primitives.errors import InvalidRequestError

VOIDABLE_INVOICE = ("open", "paid")


def void(conn: sa.Connection, ctx: CallContext, note_id: str) -> dict[str, Any]:
    found = reads.load(conn, ctx.account_id, note_id)
    invoice = invoice_reads.load_invoice(conn, ctx.account_id, found.invoice, lock=True)
    row = reads.load(conn, ctx.account_id, note_id, lock=True)
    ctx.touch(row.id)
    if row.status != "issued":
        raise InvalidRequestError(
            f"The credit note {row.id} is already void.", code="credit_note_already_voided"
        )
    at = test_clocks.now_for(conn, ctx, invoice.test_clock)
    if row.total:
        _check_voidable(row, invoice)
        if row.credit_amount:
            balance.adjust(
                conn, ctx, row.customer, row.credit_amount, row.currency, "credit_note",
                invoice=invoice.id, credit_note=row.id, post_ledger=False, at_ts=at,
            )  # fmt: skip
        revrec.void_credit_note(
            conn, ctx, invoice.id, row.id, at,
            taxes=booking.taxes_by_jurisdiction(row.total_taxes),
        )  # fmt: skip
    n = credit_notes.c
    conn.execute(
        credit_notes.update()
        .where(n.account_id == ctx.account_id, n.id == row.id)
        .values(status="void", voided_at=at)
    )
    obj = reads.retrieve(conn, ctx.account_id, row.id)
    events.emit(conn, ctx, "credit_note.voided", obj, created=at)
    if row.pre_payment_amount or row.post_payment_amount:
        _uncredit_invoice(conn, ctx, row, invoice, at)
    return obj


def _check_voidable(row: Any, invoice: Any) -> None:
    problem = None
    if invoice.status not in VOIDABLE_INVOICE:
        problem = (
            f"its invoice {invoice.id} is {invoice.status}: only a note on an open or paid "
            "invoice is voided"
        )
    elif row.pre_payment_amount and invoice.status != "open":
        problem = (
            f"it took {row.pre_payment_amount} off what invoice {invoice.id} owed, and that "
            f"invoice is {invoice.status} now; voiding would reopen it. Invoice the amount "
            "again instead"
        )
    if problem:
        raise InvalidRequestError(
            f"The credit note {row.id} cannot be voided: {problem}.",
            code="credit_note_not_voidable",
        )


def _uncredit_invoice(
    conn: sa.Connection, ctx: CallContext, row: Any, invoice: Any, at: int
) -> None:
    """What the note took off the invoice is owed again; its credit note sums go down."""
    before = invoice_reads.retrieve(conn, ctx.account_id, invoice.id)
    values = {
        "amount_due": invoice.amount_due + row.pre_payment_amount,
        "amount_remaining": invoice.amount_remaining + row.pre_payment_amount,
        "pre_payment_credit_notes_amount": (
            invoice.pre_payment_credit_notes_amount - row.pre_payment_amount
        ),
        "post_payment_credit_notes_amount": (
            invoice.post_payment_credit_notes_amount - row.post_payment_amount
        ),
    }
    i = invoices.c
    conn.execute(
        invoices.update().where(i.account_id == ctx.account_id, i.id == invoice.id).values(values)
    )
    after = invoice_reads.retrieve(conn, ctx.account_id, invoice.id)
    changed = events.previous_attributes(before, after)
    events.emit(conn, ctx, "invoice.updated", after, previous_attributes=changed, created=at)
