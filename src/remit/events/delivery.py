"""Webhook delivery: one job per (event, endpoint), retried with backoff for three days.

Delivery is at least once. A worker killed mid-request lets its lease lapse and
another worker sends the same event again; receivers dedupe on the event id.
The HTTP call happens outside any database transaction.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

import httpx
import sqlalchemy as sa

from remit.events.service import render_event
from remit.events.signing import sign
from remit.events.tables import events, webhook_attempts, webhook_deliveries, webhook_endpoints
from remit.jobs import queue
from remit.jobs.queue import Job
from remit.primitives.clock import Clock
from remit.primitives.ids import new_id
from remit.store.engine import Store

RETRY_WINDOW_S = 3 * 24 * 3600
FIRST_RETRY_S = 60
MAX_RETRY_INTERVAL_S = 12 * 3600
TIMEOUT_S = 10.0
MAX_ERROR_CHARS = 500
USER_AGENT = "Stripe/1.0 (+https://stripe.com/docs/webhooks)"


def next_retry_at(created: int, attempts: int, now: int) -> int | None:
    """Exponential backoff from one minute, capped at 12 h; None once three days are spent."""
    delay = min(FIRST_RETRY_S * 2 ** max(attempts - 1, 0), MAX_RETRY_INTERVAL_S)
    at = now + delay
    return at if at <= created + RETRY_WINDOW_S else None


@dataclass(frozen=True, slots=True)
class Outcome:
    http_status: int | None
    error: str | None
    duration_ms: int

    @property
    def ok(self) -> bool:
        return self.http_status is not None and 200 <= self.http_status < 300


def post(url: str, secret: str, payload: bytes, timestamp: int) -> Outcome:
    headers = {
        "Content-Type": "application/json; charset=utf-8",
        "Stripe-Signature": sign(secret, payload, timestamp),
        "User-Agent": USER_AGENT,
    }
    started = time.perf_counter()
    try:
        response = httpx.post(url, content=payload, headers=headers, timeout=TIMEOUT_S)
        status, error = response.status_code, None
    except httpx.HTTPError as exc:
        status, error = None, f"{type(exc).__name__}: {exc}"[:MAX_ERROR_CHARS]
    return Outcome(status, error, int((time.perf_counter() - started) * 1000))


def deliver(store: Store, job: Job, clock: Clock) -> None:
    """The ``webhook.deliver`` job handler."""
    delivery_id = job.payload["delivery_id"]
    with store.read() as conn:
        row = conn.execute(
            sa.select(
                webhook_deliveries,
                webhook_endpoints.c.url,
                webhook_endpoints.c.secret,
                webhook_endpoints.c.status.label("endpoint_status"),
                webhook_endpoints.c.deleted.label("endpoint_deleted"),
            )
            .join(webhook_endpoints, webhook_endpoints.c.id == webhook_deliveries.c.endpoint_id)
            .where(webhook_deliveries.c.id == delivery_id)
        ).first()
        event = (
            None
            if row is None
            else conn.execute(sa.select(events).where(events.c.id == row.event_id)).first()
        )
    if row is None or event is None or row.status != "pending":
        with store.write() as conn:
            queue.complete(conn, job, clock.now())
        return
    if row.endpoint_deleted or row.endpoint_status != "enabled":
        _settle(store, job, row, "canceled", clock.now())
        return
    # The payload is the event as stored, so a redelivery carries the same id and data.
    payload = json.dumps(render_event(event), indent=2).encode()
    outcome = post(row.url, row.secret, payload, clock.now())
    _record(store, job, row, outcome, clock.now())


def _record(store: Store, job: Job, row: sa.Row[Any], outcome: Outcome, now: int) -> None:
    """Record the attempt; then settle or reschedule, unless another worker already has.

    A slow receiver can outlive our lease: another worker may have re-sent and
    settled the delivery meanwhile. The attempt still happened and is recorded,
    but counters are bumped in SQL (not from our stale read) and only a delivery
    still ``pending`` is changed.
    """
    pending = sa.and_(webhook_deliveries.c.id == row.id, webhook_deliveries.c.status == "pending")
    with store.write() as conn:
        conn.execute(
            webhook_attempts.insert().values(
                id=new_id("whatt"),
                account_id=row.account_id,
                delivery_id=row.id,
                attempted_at=now,
                http_status=outcome.http_status,
                error=outcome.error,
                duration_ms=outcome.duration_ms,
            )
        )
        attempts = conn.execute(
            webhook_deliveries.update()
            .where(webhook_deliveries.c.id == row.id)
            .values(attempts=webhook_deliveries.c.attempts + 1)
            .returning(webhook_deliveries.c.attempts)
        ).scalar_one()
        if outcome.ok:
            _finish(conn, job, row, "succeeded", now)
            return
        retry_at = next_retry_at(row.created, attempts, now)
        if retry_at is None:
            _finish(conn, job, row, "failed", now)
            return
        still_pending = conn.execute(
            webhook_deliveries.update().where(pending).values(next_attempt_at=retry_at)
        ).rowcount
        if still_pending:
            queue.reschedule(conn, job, retry_at, outcome.error or f"HTTP {outcome.http_status}")


def _settle(store: Store, job: Job, row: sa.Row[Any], status: str, now: int) -> None:
    with store.write() as conn:
        _finish(conn, job, row, status, now)


def _finish(conn: sa.Connection, job: Job, row: sa.Row[Any], status: str, now: int) -> None:
    updated = conn.execute(
        webhook_deliveries.update()
        .where(webhook_deliveries.c.id == row.id, webhook_deliveries.c.status == "pending")
        .values(status=status, completed_at=now, next_attempt_at=None)
    )
    if updated.rowcount == 1:
        conn.execute(
            events.update()
            .where(events.c.id == row.event_id)
            .values(pending_webhooks=events.c.pending_webhooks - 1)
        )
    queue.complete(conn, job, now)
