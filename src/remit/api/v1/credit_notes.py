"""/v1/credit_notes"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import sqlalchemy as sa

from remit.api.listing import DEFAULT_LIMIT, created_filter, page
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
from remit.api.params_values import DecimalAmount
from remit.api.routing import Route
from remit.billing.credit_notes import reads, render, service
from remit.billing.credit_notes.tables import credit_notes
from remit.context import CallContext
from remit.primitives.errors import ResourceMissing

MAX_LINES = 100  # lines one credit note may have: its lines are paged in memory
REASONS = ("duplicate", "fraudulent", "order_change", "product_unsatisfactory")
AMOUNT = Int(min=0, max=10**15)
LINE = Obj(
    {
        "amount": Int(min=1, max=10**15),
        "description": Str(max_length=500),
        "invoice_line_item": Str(max_length=255, blank_ok=False),
        "metadata": Metadata(),
        "quantity": Int(min=1, max=10**12),
        "tax_rates": ListOf(Str(max_length=255, blank_ok=False), max_items=10, nullable=True),
        "type": Enum(("custom_line_item", "invoice_line_item")),
        "unit_amount": AMOUNT,
        "unit_amount_decimal": DecimalAmount(),
    },
    required=("type",),
    exclusive=(("unit_amount", "unit_amount_decimal"),),
)
NOTE = {
    "amount": AMOUNT,
    "credit_amount": AMOUNT,
    "effective_at": Timestamp(),
    "expand": Expand(),
    "invoice": Str(max_length=255, blank_ok=False),
    "lines": ListOf(LINE, max_items=MAX_LINES),
    "memo": Str(max_length=5000),
    "metadata": Metadata(),
    "out_of_band_amount": AMOUNT,
    "reason": Enum(REASONS),
    "refund_amount": AMOUNT,
}
CREATE = Schema(NOTE, required=("invoice",))
PREVIEW_LINES = list_schema(NOTE, required=("invoice",))
UPDATE = Schema({"expand": Expand(), "memo": Str(max_length=5000), "metadata": Metadata()})
RETRIEVE = Schema({"expand": Expand()})
LIST = list_schema(
    {
        "created": RangeFilter(),
        "customer": Str(max_length=255, blank_ok=False),
        "invoice": Str(max_length=255, blank_ok=False),
    }
)
LINES = list_schema()


def _create(conn: sa.Connection, ctx: CallContext, params: dict[str, Any]) -> dict[str, Any]:
    return service.create(conn, ctx, params)


def _preview(conn: sa.Connection, ctx: CallContext, params: dict[str, Any]) -> dict[str, Any]:
    return service.preview(conn, ctx, params)


def _preview_lines(conn: sa.Connection, ctx: CallContext, params: dict[str, Any]) -> dict[str, Any]:
    lines, rates = service.preview_lines(conn, ctx, params)
    return _paged(lines, rates, params, reads.PREVIEW_LINES_URL)


def _retrieve(
    conn: sa.Connection, ctx: CallContext, params: dict[str, Any], id: str
) -> dict[str, Any]:
    ctx.touch(id)
    return reads.retrieve(conn, ctx.account_id, id)


def _update(
    conn: sa.Connection, ctx: CallContext, params: dict[str, Any], id: str
) -> dict[str, Any]:
    return service.update(conn, ctx, id, params)


def _void(conn: sa.Connection, ctx: CallContext, params: dict[str, Any], id: str) -> dict[str, Any]:
    return service.void(conn, ctx, id)


def _list(conn: sa.Connection, ctx: CallContext, params: dict[str, Any]) -> dict[str, Any]:
    n = credit_notes.c
    where: list[sa.ColumnElement[bool]] = []
    for key in ("customer", "invoice"):
        if key in params:
            where.append(n[key] == params[key])
    if "created" in params:
        where += created_filter(n.created, params["created"])
    found = page(
        conn, ctx.account_id, credit_notes, where, params, lambda row: row,
        "/v1/credit_notes", "credit_note",
    )  # fmt: skip
    # Rendered as one batch: the page's lines and tax rates in a few statements.
    found["data"] = reads.render_rows(conn, ctx.account_id, found["data"])
    return found


def _lines(
    conn: sa.Connection, ctx: CallContext, params: dict[str, Any], id: str
) -> dict[str, Any]:
    ctx.touch(id)
    lines, rates = reads.note_lines(conn, ctx.account_id, id)
    return _paged(lines, rates, params, f"/v1/credit_notes/{id}/lines")


def _paged(
    lines: Sequence[Any],
    rates: Mapping[str, dict[str, Any]],
    params: Mapping[str, Any],
    url: str,
) -> dict[str, Any]:
    """A page of one note's lines in their order on the note; cursors name its lines."""
    limit = params.get("limit", DEFAULT_LIMIT)
    ids = [line.id for line in lines]
    for param in ("starting_after", "ending_before"):
        if param in params and params[param] not in ids:
            raise ResourceMissing("credit_note_line_item", params[param], param=param)
    if "ending_before" in params:
        end = ids.index(params["ending_before"])
        start = max(0, end - limit)
        has_more = start > 0
    else:
        start = ids.index(params["starting_after"]) + 1 if "starting_after" in params else 0
        end = min(len(lines), start + limit)
        has_more = end < len(lines)
    return render.lines_list(url, lines[start:end], has_more, rates)


ROUTES = [
    Route("POST", "/v1/credit_notes", _create, CREATE, writes=True),
    Route("GET", "/v1/credit_notes", _list, LIST),
    Route("GET", "/v1/credit_notes/preview", _preview, CREATE),
    Route("GET", "/v1/credit_notes/preview/lines", _preview_lines, PREVIEW_LINES),
    Route("GET", "/v1/credit_notes/{id}", _retrieve, RETRIEVE),
    Route("POST", "/v1/credit_notes/{id}", _update, UPDATE, writes=True),
    Route("GET", "/v1/credit_notes/{id}/lines", _lines, LINES),
    Route("POST", "/v1/credit_notes/{id}/void", _void, Schema({"expand": Expand()}), writes=True),
]
