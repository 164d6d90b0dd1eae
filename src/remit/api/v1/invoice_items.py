"""/v1/invoiceitems"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from remit.api.listing import created_filter, page
from remit.api.params import (
    Bool,
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
from remit.api.params_values import Currency, DecimalAmount
from remit.api.routing import Route
from remit.billing.invoices import items, reads
from remit.billing.invoices.item_amounts import MAX_ITEM_AMOUNT
from remit.billing.invoices.tables import invoice_items
from remit.context import CallContext

ID = Str(max_length=255, blank_ok=False)
DISCOUNT = Obj(
    {"coupon": ID, "discount": ID, "promotion_code": ID},
    exclusive=(("coupon", "discount", "promotion_code"),),
)
DISCOUNTS = ListOf(DISCOUNT, max_items=20, nullable=True)
PERIOD = Obj({"end": Timestamp(), "start": Timestamp()}, required=("end", "start"))
PRICE_DATA = Obj(
    {
        "currency": Currency(),
        "product": ID,
        "unit_amount": Int(min=0, max=MAX_ITEM_AMOUNT),
        "unit_amount_decimal": DecimalAmount(),
    },
    required=("currency", "product"),
    exclusive=(("unit_amount", "unit_amount_decimal"),),
)
COMMON = {
    "amount": Int(min=-MAX_ITEM_AMOUNT, max=MAX_ITEM_AMOUNT),
    "description": Str(max_length=500),
    "discountable": Bool(),
    "discounts": DISCOUNTS,
    "expand": Expand(),
    "metadata": Metadata(),
    "period": PERIOD,
    "price": ID,
    "price_data": PRICE_DATA,
    "pricing": Obj({"price": ID}),
    "quantity": Int(min=0, max=10**12),
    "tax_rates": ListOf(ID, max_items=5, nullable=True),
    "unit_amount_decimal": DecimalAmount(),
}
SOURCES = (("amount", "price", "price_data", "pricing", "unit_amount_decimal"),)
CREATE = Schema(
    {
        **COMMON,
        "currency": Currency(),
        "customer": ID,
        "invoice": ID,
        "subscription": ID,
    },
    required=("customer",),
    exclusive=SOURCES,
)
UPDATE = Schema(COMMON, exclusive=SOURCES)
RETRIEVE = Schema({"expand": Expand()})
DELETE = Schema({})
LIST = list_schema({"created": RangeFilter(), "customer": ID, "invoice": ID, "pending": Bool()})


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
    return items.update(conn, ctx, id, params)


def _delete(
    conn: sa.Connection, ctx: CallContext, params: dict[str, Any], id: str
) -> dict[str, Any]:
    return items.delete(conn, ctx, id)


def _list(conn: sa.Connection, ctx: CallContext, params: dict[str, Any]) -> dict[str, Any]:
    t = invoice_items.c
    where: list[sa.ColumnElement[bool]] = [t.deleted.is_(False)]
    for key in ("customer", "invoice"):
        if key in params:
            where.append(t[key] == params[key])
    if "pending" in params:
        where.append(t.invoice.is_(None) if params["pending"] else t.invoice.is_not(None))
    if "created" in params:
        where += created_filter(t.date, params["created"])
    listed = page(
        conn, ctx.account_id, invoice_items, where, params, lambda row: row, "/v1/invoiceitems",
        "invoiceitem",
    )  # fmt: skip
    listed["data"] = reads.render_items(conn, ctx.account_id, listed["data"])
    return listed


ROUTES = [
    Route("POST", "/v1/invoiceitems", _create, CREATE, writes=True),
    Route("GET", "/v1/invoiceitems", _list, LIST),
    Route("GET", "/v1/invoiceitems/{id}", _retrieve, RETRIEVE),
    Route("POST", "/v1/invoiceitems/{id}", _update, UPDATE, writes=True),
    Route("DELETE", "/v1/invoiceitems/{id}", _delete, DELETE, writes=True),
]
