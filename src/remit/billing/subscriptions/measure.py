"""The metered part of an invoice issued between renewals: usage so far, billed in arrears.

A cancellation with ``invoice_now``, a cycle restarted now and a preview all bill the
usage of the current period up to a moment. One subscription has at most 20 items, so
each metered item asks metering's aggregate once (the bill run batches instead).
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from remit.billing.invoices.drafts import LineDraft
from remit.billing.subscriptions import lines
from remit.catalog.models import pricing_models
from remit.context import CallContext
from remit.metering import formulas, meters
from remit.metering.usage import aggregate


def usage_of(
    conn: sa.Connection,
    ctx: CallContext,
    sub: Any,
    items: Sequence[lines.ItemView],
    start_ts: int,
    end_ts: int,
) -> dict[str, Decimal]:
    """Item id -> its meter's usage by the subscription's customer over ``[start, end)``."""
    usage: dict[str, Decimal] = {}
    for item in items:
        meter_id = item.price_row.recurring_meter
        if not item.metered or meter_id is None or start_ts >= end_ts:
            continue
        meter = meters.load(conn, ctx.account_id, meter_id)
        aggregation = formulas.for_meter(ctx.pm, meter.formula, meter.event_time_window)
        windows = aggregate(
            conn, ctx.account_id, meter_id, sub.customer, aggregation, start_ts, end_ts
        )
        usage[item.id] = windows[0].value if windows else Decimal(0)
    return usage


def metered_so_far(
    conn: sa.Connection,
    ctx: CallContext,
    sub: Any,
    items: Sequence[lines.ItemView],
    start_ts: int,
    end_ts: int,
) -> list[LineDraft]:
    """The metered items' lines for ``[start, end)``, rated from the usage measured."""
    if start_ts >= end_ts:
        return []
    usage = usage_of(conn, ctx, sub, items, start_ts, end_ts)
    metered = [item for item in items if item.metered]
    rounding, models = ctx.account.rounding_mode, pricing_models(ctx.pm)
    return lines.metered_lines(sub, metered, usage, start_ts, end_ts, rounding, models)
