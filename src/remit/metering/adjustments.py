"""Meter event adjustments: canceling a recorded event by its identifier.

The raw log is never changed; a cancellation is a row of its own, keyed by the
identifier (so canceling twice is one cancellation). Summaries and the applier skip
canceled events. When the event was already folded into rollups, its minute, hour
and day buckets are rebuilt in the same transaction, under the account's watermark
lock so no applier runs in between. Processed synchronously: the adjustment is
``complete`` when the call returns (Stripe may answer ``pending``).

As on Stripe, only events received within the last 24 hours can be canceled.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from remit.context import CallContext
from remit.metering import formulas, meters, rollups
from remit.metering.tables import meter_event_cancellations, meter_events
from remit.primitives.errors import ResourceMissing, invalid_parameter

CANCEL_WINDOW_S = 24 * 3600


def render(event_name: str, identifier: str) -> dict[str, Any]:
    return {
        "object": "billing.meter_event_adjustment",
        "cancel": {"identifier": identifier},
        "event_name": event_name,
        "livemode": False,
        "status": "complete",
        "type": "cancel",
    }


def cancel(
    conn: sa.Connection, ctx: CallContext, event_name: str, identifier: str
) -> dict[str, Any]:
    e = meter_events.c
    event = conn.execute(
        sa.select(e.seq, e.meter_id, e.customer_id, e.event_name, e.timestamp, e.created).where(
            e.account_id == ctx.account_id, e.identifier == identifier
        )
    ).first()
    if event is None:
        raise ResourceMissing("billing.meter_event", identifier, param="cancel[identifier]")
    if event.event_name != event_name:
        raise invalid_parameter(
            "event_name",
            f"The meter event {identifier} was recorded with event_name {event.event_name}, "
            f"not {event_name}.",
        )
    # Taken before looking for an earlier cancellation: two cancels of one event queue
    # up here, and the second finds the first's row.
    watermark = rollups.lock_watermark(conn, ctx.account_id, skip_locked=False) or 0
    c = meter_event_cancellations.c
    done = conn.execute(
        sa.select(c.seq).where(c.account_id == ctx.account_id, c.identifier == identifier)
    ).first()
    if done is not None:
        return render(event_name, identifier)
    if ctx.now - event.created > CANCEL_WINDOW_S:
        raise invalid_parameter(
            "cancel[identifier]",
            f"Meter events can be canceled only within 24 hours of being received; "
            f"{identifier} was received at {event.created}.",
        )
    conn.execute(
        meter_event_cancellations.insert().values(
            account_id=ctx.account_id,
            identifier=identifier,
            meter_id=event.meter_id,
            event_name=event_name,
            seq=event.seq,
            created=ctx.now,
        )
    )
    if event.seq <= watermark:
        meter = meters.load(conn, ctx.account_id, event.meter_id)
        rollups.recompute_around(
            conn, ctx.account_id, event.meter_id, event.customer_id, event.timestamp,
            formulas.for_meter(ctx.pm, meter.formula, meter.event_time_window), watermark,
        )  # fmt: skip
    return render(event_name, identifier)
