"""Usage reported late, in the hour a renewal invoice stays a draft, is billed with it.

A renewal's invoice is made at the period's boundary and finalizes about an hour later;
meter events stamped inside the period keep arriving meanwhile, and Stripe bills them on
that invoice. So before drafts are finalized, their metered lines (the
``metered_in_arrears`` ones) are measured again, one usage statement for the whole batch;
a line whose usage moved is rated again from its item, its draft priced again as it was
priced when made (the terms in force at its creation), and the draft announced with
``invoice.updated``. Drafts whose usage did not move cost nothing more.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from remit.billing.invoices import drafting, reads
from remit.billing.invoices.drafts import LineDraft
from remit.billing.invoices.tables import invoice_lines
from remit.billing.subscriptions import lines, usage
from remit.billing.subscriptions.tables import subscriptions
from remit.catalog.models import pricing_models
from remit.context import CallContext
from remit.events import service as events

METERED = "metered_in_arrears"  # the kind of line ``lines.metered_lines`` makes


def refresh_metered(
    conn: sa.Connection, ctx: CallContext, invoice_ids: Sequence[str], at_ts: int
) -> list[str]:
    """Measure the metered lines of these drafts again; those whose usage moved are rated
    and priced again and announced at ``at_ts``. Returns the ids of the drafts changed."""
    rows = reads.invoices_by_id(conn, ctx.account_id, invoice_ids, lock=True)
    stored = reads.lines_of(conn, ctx.account_id, invoice_ids)
    metered = [
        (rows[invoice_id], line)
        for invoice_id in invoice_ids
        for line in stored[invoice_id]
        if line.explain.get("kind") == METERED and line.subscription_item is not None
    ]
    if not metered:
        return []
    measured = _measure(conn, ctx, metered)
    moved = [
        (row, line, measured[line.id])
        for row, line in metered
        if measured[line.id] != Decimal(line.explain["quantity_source"]["measured"])
    ]
    rated = _rated_again(conn, ctx, moved)
    by_invoice: dict[str, dict[str, LineDraft]] = defaultdict(dict)
    for row, line, _ in moved:
        if line.id in rated:
            by_invoice[row.id][line.id] = rated[line.id]
    for invoice_id, fresh in by_invoice.items():
        _rewrite(conn, ctx, rows[invoice_id], fresh, at_ts)
    return list(by_invoice)


def _measure(
    conn: sa.Connection, ctx: CallContext, metered: Sequence[tuple[Any, Any]]
) -> dict[str, Decimal]:
    queries = [
        usage.UsageQuery(
            line.id, line.explain["quantity_source"]["meter"], row.customer,
            line.period_start, line.period_end,
        )
        for row, line in metered
    ]  # fmt: skip
    aggregations = usage.aggregations_for(
        conn, ctx.account_id, {q.meter_id for q in queries}, ctx.pm
    )
    found = usage.usage_many(conn, ctx.account_id, queries, aggregations)
    return {key: value.value for key, value in found.items()}


def _rated_again(
    conn: sa.Connection, ctx: CallContext, moved: Sequence[tuple[Any, Any, Decimal]]
) -> dict[str, LineDraft]:
    """Line id -> the line rated from its item with the new usage. A line whose item is
    gone or now bills another price keeps what it was rated at."""
    sub_ids = sorted({line.subscription for _, line, _ in moved})
    items = lines.items_of(conn, ctx.account_id, sub_ids)
    s = subscriptions.c
    subs = {
        row.id: row
        for row in conn.execute(
            sa.select(subscriptions).where(s.account_id == ctx.account_id, s.id.in_(sub_ids))
        )
    }
    rounding, models = ctx.account.rounding_mode, pricing_models(ctx.pm)
    rated: dict[str, LineDraft] = {}
    for _, line, value in moved:
        item = next((i for i in items[line.subscription] if i.id == line.subscription_item), None)
        if item is None or item.price_row.id != line.price:
            continue
        window = (line.period_start, line.period_end)
        [draft] = lines.metered_lines(
            subs[line.subscription], [item], {item.id: value}, *window, rounding, models
        )
        rated[line.id] = draft
    return rated


def _rewrite(
    conn: sa.Connection,
    ctx: CallContext,
    row: Any,
    fresh: Mapping[str, LineDraft],
    at_ts: int,
) -> None:
    before = reads.retrieve(conn, ctx.account_id, row.id)
    t = invoice_lines.c
    conn.execute(
        invoice_lines.update()
        .where(t.account_id == ctx.account_id, t.id == sa.bindparam("line_id"))
        .values(
            amount=sa.bindparam("amount"),
            quantity=sa.bindparam("quantity"),
            description=sa.bindparam("description"),
            explain=sa.bindparam("explain", type_=sa.JSON),
        ),
        [
            {"line_id": line_id, "amount": draft.amount, "quantity": draft.quantity,
             "description": draft.description, "explain": dict(draft.explain)}
            for line_id, draft in fresh.items()
        ],
    )  # fmt: skip
    # Priced as create_many priced the draft when it was made: under the terms in force at
    # its creation (a discount that ended since still applies).
    drafting.reprice(conn, ctx, row, at_ts=row.created)
    after = reads.retrieve(conn, ctx.account_id, row.id)
    changed = events.previous_attributes(before, after)
    events.emit(conn, ctx, "invoice.updated", after, previous_attributes=changed, created=at_ts)
