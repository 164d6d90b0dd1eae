"""Paused subscriptions: a trial that ends without a payment method, and resuming.

Stripe pauses a subscription (status ``paused``: no invoices at all, unlike
``pause_collection``) when its trial ends without a payment method and
``trial_settings[end_behavior][missing_payment_method]`` says ``pause``; ``cancel`` ends
it instead, and ``create_invoice`` (the default) bills on as usual. No payment methods
exist here yet, so a trial always ends without one.

``POST /v1/subscriptions/{id}/resume`` starts it again: with ``billing_cycle_anchor=now``
(the default) a new period starts now and is invoiced at once; with ``unchanged`` it joins
its old cycle again and the rest of the current period is billed as its share of it
(nothing with ``proration_behavior=none``).
"""

from __future__ import annotations

from collections.abc import Mapping
from types import SimpleNamespace
from typing import Any

import sqlalchemy as sa

from remit.billing import test_clocks
from remit.billing.domain import periods
from remit.billing.invoices.drafts import LineDraft
from remit.billing.subscriptions import cancel, invoicing, lines, records, render
from remit.billing.subscriptions.validate import grid_of
from remit.catalog.models import pricing_models
from remit.context import CallContext
from remit.primitives.errors import InvalidRequestError

END_BEHAVIORS = ("cancel", "create_invoice", "pause")


def end_trial_without_payment_method(
    conn: sa.Connection, ctx: CallContext, row: Any, at_ts: int
) -> bool:
    """At the end of a trial: pause or cancel as the trial settings say. False when the
    subscription bills on (``create_invoice``) and the renewal takes over."""
    if row.status != "trialing" or row.trial_end is None or at_ts < row.trial_end:
        return False
    behavior = render.missing_payment_method(row)
    if behavior == "cancel":
        cancel.end(conn, ctx, row, row.trial_end, prorate=False, invoice_now=False, details={})
        return True
    if behavior == "pause":
        records.update(conn, ctx, row, {"status": "paused"}, row.trial_end)
        records.emit(conn, ctx, "customer.subscription.paused", row.id, row.trial_end)
        return True
    return False


def resume(
    conn: sa.Connection, ctx: CallContext, sub_id: str, params: Mapping[str, Any]
) -> dict[str, Any]:
    row = render.load(conn, ctx.account_id, sub_id, lock=True)
    ctx.touch(row.id)
    if row.status != "paused":
        raise InvalidRequestError(
            f"Only a paused subscription can be resumed; this one is `{row.status}`."
        )
    now_ts = test_clocks.now_for(conn, ctx, row.test_clock)
    items = lines.items_of(conn, ctx.account_id, [row.id])[row.id]
    interval, count = grid_of(items[0].price_row)
    if params.get("billing_cycle_anchor", "now") == "now":
        period = (now_ts, periods.boundary(now_ts, interval, count, 1))
        values: dict[str, Any] = {
            "billing_cycle_anchor": now_ts,
            "billing_cycle_anchor_config": None,
        }
    else:
        period = (now_ts, periods.next_boundary(row.billing_cycle_anchor, interval, count, now_ts))
    values.update(status="active", current_period_start=period[0], current_period_end=period[1])
    sub = SimpleNamespace(**{**row._asdict(), **values})
    drafted = _resumed_lines(ctx, sub, items, period, params)
    values["latest_invoice"] = invoicing.create(
        conn, ctx, invoicing.draft(sub, "subscription_update", now_ts, drafted)
    )
    records.update(conn, ctx, row, values, now_ts)
    records.emit(conn, ctx, "customer.subscription.resumed", row.id, now_ts)
    invoicing.settle(conn, ctx, sub, values["latest_invoice"], now_ts)
    return render.retrieve(conn, ctx.account_id, row.id)


def _resumed_lines(
    ctx: CallContext,
    sub: Any,
    items: list[lines.ItemView],
    period: tuple[int, int],
    params: Mapping[str, Any],
) -> list[LineDraft]:
    options: dict[str, Any] = {
        "rounding": ctx.account.rounding_mode,
        "models": pricing_models(ctx.pm),
    }
    if sub.billing_cycle_anchor == period[0]:
        return lines.licensed_lines(sub, items, *period, **options)
    interval, count = grid_of(items[0].price_row)
    whole = periods.period_at(sub.billing_cycle_anchor, interval, count, period[0])
    prorated = params.get("proration_behavior", "create_prorations") != "none"
    return lines.stub_lines(sub, items, period, whole, prorated=prorated, **options)
