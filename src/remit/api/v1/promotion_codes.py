"""/v1/promotion_codes"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

import sqlalchemy as sa

from remit.api.listing import created_filter, page
from remit.api.params import (
    Bool,
    Enum,
    Expand,
    Int,
    Metadata,
    Obj,
    RangeFilter,
    Schema,
    Str,
    Timestamp,
    list_schema,
)
from remit.api.params_values import Currency, HashOf
from remit.api.routing import Route
from remit.billing.discounts import promotion_codes
from remit.billing.discounts.tables import promotion_codes as promotion_codes_table
from remit.context import CallContext
from remit.primitives.errors import missing_parameter

ID = Str(max_length=100, blank_ok=False)
CURRENCY_OPTIONS = HashOf(
    Currency(), Obj({"minimum_amount": Int(min=1)}, required=("minimum_amount",)), max_items=200
)
CREATE = Schema(
    {
        "active": Bool(),
        "code": Str(max_length=promotion_codes.CODE_MAX_LENGTH, blank_ok=False),
        # The field before Stripe's 2025-09-30 API; SDKs of either age send one of the two.
        "coupon": ID,
        "customer": ID,
        "expand": Expand(),
        "expires_at": Timestamp(),
        "max_redemptions": Int(min=1),
        "metadata": Metadata(),
        "promotion": Obj({"coupon": ID, "type": Enum(("coupon",))}, required=("type",)),
        "restrictions": Obj(
            {
                "currency_options": CURRENCY_OPTIONS,
                "first_time_transaction": Bool(),
                "minimum_amount": Int(min=1),
                "minimum_amount_currency": Currency(),
            }
        ),
    },
    exclusive=[("coupon", "promotion")],
)
UPDATE = Schema(
    {
        "active": Bool(),
        "expand": Expand(),
        "metadata": Metadata(),
        "restrictions": Obj({"currency_options": CURRENCY_OPTIONS}),
    }
)
RETRIEVE = Schema({"expand": Expand()})
LIST = list_schema(
    {
        "active": Bool(),
        "code": Str(max_length=promotion_codes.CODE_MAX_LENGTH),
        "coupon": ID,
        "created": RangeFilter(),
        "customer": ID,
    }
)
INCLUDABLE = "restrictions.currency_options"


def includes(params: dict[str, Any], under: str = "") -> Collection[str]:
    """``restrictions.currency_options`` when ``expand[]`` asks for it."""
    return {INCLUDABLE} if under + INCLUDABLE in params.get("expand", ()) else set()


def _coupon_of(params: dict[str, Any]) -> tuple[str, str]:
    """The coupon named, and the param that named it."""
    if "promotion" in params:
        if "coupon" not in params["promotion"]:
            raise missing_parameter("promotion[coupon]")
        return params["promotion"]["coupon"], "promotion[coupon]"
    if "coupon" not in params:
        raise missing_parameter("promotion")
    return params["coupon"], "coupon"


def _create(conn: sa.Connection, ctx: CallContext, params: dict[str, Any]) -> dict[str, Any]:
    coupon, param = _coupon_of(params)
    return promotion_codes.create(conn, ctx, params, coupon, includes(params), param)


def _retrieve(
    conn: sa.Connection, ctx: CallContext, params: dict[str, Any], id: str
) -> dict[str, Any]:
    ctx.touch(id)
    return promotion_codes.retrieve(conn, ctx.account_id, id, includes(params))


def _update(
    conn: sa.Connection, ctx: CallContext, params: dict[str, Any], id: str
) -> dict[str, Any]:
    return promotion_codes.update(conn, ctx, id, params, includes(params))


def _list(conn: sa.Connection, ctx: CallContext, params: dict[str, Any]) -> dict[str, Any]:
    t = promotion_codes_table
    where: list[sa.ColumnElement[bool]] = []
    for key in ("active", "coupon", "customer"):
        if key in params:
            where.append(t.c[key] == params[key])
    if "code" in params:
        where.append(sa.func.lower(t.c.code) == params["code"].lower())
    if "created" in params:
        where += created_filter(t.c.created, params["created"])
    include = includes(params, "data.")
    return page(
        conn,
        ctx.account_id,
        t,
        where,
        params,
        lambda row: promotion_codes.render(row, include),
        "/v1/promotion_codes",
        promotion_codes.OBJECT_NAME,
    )


ROUTES = [
    Route("POST", "/v1/promotion_codes", _create, CREATE, writes=True),
    Route("GET", "/v1/promotion_codes", _list, LIST),
    Route("GET", "/v1/promotion_codes/{id}", _retrieve, RETRIEVE),
    Route("POST", "/v1/promotion_codes/{id}", _update, UPDATE, writes=True),
]
