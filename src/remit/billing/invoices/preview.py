"""``POST /v1/invoices/create_preview``: the invoice a customer (or a subscription, through
``subscriptions.preview.upcoming``) would get next, unwritten.

A preview is priced exactly as ``create_many`` would price it (the same rows are built)
and its customer's balance is applied as finalization would, but nothing is stored: the
route runs in a read transaction. Ids are Stripe's preview forms (``upcoming_in_...``,
``il_tmp_...``): they name nothing that can be fetched.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import sqlalchemy as sa

from remit.billing import customers as customer_service
from remit.billing import test_clocks
from remit.billing.balance import service as balance
from remit.billing.domain.totals import apply_balance
from remit.billing.invoices import build, reads, render, service
from remit.billing.invoices.drafts import InvoiceDraft
from remit.billing.subscriptions.preview import upcoming
from remit.billing.tables import customers
from remit.context import CallContext
from remit.primitives.errors import InvalidRequestError, invalid_parameter
from remit.primitives.ids import new_id


def create_preview(conn: sa.Connection, ctx: CallContext, params: dict[str, Any]) -> dict[str, Any]:
    """A subscription's next invoice (with ``subscription_details``, after a change), or the
    customer's next one-off invoice: their pending items, discounts and balance."""
    if "subscription" in params:
        draft = upcoming(conn, ctx, params["subscription"], params)
        if params.get("customer", draft.customer) != draft.customer:
            raise invalid_parameter(
                "customer", f"The subscription {params['subscription']} is another customer's."
            )
        return render_draft(conn, ctx, draft)
    if "customer" not in params:
        raise InvalidRequestError(
            "Missing required param: customer.", code="parameter_missing", param="customer"
        )
    customer = customer_service.load_live(conn, ctx.account_id, params["customer"], "customer")
    at = test_clocks.now_for(conn, ctx, customer.test_clock)
    draft = InvoiceDraft(
        customer=customer.id,
        currency=params.get("currency") or customer.currency or balance.DEFAULT_CURRENCY,
        created=at,
        period_start=at,
        period_end=at,
        billing_reason="manual",
        test_clock=customer.test_clock,
        discounts=tuple(service.customer_discounts(conn, ctx.account_id, customer.id)),
        auto_advance=False,
    )
    obj = render_draft(conn, ctx, draft)
    if not obj["lines"]["data"]:
        raise InvalidRequestError(
            f"No upcoming invoice for the customer {customer.id}: nothing is pending in "
            f"{draft.currency}.",
            code="invoice_upcoming_none",
        )
    return obj


def render_draft(conn: sa.Connection, ctx: CallContext, draft: InvoiceDraft) -> dict[str, Any]:
    """``draft`` (with the pending items it would sweep) as the invoice it would become,
    its customer's balance applied; nothing is written."""
    preview_id = f"upcoming_{new_id('in')}"
    rows, line_rows, _ = build.draft_rows(conn, ctx, [(preview_id, draft)])
    row = rows[0]
    holder = conn.execute(
        sa.select(customers.c.balance, customers.c.currency).where(
            customers.c.account_id == ctx.account_id, customers.c.id == draft.customer
        )
    ).one()
    if holder.currency in (None, draft.currency):
        applied = apply_balance(row["total"], holder.balance)
        row.update(amount_due=applied.amount_due, amount_remaining=applied.amount_due)
    lines = [SimpleNamespace(**{**line, "id": f"il_tmp_{line['id'][3:]}"}) for line in line_rows]
    rates = reads.rendered_rates(conn, ctx.account_id, row["default_tax_rates"])
    return render.render_invoice(
        SimpleNamespace(**row), lines[: render.LINES_PAGE], len(lines) > render.LINES_PAGE, rates
    )
