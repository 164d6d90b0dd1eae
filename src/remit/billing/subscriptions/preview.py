"""The upcoming invoice of a subscription, as a draft nobody writes (``create_preview``).

It is the invoice the next renewal would issue: the licensed items in advance for the next
period, the metered items in arrears for the current one (usage measured so far), and the
pending invoice items of the subscription swept in. ``subscription_details[items]`` (with
``proration_behavior`` and ``proration_date``) previews a change: the proposed items are
checked as an update would check them, their prorations join the draft and the next period
bills what the change would leave. Nothing is written.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import sqlalchemy as sa

from remit.billing import test_clocks
from remit.billing.domain import periods
from remit.billing.invoices.drafts import InvoiceDraft, LineDraft
from remit.billing.subscriptions import (
    changes,
    invoicing,
    lines,
    measure,
    proration,
    render,
    status,
)
from remit.billing.subscriptions.update import proration_date, whole_period
from remit.billing.subscriptions.validate import grid_of
from remit.catalog.models import pricing_models
from remit.context import CallContext
from remit.primitives.errors import InvalidRequestError


def upcoming(
    conn: sa.Connection, ctx: CallContext, subscription_id: str, params: Mapping[str, Any]
) -> InvoiceDraft:
    """The next invoice of ``subscription_id``; ``params`` are create_preview's own (only
    ``subscription_details`` is read here)."""
    row = render.load(conn, ctx.account_id, subscription_id, "subscription")
    if row.status in status.TERMINAL or (row.cancel_at_period_end and row.status != "trialing"):
        raise InvalidRequestError(
            f"The subscription {row.id} will not invoice again: it has ended or ends with "
            "its current period.",
            code="invoice_upcoming_none",
            param="subscription",
        )
    details = params.get("subscription_details") or {}
    now_ts = test_clocks.now_for(conn, ctx, row.test_clock)
    current = lines.items_of(conn, ctx.account_id, [row.id])[row.id]
    item_plan = changes.plan(conn, ctx.account_id, row, current, details.get("items"))
    drafted = _proposed_prorations(conn, ctx, row, item_plan, details, now_ts)
    drafted += _cycle_lines(conn, ctx, row, item_plan.before, item_plan.after)
    return InvoiceDraft(
        customer=row.customer,
        currency=row.currency,
        created=row.current_period_end,
        period_start=row.current_period_start,
        period_end=row.current_period_end,
        billing_reason="upcoming",
        collection_method=row.collection_method,
        days_until_due=row.days_until_due,
        subscription=row.id,
        test_clock=row.test_clock,
        default_tax_rates=tuple(row.default_tax_rates),
        discounts=tuple(row.discounts),
        lines=tuple(drafted),
        auto_advance=False,
        pending_items=True,
    )


def _proposed_prorations(
    conn: sa.Connection,
    ctx: CallContext,
    row: Any,
    item_plan: changes.ItemPlan,
    details: Mapping[str, Any],
    now_ts: int,
) -> list[LineDraft]:
    if not item_plan.changes or row.status == "trialing":
        return []
    if details.get("proration_behavior", "create_prorations") == "none":
        return []
    from_ts = proration_date(row, details, now_ts)
    period = (whole_period(row, grid_of(item_plan.before[0].price_row))[0], row.current_period_end)
    return proration.prorations(
        row, item_plan.before, item_plan.after, period, from_ts,
        rounding=ctx.account.rounding_mode, models=pricing_models(ctx.pm),
        credit_discounts=invoicing.discounts_of(conn, row, item_plan.before, now_ts),
        charge_discounts=invoicing.discounts_of(conn, row, item_plan.after, now_ts),
    )  # fmt: skip


def _cycle_lines(
    conn: sa.Connection,
    ctx: CallContext,
    row: Any,
    before: Sequence[lines.ItemView],
    after: Sequence[lines.ItemView],
) -> list[LineDraft]:
    """Metered usage of the current period so far, then the next period in advance."""
    drafted: list[LineDraft] = []
    if row.status != "trialing":
        drafted += measure.metered_so_far(
            conn, ctx, row, before, row.current_period_start, row.current_period_end
        )
    interval, count = grid_of(after[0].price_row)
    next_start = row.current_period_end
    next_end = periods.next_boundary(row.billing_cycle_anchor, interval, count, next_start)
    drafted += lines.licensed_lines(
        row, after, next_start, next_end,
        rounding=ctx.account.rounding_mode, models=pricing_models(ctx.pm),
    )  # fmt: skip
    return drafted
