"""Changing a draft invoice: its lines come and go, and it is priced again each time.

Every change goes through ``edit``: the draft is locked, changed, re-priced from its
stored lines (so its totals are always what its lines say) and announced with
``invoice.updated`` when anything a caller sees moved. Finalized invoices refuse.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import sqlalchemy as sa

from remit.billing import test_clocks
from remit.billing.invoices import amounts, reads
from remit.billing.invoices.build import MAX_LINES, line_row
from remit.billing.invoices.drafts import LineDraft
from remit.billing.invoices.tables import invoice_lines, invoices
from remit.billing.tables import customers
from remit.context import CallContext
from remit.events import service as events
from remit.primitives.errors import InvalidRequestError

NOT_EDITABLE = "invoice_not_editable"


def not_editable(row: Any, param: str | None = None) -> InvalidRequestError:
    return InvalidRequestError(
        f"The invoice {row.id} is {row.status}: only draft invoices can be edited. Invoice "
        "items you create now go on the customer's next invoice.",
        code=NOT_EDITABLE,
        param=param,
    )


def edit(
    conn: sa.Connection,
    ctx: CallContext,
    invoice_id: str,
    change: Callable[[Any], dict[str, Any]],
    param: str = "invoice",
) -> dict[str, Any]:
    """Apply ``change(row) -> column values`` to a draft, price it again, announce it."""
    row = reads.load_invoice(conn, ctx.account_id, invoice_id, param, lock=True)
    if row.status != "draft":
        raise not_editable(row, param)
    before = reads.retrieve(conn, ctx.account_id, invoice_id)
    values = change(row)
    if values:
        conn.execute(_update(ctx.account_id, invoice_id).values(**values))
        row = reads.load_invoice(conn, ctx.account_id, invoice_id)
    reprice(conn, ctx, row)
    after = reads.retrieve(conn, ctx.account_id, invoice_id)
    changed = events.previous_attributes(before, after)
    ctx.touch(invoice_id)
    if changed:
        at = test_clocks.now_for(conn, ctx, row.test_clock)
        events.emit(conn, ctx, "invoice.updated", after, previous_attributes=changed, created=at)
    return after


def _update(account_id: str, invoice_id: str) -> sa.Update:
    return invoices.update().where(invoices.c.account_id == account_id, invoices.c.id == invoice_id)


def reprice(conn: sa.Connection, ctx: CallContext, row: Any, at_ts: int | None = None) -> None:
    """Price the draft's stored lines again under the terms in force at ``at_ts`` (by
    default: now on its clock)."""
    lines = reads.lines_of(conn, ctx.account_id, [row.id])[row.id]
    if at_ts is None:
        at_ts = test_clocks.now_for(conn, ctx, row.test_clock)
    terms = amounts.load_terms(
        conn,
        ctx.account_id,
        {*row.default_tax_rates, *(rate for line in lines for rate in line.tax_rates)},
        {*row.discounts, *(d for line in lines for d in line.discounts)},
        row.currency,
        at_ts,
    )
    specs = [
        amounts.LineSpec(
            line.id,
            line.amount,
            line.discountable,
            line.product,
            tuple(line.tax_rates),
            tuple(line.discounts),
            line.explain,
        )  # fmt: skip
        for line in lines
    ]
    priced = amounts.price(
        specs, row.default_tax_rates, row.discounts, terms, ctx.account.rounding_mode
    )
    if lines:
        t = invoice_lines.c
        conn.execute(
            invoice_lines.update()
            .where(t.account_id == ctx.account_id, t.id == sa.bindparam("line_id"))
            .values(
                discount_amounts=sa.bindparam("discount_amounts"),
                taxes=sa.bindparam("taxes"),
                explain=sa.bindparam("explain"),
            ),
            [
                {
                    "line_id": line.id,
                    "discount_amounts": p.discount_amounts,
                    "taxes": p.taxes,
                    "explain": p.explain,
                }  # fmt: skip
                for line, p in zip(lines, priced.lines, strict=True)
            ],
        )
    due = max(0, priced.columns["total"])
    balance = conn.execute(
        sa.select(customers.c.balance).where(
            customers.c.account_id == ctx.account_id, customers.c.id == row.customer
        )
    ).scalar_one()
    conn.execute(
        _update(ctx.account_id, row.id).values(
            **priced.columns, amount_due=due, amount_remaining=due, starting_balance=balance
        )
    )


def add_lines(conn: sa.Connection, ctx: CallContext, row: Any, lines: Sequence[LineDraft]) -> None:
    """Append lines to a draft; ``edit`` prices them."""
    start = conn.execute(
        sa.select(sa.func.count()).where(
            invoice_lines.c.account_id == ctx.account_id, invoice_lines.c.invoice == row.id
        )
    ).scalar_one()
    if start + len(lines) > MAX_LINES:
        raise InvalidRequestError(
            f"An invoice can have at most {MAX_LINES} line items.", param="invoice"
        )
    unpriced = [amounts.PricedLine([], [], dict(line.explain)) for line in lines]
    conn.execute(
        invoice_lines.insert(),
        [
            line_row(ctx.account_id, row.id, start + offset, line, made)
            for offset, (line, made) in enumerate(zip(lines, unpriced, strict=True))
        ],
    )


def drop_item_line(conn: sa.Connection, ctx: CallContext, row: Any, item_id: str) -> None:
    t = invoice_lines.c
    conn.execute(
        invoice_lines.delete().where(
            t.account_id == ctx.account_id, t.invoice == row.id, t.invoice_item == item_id
        )
    )


def replace_item_line(
    conn: sa.Connection, ctx: CallContext, row: Any, item_id: str, line: LineDraft
) -> None:
    """The line of an item on the draft, rewritten from the item as it is now."""
    t = invoice_lines.c
    current = conn.execute(
        sa.select(t.id, t.position).where(
            t.account_id == ctx.account_id, t.invoice == row.id, t.invoice_item == item_id
        )
    ).one()
    fresh = line_row(
        ctx.account_id,
        row.id,
        current.position,
        line,
        amounts.PricedLine([], [], dict(line.explain)),
    )
    fresh["id"] = current.id
    conn.execute(invoice_lines.update().where(t.id == current.id).values(**fresh))
