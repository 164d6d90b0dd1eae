"""/v1/events"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from remit.api.listing import created_filter, page
from remit.api.params import Bool, Expand, ListOf, RangeFilter, Schema, Str, list_schema
from remit.api.routing import Route
from remit.context import CallContext
from remit.events import service
from remit.events.tables import events

LIST = list_schema(
    {
        "type": Str(max_length=100, blank_ok=False),
        "types": ListOf(Str(max_length=100, blank_ok=False), max_items=20),
        "created": RangeFilter(),
        "delivery_success": Bool(),
    }
)
RETRIEVE = Schema({"expand": Expand()})


def _type_clause(pattern: str) -> sa.ColumnElement[bool]:
    # Stripe allows one trailing wildcard: type=customer.* matches customer.created etc.
    if pattern.endswith("*"):
        return events.c.type.startswith(pattern[:-1], autoescape=True)
    return events.c.type == pattern


def _list(conn: sa.Connection, ctx: CallContext, params: dict[str, Any]) -> dict[str, Any]:
    where: list[sa.ColumnElement[bool]] = []
    if "type" in params:
        where.append(_type_clause(params["type"]))
    if params.get("types"):
        where.append(sa.or_(*(_type_clause(t) for t in params["types"])))
    if "created" in params:
        where += created_filter(events.c.created, params["created"])
    if "delivery_success" in params:
        pending = events.c.pending_webhooks > 0
        where.append(sa.not_(pending) if params["delivery_success"] else pending)
    return page(
        conn, ctx.account_id, events, where, params, service.render_event, "/v1/events", "event"
    )


def _retrieve(
    conn: sa.Connection, ctx: CallContext, params: dict[str, Any], id: str
) -> dict[str, Any]:
    ctx.touch(id)
    return service.retrieve(conn, ctx.account_id, id)


ROUTES = [
    Route("GET", "/v1/events", _list, LIST),
    Route("GET", "/v1/events/{id}", _retrieve, RETRIEVE),
]
