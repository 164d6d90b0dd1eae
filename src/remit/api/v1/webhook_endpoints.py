"""/v1/webhook_endpoints"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from remit.api.listing import page
from remit.api.params import Bool, Expand, ListOf, Metadata, Schema, Str, list_schema
from remit.api.routing import Route
from remit.context import CallContext
from remit.events import endpoints
from remit.events.tables import webhook_endpoints

BASE = "/v1/webhook_endpoints"
EVENTS = ListOf(Str(max_length=100, blank_ok=False), max_items=300)
CREATE = Schema(
    {
        "url": Str(max_length=2048, blank_ok=False),
        "enabled_events": EVENTS,
        "description": Str(max_length=5000),
        "metadata": Metadata(),
        "api_version": Str(max_length=60),
        "connect": Bool(),
        "expand": Expand(),
    },
    required=("url", "enabled_events"),
)
UPDATE = Schema(
    {
        "url": Str(max_length=2048, blank_ok=False),
        "enabled_events": EVENTS,
        "description": Str(max_length=5000),
        "metadata": Metadata(),
        "disabled": Bool(),
        "expand": Expand(),
    }
)


def _create(conn: sa.Connection, ctx: CallContext, params: dict[str, Any]) -> dict[str, Any]:
    return endpoints.create(conn, ctx, params)


def _retrieve(
    conn: sa.Connection, ctx: CallContext, params: dict[str, Any], id: str
) -> dict[str, Any]:
    ctx.touch(id)
    return endpoints.render(endpoints.load(conn, ctx.account_id, id))


def _update(
    conn: sa.Connection, ctx: CallContext, params: dict[str, Any], id: str
) -> dict[str, Any]:
    return endpoints.update(conn, ctx, id, params)


def _delete(
    conn: sa.Connection, ctx: CallContext, params: dict[str, Any], id: str
) -> dict[str, Any]:
    return endpoints.delete(conn, ctx, id)


def _list(conn: sa.Connection, ctx: CallContext, params: dict[str, Any]) -> dict[str, Any]:
    t = webhook_endpoints
    return page(
        conn,
        ctx.account_id,
        t,
        [t.c.deleted.is_(False)],
        params,
        endpoints.render,
        BASE,
        "webhook_endpoint",
    )


ROUTES = [
    Route("POST", BASE, _create, CREATE, writes=True),
    Route("GET", BASE, _list, list_schema()),
    Route("GET", BASE + "/{id}", _retrieve, Schema({"expand": Expand()})),
    Route("POST", BASE + "/{id}", _update, UPDATE, writes=True),
    Route("DELETE", BASE + "/{id}", _delete, Schema({}), writes=True),
]
