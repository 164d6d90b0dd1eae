"""Changing a subscription (``POST /v1/subscriptions/{id}``).

Everything the request asks is checked first (items, fields, trial, anchor, proration date);
then items are written, prorations stored as pending invoice items, an invoice issued at
once where Stripe issues one (``always_invoice`` with prorations, a new cycle started now,
a trial ended now), and the subscription written and announced with the state from before
the whole change as ``previous_attributes``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

import sqlalchemy as sa

from remit.billing import test_clocks
from remit.billing.discounts import discounts
from remit.billing.domain import periods
from remit.billing.invoices.drafts import LineDraft
from remit.billing.subscriptions import (
    changes,
    fields,
    invoicing,
    lines,
    measure,
    proration,
    records,
    render,
    status,
    validate,
)
from remit.billing.subscriptions.changes import ItemPlan
from remit.billing.subscriptions.cycle import checked_trial_end
from remit.catalog.models import pricing_models
from remit.context import CallContext
from remit.primitives.errors import InvalidRequestError, invalid_parameter

# An incomplete subscription takes nothing else until its first invoice is paid (Stripe).
INCOMPLETE_UPDATABLE = frozenset({"metadata", "expand"})


@dataclass(frozen=True)
class Timing:
    """How the change sits in time: when it prorates from, and what happens to the cycle."""

    behavior: str
    proration_ts: int
    values: dict[str, Any] = field(default_factory=dict)
    # A new cycle starts now (billing_cycle_anchor=now, a new interval, a trial ended
    # now): the unused time is credited and the new period invoiced at once.
    reset: bool = False
    # A trial starts on a paid subscription: only its unused time is credited.
    credit_only: bool = False


def check_updatable(row: Any, params: Mapping[str, Any]) -> None:
    if row.status in status.TERMINAL:
        raise InvalidRequestError(
            f"You cannot update a subscription that is `{row.status}`; it has ended for good."
        )
    if row.status == "incomplete":
        extra = sorted(set(params) - INCOMPLETE_UPDATABLE)
        if extra:
            raise invalid_parameter(
                extra[0],
                "A subscription in incomplete status can only have its metadata updated "
                "until its first invoice is paid.",
            )


def update(
    conn: sa.Connection, ctx: CallContext, sub_id: str, params: Mapping[str, Any]
) -> dict[str, Any]:
    return change(conn, ctx, sub_id, params)[0]


def change(
    conn: sa.Connection, ctx: CallContext, sub_id: str, params: Mapping[str, Any]
) -> tuple[dict[str, Any], ItemPlan]:
    """Check and apply an update; the subscription after it and the items' plan (the
    subscription items API answers with the item it changed)."""
    row = render.load(conn, ctx.account_id, sub_id, lock=True)
    ctx.touch(row.id)
    check_updatable(row, params)
    now_ts = test_clocks.now_for(conn, ctx, row.test_clock)
    current = lines.items_of(conn, ctx.account_id, [row.id])[row.id]
    item_plan = changes.plan(conn, ctx.account_id, row, current, params.get("items"))
    values = fields.values(conn, ctx.account_id, row, params, now_ts)
    timing = _timing(row, params, item_plan, now_ts)
    values.update(timing.values)
    return apply(conn, ctx, row, params, item_plan, values, timing, now_ts), item_plan


def apply(
    conn: sa.Connection,
    ctx: CallContext,
    row: Any,
    params: Mapping[str, Any],
    item_plan: ItemPlan,
    values: dict[str, Any],
    timing: Timing,
    now_ts: int,
) -> dict[str, Any]:
    """Write a checked change (the items API comes in here too)."""
    before = render.render(conn, ctx.account_id, row)
    # Read before the change replaces them: the credits give back what was charged.
    credit_discounts = invoicing.discounts_of(conn, row, item_plan.before, now_ts)
    if "discounts" in params:
        values["discounts"] = _replace_discounts(conn, ctx, row, params["discounts"], now_ts)
    after_items = changes.apply(conn, ctx, row, item_plan, now_ts)
    merged = SimpleNamespace(**{**row._asdict(), **values})
    drafted = _prorations(
        ctx, row, item_plan, after_items, timing,
        credit_discounts, invoicing.discounts_of(conn, merged, after_items, now_ts),
    )  # fmt: skip
    invoicing.add_pending(conn, ctx, merged, drafted, now_ts)
    invoice_id = None
    if timing.reset or (timing.behavior == "always_invoice" and drafted):
        invoice_id = _invoice_now(conn, ctx, row, merged, item_plan, after_items, timing, now_ts)
        values["latest_invoice"] = invoice_id
    records.update(conn, ctx, row, values, now_ts, before=before)
    if invoice_id is not None:
        invoicing.settle(conn, ctx, merged, invoice_id, now_ts)
    return render.retrieve(conn, ctx.account_id, row.id)


def proration_date(row: Any, params: Mapping[str, Any], now_ts: int) -> int:
    """When the change prorates from: ``proration_date`` (inside the current period) or now."""
    if "proration_date" not in params:
        return int(min(max(now_ts, row.current_period_start), row.current_period_end))
    given = int(params["proration_date"])
    if not row.current_period_start <= given <= row.current_period_end:
        raise invalid_parameter(
            "proration_date",
            f"proration_date must lie in the current period [{row.current_period_start}, "
            f"{row.current_period_end}].",
        )
    return given


def _timing(row: Any, params: Mapping[str, Any], item_plan: ItemPlan, now_ts: int) -> Timing:
    behavior = params.get("proration_behavior", "create_prorations")
    proration_ts = proration_date(row, params, now_ts)
    values: dict[str, Any] = {}
    trialing = row.status == "trialing"
    trial = params.get("trial_end")
    anchor_now = params.get("billing_cycle_anchor") == "now"
    if anchor_now and trialing and trial != "now":
        raise invalid_parameter(
            "billing_cycle_anchor",
            "A trialing subscription's cycle starts when its trial ends; pass trial_end=now "
            "to end the trial now.",
        )
    if isinstance(trial, int):
        if anchor_now:
            raise invalid_parameter(
                "billing_cycle_anchor", "billing_cycle_anchor=now cannot start a trial."
            )
        trial_end_ts = checked_trial_end(trial, now_ts)
        assert trial_end_ts is not None
        values.update(_trial_values(row, trial_end_ts, now_ts))
        return Timing(behavior, proration_ts, values, credit_only=not trialing)
    ending_trial = trial == "now" and trialing
    reset = anchor_now or ending_trial or (item_plan.grid_changed and not trialing)
    if ending_trial:
        values.update(trial_end=now_ts, status="active")
    if reset:
        interval, count = validate.grid_of(item_plan.after[0].price_row)
        values.update(
            current_period_start=now_ts,
            current_period_end=periods.boundary(now_ts, interval, count, 1),
            billing_cycle_anchor=now_ts,
            billing_cycle_anchor_config=None,
        )
    return Timing(behavior, now_ts if reset else proration_ts, values, reset=reset)


def _trial_values(row: Any, trial_end_ts: int, now_ts: int) -> dict[str, Any]:
    """A trial moved (while trialing) or started now (on a paid subscription)."""
    values: dict[str, Any] = {
        "trial_end": trial_end_ts,
        "current_period_end": trial_end_ts,
        "billing_cycle_anchor": trial_end_ts,
        "billing_cycle_anchor_config": None,
        "trial_will_end_sent": False,
    }
    if row.status != "trialing":
        values.update(status="trialing", trial_start=now_ts, current_period_start=now_ts)
    return values


def whole_period(row: Any, grid: tuple[str, int]) -> tuple[int, int]:
    """The whole period on the anchor's grid that the current period ends (a first period up
    to a later anchor is a stub of it, and prorates as its share)."""
    interval, count = grid
    return periods.period_at(row.billing_cycle_anchor, interval, count, row.current_period_end - 1)


def _prorations(
    ctx: CallContext,
    row: Any,
    item_plan: ItemPlan,
    after_items: Sequence[lines.ItemView],
    timing: Timing,
    credit_discounts: proration.DiscountsOf,
    charge_discounts: proration.DiscountsOf,
) -> list[LineDraft]:
    """Nothing was charged for a trial, so nothing of it is credited or prorated."""
    if timing.behavior == "none" or row.status == "trialing":
        return []
    grid = validate.grid_of(item_plan.before[0].price_row)
    period = (whole_period(row, grid)[0], row.current_period_end)
    options: dict[str, Any] = {
        "rounding": ctx.account.rounding_mode,
        "models": pricing_models(ctx.pm),
    }
    if timing.reset or timing.credit_only:
        return proration.unused_time(
            row, item_plan.before, period, timing.proration_ts,
            discounts=credit_discounts, **options,
        )  # fmt: skip
    return proration.prorations(
        row, item_plan.before, after_items, period, timing.proration_ts,
        credit_discounts=credit_discounts, charge_discounts=charge_discounts, **options,
    )  # fmt: skip


def _invoice_now(
    conn: sa.Connection,
    ctx: CallContext,
    row: Any,
    sub: Any,
    item_plan: ItemPlan,
    after_items: Sequence[lines.ItemView],
    timing: Timing,
    now_ts: int,
) -> str:
    """An invoice issued by the change (``subscription_update``) with the pending prorations
    swept. When a new cycle starts now, it also bills the metered usage of the cycle cut
    short and the new cycle's licensed items in advance."""
    drafted: list[LineDraft] = []
    if timing.reset:
        drafted = measure.metered_so_far(
            conn, ctx, sub, item_plan.before, row.current_period_start, now_ts
        )
        drafted += lines.licensed_lines(
            sub, after_items, sub.current_period_start, sub.current_period_end,
            rounding=ctx.account.rounding_mode, models=pricing_models(ctx.pm),
        )  # fmt: skip
    invoice = invoicing.draft(sub, "subscription_update", now_ts, drafted)
    return invoicing.create(conn, ctx, invoice)


def _replace_discounts(
    conn: sa.Connection,
    ctx: CallContext,
    row: Any,
    specs: Sequence[Mapping[str, str]] | None,
    now_ts: int,
) -> list[str]:
    """The subscription's discounts replaced by the ones named ("" removes them all)."""
    for discount_id in row.discounts:
        discounts.remove(conn, ctx, discount_id, now_ts)
    return changes.attach_all(conn, ctx, row, specs or (), "discounts", now_ts, subscription=row.id)
