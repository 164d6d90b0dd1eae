"""Subscriptions as a built-in plugin: they follow their invoices, and expand by id."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from remit.billing.subscriptions import follow, items, render
from remit.context import CallContext
from remit.plugins.hookspecs import hookimpl


@hookimpl
def remit_invoice_status_changed(
    conn: sa.Connection, ctx: CallContext, invoice: dict[str, Any], previous_status: str
) -> None:
    follow.invoice_status_changed(conn, ctx, invoice, previous_status)


@hookimpl
def remit_object_loaders() -> dict[str, Any]:
    return {"sub": render.retrieve, "si": items.retrieve}
