"""Subscriptions whose invoices are sent (``send_invoice``) fall ``past_due`` when their
latest invoice is still open at its ``due_date`` (Stripe), and the customer turns
``delinquent`` then.

The scheduler finds them by the invoice's ``due_date``: the status itself says the work is
done (an ``active`` subscription only), so the moment stops being due once it is handled,
and an invoice paid, voided or written off before it never makes it due. Paying the
invoice later brings the subscription back to ``active`` (``follow``).
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from remit.billing import delinquency
from remit.billing.invoices.tables import invoices
from remit.billing.subscriptions import records, render
from remit.billing.subscriptions.tables import subscriptions
from remit.context import CallContext

__all__ = ["due_query", "mark_past_due", "overdue_accounts"]


def _conditions(until_ts: int) -> list[sa.ColumnElement[bool]]:
    s, i = subscriptions.c, invoices.c
    return [
        s.status == "active",
        s.collection_method == "send_invoice",
        # The subscription by its key (the invoice names it), then checked to be its latest.
        s.account_id == i.account_id,
        s.id == i.subscription,
        s.latest_invoice == i.id,
        i.status == "open",
        i.collection_method == "send_invoice",
        i.due_date <= until_ts,
    ]


def due_query(account_id: str, on_clock: sa.ColumnElement[bool], until_ts: int) -> sa.Select[Any]:
    """(subscription id, due date) of the account's overdue subscriptions on a clock
    (``on_clock`` selects the subscriptions' ``test_clock``), by due date."""
    s, i = subscriptions.c, invoices.c
    return (
        sa.select(s.id, i.due_date)
        .select_from(invoices.join(subscriptions, s.id == i.subscription))
        .where(s.account_id == account_id, on_clock, *_conditions(until_ts))
        .order_by(i.due_date, s.id)
    )


def overdue_accounts(now_ts: int) -> sa.Select[Any]:
    """Accounts with subscriptions on no test clock overdue by ``now_ts``."""
    s, i = subscriptions.c, invoices.c
    return (
        sa.select(s.account_id)
        .select_from(invoices.join(subscriptions, s.id == i.subscription))
        .where(s.test_clock.is_(None), *_conditions(now_ts))
    )


def mark_past_due(conn: sa.Connection, ctx: CallContext, sub_id: str, due_ts: int) -> None:
    """The subscription turns ``past_due`` at its invoice's due date, its customer with it."""
    row = render.load(conn, ctx.account_id, sub_id)
    records.update(conn, ctx, row, {"status": "past_due"}, due_ts)
    delinquency.mark(conn, ctx, row.customer, True, due_ts)
