"""/v1/coupons"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

import sqlalchemy as sa

from remit.api.listing import created_filter, page
from remit.api.params import (
    Enum,
    Expand,
    Int,
    ListOf,
    Metadata,
    Obj,
    RangeFilter,
    Schema,
    Str,
    Timestamp,
    list_schema,
)
from remit.api.params_values import Currency, DecimalAmount, HashOf
from remit.api.routing import Route
from remit.billing.discounts import coupons
from remit.billing.discounts.tables import coupons as coupons_table
from remit.billing.taxes import percentages
from remit.context import CallContext

AMOUNT_OFF = Int(min=1)
CREATE = Schema(
    {
        "amount_off": AMOUNT_OFF,
        "applies_to": Obj({"products": ListOf(Str(max_length=100, blank_ok=False), max_items=100)}),
        "currency": Currency(),
        "currency_options": HashOf(
            Currency(), Obj({"amount_off": AMOUNT_OFF}, required=("amount_off",)), max_items=200
        ),
        "duration": Enum(coupons.DURATIONS),
        # A century bounds the arithmetic; no real promotion runs longer.
        "duration_in_months": Int(min=1, max=1200),
        "expand": Expand(),
        "id": Str(max_length=100, blank_ok=False),
        "max_redemptions": Int(min=1),
        "metadata": Metadata(),
        "name": Str(max_length=40),
        "percent_off": DecimalAmount(
            places=percentages.MAX_PLACES, positive=True, maximum=percentages.MAXIMUM
        ),
        "redeem_by": Timestamp(),
    },
    exclusive=[("percent_off", "amount_off")],
)
UPDATE = Schema({"expand": Expand(), "metadata": Metadata(), "name": Str(max_length=40)})
RETRIEVE = Schema({"expand": Expand()})
DELETE = Schema({})
LIST = list_schema({"created": RangeFilter()})


def includes(params: dict[str, Any], under: str = "") -> Collection[str]:
    """The includable fields that ``expand[]`` asks for (``data.applies_to`` in a list)."""
    return {
        path[len(under) :]
        for path in params.get("expand", ())
        if path.startswith(under) and path[len(under) :] in coupons.INCLUDABLE
    }


def _create(conn: sa.Connection, ctx: CallContext, params: dict[str, Any]) -> dict[str, Any]:
    return coupons.create(conn, ctx, params, includes(params))


def _retrieve(
    conn: sa.Connection, ctx: CallContext, params: dict[str, Any], id: str
) -> dict[str, Any]:
    ctx.touch(id)
    return coupons.retrieve(conn, ctx.account_id, id, ctx.now, includes(params))


def _update(
    conn: sa.Connection, ctx: CallContext, params: dict[str, Any], id: str
) -> dict[str, Any]:
    return coupons.update(conn, ctx, id, params, includes(params))


def _delete(
    conn: sa.Connection, ctx: CallContext, params: dict[str, Any], id: str
) -> dict[str, Any]:
    return coupons.delete(conn, ctx, id)


def _list(conn: sa.Connection, ctx: CallContext, params: dict[str, Any]) -> dict[str, Any]:
    t = coupons_table
    where: list[sa.ColumnElement[bool]] = [t.c.deleted.is_(False)]
    if "created" in params:
        where += created_filter(t.c.created, params["created"])
    include = includes(params, "data.")
    return page(
        conn,
        ctx.account_id,
        t,
        where,
        params,
        lambda row: coupons.render(row, ctx.now, include),
        "/v1/coupons",
        coupons.OBJECT_NAME,
        order_key=t.c.list_key,
    )


ROUTES = [
    Route("POST", "/v1/coupons", _create, CREATE, writes=True),
    Route("GET", "/v1/coupons", _list, LIST),
    Route("GET", "/v1/coupons/{id}", _retrieve, RETRIEVE),
    Route("POST", "/v1/coupons/{id}", _update, UPDATE, writes=True),
    Route("DELETE", "/v1/coupons/{id}", _delete, DELETE, writes=True),
]
