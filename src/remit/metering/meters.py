"""Billing meters: which events count, for whom, and how they aggregate.

A meter's ``event_name`` is unique among the account's active meters (the database
enforces it too). Its formula, mappings and time window are fixed at creation, as on
Stripe: events already recorded were validated against them. Deactivating a meter
stops it from accepting events (they are recorded as ``archived_meter`` errors) and,
beyond Stripe (where an event name stays with its one meter), frees its event name: a
meter whose formula or mappings must change is replaced by a new one on the same
events, each keeping its own history; reactivating takes the name back if it is free.

A meter with an ``event_time_window`` takes events pre-aggregated per hour or day:
each is stamped with its window's start, and only the last one received for a window
counts (``domain.aggregations.PreAggregated``), as Stripe documents.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import sqlalchemy as sa

from remit.context import CallContext
from remit.events import service as events
from remit.events import types as event_types
from remit.metering import formulas, rollups
from remit.metering.tables import billing_meters
from remit.primitives.errors import InvalidRequestError, ResourceMissing, invalid_parameter
from remit.primitives.ids import new_id, register_prefix

PREFIX = "mtr"
register_prefix(PREFIX)
event_types.register(
    "billing.meter.created",
    "billing.meter.updated",
    "billing.meter.deactivated",
    "billing.meter.reactivated",
)
DEFAULT_CUSTOMER_KEY = "stripe_customer_id"
DEFAULT_VALUE_KEY = "value"
EVENT_TIME_WINDOWS = ("day", "hour")


def render(row: Any) -> dict[str, Any]:
    return {
        "id": row.id,
        "object": "billing.meter",
        "created": row.created,
        "customer_mapping": {
            "event_payload_key": row.customer_payload_key,
            "type": row.customer_mapping_type,
        },
        "default_aggregation": {"formula": row.formula},
        "display_name": row.display_name,
        "event_name": row.event_name,
        "event_time_window": row.event_time_window,
        "livemode": False,
        "status": row.status,
        "status_transitions": {"deactivated_at": row.deactivated_at},
        "updated": row.updated,
        "value_settings": {"event_payload_key": row.value_payload_key},
    }


_BY_ID = sa.select(billing_meters).where(
    billing_meters.c.id == sa.bindparam("id"),
    billing_meters.c.account_id == sa.bindparam("account_id"),
)


def load(conn: sa.Connection, account_id: str, meter_id: str, param: str = "id") -> Any:
    """The meter row (any status), or ``resource_missing`` naming ``param``."""
    row = conn.execute(_BY_ID, {"id": meter_id, "account_id": account_id}).first()
    if row is None:
        raise ResourceMissing("billing.meter", meter_id, param=param)
    return row


def retrieve(conn: sa.Connection, account_id: str, meter_id: str) -> dict[str, Any]:
    return render(load(conn, account_id, meter_id))


def _active_with_name(conn: sa.Connection, account_id: str, event_name: str) -> str | None:
    return conn.execute(
        sa.select(billing_meters.c.id).where(
            billing_meters.c.account_id == account_id,
            billing_meters.c.event_name == event_name,
            billing_meters.c.status == "active",
        )
    ).scalar()


def _name_taken(event_name: str, meter_id: str | None, param: str | None) -> InvalidRequestError:
    which = f" ({meter_id})" if meter_id else ""
    return InvalidRequestError(
        f"An active meter with event_name '{event_name}' already exists{which}. "
        "Event names must be unique among active meters; deactivate that meter first.",
        param=param,
    )


def _write_named(conn: sa.Connection, statement: sa.Executable, event_name: str) -> None:
    """Run an insert or update that may claim ``event_name``; a concurrent claim that won
    the race surfaces as the same error as a sequential one."""
    savepoint = conn.begin_nested()
    try:
        conn.execute(statement)
    except sa.exc.IntegrityError:
        savepoint.rollback()
        raise _name_taken(event_name, None, "event_name") from None
    savepoint.commit()


def create(conn: sa.Connection, ctx: CallContext, params: dict[str, Any]) -> dict[str, Any]:
    formula = params["default_aggregation"]["formula"]
    known = formulas.available(ctx.pm)
    if formula not in known:
        names = sorted(known)
        listed = ", ".join(names[:-1]) + f", or {names[-1]}" if len(names) > 2 else names[0]
        raise invalid_parameter(
            "default_aggregation[formula]",
            f"Invalid default_aggregation[formula]: must be one of {listed}",
        )
    event_name = params["event_name"]
    existing = _active_with_name(conn, ctx.account_id, event_name)
    if existing is not None:
        raise _name_taken(event_name, existing, "event_name")
    mapping = params.get("customer_mapping") or {}
    row = {
        "id": new_id(PREFIX),
        "account_id": ctx.account_id,
        "created": ctx.now,
        "updated": ctx.now,
        "display_name": params["display_name"],
        "event_name": event_name,
        "formula": formula,
        "customer_payload_key": mapping.get("event_payload_key", DEFAULT_CUSTOMER_KEY),
        "customer_mapping_type": mapping.get("type", "by_id"),
        "value_payload_key": (params.get("value_settings") or {}).get(
            "event_payload_key", DEFAULT_VALUE_KEY
        ),
        "event_time_window": params.get("event_time_window"),
        "status": "active",
        "deactivated_at": None,
    }
    _write_named(conn, billing_meters.insert().values(**row), event_name)
    rollups.ensure_watermark(conn, ctx.account_id, ctx.now)
    ctx.touch(row["id"])
    # Every column was given above, so the row as written renders without a re-read.
    obj = render(SimpleNamespace(**row))
    events.emit(conn, ctx, "billing.meter.created", obj)
    return obj


def update(
    conn: sa.Connection, ctx: CallContext, meter_id: str, params: dict[str, Any]
) -> dict[str, Any]:
    row = load(conn, ctx.account_id, meter_id)
    ctx.touch(meter_id)
    before = render(row)
    if "display_name" not in params or params["display_name"] == row.display_name:
        return before
    conn.execute(
        billing_meters.update()
        .where(billing_meters.c.id == meter_id)
        .values(display_name=params["display_name"], updated=ctx.now)
    )
    after = render(load(conn, ctx.account_id, meter_id))
    changed = events.previous_attributes(before, after)
    events.emit(conn, ctx, "billing.meter.updated", after, previous_attributes=changed)
    return after


def deactivate(conn: sa.Connection, ctx: CallContext, meter_id: str) -> dict[str, Any]:
    row = load(conn, ctx.account_id, meter_id)
    ctx.touch(meter_id)
    if row.status != "active":
        raise InvalidRequestError(f"The meter {meter_id} is already inactive.")
    conn.execute(
        billing_meters.update()
        .where(billing_meters.c.id == meter_id)
        .values(status="inactive", deactivated_at=ctx.now, updated=ctx.now)
    )
    obj = render(load(conn, ctx.account_id, meter_id))
    events.emit(conn, ctx, "billing.meter.deactivated", obj)
    return obj


def reactivate(conn: sa.Connection, ctx: CallContext, meter_id: str) -> dict[str, Any]:
    row = load(conn, ctx.account_id, meter_id)
    ctx.touch(meter_id)
    if row.status == "active":
        raise InvalidRequestError(f"The meter {meter_id} is already active.")
    existing = _active_with_name(conn, ctx.account_id, row.event_name)
    if existing is not None:
        raise _name_taken(row.event_name, existing, None)
    statement = (
        billing_meters.update()
        .where(billing_meters.c.id == meter_id)
        .values(status="active", deactivated_at=None, updated=ctx.now)
    )
    _write_named(conn, statement, row.event_name)
    obj = render(load(conn, ctx.account_id, meter_id))
    events.emit(conn, ctx, "billing.meter.reactivated", obj)
    return obj
