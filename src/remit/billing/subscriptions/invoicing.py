"""Invoices a subscription issues outside its renewals, and its pending proration items.

Prorations wait as pending invoice items (``invoice_items`` rows with ``proration=true``,
the subscription and item named, the window and fraction in ``explain``) until the next
invoice of the subscription sweeps them; ``always_invoice``, a new cycle started now and a
cancellation with ``invoice_now`` sweep them at once into an invoice finalized at once.
While collection is paused, such an invoice is handled as ``pause_collection`` says.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa

from remit.billing.discounts import discounts
from remit.billing.domain.totals import DiscountTerms
from remit.billing.invoices import build, lifecycle, reads
from remit.billing.invoices.drafts import InvoiceDraft, LineDraft
from remit.billing.invoices.tables import invoice_items
from remit.context import CallContext
from remit.events import service as events
from remit.primitives.ids import new_id, register_prefix

# Proration items are invoice items minted here as well as by the invoice items API.
register_prefix("ii")


def add_pending(
    conn: sa.Connection, ctx: CallContext, sub: Any, drafted: Sequence[LineDraft], at_ts: int
) -> list[str]:
    """Store ``drafted`` proration lines as the subscription's pending invoice items."""
    rows = [
        {
            "id": new_id("ii"),
            "account_id": sub.account_id,
            "customer": sub.customer,
            "invoice": None,
            "subscription": sub.id,
            "subscription_item": line.subscription_item,
            "test_clock": sub.test_clock,
            "currency": line.currency,
            "amount": line.amount,
            "quantity": line.quantity if line.quantity is not None else 1,
            "price": line.price,
            "unit_amount_decimal": (
                None if line.unit_amount_decimal is None else str(line.unit_amount_decimal)
            ),
            "description": line.description,
            "date": at_ts,
            "period_start": line.period_start,
            "period_end": line.period_end,
            "proration": line.proration,
            "discountable": line.discountable,
            "discounts": list(line.discounts),
            "tax_rates": list(line.tax_rates),
            "metadata": dict(line.metadata),
            "explain": dict(line.explain),
            "deleted": False,
        }
        for line in drafted
    ]
    if not rows:
        return []
    conn.execute(invoice_items.insert(), rows)
    t = invoice_items.c
    written = conn.execute(
        sa.select(invoice_items)
        .where(t.account_id == sub.account_id, t.id.in_([row["id"] for row in rows]))
        .order_by(t.id)
    ).all()
    for obj in reads.render_items(conn, sub.account_id, written):
        ctx.touch(obj["id"])
        events.emit(conn, ctx, "invoiceitem.created", obj, created=at_ts)
    return [row["id"] for row in rows]


def discounts_of(
    conn: sa.Connection, sub: Any, items: Sequence[Any], at_ts: int
) -> dict[str, tuple[DiscountTerms, ...]]:
    """Item id -> the discounts in force on it at ``at_ts``: its own, then the
    subscription's (the order an invoice applies them in)."""
    named = [d for item in items for d in item.discounts] + list(sub.discounts)
    if not named:
        return {}
    live = {t.id: t for t in discounts.terms(conn, sub.account_id, named, sub.currency, at_ts)}
    return {
        item.id: tuple(live[d] for d in (*item.discounts, *sub.discounts) if d in live)
        for item in items
    }


def draft(
    sub: Any,
    billing_reason: str,
    at_ts: int,
    drafted: Sequence[LineDraft] = (),
) -> InvoiceDraft:
    """An invoice of ``sub`` now: ``drafted`` lines plus its pending items, swept."""
    return InvoiceDraft(
        customer=sub.customer,
        currency=sub.currency,
        created=at_ts,
        period_start=at_ts,
        period_end=at_ts,
        billing_reason=billing_reason,
        collection_method=sub.collection_method,
        days_until_due=sub.days_until_due,
        subscription=sub.id,
        test_clock=sub.test_clock,
        default_tax_rates=tuple(sub.default_tax_rates),
        discounts=tuple(sub.discounts),
        lines=tuple(drafted),
        # A collection paused with keep_as_draft leaves new invoices as drafts for good.
        auto_advance=_pause_behavior(sub) != "keep_as_draft",
        pending_items=True,
    )


def _pause_behavior(sub: Any) -> str | None:
    pause = sub.pause_collection or {}
    return pause.get("behavior")


def create(conn: sa.Connection, ctx: CallContext, invoice: InvoiceDraft) -> str:
    [invoice_id] = build.create_many(conn, ctx, [invoice])
    return invoice_id


def settle(conn: sa.Connection, ctx: CallContext, sub: Any, invoice_id: str, at_ts: int) -> None:
    """Finalize an invoice issued now, or hold it as a paused collection says."""
    behavior = _pause_behavior(sub)
    if behavior == "keep_as_draft":
        return
    lifecycle.finalize_many(conn, ctx, [invoice_id], at_ts)
    if reads.load_invoice(conn, sub.account_id, invoice_id).status != "open":
        return  # nothing was due: it is paid already
    if behavior == "void":
        lifecycle.void(conn, ctx, invoice_id, at_ts)
    elif behavior == "mark_uncollectible":
        lifecycle.mark_uncollectible(conn, ctx, invoice_id, at_ts)
