"""Renewals: subscriptions whose period has ended are invoiced and moved on, in batches.

For a batch of subscriptions due at ``at_ts`` (their ``current_period_end`` has come), one
round does, whatever the batch's size: one load of their items, ONE usage statement per
chunk of metered items (``usage.usage_many``), one ``create_many`` of the invoices, one
``executemany`` moving the subscriptions on, one ``finalize_many`` of the invoices whose
finalization is due by ``at_ts``. Each renewal's invoice (``subscription_cycle``) bills the
metered items in arrears for the period that ended (nothing for a trial), the licensed
items in advance for the period that starts, and sweeps the subscription's pending items;
its ``cycle_key`` (``sub_...:<period start>``) makes a rerun create nothing twice.

A renewal happens at the period's boundary, whenever it is processed: the invoice is
created then (so it finalizes an hour after it, as Stripe's drafts do) and the events carry
that moment. A trial ending at the boundary makes the subscription ``active``; discounts
that have ended or were spent leave the subscription.

Cancellations that fall due (``cancel_at``, the end of a ``cancel_at_period_end`` period)
end the subscription there through the subscriptions service, with a final invoice when
there is something left to bill (metered usage, pending items). A ``paused`` subscription
only moves on: nothing is invoiced while it is paused.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

import sqlalchemy as sa

from remit.billing.discounts.tables import discounts as discount_rows
from remit.billing.domain import periods
from remit.billing.invoices import auto_finalize, build, lifecycle, reads
from remit.billing.invoices.drafts import InvoiceDraft, LineDraft
from remit.billing.invoices.tables import invoice_items, invoices
from remit.billing.subscriptions import cancel, grace, lines, render, status, usage
from remit.billing.subscriptions.tables import subscriptions
from remit.billing.subscriptions.validate import grid_of
from remit.catalog.models import pricing_models
from remit.context import CallContext
from remit.events import service as events

__all__ = ["Renewed", "cycle_key", "finalize_due", "renew", "renew_counted"]

CHUNK_IDS = 500  # ids per IN list


def cycle_key(subscription_id: str, period_start_ts: int) -> str:
    """The renewal invoice's key: one per subscription and period, whatever reruns."""
    return f"{subscription_id}:{period_start_ts}"


@dataclass(frozen=True)
class _Renewal:
    row: Any
    items: list[lines.ItemView]
    ended: tuple[int, int]  # the period that ended, billed in arrears
    starts: tuple[int, int]  # the period that starts, billed in advance


@dataclass(frozen=True)
class Renewed:
    renewed: int  # periods renewed, and subscriptions ended
    finalized: int  # renewal invoices finalized (those whose hour had passed by then)


def renew(
    conn: sa.Connection, ctx: CallContext, subscription_ids: Sequence[str], at_ts: int
) -> int:
    """Renew (or end, when a cancellation is due) each of ``subscription_ids`` whose period
    ended by ``at_ts``, period after period until none is due; returns how many periods
    were renewed or subscriptions ended. Subscriptions with nothing due are left alone."""
    return renew_counted(conn, ctx, subscription_ids, at_ts).renewed


def renew_counted(
    conn: sa.Connection, ctx: CallContext, subscription_ids: Sequence[str], at_ts: int
) -> Renewed:
    """``renew``, also saying how many of the new invoices it finalized."""
    renewed = finalized = 0
    while rows := _due(conn, ctx.account_id, subscription_ids, at_ts):
        ending = [row for row in rows if _cancel_due_at(row) is not None]
        for row in ending:
            _end(conn, ctx, row)
        renewing = [row for row in rows if _cancel_due_at(row) is None]
        if renewing:
            finalized += _renew_round(conn, ctx, renewing, at_ts)
        renewed += len(rows)
    return Renewed(renewed, finalized)


def _due(
    conn: sa.Connection, account_id: str, subscription_ids: Sequence[str], at_ts: int
) -> list[Any]:
    """The listed subscriptions with a renewal or a cancellation due by ``at_ts``, locked
    (an incomplete one only expires: it never renews)."""
    s = subscriptions.c
    found: list[Any] = []
    for at in range(0, len(subscription_ids), CHUNK_IDS):
        query = (
            sa.select(subscriptions)
            .where(s.account_id == account_id, s.id.in_(subscription_ids[at : at + CHUNK_IDS]))
            .where(s.status.notin_([*status.TERMINAL, "incomplete"]))
            .where(sa.or_(s.current_period_end <= at_ts, s.cancel_at <= at_ts))
            .order_by(s.id)
        )
        if conn.dialect.name == "postgresql":
            query = query.with_for_update()
        found += conn.execute(query).all()
    return found


def _cancel_due_at(row: Any) -> int | None:
    """When ``row`` ends, if that is within its current period (else it renews first)."""
    if row.cancel_at is not None and row.cancel_at <= row.current_period_end:
        return int(row.cancel_at)
    if row.cancel_at_period_end:
        return int(row.current_period_end)
    return None


def _end(conn: sa.Connection, ctx: CallContext, row: Any) -> None:
    """End ``row`` when its cancellation falls due: unused time credited when that is
    mid-period, and a final invoice when there is usage or a pending item to bill."""
    ends_at = _cancel_due_at(row)
    assert ends_at is not None
    items = lines.items_of(conn, ctx.account_id, [row.id])[row.id]
    final = row.status != "trialing" and (
        any(item.metered for item in items) or _has_pending_items(conn, row)
    )
    cancel.end(
        conn, ctx, row, ends_at,
        prorate=ends_at < row.current_period_end, invoice_now=final,
        details={"reason": "cancellation_requested"},
    )  # fmt: skip


def _has_pending_items(conn: sa.Connection, row: Any) -> bool:
    i = invoice_items.c
    found = conn.execute(
        sa.select(i.id)
        .where(i.account_id == row.account_id, i.customer == row.customer)
        .where(i.subscription == row.id, i.invoice.is_(None), i.deleted.is_(False))
        .limit(1)
    ).first()
    return found is not None


def _renew_round(conn: sa.Connection, ctx: CallContext, rows: Sequence[Any], at_ts: int) -> int:
    items = lines.items_of(conn, ctx.account_id, [row.id for row in rows])
    plans = [_plan(row, items[row.id]) for row in rows]
    billed = [plan for plan in plans if plan.row.status != "paused"]
    measured = _usage(conn, ctx, billed)
    kept = _discounts_kept(conn, ctx.account_id, plans)
    drafts = [_draft(ctx, plan, measured, kept[plan.row.id]) for plan in billed]
    made = build.create_many(conn, ctx, drafts)
    invoice_ids = dict(zip([plan.row.id for plan in billed], made, strict=True))
    _advance(conn, ctx, plans, invoice_ids, kept)
    made_now = list(invoice_ids.values())
    return finalize_due(conn, ctx, made_now, at_ts, measured_now=set(made_now))


def _plan(row: Any, items: list[lines.ItemView]) -> _Renewal:
    assert items, f"subscription {row.id} has no items to renew"
    interval, count = grid_of(items[0].price_row)
    start_ts = int(row.current_period_end)
    end_ts = periods.next_boundary(row.billing_cycle_anchor, interval, count, start_ts)
    return _Renewal(row, items, (int(row.current_period_start), start_ts), (start_ts, end_ts))


def _usage(conn: sa.Connection, ctx: CallContext, plans: Sequence[_Renewal]) -> dict[str, Decimal]:
    """Item id -> usage over the period that ended, for every metered item of the batch
    (a trial's usage is not billed)."""
    queries = [
        usage.UsageQuery(item.id, item.price_row.recurring_meter, plan.row.customer, *plan.ended)
        for plan in plans
        if plan.row.status != "trialing"
        for item in plan.items
        if item.metered and item.price_row.recurring_meter is not None
    ]
    if not queries:
        return {}
    meter_ids = {q.meter_id for q in queries}
    aggregations = usage.aggregations_for(conn, ctx.account_id, meter_ids, ctx.pm)
    found = usage.usage_many(conn, ctx.account_id, queries, aggregations)
    return {key: measured.value for key, measured in found.items()}


def _discounts_kept(
    conn: sa.Connection, account_id: str, plans: Sequence[_Renewal]
) -> dict[str, list[str]]:
    """Subscription id -> its discounts still in force in the period that starts: a
    repeating coupon that ended by then, a once coupon spent and a removed one leave."""
    wanted = sorted({x for plan in plans for x in plan.row.discounts})
    found: dict[str, Any] = {}
    d = discount_rows.c
    for at in range(0, len(wanted), CHUNK_IDS):
        rows = conn.execute(
            sa.select(d.id, d.end, d.spent, d.deleted).where(
                d.account_id == account_id, d.id.in_(wanted[at : at + CHUNK_IDS])
            )
        )
        found.update((row.id, row) for row in rows)

    def in_force(discount_id: str, starts_ts: int) -> bool:
        row = found.get(discount_id)
        if row is None or row.spent or row.deleted:
            return False
        return row.end is None or row.end > starts_ts

    return {
        plan.row.id: [x for x in plan.row.discounts if in_force(x, plan.starts[0])]
        for plan in plans
    }


def _draft(
    ctx: CallContext, plan: _Renewal, measured: Mapping[str, Decimal], kept: Sequence[str]
) -> InvoiceDraft:
    row, (start_ts, end_ts) = plan.row, plan.starts
    rounding, models = ctx.account.rounding_mode, pricing_models(ctx.pm)
    drafted: list[LineDraft] = []
    if row.status != "trialing":
        metered = [item for item in plan.items if item.metered]
        drafted += lines.metered_lines(row, metered, measured, *plan.ended, rounding, models)
    drafted += lines.licensed_lines(
        row, plan.items, start_ts, end_ts, rounding=rounding, models=models
    )
    order = {item.id: n for n, item in enumerate(plan.items)}
    drafted.sort(key=lambda line: order[line.subscription_item or ""])
    pause = row.pause_collection or {}
    return InvoiceDraft(
        customer=row.customer,
        currency=row.currency,
        created=start_ts,
        period_start=plan.ended[0],
        period_end=plan.ended[1],
        billing_reason="subscription_cycle",
        collection_method=row.collection_method,
        days_until_due=row.days_until_due,
        subscription=row.id,
        test_clock=row.test_clock,
        default_tax_rates=tuple(row.default_tax_rates),
        discounts=tuple(kept),
        lines=tuple(drafted),
        # A collection paused with keep_as_draft leaves new invoices as drafts for good.
        auto_advance=pause.get("behavior") != "keep_as_draft",
        cycle_key=cycle_key(row.id, start_ts),
        pending_items=True,
    )


_ADVANCE = (
    subscriptions.update()
    .where(
        subscriptions.c.account_id == sa.bindparam("b_account_id"),
        subscriptions.c.id == sa.bindparam("b_id"),
    )
    .values(
        current_period_start=sa.bindparam("current_period_start"),
        current_period_end=sa.bindparam("current_period_end"),
        status=sa.bindparam("status"),
        latest_invoice=sa.bindparam("latest_invoice"),
        discounts=sa.bindparam("discounts", type_=sa.JSON),
        next_action_at=sa.bindparam("next_action_at"),
    )
)


def _advance(
    conn: sa.Connection,
    ctx: CallContext,
    plans: Sequence[_Renewal],
    invoice_ids: Mapping[str, str],
    kept: Mapping[str, list[str]],
) -> None:
    """Move every subscription on to its new period with one executemany, each announced
    as ``customer.subscription.updated`` at its boundary."""
    merged_rows = []
    for plan in plans:
        row, (start_ts, end_ts) = plan.row, plan.starts
        merged = {
            **row._asdict(),
            "current_period_start": start_ts,
            "current_period_end": end_ts,
            "latest_invoice": invoice_ids.get(row.id, row.latest_invoice),
            "discounts": kept[row.id],
        }
        if row.status == "trialing" and row.trial_end is not None and row.trial_end <= start_ts:
            merged["status"] = "active"
        merged["next_action_at"] = status.next_action_at(merged)
        merged_rows.append(merged)
    conn.execute(
        _ADVANCE, [{"b_account_id": m["account_id"], "b_id": m["id"], **m} for m in merged_rows]
    )
    rendered = render.render_many(conn, ctx.account_id, [SimpleNamespace(**m) for m in merged_rows])
    for plan, merged, after in zip(plans, merged_rows, rendered, strict=True):
        changed = events.previous_attributes(_as_before(after, plan.row), after)
        events.emit(
            conn, ctx, "customer.subscription.updated", after,
            previous_attributes=changed, created=merged["current_period_start"],
        )  # fmt: skip


def _as_before(after: dict[str, Any], row: Any) -> dict[str, Any]:
    """The subscription as rendered before its renewal: the rendering after it, with what a
    renewal changes (each item's current period, the status, the latest invoice, the
    discounts) taken from the row as it was. One rendering per renewal instead of two."""
    items = [
        {**item, "current_period_start": row.current_period_start,
         "current_period_end": row.current_period_end}
        for item in after["items"]["data"]
    ]  # fmt: skip
    return {
        **after,
        "items": {**after["items"], "data": items},
        "status": row.status,
        "latest_invoice": row.latest_invoice,
        "discounts": list(row.discounts),
    }


def finalize_due(
    conn: sa.Connection,
    ctx: CallContext,
    invoice_ids: Sequence[str],
    at_ts: int,
    *,
    measured_now: Collection[str] = (),
) -> int:
    """Finalize those of ``invoice_ids`` that are auto-advancing drafts due by ``at_ts``, in
    time order (ties by id), then apply their subscriptions' paused collection (void or
    uncollectible). Usage reported since a draft was made is billed on it first (drafts in
    ``measured_now`` were made by this transaction: nothing can have arrived since).
    Returns how many were finalized."""
    i = invoices.c
    due: list[Any] = []
    for at in range(0, len(invoice_ids), CHUNK_IDS):
        due += conn.execute(
            sa.select(i.id, i.subscription, i.automatically_finalizes_at)
            .where(i.account_id == ctx.account_id, i.id.in_(invoice_ids[at : at + CHUNK_IDS]))
            .where(i.status == "draft", i.auto_advance.is_(True))
            .where(i.automatically_finalizes_at <= at_ts)
        ).all()
    due.sort(key=lambda row: (row.automatically_finalizes_at, row.id))
    if not due:
        return 0
    grace.refresh_metered(conn, ctx, [row.id for row in due if row.id not in measured_now], at_ts)
    finalized = set(auto_finalize.finalize_due_drafts(conn, ctx, [row.id for row in due], at_ts))
    _collection_paused(conn, ctx, [row for row in due if row.id in finalized], at_ts)
    return len(finalized)


def _collection_paused(
    conn: sa.Connection, ctx: CallContext, due: Sequence[Any], at_ts: int
) -> None:
    """An invoice finalized while its subscription's collection is paused is voided or
    marked uncollectible, as ``pause_collection[behavior]`` says."""
    sub_ids = sorted({row.subscription for row in due if row.subscription is not None})
    behaviors: dict[str, str] = {}
    s = subscriptions.c
    for at in range(0, len(sub_ids), CHUNK_IDS):
        rows = conn.execute(
            sa.select(s.id, s.pause_collection).where(
                s.account_id == ctx.account_id, s.id.in_(sub_ids[at : at + CHUNK_IDS])
            )
        )
        behaviors.update(
            (row.id, row.pause_collection["behavior"]) for row in rows if row.pause_collection
        )
    for row in due:
        behavior = behaviors.get(row.subscription or "")
        if behavior not in ("void", "mark_uncollectible"):
            continue
        if reads.load_invoice(conn, ctx.account_id, row.id).status != "open":
            continue  # nothing was due: it is paid already
        if behavior == "void":
            lifecycle.void(conn, ctx, row.id, at_ts)
        else:
            lifecycle.mark_uncollectible(conn, ctx, row.id, at_ts)
