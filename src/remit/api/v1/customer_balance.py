"""/v1/customers/{id}/balance_transactions"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from remit.api.listing import created_filter, page
from remit.api.params import Expand, Int, Metadata, RangeFilter, Schema, Str, list_schema
from remit.api.params_values import Currency
from remit.api.routing import Route
from remit.billing.balance import service
from remit.billing.balance.tables import customer_balance_transactions as table
from remit.context import CallContext

AMOUNT = Int(min=-service.MAX_BALANCE, max=service.MAX_BALANCE)
CREATE = Schema(
    {
        "amount": AMOUNT,
        "currency": Currency(),
        "description": Str(max_length=350),
        "expand": Expand(),
        "metadata": Metadata(),
    },
    required=("amount", "currency"),
)
UPDATE = Schema({"description": Str(max_length=350), "expand": Expand(), "metadata": Metadata()})
RETRIEVE = Schema({"expand": Expand()})
LIST = list_schema({"created": RangeFilter(), "invoice": Str(max_length=255, blank_ok=False)})


def _create(
    conn: sa.Connection, ctx: CallContext, params: dict[str, Any], id: str
) -> dict[str, Any]:
    return service.create(conn, ctx, id, params)


def _retrieve(
    conn: sa.Connection, ctx: CallContext, params: dict[str, Any], id: str, txn: str
) -> dict[str, Any]:
    ctx.touch(txn)
    return service.render(service.load(conn, ctx.account_id, id, txn))


def _update(
    conn: sa.Connection, ctx: CallContext, params: dict[str, Any], id: str, txn: str
) -> dict[str, Any]:
    return service.update(conn, ctx, id, txn, params)


def _list(conn: sa.Connection, ctx: CallContext, params: dict[str, Any], id: str) -> dict[str, Any]:
    service.require_customer(conn, ctx.account_id, id)
    where: list[sa.ColumnElement[bool]] = [table.c.customer == id]
    if "invoice" in params:
        where.append(table.c.invoice == params["invoice"])
    if "created" in params:
        where += created_filter(table.c.created, params["created"])
    url = f"/v1/customers/{id}/balance_transactions"
    return page(
        conn, ctx.account_id, table, where, params, service.render, url,
        "customer balance transaction",
    )  # fmt: skip


PATH = "/v1/customers/{id}/balance_transactions"
ROUTES = [
    Route("POST", PATH, _create, CREATE, writes=True),
    Route("GET", PATH, _list, LIST),
    Route("GET", PATH + "/{txn}", _retrieve, RETRIEVE),
    Route("POST", PATH + "/{txn}", _update, UPDATE, writes=True),
]
