"""/v1/prices"""

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
    ListOf,
    Metadata,
    Obj,
    RangeFilter,
    Schema,
    Str,
    list_schema,
)
from remit.api.params_values import (
    Currency,
    DecimalAmount,
    FreeForm,
    HashOf,
    IndexedListOf,
    IntOrInf,
)
from remit.api.routing import Route
from remit.catalog import prices
from remit.catalog.domain.terms import MAX_TIERS
from remit.catalog.tables import prices as prices_table
from remit.context import CallContext

AMOUNT = Int(min=0)
TAX_BEHAVIOR = Enum(("exclusive", "inclusive", "unspecified"))
TIER = Obj(
    {
        "flat_amount": AMOUNT,
        "flat_amount_decimal": DecimalAmount(),
        "unit_amount": AMOUNT,
        "unit_amount_decimal": DecimalAmount(),
        "up_to": IntOrInf(),
    },
    required=("up_to",),
    exclusive=(("flat_amount", "flat_amount_decimal"), ("unit_amount", "unit_amount_decimal")),
)
TIERS = IndexedListOf(TIER, max_items=MAX_TIERS)
CUSTOM_UNIT_AMOUNT = Obj(
    {"enabled": Bool(), "maximum": AMOUNT, "minimum": AMOUNT, "preset": AMOUNT},
    required=("enabled",),
)
CURRENCY_OPTION = Obj(
    {
        "custom_unit_amount": CUSTOM_UNIT_AMOUNT,
        "tax_behavior": TAX_BEHAVIOR,
        "tiers": TIERS,
        "unit_amount": AMOUNT,
        "unit_amount_decimal": DecimalAmount(),
    },
    exclusive=(("unit_amount", "unit_amount_decimal"),),
)
# Every supported currency may be an option; the bound only keeps one request small.
CURRENCY_OPTIONS = HashOf(Currency(), CURRENCY_OPTION, max_items=200)
INTERVAL = Enum(("day", "week", "month", "year"))
USAGE_TYPE = Enum(("licensed", "metered"))
RECURRING = Obj(
    {
        "interval": INTERVAL,
        "interval_count": Int(min=1),
        "meter": Str(max_length=100, blank_ok=False),
        "trial_period_days": Int(min=0, max=730),
        "usage_type": USAGE_TYPE,
    },
    required=("interval",),
)
TRANSFORM_QUANTITY = Obj(
    {"divide_by": Int(min=1, max=10**12), "round": Enum(("down", "up"))},
    required=("divide_by", "round"),
)
PRODUCT_DATA = Obj(
    {
        "active": Bool(),
        "id": Str(max_length=100, blank_ok=False),
        "metadata": Metadata(),
        "name": Str(max_length=5000, blank_ok=False),
        "statement_descriptor": Str(max_length=22),
        "tax_code": Str(max_length=5000),
        "unit_label": Str(max_length=12),
    },
    required=("name",),
)
AMOUNTS_EXCLUSIVE = (("unit_amount", "unit_amount_decimal"),)
CREATE = Schema(
    {
        "active": Bool(),
        "billing_scheme": Str(max_length=64, blank_ok=False),
        "currency": Currency(),
        "currency_options": CURRENCY_OPTIONS,
        "custom_unit_amount": CUSTOM_UNIT_AMOUNT,
        "expand": Expand(),
        "lookup_key": Str(max_length=200, blank_ok=False),
        "metadata": Metadata(),
        "nickname": Str(max_length=5000),
        "pricing_config": FreeForm(),
        "product": Str(max_length=100, blank_ok=False),
        "product_data": PRODUCT_DATA,
        "recurring": RECURRING,
        "tax_behavior": TAX_BEHAVIOR,
        "tiers": TIERS,
        "tiers_mode": Enum(("graduated", "volume")),
        "transfer_lookup_key": Bool(),
        "transform_quantity": TRANSFORM_QUANTITY,
        "unit_amount": AMOUNT,
        "unit_amount_decimal": DecimalAmount(),
    },
    required=("currency",),
    exclusive=(("product", "product_data"), *AMOUNTS_EXCLUSIVE),
)
UPDATE = Schema(
    {
        "active": Bool(),
        "currency_options": HashOf(Currency(), CURRENCY_OPTION, max_items=200, nullable=True),
        "expand": Expand(),
        "lookup_key": Str(max_length=200, blank_ok=False, nullable=True),
        "metadata": Metadata(),
        "nickname": Str(max_length=5000),
        "tax_behavior": TAX_BEHAVIOR,
        "transfer_lookup_key": Bool(),
    }
)
RETRIEVE = Schema({"expand": Expand()})
LIST = list_schema(
    {
        "active": Bool(),
        "created": RangeFilter(),
        "currency": Currency(),
        "lookup_keys": ListOf(Str(max_length=200), max_items=10),
        "product": Str(max_length=100, blank_ok=False),
        "recurring": Obj(
            {"interval": INTERVAL, "meter": Str(max_length=100), "usage_type": USAGE_TYPE}
        ),
        "type": Enum(("one_time", "recurring")),
    }
)


def includes(params: dict[str, Any], under: str = "") -> Collection[str]:
    """The includable fields that ``expand[]`` asks for (``data.tiers`` in a list)."""
    return {
        path[len(under) :]
        for path in params.get("expand", ())
        if path.startswith(under) and path[len(under) :] in prices.INCLUDABLE
    }


def _create(conn: sa.Connection, ctx: CallContext, params: dict[str, Any]) -> dict[str, Any]:
    return prices.create(conn, ctx, params, includes(params))


def _retrieve(
    conn: sa.Connection, ctx: CallContext, params: dict[str, Any], id: str
) -> dict[str, Any]:
    ctx.touch(id)
    return prices.retrieve(conn, ctx.account_id, id, includes(params))


def _update(
    conn: sa.Connection, ctx: CallContext, params: dict[str, Any], id: str
) -> dict[str, Any]:
    return prices.update(conn, ctx, id, params, includes(params))


def _list(conn: sa.Connection, ctx: CallContext, params: dict[str, Any]) -> dict[str, Any]:
    t = prices_table
    where: list[sa.ColumnElement[bool]] = []
    for key in ("active", "currency", "product", "type"):
        if key in params:
            where.append(t.c[key] == params[key])
    if "lookup_keys" in params:
        where.append(t.c.lookup_key.in_(params["lookup_keys"]))
    for key, value in params.get("recurring", {}).items():
        where.append(t.c[f"recurring_{key}"] == value)
    if "created" in params:
        where += created_filter(t.c.created, params["created"])
    include = includes(params, "data.")
    return page(
        conn,
        ctx.account_id,
        t,
        where,
        params,
        lambda row: prices.render(row, include),
        "/v1/prices",
        "price",
    )


ROUTES = [
    Route("POST", "/v1/prices", _create, CREATE, writes=True),
    Route("GET", "/v1/prices", _list, LIST),
    Route("GET", "/v1/prices/{id}", _retrieve, RETRIEVE),
    Route("POST", "/v1/prices/{id}", _update, UPDATE, writes=True),
]
