"""One-off invoices through the API: create, update, delete.

A manual invoice starts as a draft of its customer, in the customer's currency unless
given, with the customer's own discounts unless ``discounts`` says otherwise, and (as
Stripe does today) without the customer's pending items unless
``pending_invoice_items_behavior=include``. Drafts change freely and are priced again;
finalized invoices keep their money and change only their words and metadata.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa

from remit.billing import customers as customer_service
from remit.billing import test_clocks
from remit.billing.balance import service as balance
from remit.billing.discounts.tables import discounts as discounts_table
from remit.billing.invoices import build, drafting, items, reads
from remit.billing.invoices.drafts import InvoiceDraft
from remit.billing.invoices.tables import invoice_items, invoice_lines, invoices
from remit.billing.taxes import tax_rates as tax_rate_service
from remit.context import CallContext
from remit.events import service as events
from remit.primitives.errors import InvalidRequestError, invalid_parameter
from remit.primitives.ids import new_id

# Stripe's default payment terms for invoices sent to the customer (its invoice settings).
DEFAULT_DAYS_UNTIL_DUE = 30
# What a finalized invoice may still change: nothing that moves money.
WORDS = frozenset({"description", "footer", "metadata", "auto_advance", "expand"})


def create(conn: sa.Connection, ctx: CallContext, params: dict[str, Any]) -> dict[str, Any]:
    customer = customer_service.load_live(conn, ctx.account_id, params["customer"], "customer")
    created = test_clocks.now_for(conn, ctx, customer.test_clock)
    method = params.get("collection_method", "charge_automatically")
    days, due_date = _terms_of_payment(method, params, created)
    subscription = params.get("subscription")
    if subscription is not None:
        items.check_subscription(conn, ctx.account_id, subscription, customer.id)
    rates = params.get("default_tax_rates") or []
    tax_rate_service.check_attachable(conn, ctx.account_id, rates, "default_tax_rates")
    invoice_id = new_id("in")
    if "discounts" in params:
        given = params["discounts"] or []
        discount_ids = items.redeem_discounts(
            conn, ctx, given, customer.id, created, invoice=invoice_id
        )
    else:
        discount_ids = customer_discounts(conn, ctx.account_id, customer.id)
    draft = InvoiceDraft(
        customer=customer.id,
        currency=params.get("currency") or customer.currency or balance.DEFAULT_CURRENCY,
        created=created,
        period_start=created,
        period_end=created,
        billing_reason="manual",
        collection_method=method,
        days_until_due=days,
        subscription=subscription,
        test_clock=customer.test_clock,
        default_tax_rates=tuple(rates),
        discounts=tuple(discount_ids),
        auto_advance=params.get("auto_advance", False),
        description=params.get("description") or None,
        metadata=params["metadata"].apply({}) if "metadata" in params else {},
        pending_items=params.get("pending_invoice_items_behavior", "exclude") == "include",
        invoice_id=invoice_id,
        due_date=due_date,
        footer=params.get("footer") or None,
    )
    build.create_many(conn, ctx, [draft])
    return reads.retrieve(conn, ctx.account_id, invoice_id)


def _terms_of_payment(
    method: str, params: Mapping[str, Any], created: int
) -> tuple[int | None, int | None]:
    """(days_until_due, due_date): only invoices sent to the customer have them."""
    days, due_date = params.get("days_until_due"), params.get("due_date")
    if method == "charge_automatically":
        for key in ("days_until_due", "due_date"):
            if params.get(key) is not None:
                raise invalid_parameter(
                    key, f"{key} can only be set when collection_method is send_invoice."
                )
        return None, None
    if days is not None and due_date is not None:
        raise invalid_parameter("due_date", "Set one of days_until_due and due_date, not both.")
    if due_date is not None and due_date <= created:
        raise invalid_parameter("due_date", "The due_date must be in the future.")
    if days is None and due_date is None:
        days = DEFAULT_DAYS_UNTIL_DUE
    return days, due_date


def customer_discounts(conn: sa.Connection, account_id: str, customer_id: str) -> list[str]:
    """The customer's own discounts (not a subscription's, an item's or an invoice's)."""
    d = discounts_table.c
    rows = conn.execute(
        sa.select(d.id)
        .where(
            d.account_id == account_id,
            d.customer == customer_id,
            d.subscription.is_(None),
            d.subscription_item.is_(None),
            d.invoice.is_(None),
            d.invoice_item.is_(None),
            d.deleted.is_(False),
        )
        .order_by(d.id)
    )
    return list(rows.scalars())


def update(
    conn: sa.Connection, ctx: CallContext, invoice_id: str, params: dict[str, Any]
) -> dict[str, Any]:
    row = reads.load_invoice(conn, ctx.account_id, invoice_id, lock=True)
    if row.status != "draft":
        return _update_finalized(conn, ctx, row, params)
    return drafting.edit(
        conn, ctx, invoice_id, lambda draft: _draft_values(conn, ctx, draft, params)
    )


def _draft_values(
    conn: sa.Connection, ctx: CallContext, row: Any, params: Mapping[str, Any]
) -> dict[str, Any]:
    values = _word_values(row, params)
    method = params.get("collection_method", row.collection_method)
    if {"collection_method", "days_until_due", "due_date"} & params.keys():
        at = test_clocks.now_for(conn, ctx, row.test_clock)
        kept = {"days_until_due": row.days_until_due, "due_date": row.due_date}
        if method == "charge_automatically":
            kept = {}  # charged automatically, an invoice has no terms of payment
        # New terms replace the old ones whole: a due date given drops the days, and back.
        given = {key: params[key] for key in ("days_until_due", "due_date") if key in params}
        days, due = _terms_of_payment(method, given or kept, at)
        values.update(collection_method=method, days_until_due=days, due_date=due)
    if "default_tax_rates" in params:
        rates = params["default_tax_rates"] or []
        tax_rate_service.check_attachable(conn, ctx.account_id, rates, "default_tax_rates")
        values["default_tax_rates"] = list(rates)
    if "discounts" in params:
        at = test_clocks.now_for(conn, ctx, row.test_clock)
        asked = params["discounts"] or []
        values["discounts"] = items.redeem_discounts(
            conn, ctx, asked, row.customer, at, invoice=row.id
        )
    return values


def _word_values(row: Any, params: Mapping[str, Any]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for key in ("description", "footer"):
        if key in params:
            values[key] = params[key] or None
    if "metadata" in params:
        values["metadata"] = params["metadata"].apply(dict(row.metadata))
    if "auto_advance" in params:
        values["auto_advance"] = params["auto_advance"]
        if row.status == "draft":
            at = row.created + build.AUTO_FINALIZE_AFTER_S
            values["automatically_finalizes_at"] = at if params["auto_advance"] else None
    return values


def _update_finalized(
    conn: sa.Connection, ctx: CallContext, row: Any, params: Mapping[str, Any]
) -> dict[str, Any]:
    money = sorted(params.keys() - WORDS)
    if money or ("auto_advance" in params and row.status != "open"):
        raise drafting.not_editable(row, (money or ["auto_advance"])[0])
    before = reads.retrieve(conn, ctx.account_id, row.id)
    values = _word_values(row, params)
    if values:
        conn.execute(
            invoices.update()
            .where(invoices.c.account_id == ctx.account_id, invoices.c.id == row.id)
            .values(**values)
        )
    after = reads.retrieve(conn, ctx.account_id, row.id)
    changed = events.previous_attributes(before, after)
    ctx.touch(row.id)
    if changed:
        at = test_clocks.now_for(conn, ctx, row.test_clock)
        events.emit(conn, ctx, "invoice.updated", after, previous_attributes=changed, created=at)
    return after


def delete(conn: sa.Connection, ctx: CallContext, invoice_id: str) -> dict[str, Any]:
    """Delete a one-off draft; its invoice items are pending again, for a next invoice."""
    row = reads.load_invoice(conn, ctx.account_id, invoice_id, lock=True)
    if row.status != "draft":
        raise InvalidRequestError(
            f"The invoice {row.id} is {row.status}; only drafts can be deleted. Void a "
            "finalized invoice instead."
        )
    if row.subscription is not None:
        raise InvalidRequestError(
            f"The invoice {row.id} belongs to the subscription {row.subscription}; it cannot "
            "be deleted."
        )
    obj = reads.retrieve(conn, ctx.account_id, row.id)
    i, line, item = invoices.c, invoice_lines.c, invoice_items.c
    conn.execute(
        invoice_items.update()
        .where(item.account_id == ctx.account_id, item.invoice == row.id)
        .values(invoice=None)
    )
    conn.execute(
        invoice_lines.delete().where(line.account_id == ctx.account_id, line.invoice == row.id)
    )
    conn.execute(invoices.delete().where(i.account_id == ctx.account_id, i.id == row.id))
    ctx.touch(row.id)
    at = test_clocks.now_for(conn, ctx, row.test_clock)
    events.emit(conn, ctx, "invoice.deleted", obj, created=at)
    return {"id": row.id, "object": "invoice", "deleted": True}
