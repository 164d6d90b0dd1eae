"""/v1/tax_rates"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from remit.api.listing import created_filter, page
from remit.api.params import Bool, Enum, Expand, Metadata, RangeFilter, Schema, Str, list_schema
from remit.api.params_values import DecimalAmount
from remit.api.routing import Route
from remit.billing.taxes import percentages, tax_rates
from remit.billing.taxes.tables import tax_rates as tax_rates_table
from remit.context import CallContext

PERCENTAGE = DecimalAmount(places=percentages.MAX_PLACES, maximum=percentages.MAXIMUM)
# Optional text an update may clear with "" (parsed as None).
OPTIONAL = {
    "country": Str(max_length=2, nullable=True),
    "description": Str(max_length=500, nullable=True),
    "jurisdiction": Str(max_length=50, nullable=True),
    "state": Str(max_length=3, nullable=True),
    "tax_type": Enum(tax_rates.TAX_TYPES, nullable=True),
}
COMMON = {
    **OPTIONAL,
    "active": Bool(),
    "display_name": Str(max_length=50, blank_ok=False),
    "expand": Expand(),
    "metadata": Metadata(),
}
CREATE = Schema(
    {**COMMON, "inclusive": Bool(), "percentage": PERCENTAGE},
    required=("display_name", "inclusive", "percentage"),
)
UPDATE = Schema(COMMON)
RETRIEVE = Schema({"expand": Expand()})
LIST = list_schema({"active": Bool(), "created": RangeFilter(), "inclusive": Bool()})


def _create(conn: sa.Connection, ctx: CallContext, params: dict[str, Any]) -> dict[str, Any]:
    return tax_rates.create(conn, ctx, params)


def _retrieve(
    conn: sa.Connection, ctx: CallContext, params: dict[str, Any], id: str
) -> dict[str, Any]:
    ctx.touch(id)
    return tax_rates.retrieve(conn, ctx.account_id, id)


def _update(
    conn: sa.Connection, ctx: CallContext, params: dict[str, Any], id: str
) -> dict[str, Any]:
    return tax_rates.update(conn, ctx, id, params)


def _list(conn: sa.Connection, ctx: CallContext, params: dict[str, Any]) -> dict[str, Any]:
    t = tax_rates_table
    where: list[sa.ColumnElement[bool]] = []
    for key in ("active", "inclusive"):
        if key in params:
            where.append(t.c[key] == params[key])
    if "created" in params:
        where += created_filter(t.c.created, params["created"])
    return page(
        conn,
        ctx.account_id,
        t,
        where,
        params,
        tax_rates.render,
        "/v1/tax_rates",
        tax_rates.OBJECT_NAME,
    )


ROUTES = [
    Route("POST", "/v1/tax_rates", _create, CREATE, writes=True),
    Route("GET", "/v1/tax_rates", _list, LIST),
    Route("GET", "/v1/tax_rates/{id}", _retrieve, RETRIEVE),
    Route("POST", "/v1/tax_rates/{id}", _update, UPDATE, writes=True),
]
