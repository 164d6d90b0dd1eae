"""/v1/billing/meters: meters, their event summaries, and (beyond Stripe) their errors."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from remit.api.listing import page
from remit.api.params import Enum, Expand, Int, Obj, Schema, Str, list_schema
from remit.api.routing import Route
from remit.context import CallContext
from remit.metering import error_reports, meters, summaries
from remit.metering.tables import billing_meters
from remit.primitives.errors import missing_parameter

PAYLOAD_KEY = Str(max_length=100, blank_ok=False)
CREATE = Schema(
    {
        "customer_mapping": Obj(
            {"event_payload_key": PAYLOAD_KEY, "type": Enum(("by_id",))},
            required=("event_payload_key", "type"),
        ),
        "default_aggregation": Obj(
            {"formula": Str(max_length=40, blank_ok=False)}, required=("formula",)
        ),
        "display_name": Str(max_length=250, blank_ok=False),
        "event_name": Str(max_length=100, blank_ok=False),
        "event_time_window": Enum(meters.EVENT_TIME_WINDOWS),
        "expand": Expand(),
        "value_settings": Obj({"event_payload_key": PAYLOAD_KEY}, required=("event_payload_key",)),
    },
    required=("default_aggregation", "display_name", "event_name"),
)
UPDATE = Schema({"display_name": Str(max_length=250, blank_ok=False), "expand": Expand()})
RETRIEVE = Schema({"expand": Expand()})
LIST = list_schema({"status": Enum(("active", "inactive"))})
# customer, start_time and end_time are required, but checked after the meter is found:
# another account's meter id answers 404 whatever else the request lacks.
SUMMARIES = list_schema(
    {
        "customer": Str(max_length=5000, blank_ok=False),
        "start_time": Int(min=0),
        "end_time": Int(min=0),
        "value_grouping_window": Enum(("day", "hour")),
    }
)
ERROR_REPORT = Schema({"start_time": Int(min=0), "end_time": Int(min=0), "expand": Expand()})


def _create(conn: sa.Connection, ctx: CallContext, params: dict[str, Any]) -> dict[str, Any]:
    return meters.create(conn, ctx, params)


def _retrieve(
    conn: sa.Connection, ctx: CallContext, params: dict[str, Any], id: str
) -> dict[str, Any]:
    ctx.touch(id)
    return meters.retrieve(conn, ctx.account_id, id)


def _update(
    conn: sa.Connection, ctx: CallContext, params: dict[str, Any], id: str
) -> dict[str, Any]:
    return meters.update(conn, ctx, id, params)


def _deactivate(
    conn: sa.Connection, ctx: CallContext, params: dict[str, Any], id: str
) -> dict[str, Any]:
    return meters.deactivate(conn, ctx, id)


def _reactivate(
    conn: sa.Connection, ctx: CallContext, params: dict[str, Any], id: str
) -> dict[str, Any]:
    return meters.reactivate(conn, ctx, id)


def _list(conn: sa.Connection, ctx: CallContext, params: dict[str, Any]) -> dict[str, Any]:
    where: list[sa.ColumnElement[bool]] = []
    if "status" in params:
        where.append(billing_meters.c.status == params["status"])
    return page(
        conn, ctx.account_id, billing_meters, where, params, meters.render,
        "/v1/billing/meters", "billing.meter",
    )  # fmt: skip


def _summaries(
    conn: sa.Connection, ctx: CallContext, params: dict[str, Any], id: str
) -> dict[str, Any]:
    meter = meters.load(conn, ctx.account_id, id)
    ctx.touch(id)
    for key in ("customer", "start_time", "end_time"):
        if key not in params:
            raise missing_parameter(key)
    return summaries.list_summaries(conn, ctx, meter, params)


def _error_report(
    conn: sa.Connection, ctx: CallContext, params: dict[str, Any], id: str
) -> dict[str, Any]:
    """Beyond Stripe (which only pushes error reports as events): the error report of
    this meter for errors recorded in ``[start_time, end_time)``, by default all of them."""
    meters.load(conn, ctx.account_id, id)
    ctx.touch(id)
    start = params.get("start_time", 0)
    end = params.get("end_time", ctx.now + 1)
    return error_reports.report(conn, ctx.account_id, id, start, end)


ROUTES = [
    Route("POST", "/v1/billing/meters", _create, CREATE, writes=True),
    Route("GET", "/v1/billing/meters", _list, LIST),
    Route("GET", "/v1/billing/meters/{id}", _retrieve, RETRIEVE),
    Route("POST", "/v1/billing/meters/{id}", _update, UPDATE, writes=True),
    Route("POST", "/v1/billing/meters/{id}/deactivate", _deactivate, RETRIEVE, writes=True),
    Route("POST", "/v1/billing/meters/{id}/reactivate", _reactivate, RETRIEVE, writes=True),
    Route("GET", "/v1/billing/meters/{id}/event_summaries", _summaries, SUMMARIES),
    Route("GET", "/v1/billing/meters/{id}/error_report", _error_report, ERROR_REPORT),
]
