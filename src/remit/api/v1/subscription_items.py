"""/v1/subscription_items"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from remit.api.listing import page
from remit.api.params import Bool, Enum, Expand, Metadata, Schema, Timestamp, list_schema
from remit.api.routing import Route
from remit.api.v1.subscriptions import DISCOUNTS, ID, PAYMENT_BEHAVIOR, QUANTITY, TAX_RATES
from remit.billing.subscriptions import items, render
from remit.billing.subscriptions.proration import PRORATION_BEHAVIORS
from remit.billing.subscriptions.tables import subscription_items
from remit.context import CallContext

CHANGE = {
    "discounts": DISCOUNTS,
    "expand": Expand(),
    "metadata": Metadata(),
    "payment_behavior": PAYMENT_BEHAVIOR,
    "price": ID,
    "proration_behavior": Enum(PRORATION_BEHAVIORS),
    "proration_date": Timestamp(),
    "quantity": QUANTITY,
    "tax_rates": TAX_RATES,
}
CREATE = Schema({**CHANGE, "subscription": ID}, required=("subscription", "price"))
UPDATE = Schema(CHANGE)
DELETE = Schema(
    {
        "clear_usage": Bool(),
        "proration_behavior": Enum(PRORATION_BEHAVIORS),
        "proration_date": Timestamp(),
    }
)
RETRIEVE = Schema({"expand": Expand()})
LIST = list_schema({"subscription": ID}, required=("subscription",))


def _create(conn: sa.Connection, ctx: CallContext, params: dict[str, Any]) -> dict[str, Any]:
    return items.create(conn, ctx, params)


def _retrieve(
    conn: sa.Connection, ctx: CallContext, params: dict[str, Any], id: str
) -> dict[str, Any]:
    ctx.touch(id)
    return items.retrieve(conn, ctx.account_id, id)


def _update(
    conn: sa.Connection, ctx: CallContext, params: dict[str, Any], id: str
) -> dict[str, Any]:
    return items.modify(conn, ctx, id, params)


def _delete(
    conn: sa.Connection, ctx: CallContext, params: dict[str, Any], id: str
) -> dict[str, Any]:
    return items.delete(conn, ctx, id, params)


def _list(conn: sa.Connection, ctx: CallContext, params: dict[str, Any]) -> dict[str, Any]:
    sub = render.load(conn, ctx.account_id, params["subscription"], "subscription")
    t = subscription_items
    where = [t.c.subscription == sub.id, t.c.deleted.is_(False)]

    def render_row(row: Any) -> dict[str, Any]:
        return render.render_items(conn, ctx.account_id, sub, [row])[0]

    url = "/v1/subscription_items"
    return page(conn, ctx.account_id, t, where, params, render_row, url, "subscription_item")


ROUTES = [
    Route("POST", "/v1/subscription_items", _create, CREATE, writes=True),
    Route("GET", "/v1/subscription_items", _list, LIST),
    Route("GET", "/v1/subscription_items/{id}", _retrieve, RETRIEVE),
    Route("POST", "/v1/subscription_items/{id}", _update, UPDATE, writes=True),
    Route("DELETE", "/v1/subscription_items/{id}", _delete, DELETE, writes=True),
]
