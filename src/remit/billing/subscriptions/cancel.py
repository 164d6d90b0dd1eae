"""Ending a subscription: now (``DELETE /v1/subscriptions/{id}``), or when it is due
(``cancel_at``, the end of a ``cancel_at_period_end`` period, on the scheduler).

``prorate`` credits the unused time of the licensed items as pending invoice items;
``invoice_now`` issues a final invoice at once with the metered usage not yet billed and
every pending item of the subscription; with neither, its pending prorations are removed
(Stripe). The subscription ends ``canceled`` with ``canceled_at`` and ``ended_at`` set,
announced as ``customer.subscription.deleted``.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import SimpleNamespace
from typing import Any

import sqlalchemy as sa

from remit.billing import test_clocks
from remit.billing.invoices import items as invoice_items_service
from remit.billing.invoices.tables import invoice_items
from remit.billing.subscriptions import invoicing, lines, measure, proration, records, render
from remit.billing.subscriptions import status as statuses
from remit.billing.subscriptions.update import whole_period
from remit.billing.subscriptions.validate import grid_of
from remit.catalog.models import pricing_models
from remit.context import CallContext
from remit.primitives.errors import InvalidRequestError


def cancel(
    conn: sa.Connection, ctx: CallContext, sub_id: str, params: Mapping[str, Any]
) -> dict[str, Any]:
    row = render.load(conn, ctx.account_id, sub_id, lock=True)
    ctx.touch(row.id)
    if row.status in statuses.TERMINAL:
        raise InvalidRequestError(
            f"This subscription is already {row.status.replace('_', ' ')}; it cannot be "
            "canceled again.",
        )
    now_ts = test_clocks.now_for(conn, ctx, row.test_clock)
    details = {
        key: value or None for key, value in (params.get("cancellation_details") or {}).items()
    }
    prorate = bool(params.get("prorate", False))
    invoice_now = bool(params.get("invoice_now", False))
    if not prorate and not invoice_now:
        _drop_pending_prorations(conn, ctx, row)
    return end(
        conn, ctx, row, now_ts, prorate=prorate, invoice_now=invoice_now,
        details={"reason": "cancellation_requested", **details},
    )  # fmt: skip


def _drop_pending_prorations(conn: sa.Connection, ctx: CallContext, row: Any) -> None:
    """Stripe removes the pending prorations of a subscription canceled now that neither
    credits nor invoices anything: no invoice of it would ever sweep them."""
    t = invoice_items.c
    pending = conn.execute(
        sa.select(t.id)
        .where(t.account_id == ctx.account_id, t.subscription == row.id)
        .where(t.invoice.is_(None), t.proration.is_(True), t.deleted.is_(False))
        .order_by(t.id)
    ).scalars()
    for item_id in list(pending):
        invoice_items_service.delete(conn, ctx, item_id)


def end(
    conn: sa.Connection,
    ctx: CallContext,
    row: Any,
    at_ts: int,
    *,
    prorate: bool,
    invoice_now: bool,
    details: Mapping[str, Any],
) -> dict[str, Any]:
    """End ``row`` at ``at_ts`` (also what the scheduler calls when a cancellation is due)."""
    items = lines.items_of(conn, ctx.account_id, [row.id])[row.id]
    values: dict[str, Any] = {
        "status": "canceled",
        "canceled_at": at_ts,
        "ended_at": at_ts,
        "cancellation_details": {**row.cancellation_details, **details},
    }
    billed_until_ts = min(max(at_ts, row.current_period_start), row.current_period_end)
    if prorate and row.status not in ("trialing", "incomplete") and items:
        period = (whole_period(row, grid_of(items[0].price_row))[0], row.current_period_end)
        credits = proration.unused_time(
            row, items, period, billed_until_ts,
            rounding=ctx.account.rounding_mode, models=pricing_models(ctx.pm),
            discounts=invoicing.discounts_of(conn, row, items, at_ts),
        )  # fmt: skip
        invoicing.add_pending(conn, ctx, row, credits, at_ts)
    invoice_id = None
    if invoice_now and row.status != "incomplete":
        usage = measure.metered_so_far(
            conn, ctx, row, items, row.current_period_start, billed_until_ts
        )
        invoice = invoicing.draft(row, "subscription_update", at_ts, usage)
        invoice_id = values["latest_invoice"] = invoicing.create(conn, ctx, invoice)
    merged = records.write(conn, row, values)
    records.emit(conn, ctx, "customer.subscription.deleted", row.id, at_ts)
    if invoice_id is not None:
        invoicing.settle(conn, ctx, SimpleNamespace(**merged), invoice_id, at_ts)
    return render.retrieve(conn, ctx.account_id, row.id)
