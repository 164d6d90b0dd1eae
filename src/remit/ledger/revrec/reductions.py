"""Refunds and credit notes against a booked invoice: contra for what was recognized,
release of what was still deferred, per obligation.

What is given back is split first between revenue and each tax jurisdiction (pro rata
to what each still holds, unless the caller states the tax), then across the invoice's
obligations pro rata to what each can still give back, then within each obligation
between its recognized and its deferred part (``domain.reduce``). Every split goes
through ``Money.allocate``, so the parts always add up to the whole.

Lines with a negative amount (credits, proration credits) are not reduced: they keep
their schedule, and the invoice's net is what bounds a refund.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from remit.context import CallContext
from remit.ledger.domain.rules import PostingRule
from remit.ledger.revrec.domain import Reduction, allocate, day_of, reduce
from remit.ledger.revrec.state import Obligation, load_obligations, lock_progress, refused
from remit.ledger.revrec.tables import (
    revrec_adjustments,
    revrec_invoice_taxes,
    revrec_invoices,
    revrec_obligations,
)
from remit.ledger.rules import post_by_rule
from remit.primitives.errors import ResourceMissing


@dataclass(frozen=True, slots=True)
class TaxAmount:
    jurisdiction: str
    amount: int


@dataclass(frozen=True, slots=True)
class Reduced:
    """What a refund or credit note did: revenue offset, deferred revenue released, tax."""

    source_id: str
    entry_id: str
    contra: int
    release: int
    taxes: tuple[TaxAmount, ...]
    shares: tuple[tuple[str, Reduction], ...]  # (obligation id, its part)


def refund(
    conn: sa.Connection,
    ctx: CallContext,
    rules: Mapping[str, PostingRule],
    invoice_id: str,
    refund_id: str,
    amount: int,
    at: int,
    *,
    taxes: Sequence[TaxAmount] | None = None,
) -> Reduced:
    """Post ``refund.created`` for ``amount`` (tax included) paid back on ``invoice_id``."""
    extra = {"amount": amount}
    return _reduce(conn, ctx, rules, "refund", invoice_id, refund_id, amount, at, taxes, extra)


def credit_note(
    conn: sa.Connection,
    ctx: CallContext,
    rules: Mapping[str, PostingRule],
    invoice_id: str,
    credit_note_id: str,
    at: int,
    *,
    to_receivable: int = 0,
    to_balance: int = 0,
    out_of_band: int = 0,
    taxes: Sequence[TaxAmount] | None = None,
) -> Reduced:
    """Post ``credit_note.issued``: it lowers what is owed (``to_receivable``, before
    payment), credits the customer's balance, or was settled outside (``out_of_band``).
    A credit note's refund part is a ``refund`` of its own."""
    parts = {"to_receivable": to_receivable, "to_balance": to_balance, "out_of_band": out_of_band}
    for name, value in parts.items():
        if type(value) is not int or value < 0:
            raise refused("revrec_amount_invalid", f"{name} is a non-negative integer.", name)
    total = sum(parts.values())
    return _reduce(
        conn, ctx, rules, "credit_note", invoice_id, credit_note_id, total, at, taxes, parts
    )


@dataclass(frozen=True, slots=True)
class _Invoice:
    invoice_id: str
    currency: str
    booked_at: int
    amount_due: int
    credit_applied: int
    revenue: int
    reduced: int
    entry_id: str | None


@dataclass(frozen=True, slots=True)
class _Tax:
    jurisdiction: str
    amount: int
    reduced: int


def load_invoice(
    conn: sa.Connection, ctx: CallContext, invoice_id: str, at: int
) -> tuple[_Invoice, list[_Tax]]:
    """A booked, unvoided invoice of the tenant, and its taxes; ``at`` must not precede it."""
    i, t = revrec_invoices.c, revrec_invoice_taxes.c
    row = conn.execute(
        sa.select(revrec_invoices).where(i.account_id == ctx.account_id, i.invoice_id == invoice_id)
    ).first()
    if row is None:
        raise ResourceMissing("booked invoice", invoice_id, param="invoice")
    if row.status != "booked":
        raise refused("revrec_invoice_voided", f"Invoice {invoice_id} is voided.", "invoice")
    if type(at) is not int or at < row.booked_at:
        raise refused(
            "revrec_before_booking",
            f"Invoice {invoice_id} was booked at {row.booked_at}; nothing happens to it at {at}.",
            "at",
        )
    taxes = conn.execute(
        sa.select(t.jurisdiction, t.amount, t.reduced)
        .where(t.account_id == ctx.account_id, t.invoice_id == invoice_id)
        .order_by(t.jurisdiction)
    )
    invoice = _Invoice(
        row.invoice_id,
        row.currency,
        row.booked_at,
        row.amount_due,
        row.credit_applied,
        row.revenue,
        row.reduced,
        row.entry_id,
    )
    return invoice, [_Tax(r.jurisdiction, r.amount, r.reduced) for r in taxes]


def _reduce(
    conn: sa.Connection,
    ctx: CallContext,
    rules: Mapping[str, PostingRule],
    kind: str,
    invoice_id: str,
    source_id: str,
    total: int,
    at: int,
    taxes: Sequence[TaxAmount] | None,
    extra: Mapping[str, int],
) -> Reduced:
    watermark = lock_progress(conn, ctx)
    invoice, booked_taxes = load_invoice(conn, ctx, invoice_id, at)
    if type(total) is not int or total <= 0:
        raise refused("revrec_amount_invalid", "What is given back is positive.", "amount")
    revenue_part, tax_parts = _split_tax(invoice, booked_taxes, total, taxes)
    o = revrec_obligations.c
    obligations = load_obligations(conn, ctx.account_id, o.invoice_id == invoice_id)
    weights = [
        max(ob.standing.reducible, 0) if ob.standing.schedule.sign > 0 else 0 for ob in obligations
    ]
    shares = allocate(revenue_part, weights, invoice.currency) if obligations else []
    parts = [
        (ob, reduce(ob.standing, share, day_of(at), watermark))
        for ob, share in zip(obligations, shares, strict=True)
        if share
    ]
    contra = sum(part.contra for _, part in parts)
    release = sum(part.release for _, part in parts)
    payload: dict[str, Any] = {
        "id": source_id,
        "currency": invoice.currency,
        "effective_at": at,
        "invoice": invoice_id,
        "contra": contra,
        "release": release,
        "taxes": [{"jurisdiction": t.jurisdiction, "amount": t.amount} for t in tax_parts],
        **extra,
    }
    rule = "refund.created" if kind == "refund" else "credit_note.issued"
    entry_id = post_by_rule(conn, ctx, rules, rule, payload).id
    _record(conn, ctx, kind, invoice, source_id, at, parts, entry_id)
    _record_taxes(conn, ctx, invoice_id, revenue_part, tax_parts)
    return Reduced(
        source_id,
        entry_id,
        contra,
        release,
        tuple(tax_parts),
        tuple((ob.id, part) for ob, part in parts),
    )


def _split_tax(
    invoice: _Invoice, booked: list[_Tax], total: int, stated: Sequence[TaxAmount] | None
) -> tuple[int, list[TaxAmount]]:
    """``total`` as (revenue part, tax parts), each within what it still holds."""
    holds = {t.jurisdiction: t.amount - t.reduced for t in booked}
    revenue_holds = invoice.revenue - invoice.reduced
    if total > max(revenue_holds, 0) + sum(max(h, 0) for h in holds.values()):
        raise refused(
            "revrec_amount_too_large",
            f"Invoice {invoice.invoice_id} has less than {total} left to give back.",
            "amount",
        )
    if stated is None:
        weights = [max(revenue_holds, 0), *(max(h, 0) for h in holds.values())]
        revenue, *tax = allocate(total, weights, invoice.currency)
        parts = [TaxAmount(j, a) for j, a in zip(holds, tax, strict=True) if a]
    else:
        parts = [TaxAmount(t.jurisdiction.lower(), t.amount) for t in stated if t.amount]
        revenue = total - sum(t.amount for t in parts)
        wrong = [
            t
            for t in parts
            if type(t.amount) is not int or not 0 < t.amount <= holds.get(t.jurisdiction, 0)
        ]
        if wrong or len({t.jurisdiction for t in parts}) != len(parts) or revenue < 0:
            raise refused(
                "revrec_taxes_invalid",
                "Each tax given back is within what its jurisdiction still holds, and the total.",
                "taxes",
            )
    if revenue > revenue_holds:
        raise refused(
            "revrec_amount_too_large",
            f"Invoice {invoice.invoice_id} has {revenue_holds} of revenue left to give back.",
            "amount",
        )
    return revenue, parts


def _record(
    conn: sa.Connection,
    ctx: CallContext,
    kind: str,
    invoice: _Invoice,
    source_id: str,
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
                "source_id": source_id,
                "kind": kind,
                "invoice_id": invoice.invoice_id,
                "currency": invoice.currency,
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
                # Nothing left to recognize once what was posted is what the re-plan ends at.
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
        .values(reduced=i.reduced + revenue_part)
    )
    for tax in tax_parts:
        conn.execute(
            revrec_invoice_taxes.update()
            .where(
                t.account_id == ctx.account_id,
                t.invoice_id == invoice_id,
                t.jurisdiction == tax.jurisdiction,
            )
            .values(reduced=t.reduced + tax.amount)
        )
