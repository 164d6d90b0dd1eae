"""/v1/invoices: drafts, finalization, payment, void, uncollectible, lines, preview, explain."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from remit.api.listing import DEFAULT_LIMIT, created_filter, page
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
    Timestamp,
    list_schema,
)
from remit.api.params_values import Currency
from remit.api.routing import Route
from remit.api.v1.invoice_items import DISCOUNTS, ID
from remit.api.v1.subscriptions import CHANGED_ITEM
from remit.billing import test_clocks
from remit.billing.invoices import explain, lifecycle, lines_page, preview, reads, service
from remit.billing.invoices.tables import invoices
from remit.billing.subscriptions.proration import PRORATION_BEHAVIORS
from remit.context import CallContext

COLLECTION = Enum(("charge_automatically", "send_invoice"))
COMMON = {
    "auto_advance": Bool(),
    "collection_method": COLLECTION,
    "days_until_due": Int(min=0, max=3650),
    "default_tax_rates": ListOf(ID, max_items=5, nullable=True),
    "description": Str(max_length=1500),
    "discounts": DISCOUNTS,
    "due_date": Timestamp(),
    "expand": Expand(),
    "footer": Str(max_length=5000),
    "metadata": Metadata(),
}
CREATE = Schema(
    {
        **COMMON,
        "currency": Currency(),
        "customer": ID,
        "pending_invoice_items_behavior": Enum(("exclude", "include")),
        "subscription": ID,
    },
    required=("customer",),
)
UPDATE = Schema(COMMON)
EXPAND_ONLY = Schema({"expand": Expand()})
DELETE = Schema({})
FINALIZE = Schema({"auto_advance": Bool(), "expand": Expand()})
PAY = Schema({"expand": Expand(), "paid_out_of_band": Bool()})
LIST = list_schema(
    {
        "collection_method": COLLECTION,
        "created": RangeFilter(),
        "customer": ID,
        "due_date": RangeFilter(),
        "status": Enum(("draft", "open", "paid", "uncollectible", "void")),
        "subscription": ID,
    }
)
LINES = list_schema()
PREVIEW = Schema(
    {
        "currency": Currency(),
        "customer": ID,
        "expand": Expand(),
        "subscription": ID,
        "subscription_details": Obj(
            {
                "items": ListOf(CHANGED_ITEM, max_items=20),
                "proration_behavior": Enum(PRORATION_BEHAVIORS),
                "proration_date": Timestamp(),
            }
        ),
    },
    exclusive=(("currency", "subscription"),),
)


def _create(conn: sa.Connection, ctx: CallContext, params: dict[str, Any]) -> dict[str, Any]:
    return service.create(conn, ctx, params)


def _retrieve(
    conn: sa.Connection, ctx: CallContext, params: dict[str, Any], id: str
) -> dict[str, Any]:
    ctx.touch(id)
    return reads.retrieve(conn, ctx.account_id, id)


def _update(
    conn: sa.Connection, ctx: CallContext, params: dict[str, Any], id: str
) -> dict[str, Any]:
    return service.update(conn, ctx, id, params)


def _delete(
    conn: sa.Connection, ctx: CallContext, params: dict[str, Any], id: str
) -> dict[str, Any]:
    return service.delete(conn, ctx, id)


def _now(conn: sa.Connection, ctx: CallContext, invoice_id: str) -> int:
    """The invoice's clock: its customer's test clock, or the account's."""
    row = reads.load_invoice(conn, ctx.account_id, invoice_id)
    return test_clocks.now_for(conn, ctx, row.test_clock)


def _finalize(
    conn: sa.Connection, ctx: CallContext, params: dict[str, Any], id: str
) -> dict[str, Any]:
    at = _now(conn, ctx, id)
    return lifecycle.finalize(conn, ctx, id, at, auto_advance=params.get("auto_advance"))


def _pay(conn: sa.Connection, ctx: CallContext, params: dict[str, Any], id: str) -> dict[str, Any]:
    at = _now(conn, ctx, id)
    return lifecycle.pay(conn, ctx, id, at, paid_out_of_band=params.get("paid_out_of_band", False))


def _void(conn: sa.Connection, ctx: CallContext, params: dict[str, Any], id: str) -> dict[str, Any]:
    return lifecycle.void(conn, ctx, id, _now(conn, ctx, id))


def _uncollectible(
    conn: sa.Connection, ctx: CallContext, params: dict[str, Any], id: str
) -> dict[str, Any]:
    return lifecycle.mark_uncollectible(conn, ctx, id, _now(conn, ctx, id))


def _lines(
    conn: sa.Connection, ctx: CallContext, params: dict[str, Any], id: str
) -> dict[str, Any]:
    ctx.touch(id)
    limit = params.get("limit", DEFAULT_LIMIT)
    after, before = params.get("starting_after"), params.get("ending_before")
    return lines_page.page(conn, ctx.account_id, id, limit, after, before)


def _preview(conn: sa.Connection, ctx: CallContext, params: dict[str, Any]) -> dict[str, Any]:
    return preview.create_preview(conn, ctx, params)


def _explain(
    conn: sa.Connection, ctx: CallContext, params: dict[str, Any], id: str
) -> dict[str, Any]:
    ctx.touch(id)
    return explain.tree(conn, ctx.account_id, id)


def _list(conn: sa.Connection, ctx: CallContext, params: dict[str, Any]) -> dict[str, Any]:
    t = invoices.c
    where: list[sa.ColumnElement[bool]] = []
    for key in ("collection_method", "customer", "status", "subscription"):
        if key in params:
            where.append(t[key] == params[key])
    for key in ("created", "due_date"):
        if key in params:
            where += created_filter(t[key], params[key])
    listed = page(
        conn, ctx.account_id, invoices, where, params, lambda row: row, "/v1/invoices", "invoice"
    )
    listed["data"] = reads.render_invoices(conn, ctx.account_id, listed["data"])
    return listed


ROUTES = [
    Route("POST", "/v1/invoices", _create, CREATE, writes=True),
    Route("GET", "/v1/invoices", _list, LIST),
    # A preview writes nothing: it runs in a read transaction.
    Route("POST", "/v1/invoices/create_preview", _preview, PREVIEW),
    Route("GET", "/v1/invoices/{id}", _retrieve, EXPAND_ONLY),
    Route("POST", "/v1/invoices/{id}", _update, UPDATE, writes=True),
    Route("DELETE", "/v1/invoices/{id}", _delete, DELETE, writes=True),
    Route("POST", "/v1/invoices/{id}/finalize", _finalize, FINALIZE, writes=True),
    Route("POST", "/v1/invoices/{id}/pay", _pay, PAY, writes=True),
    Route("POST", "/v1/invoices/{id}/void", _void, EXPAND_ONLY, writes=True),
    Route("POST", "/v1/invoices/{id}/mark_uncollectible", _uncollectible, EXPAND_ONLY, writes=True),
    Route("GET", "/v1/invoices/{id}/lines", _lines, LINES),
    Route("GET", "/v1/invoices/{id}/explain", _explain, EXPAND_ONLY),
]
