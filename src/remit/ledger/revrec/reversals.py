"""Voiding a credit note: its ``credit_note.issued`` entry reversed exactly, and revenue
recognition's own records brought back in step.

The reversal swaps the sides of the note's entry (``remit.ledger.service.reverse``), so
contra revenue and deferred revenue get back exactly what the note posted, whatever
happened since. Each obligation the note reduced gets its contra and release back and a
new segment (``domain.restore``): from the void on it recognizes as if the note had
never been issued, the days of the note's release that have passed being caught up by
the next recognition. The invoice's reduced revenue and taxes go back down, so refunds
and further credit notes can give that amount back again.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import sqlalchemy as sa

from remit.context import CallContext
from remit.ledger import service as ledger
from remit.ledger.revrec.domain import Reduction, Segment, day_of, restore
from remit.ledger.revrec.reductions import TaxAmount, load_invoice
from remit.ledger.revrec.state import Obligation, load_obligations, lock_progress, refused
from remit.ledger.revrec.tables import (
    revrec_adjustments,
    revrec_invoice_taxes,
    revrec_invoices,
    revrec_obligations,
)
from remit.ledger.tables import journal_entries, journal_legs

ISSUED_RULE = "credit_note.issued"
VOIDED_RULE = "credit_note.voided"
VOID_KIND = "credit_note_void"


@dataclass(frozen=True, slots=True)
class Restored:
    """What voiding a credit note gave back: the note's contra and release, its taxes."""

    source_id: str
    entry_id: str
    contra: int
    release: int
    taxes: tuple[TaxAmount, ...]
    shares: tuple[tuple[str, Reduction], ...]  # (obligation id, its undoing: negative)


def void_credit_note(
    conn: sa.Connection,
    ctx: CallContext,
    invoice_id: str,
    credit_note_id: str,
    at: int,
    *,
    taxes: Sequence[TaxAmount],
) -> Restored:
    """Reverse credit note ``credit_note_id`` of ``invoice_id`` at ``at``; ``taxes`` is
    the tax the note gave back per jurisdiction (checked against its entry)."""
    watermark = lock_progress(conn, ctx)
    issued = _issued_entry(conn, ctx, invoice_id, credit_note_id, at)
    invoice, booked_taxes = load_invoice(conn, ctx, invoice_id, at)
    undone = _undone(conn, ctx, credit_note_id)
    revenue_part = sum(part.share for part in undone.values())
    tax_parts = _check_taxes(booked_taxes, taxes, issued.total - revenue_part)
    o = revrec_obligations.c
    obligations = load_obligations(conn, ctx.account_id, o.id.in_(sorted(undone)))
    parts = [(ob, restore(ob.standing, undone[ob.id], day_of(at), watermark)) for ob in obligations]
    reversal = ledger.reverse(conn, replace(ctx, now=at), issued.id, VOIDED_RULE, credit_note_id)
    _record(conn, ctx, invoice.currency, invoice_id, credit_note_id, at, parts, reversal.id)
    _record_taxes(conn, ctx, invoice_id, revenue_part, tax_parts)
    return Restored(
        credit_note_id,
        reversal.id,
        sum(part.contra for part in undone.values()),
        sum(part.release for part in undone.values()),
        tuple(tax_parts),
        tuple((ob.id, part) for ob, part in parts),
    )


@dataclass(frozen=True, slots=True)
class _Issued:
    id: str
    total: int  # what the entry debited: revenue given back and tax


def _issued_entry(
    conn: sa.Connection, ctx: CallContext, invoice_id: str, credit_note_id: str, at: int
) -> _Issued:
    e, leg = journal_entries.c, journal_legs.c
    row = conn.execute(
        sa.select(e.id, e.subject_id, e.effective_at).where(
            e.account_id == ctx.account_id,
            e.rule == ISSUED_RULE,
            e.cause_id == credit_note_id,
            e.kind == "posted",
        )
    ).first()
    if row is None or row.subject_id != invoice_id:
        raise refused(
            "revrec_credit_note_unknown",
            f"No credit note {credit_note_id} is booked on invoice {invoice_id}.",
            "credit_note",
        )
    reversed_by = conn.execute(sa.select(e.id).where(e.reverses == row.id)).first()
    if reversed_by is not None:
        raise refused(
            "revrec_credit_note_voided",
            f"Credit note {credit_note_id} is already voided.",
            "credit_note",
        )
    if type(at) is not int or at < row.effective_at:
        raise refused(
            "revrec_before_credit_note",
            f"Credit note {credit_note_id} took effect at {row.effective_at}; it is not "
            f"voided before that ({at}).",
            "at",
        )
    debits = conn.execute(
        sa.select(sa.func.sum(leg.amount)).where(leg.entry_id == row.id, leg.side == "D")
    ).scalar_one()
    return _Issued(row.id, int(debits))


def _undone(conn: sa.Connection, ctx: CallContext, credit_note_id: str) -> dict[str, Reduction]:
    """The note's share of each obligation it reduced, as it was recorded."""
    a = revrec_adjustments.c
    rows = conn.execute(
        sa.select(revrec_adjustments).where(
            a.account_id == ctx.account_id, a.source_id == credit_note_id, a.kind == "credit_note"
        )
    )
    return {
        row.obligation_id: Reduction(
            row.share,
            row.contra,
            row.release,
            Segment(row.segment_start_day, row.segment_anchor, row.segment_total),
        )
        for row in rows
    }


def _check_taxes(
    booked: Sequence[Any], stated: Sequence[TaxAmount], tax_total: int
) -> list[TaxAmount]:
    """The stated taxes, each within what its jurisdiction has given back, adding up to the
    entry's tax."""
    reduced = {t.jurisdiction: t.reduced for t in booked}
    parts = [TaxAmount(t.jurisdiction.lower(), t.amount) for t in stated if t.amount]
    wrong = [
        t
        for t in parts
        if type(t.amount) is not int or not 0 < t.amount <= reduced.get(t.jurisdiction, 0)
    ]
    unique = len({t.jurisdiction for t in parts}) == len(parts)
    if wrong or not unique or sum(t.amount for t in parts) != tax_total:
        raise refused(
            "revrec_taxes_invalid",
            f"The credit note gave back {tax_total} of tax; the taxes stated must add up to "
            "it, each within what its jurisdiction gave back.",
            "taxes",
        )
    return parts


def _record(
    conn: sa.Connection,
    ctx: CallContext,
    currency: str,
    invoice_id: str,
    credit_note_id: str,
    at: int,
    parts: Sequence[tuple[Obligation, Reduction]],
    entry_id: str,
) -> None:
    if not parts:
        return
    conn.execute(
        revrec_adjustments.insert(),
        [
            {
                "account_id": ctx.account_id,
                "obligation_id": ob.id,
                "seq": ob.adjustments + 1,
                # One adjustment per source and obligation: the void is a source of its own.
                "source_id": f"{credit_note_id}:void",
                "kind": VOID_KIND,
                "invoice_id": invoice_id,
                "currency": currency,
                "effective_at": at,
                "share": part.share,
                "contra": part.contra,
                "release": part.release,
                "segment_start_day": part.segment.start_day,
                "segment_anchor": part.segment.anchor,
                "segment_total": part.segment.total,
                "entry_id": entry_id,
                "created": ctx.now,
            }
            for ob, part in parts
        ],
    )
    o = revrec_obligations.c
    conn.execute(
        revrec_obligations.update()
        .where(o.id == sa.bindparam("b_id"))
        .values(
            contra=sa.bindparam("b_contra"),
            released=sa.bindparam("b_released"),
            adjustments=sa.bindparam("b_seq"),
            status=sa.bindparam("b_status"),
        ),
        [
            {
                "b_id": ob.id,
                "b_contra": ob.standing.contra + part.contra,
                "b_released": ob.standing.released + part.release,
                "b_seq": ob.adjustments + 1,
                "b_status": "complete"
                if ob.standing.recognized == part.segment.total
                else "active",
            }
            for ob, part in parts
        ],
    )


def _record_taxes(
    conn: sa.Connection,
    ctx: CallContext,
    invoice_id: str,
    revenue_part: int,
    tax_parts: Sequence[TaxAmount],
) -> None:
    i, t = revrec_invoices.c, revrec_invoice_taxes.c
    conn.execute(
        revrec_invoices.update()
        .where(i.account_id == ctx.account_id, i.invoice_id == invoice_id)
        .values(reduced=i.reduced - revenue_part)
    )
    for tax in tax_parts:
        conn.execute(
            revrec_invoice_taxes.update()
            .where(
                t.account_id == ctx.account_id,
                t.invoice_id == invoice_id,
                t.jurisdiction == tax.jurisdiction,
            )
            .values(reduced=t.reduced - tax.amount)
        )
