"""Domain events: written to the outbox in the caller's transaction, fanned out to endpoints."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import sqlalchemy as sa

from remit.context import CallContext
from remit.events.tables import events, webhook_deliveries, webhook_endpoints
from remit.jobs import queue
from remit.primitives.errors import ResourceMissing
from remit.primitives.ids import new_id

DELIVERY_JOB = "webhook.deliver"


def render_event(row: Any) -> dict[str, Any]:
    return {
        "id": row.id,
        "object": "event",
        "api_version": row.api_version,
        "created": row.created,
        "data": row.data,
        "livemode": False,
        "pending_webhooks": row.pending_webhooks,
        "request": {"id": row.request_id, "idempotency_key": row.idempotency_key},
        "type": row.type,
    }


def emit(
    conn: sa.Connection,
    ctx: CallContext,
    event_type: str,
    obj: Mapping[str, Any],
    previous_attributes: Mapping[str, Any] | None = None,
    created: int | None = None,
) -> str:
    """Record that ``obj`` changed; deliveries are queued in the same transaction."""
    event_id = new_id("evt")
    data: dict[str, Any] = {"object": dict(obj)}
    if previous_attributes is not None:
        data["previous_attributes"] = dict(previous_attributes)
    endpoint_ids = _subscribed_endpoints(conn, ctx.account_id, event_type)
    conn.execute(
        _INSERT_EVENT,
        {
            "id": event_id,
            "account_id": ctx.account_id,
            "type": event_type,
            "created": ctx.now if created is None else created,
            "api_version": ctx.api_version,
            "object_id": obj.get("id"),
            "data": data,
            "request_id": ctx.request_id,
            "idempotency_key": ctx.idempotency_key,
            "pending_webhooks": len(endpoint_ids),
        },
    )
    for endpoint_id in endpoint_ids:
        _new_delivery(conn, ctx, event_id, endpoint_id)
    return event_id


def _new_delivery(conn: sa.Connection, ctx: CallContext, event_id: str, endpoint_id: str) -> str:
    delivery_id = new_id("whdel")
    conn.execute(
        webhook_deliveries.insert().values(
            id=delivery_id,
            account_id=ctx.account_id,
            event_id=event_id,
            endpoint_id=endpoint_id,
            status="pending",
            attempts=0,
            created=ctx.now,
            next_attempt_at=ctx.now,
        )
    )
    _enqueue_delivery(conn, ctx, delivery_id)
    return delivery_id


def _enqueue_delivery(conn: sa.Connection, ctx: CallContext, delivery_id: str) -> None:
    queue.enqueue(
        conn,
        account_id=ctx.account_id,
        kind=DELIVERY_JOB,
        payload={"delivery_id": delivery_id},
        run_at=ctx.now,
        now=ctx.now,
    )


def redeliver(conn: sa.Connection, ctx: CallContext, event_id: str) -> list[str]:
    """Send a stored event again to every endpoint now subscribed to its type; the ids of
    the deliveries that will carry it, in endpoint order.

    Reconciliation's repair plans use this when an external copy missed or lost an
    event. The payload is the event as stored (same id), so receivers that dedupe on the
    id must accept a re-send they already settled; that is how Stripe's resend behaves.
    A (event, endpoint) pair has one delivery row, so a settled delivery is reopened:
    pending again from ``now``, with a fresh three-day retry window and a new job; its
    earlier attempts stay in ``webhook_attempts``. A delivery still pending is already on
    its way and is left alone.
    """
    event = conn.execute(
        sa.select(events.c.id, events.c.type).where(
            events.c.id == event_id, events.c.account_id == ctx.account_id
        )
    ).first()
    if event is None:
        raise ResourceMissing("event", event_id)
    existing = {
        row.endpoint_id: row
        for row in conn.execute(
            sa.select(webhook_deliveries).where(webhook_deliveries.c.event_id == event_id)
        )
    }
    delivery_ids, reopened = [], 0
    for endpoint_id in _subscribed_endpoints(conn, ctx.account_id, event.type):
        row = existing.get(endpoint_id)
        if row is not None and row.status == "pending":
            delivery_ids.append(row.id)
            continue
        if row is None:
            delivery_id = _new_delivery(conn, ctx, event_id, endpoint_id)
        else:
            delivery_id = row.id
            conn.execute(
                webhook_deliveries.update()
                .where(webhook_deliveries.c.id == delivery_id)
                .values(
                    status="pending", attempts=0, created=ctx.now,
                    next_attempt_at=ctx.now, completed_at=None,
                )
            )  # fmt: skip
            _enqueue_delivery(conn, ctx, delivery_id)
        delivery_ids.append(delivery_id)
        reopened += 1
    if reopened:
        conn.execute(
            events.update()
            .where(events.c.id == event_id)
            .values(pending_webhooks=events.c.pending_webhooks + reopened)
        )
    return delivery_ids


def previous_attributes(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    """Stripe's ``previous_attributes``: the old values of what changed, nested for hashes."""
    changed: dict[str, Any] = {}
    for key, old in before.items():
        new = after.get(key)
        if old == new:
            continue
        if isinstance(old, dict) and isinstance(new, dict):
            changed[key] = previous_attributes(old, new) | {
                k: None for k in new.keys() - old.keys()
            }
        else:
            changed[key] = old
    return changed


_INSERT_EVENT = events.insert()
_ENDPOINTS = sa.select(webhook_endpoints.c.id, webhook_endpoints.c.enabled_events).where(
    webhook_endpoints.c.account_id == sa.bindparam("account_id"),
    webhook_endpoints.c.status == "enabled",
    webhook_endpoints.c.deleted.is_(False),
)


def _subscribed_endpoints(conn: sa.Connection, account_id: str, event_type: str) -> list[str]:
    rows = conn.execute(_ENDPOINTS, {"account_id": account_id})
    return [r.id for r in rows if _matches(r.enabled_events, event_type)]


def _matches(enabled: Iterable[str], event_type: str) -> bool:
    return any(e == "*" or e == event_type for e in enabled)


def retrieve(conn: sa.Connection, account_id: str, event_id: str) -> dict[str, Any]:
    row = conn.execute(
        sa.select(events).where(events.c.id == event_id, events.c.account_id == account_id)
    ).first()
    if row is None:
        raise ResourceMissing("event", event_id)
    return render_event(row)
