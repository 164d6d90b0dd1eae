"""/v1/customers"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from remit.api.listing import created_filter, page
from remit.api.params import (
    Email,
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
from remit.api.routing import Route
from remit.billing import customers
from remit.billing.tables import customers as customers_table
from remit.context import CallContext

ADDRESS = Obj({key: Str(max_length=200) for key in customers.ADDRESS_KEYS}, nullable=True)
SHIPPING = Obj(
    {"address": ADDRESS, "name": Str(max_length=256), "phone": Str(max_length=20)},
    required=("address", "name"),
    nullable=True,
)
INVOICE_SETTINGS = Obj(
    {
        "custom_fields": ListOf(
            Obj({"name": Str(max_length=40), "value": Str(max_length=140)}, ("name", "value")),
            max_items=4,
            nullable=True,
        ),
        "default_payment_method": Str(max_length=255),
        "footer": Str(max_length=5000),
        "rendering_options": Obj(
            {
                "amount_tax_display": Enum(("exclude_tax", "include_inclusive_tax")),
                "template": Str(max_length=255),
            },
            nullable=True,
        ),
    }
)
COMMON = {
    "address": ADDRESS,
    "balance": Int(min=-(10**12), max=10**12),
    "description": Str(max_length=350),
    "email": Email(nullable=True),
    "expand": Expand(),
    "invoice_prefix": Str(max_length=12),
    "invoice_settings": INVOICE_SETTINGS,
    "metadata": Metadata(),
    "name": Str(max_length=256),
    "next_invoice_sequence": Int(min=1, max=10**9),
    "phone": Str(max_length=20),
    "preferred_locales": ListOf(Str(max_length=20), max_items=10),
    "shipping": SHIPPING,
    "tax_exempt": Enum(("none", "exempt", "reverse")),
}
CREATE = Schema({**COMMON, "test_clock": Str(max_length=255, blank_ok=False)})
UPDATE = Schema(COMMON)
RETRIEVE = Schema({"expand": Expand()})
DELETE = Schema({})
LIST = list_schema(
    {
        "email": Str(max_length=512),
        "created": RangeFilter(),
        "test_clock": Str(max_length=255, blank_ok=False),
    }
)


def _create(conn: sa.Connection, ctx: CallContext, params: dict[str, Any]) -> dict[str, Any]:
    return customers.create(conn, ctx, params)


def _retrieve(
    conn: sa.Connection, ctx: CallContext, params: dict[str, Any], id: str
) -> dict[str, Any]:
    ctx.touch(id)
    return customers.retrieve(conn, ctx.account_id, id)


def _update(
    conn: sa.Connection, ctx: CallContext, params: dict[str, Any], id: str
) -> dict[str, Any]:
    return customers.update(conn, ctx, id, params)


def _delete(
    conn: sa.Connection, ctx: CallContext, params: dict[str, Any], id: str
) -> dict[str, Any]:
    return customers.delete(conn, ctx, id)


def _list(conn: sa.Connection, ctx: CallContext, params: dict[str, Any]) -> dict[str, Any]:
    t = customers_table
    where: list[sa.ColumnElement[bool]] = [t.c.deleted.is_(False)]
    if "email" in params:
        where.append(t.c.email == params["email"])
    if "test_clock" in params:
        where.append(t.c.test_clock == params["test_clock"])
    if "created" in params:
        where += created_filter(t.c.created, params["created"])
    return page(
        conn, ctx.account_id, t, where, params, customers.render, "/v1/customers", "customer"
    )


ROUTES = [
    Route("POST", "/v1/customers", _create, CREATE, writes=True),
    Route("GET", "/v1/customers", _list, LIST),
    Route("GET", "/v1/customers/{id}", _retrieve, RETRIEVE),
    Route("POST", "/v1/customers/{id}", _update, UPDATE, writes=True),
    Route("DELETE", "/v1/customers/{id}", _delete, DELETE, writes=True),
]
