"""Writing subscription rows and announcing each change as its Stripe event.

Every write of a subscription goes through here, so ``next_action_at`` is recomputed from
the row as written every time, and every change is one ``customer.subscription.*`` event
with Stripe's ``previous_attributes``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from types import SimpleNamespace
from typing import Any

import sqlalchemy as sa

from remit.billing.subscriptions import render, status
from remit.billing.subscriptions.tables import subscription_items, subscriptions
from remit.context import CallContext
from remit.events import service as events
from remit.events import types as event_types
from remit.primitives.ids import new_id, register_prefix

register_prefix("sub")
register_prefix("si")
event_types.register(
    "customer.subscription.created",
    "customer.subscription.updated",
    "customer.subscription.deleted",
    "customer.subscription.trial_will_end",
    "customer.subscription.paused",
    "customer.subscription.resumed",
)


def new_subscription_id() -> str:
    return new_id("sub")


def new_item_id() -> str:
    return new_id("si")


def insert(conn: sa.Connection, row: dict[str, Any], items: Sequence[Mapping[str, Any]]) -> None:
    """Write a new subscription and its items; ``next_action_at`` is derived here."""
    conn.execute(subscriptions.insert().values(**row, next_action_at=status.next_action_at(row)))
    if items:
        conn.execute(subscription_items.insert(), [dict(item) for item in items])


def write(conn: sa.Connection, row: Any, values: Mapping[str, Any]) -> dict[str, Any]:
    """Update the subscription ``row`` with ``values``; returns the merged column values."""
    merged = {**row._asdict(), **values}
    merged["next_action_at"] = status.next_action_at(merged)
    conn.execute(
        subscriptions.update()
        .where(subscriptions.c.id == row.id, subscriptions.c.account_id == row.account_id)
        .values(**{key: merged[key] for key in {*values, "next_action_at"}})
    )
    return merged


def announce_created(conn: sa.Connection, ctx: CallContext, sub_id: str, at_ts: int) -> None:
    obj = render.retrieve(conn, ctx.account_id, sub_id)
    events.emit(conn, ctx, "customer.subscription.created", obj, created=at_ts)


def update(
    conn: sa.Connection,
    ctx: CallContext,
    row: Any,
    values: Mapping[str, Any],
    at_ts: int,
    before: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Write ``values`` and emit ``customer.subscription.updated`` when anything shows.

    ``before`` is the rendering before the whole change, when items changed too (the
    caller rendered it before touching them); else the row's own rendering.
    """
    shown_before = render.render(conn, ctx.account_id, row) if before is None else before
    merged = write(conn, row, values)
    after = render.render(conn, ctx.account_id, SimpleNamespace(**merged))
    changed = events.previous_attributes(shown_before, after)
    if changed:
        events.emit(
            conn, ctx, "customer.subscription.updated", after,
            previous_attributes=changed, created=at_ts,
        )  # fmt: skip
    return after


def emit(conn: sa.Connection, ctx: CallContext, event_type: str, sub_id: str, at_ts: int) -> None:
    """An event that carries the subscription as it now is (deleted, trial_will_end, ...)."""
    events.emit(conn, ctx, event_type, render.retrieve(conn, ctx.account_id, sub_id), created=at_ts)
