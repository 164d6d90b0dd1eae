"""/v1/products"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from remit.api.listing import created_filter, page
from remit.api.params import (
    Bool,
    Enum,
    Expand,
    Int,
    ListOf,
    Metadata,
    Obj,
    RangeFilter,
    Schema,
    Str,
    list_schema,
)
from remit.api.params_values import Currency, DecimalAmount
from remit.api.routing import Route
from remit.api.v1.prices import (
    AMOUNT,
    AMOUNTS_EXCLUSIVE,
    CURRENCY_OPTIONS,
    CUSTOM_UNIT_AMOUNT,
    INTERVAL,
    TAX_BEHAVIOR,
)
from remit.catalog import products
from remit.catalog.tables import products as products_table
from remit.context import CallContext

# Rendered as JSON numbers (floats when fractional): up to 10**9 with two places is at most
# 11 significant digits, which a float's shortest repr keeps exactly; larger values would
# lose digits or, as whole numbers past 64 bits, not serialize at all.
DIMENSION = DecimalAmount(places=2, positive=True, maximum=Decimal(10**9))
PACKAGE_DIMENSIONS = Obj(
    {key: DIMENSION for key in products.DIMENSIONS},
    required=products.DIMENSIONS,
    nullable=True,
)
DEFAULT_PRICE_DATA = Obj(
    {
        "currency": Currency(),
        "currency_options": CURRENCY_OPTIONS,
        "custom_unit_amount": CUSTOM_UNIT_AMOUNT,
        "metadata": Metadata(),
        "recurring": Obj(
            {"interval": INTERVAL, "interval_count": Int(min=1)}, required=("interval",)
        ),
        "tax_behavior": TAX_BEHAVIOR,
        "unit_amount": AMOUNT,
        "unit_amount_decimal": DecimalAmount(),
    },
    required=("currency",),
    exclusive=AMOUNTS_EXCLUSIVE,
)
COMMON = {
    "active": Bool(),
    "description": Str(max_length=40000),
    "expand": Expand(),
    "images": ListOf(Str(max_length=2048, blank_ok=False), max_items=8, nullable=True),
    "marketing_features": ListOf(
        Obj({"name": Str(max_length=80, blank_ok=False)}, required=("name",)),
        max_items=15,
        nullable=True,
    ),
    "metadata": Metadata(),
    "package_dimensions": PACKAGE_DIMENSIONS,
    "shippable": Bool(),
    "statement_descriptor": Str(max_length=22),
    "tax_code": Str(max_length=5000),
    "unit_label": Str(max_length=12),
    "url": Str(max_length=5000),
}
CREATE = Schema(
    {
        **COMMON,
        "default_price_data": DEFAULT_PRICE_DATA,
        "id": Str(max_length=100, blank_ok=False),
        "name": Str(max_length=5000, blank_ok=False),
        "type": Enum(("good", "service")),
    },
    required=("name",),
)
UPDATE = Schema(
    {
        **COMMON,
        "default_price": Str(max_length=100, nullable=True),
        "name": Str(max_length=5000, blank_ok=False),
    }
)
RETRIEVE = Schema({"expand": Expand()})
DELETE = Schema({})
LIST = list_schema(
    {
        "active": Bool(),
        "created": RangeFilter(),
        "ids": ListOf(Str(max_length=100), max_items=100),
        "shippable": Bool(),
        "type": Enum(("good", "service")),
        "url": Str(max_length=5000),
    }
)


def _create(conn: sa.Connection, ctx: CallContext, params: dict[str, Any]) -> dict[str, Any]:
    return products.create(conn, ctx, params)


def _retrieve(
    conn: sa.Connection, ctx: CallContext, params: dict[str, Any], id: str
) -> dict[str, Any]:
    ctx.touch(id)
    return products.retrieve(conn, ctx.account_id, id)


def _update(
    conn: sa.Connection, ctx: CallContext, params: dict[str, Any], id: str
) -> dict[str, Any]:
    return products.update(conn, ctx, id, params)


def _delete(
    conn: sa.Connection, ctx: CallContext, params: dict[str, Any], id: str
) -> dict[str, Any]:
    return products.delete(conn, ctx, id)


def _list(conn: sa.Connection, ctx: CallContext, params: dict[str, Any]) -> dict[str, Any]:
    t = products_table
    where: list[sa.ColumnElement[bool]] = [t.c.deleted.is_(False)]
    for key in ("active", "shippable", "type", "url"):
        if key in params:
            where.append(t.c[key] == params[key])
    if "ids" in params:
        where.append(t.c.id.in_(params["ids"]))
    if "created" in params:
        where += created_filter(t.c.created, params["created"])
    return page(
        conn,
        ctx.account_id,
        t,
        where,
        params,
        products.render,
        "/v1/products",
        "product",
        order_key=t.c.list_key,
    )


ROUTES = [
    Route("POST", "/v1/products", _create, CREATE, writes=True),
    Route("GET", "/v1/products", _list, LIST),
    Route("GET", "/v1/products/{id}", _retrieve, RETRIEVE),
    Route("POST", "/v1/products/{id}", _update, UPDATE, writes=True),
    Route("DELETE", "/v1/products/{id}", _delete, DELETE, writes=True),
]
