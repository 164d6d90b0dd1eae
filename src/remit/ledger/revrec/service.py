"""Revenue recognition, Stripe's way: each invoice line is a performance obligation.

At finalization (``book_invoice``) a line with a service period is deferred and then
recognized daily, straight-line, over that period (``recognize_through``); a line
without one is revenue at once. Amounts are net of discounts; tax is a liability,
never revenue. A refund or credit note (``refund``, ``credit_note``) offsets the part
already recognized with contra revenue and releases the rest from deferred revenue,
and the obligation recognizes only what is left; voiding a credit note
(``void_credit_note``) reverses its entry and plans the obligation as before it. A void
(``void_invoice``) reverses the whole booking. Every function works inside the caller's
transaction, posts through the ledger's posting rules (or reverses what they posted), and
takes business time from its arguments.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from remit.context import CallContext
from remit.ledger.domain.rules import PostingRule
from remit.ledger.revrec.booking import (
    Booked,
    InvoiceBooking,
    InvoiceLine,
    Period,
    book_invoice,
    book_invoices,
)
from remit.ledger.revrec.domain import day_of
from remit.ledger.revrec.recognition import MAX_RUN_DAYS, RecognitionRun, recognize_through
from remit.ledger.revrec.reductions import Reduced, TaxAmount, credit_note, load_invoice, refund
from remit.ledger.revrec.reversals import Restored, void_credit_note
from remit.ledger.revrec.state import load_obligations, lock_progress, refused
from remit.ledger.revrec.tables import (
    revrec_invoices,
    revrec_obligations,
    revrec_recognitions,
)
from remit.ledger.rules import post_by_rule

__all__ = [
    "MAX_RUN_DAYS",
    "Booked",
    "InvoiceBooking",
    "InvoiceLine",
    "Period",
    "RecognitionRun",
    "Reduced",
    "Restored",
    "TaxAmount",
    "Voided",
    "book_invoice",
    "book_invoices",
    "credit_note",
    "recognize_through",
    "refund",
    "void_credit_note",
    "void_invoice",
]


@dataclass(frozen=True, slots=True)
class Voided:
    invoice_id: str
    entry_id: str | None
    recognized: int  # revenue taken back
    deferred: int  # deferred revenue taken back


def void_invoice(
    conn: sa.Connection,
    ctx: CallContext,
    rules: Mapping[str, PostingRule],
    invoice_id: str,
    at: int,
) -> Voided:
    """Reverse a booked invoice whole: what it recognized, what it still defers, its tax.

    An invoice with refunds or credit notes is not voidable (as in Stripe, a void is for
    an invoice nobody paid or credited); what it still owes is credited instead.
    """
    lock_progress(conn, ctx)
    invoice, taxes = load_invoice(conn, ctx, invoice_id, at)
    if invoice.reduced or any(t.reduced for t in taxes):
        raise refused(
            "revrec_invoice_not_voidable",
            f"Invoice {invoice_id} has refunds or credit notes; credit it instead.",
            "invoice",
        )
    o = revrec_obligations.c
    obligations = load_obligations(conn, ctx.account_id, o.invoice_id == invoice_id)
    recognized = sum(ob.standing.recognized for ob in obligations)
    deferred = sum(
        ob.standing.schedule.amount - ob.standing.recognized for ob in obligations if ob.deferred
    )
    payload = {
        "id": invoice_id,
        "currency": invoice.currency,
        "effective_at": at,
        "deferred_remaining": deferred,
        "recognized": recognized,
        "taxes": [{"jurisdiction": t.jurisdiction, "amount": t.amount} for t in taxes],
        "amount_due": invoice.amount_due,
        "credit_applied": invoice.credit_applied,
    }
    entry_id = None
    if invoice.entry_id is not None:
        entry_id = post_by_rule(conn, ctx, rules, "invoice.voided", payload).id
    _record_void(conn, ctx, invoice_id, obligations, entry_id, at)
    return Voided(invoice_id, entry_id, recognized, deferred)


def _record_void(
    conn: sa.Connection,
    ctx: CallContext,
    invoice_id: str,
    obligations: Sequence[Any],
    entry_id: str | None,
    at: int,
) -> None:
    taken_back = [
        {
            "account_id": ctx.account_id,
            "obligation_id": ob.id,
            "invoice_id": invoice_id,
            "booked_at": ob.booked_at,
            "currency": ob.currency,
            "day": day_of(at),
            "kind": "void",
            "amount": -ob.standing.recognized,
            "entry_id": entry_id,
            "created": ctx.now,
        }
        for ob in obligations
        if ob.standing.recognized
    ]
    if taken_back:
        conn.execute(revrec_recognitions.insert(), taken_back)
    o, i = revrec_obligations.c, revrec_invoices.c
    conn.execute(
        revrec_obligations.update()
        .where(o.account_id == ctx.account_id, o.invoice_id == invoice_id)
        .values(status="voided")
    )
    conn.execute(
        revrec_invoices.update()
        .where(i.account_id == ctx.account_id, i.invoice_id == invoice_id)
        .values(status="voided", void_entry_id=entry_id, voided_at=at)
    )
