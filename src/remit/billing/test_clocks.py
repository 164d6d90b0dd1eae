"""Test clocks: simulated time for the objects attached to them.

Advancing moves ``frozen_time`` at once and marks the clock ``advancing``; a job
then lets every capability catch up (renewals, trial ends, finalizations: the
``remit_test_clock_advance`` hook) and marks it ``ready``. Unlike Stripe, one
advance may cover any distance.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from remit.billing.tables import customers, test_clocks
from remit.context import CallContext
from remit.events import service as events
from remit.jobs import queue
from remit.primitives.errors import InvalidRequestError, ResourceMissing, invalid_parameter
from remit.primitives.ids import new_id

LIFETIME_S = 30 * 24 * 3600
ADVANCE_JOB = "test_clock.advance"
MAX_CLOCK_TS = 253402300799  # 9999-12-31T23:59:59Z


def render(row: Any) -> dict[str, Any]:
    return {
        "id": row.id,
        "object": "test_helpers.test_clock",
        "created": row.created,
        "deletes_after": row.deletes_after,
        "frozen_time": row.frozen_time,
        "livemode": False,
        "name": row.name,
        "status": row.status,
        "status_details": (
            {"advancing": {"target_frozen_time": row.frozen_time}}
            if row.status == "advancing"
            else {}
        ),
    }


def load(conn: sa.Connection, account_id: str, clock_id: str, param: str = "id") -> Any:
    row = conn.execute(
        sa.select(test_clocks).where(
            test_clocks.c.id == clock_id,
            test_clocks.c.account_id == account_id,
            test_clocks.c.deleted.is_(False),
        )
    ).first()
    if row is None:
        raise ResourceMissing("test_clock", clock_id, param=param)
    return row


def now_for(conn: sa.Connection, ctx: CallContext, clock_id: str | None) -> int:
    """The time an object lives at: its test clock's, or the account's."""
    if clock_id is None:
        return ctx.now
    return int(load(conn, ctx.account_id, clock_id, param="test_clock").frozen_time)


def _check_time(frozen_time: int) -> int:
    if not 0 < frozen_time <= MAX_CLOCK_TS:
        raise invalid_parameter("frozen_time", f"Invalid timestamp: {frozen_time}.")
    return frozen_time


def create(conn: sa.Connection, ctx: CallContext, params: dict[str, Any]) -> dict[str, Any]:
    clock_id = new_id("clock")
    conn.execute(
        test_clocks.insert().values(
            id=clock_id,
            account_id=ctx.account_id,
            name=params.get("name"),
            frozen_time=_check_time(params["frozen_time"]),
            status="ready",
            created=ctx.now,
            deletes_after=ctx.now + LIFETIME_S,
        )
    )
    ctx.touch(clock_id)
    obj = render(load(conn, ctx.account_id, clock_id))
    events.emit(conn, ctx, "test_helpers.test_clock.created", obj)
    return obj


def advance(
    conn: sa.Connection, ctx: CallContext, clock_id: str, frozen_time: int
) -> dict[str, Any]:
    row = load(conn, ctx.account_id, clock_id)
    if row.status != "ready":
        raise InvalidRequestError(
            f"Test clock {clock_id} is {row.status}; it can advance only when ready.",
            code="test_clock_not_ready" if row.status == "advancing" else None,
        )
    if _check_time(frozen_time) <= row.frozen_time:
        raise invalid_parameter(
            "frozen_time",
            f"The frozen_time must be after the current frozen_time ({row.frozen_time}).",
        )
    conn.execute(
        test_clocks.update()
        .where(test_clocks.c.id == clock_id)
        .values(status="advancing", frozen_time=frozen_time)
    )
    queue.enqueue(
        conn,
        account_id=ctx.account_id,
        kind=ADVANCE_JOB,
        payload={"clock": clock_id, "from": row.frozen_time, "to": frozen_time},
        run_at=ctx.now,
        now=ctx.now,
    )
    ctx.touch(clock_id)
    obj = render(load(conn, ctx.account_id, clock_id))
    events.emit(conn, ctx, "test_helpers.test_clock.advancing", obj)
    return obj


def finish_advance(conn: sa.Connection, ctx: CallContext, clock_id: str) -> dict[str, Any]:
    """Called by the advance job once every capability has caught up."""
    return _settle_advance(conn, ctx, clock_id, "ready")


def _settle_advance(
    conn: sa.Connection, ctx: CallContext, clock_id: str, status: str
) -> dict[str, Any]:
    changed = conn.execute(
        test_clocks.update()
        .where(test_clocks.c.id == clock_id, test_clocks.c.status == "advancing")
        .values(status=status)
    ).rowcount
    obj = render(load(conn, ctx.account_id, clock_id))
    if changed:  # a re-run of a settled advance must not announce it again
        events.emit(conn, ctx, f"test_helpers.test_clock.{status}", obj)
    return obj


def fail_advance(conn: sa.Connection, ctx: CallContext, clock_id: str) -> dict[str, Any]:
    return _settle_advance(conn, ctx, clock_id, "internal_failure")


def delete(conn: sa.Connection, ctx: CallContext, clock_id: str) -> dict[str, Any]:
    """Deleting a clock deletes the objects that live on it, as on Stripe."""
    from remit.billing import customers as customer_service  # customers depend on clocks

    row = load(conn, ctx.account_id, clock_id)
    conn.execute(test_clocks.update().where(test_clocks.c.id == clock_id).values(deleted=True))
    living = conn.execute(
        sa.select(customers.c.id).where(
            customers.c.account_id == ctx.account_id,
            customers.c.test_clock == clock_id,
            customers.c.deleted.is_(False),
        )
    ).scalars()
    for customer_id in list(living):
        customer_service.delete(conn, ctx, customer_id, at=row.frozen_time)
    ctx.touch(clock_id)
    events.emit(conn, ctx, "test_helpers.test_clock.deleted", render(row))
    return {"id": clock_id, "object": "test_helpers.test_clock", "deleted": True}
