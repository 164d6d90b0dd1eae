"""Writing invoices: drafts in, draft invoices with priced lines out, in batches.

``create_many`` writes any number of drafts with a handful of statements: the cycle keys
already taken, the customers, their pending items, the pricing terms (once per currency
and time), then one multi-row insert each for invoices and lines. Each invoice is priced
through the domain's ``compute`` and announced with ``invoice.created``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from types import SimpleNamespace
from typing import Any

import sqlalchemy as sa

from remit.billing.invoices import amounts, item_amounts, reads, render
from remit.billing.invoices.drafts import InvoiceDraft, LineDraft
from remit.billing.invoices.tables import invoice_items, invoice_lines, invoices
from remit.billing.tables import customers
from remit.catalog.domain.rating import decimal_text
from remit.context import CallContext
from remit.events import service as events
from remit.events import types as event_types
from remit.primitives.errors import InvalidRequestError, ResourceMissing
from remit.primitives.ids import new_id, register_prefix

__all__ = ["InvoiceDraft", "LineDraft", "create_many", "customer_details", "draft_rows", "line_row"]

register_prefix("in")
register_prefix("il")
event_types.register(
    "invoice.created", "invoice.updated", "invoice.deleted", "invoice.finalized",
    "invoice.paid", "invoice.voided", "invoice.marked_uncollectible",
)  # fmt: skip

MAX_LINES = 250  # Stripe's bound on an invoice's lines
AUTO_FINALIZE_AFTER_S = 3600  # Stripe finalizes an auto-advancing draft about an hour on
CUSTOMER_FIELDS = ("address", "email", "name", "phone", "shipping", "tax_exempt")


def create_many(conn: sa.Connection, ctx: CallContext, drafts: Sequence[InvoiceDraft]) -> list[str]:
    """Write the drafts as draft invoices; their ids, in order.

    A draft whose ``cycle_key`` is taken (by an invoice already written, or by an earlier
    draft of the same batch) writes nothing: the id of the invoice holding the key
    stands in its place.
    """
    ids, fresh = _claim(conn, ctx.account_id, drafts)
    if not fresh:
        return ids
    invoice_rows, line_rows, swept = draft_rows(conn, ctx, fresh)
    conn.execute(invoices.insert(), invoice_rows)
    if line_rows:
        conn.execute(invoice_lines.insert(), line_rows)
    attached = [
        {"item_id": item.id, "invoice_id": invoice_id}
        for invoice_id, swept_items in swept.items()
        for item in swept_items
    ]
    if attached:
        i = invoice_items.c
        conn.execute(
            invoice_items.update()
            .where(i.account_id == ctx.account_id, i.id == sa.bindparam("item_id"))
            .values(invoice=sa.bindparam("invoice_id")),
            attached,
        )
    _announce(conn, ctx, invoice_rows, line_rows)
    return ids


def draft_rows(
    conn: sa.Connection, ctx: CallContext, fresh: Sequence[tuple[str, InvoiceDraft]]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], dict[str, list[Any]]]:
    """The invoice and line rows of drafts (with their ids), and the pending items each
    takes: everything ``create_many`` writes, and what a preview renders without writing."""
    holders = _customers(conn, ctx.account_id, [draft.customer for _, draft in fresh])
    swept = _sweep(conn, ctx.account_id, fresh)
    invoice_rows: list[dict[str, Any]] = []
    line_rows: list[dict[str, Any]] = []
    for group in _by_pricing_time(fresh).values():
        made = _priced_rows(conn, ctx, group, holders, swept)
        invoice_rows += made[0]
        line_rows += made[1]
    return invoice_rows, line_rows, swept


def _claim(
    conn: sa.Connection, account_id: str, drafts: Sequence[InvoiceDraft]
) -> tuple[list[str], list[tuple[str, InvoiceDraft]]]:
    keys = sorted({draft.cycle_key for draft in drafts if draft.cycle_key is not None})
    taken: dict[str, str] = {}
    for chunk in reads.chunks(keys):
        rows = conn.execute(
            sa.select(invoices.c.cycle_key, invoices.c.id).where(
                invoices.c.account_id == account_id, invoices.c.cycle_key.in_(chunk)
            )
        )
        taken.update((row.cycle_key, row.id) for row in rows)
    ids: list[str] = []
    fresh: list[tuple[str, InvoiceDraft]] = []
    for draft in drafts:
        if draft.cycle_key is not None and draft.cycle_key in taken:
            ids.append(taken[draft.cycle_key])
            continue
        invoice_id = draft.invoice_id or new_id("in")
        if draft.cycle_key is not None:
            taken[draft.cycle_key] = invoice_id
        ids.append(invoice_id)
        fresh.append((invoice_id, draft))
    return ids, fresh


def _customers(conn: sa.Connection, account_id: str, ids: Sequence[str]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for chunk in reads.chunks(sorted(set(ids))):
        rows = conn.execute(
            sa.select(customers).where(
                customers.c.account_id == account_id, customers.c.id.in_(chunk)
            )
        )
        found.update((row.id, row) for row in rows if not row.deleted)
    for customer_id in ids:
        if customer_id not in found:
            raise ResourceMissing("customer", customer_id, param="customer")
    return found


def customer_details(customer: Any) -> dict[str, Any]:
    """The customer as an invoice shows it (``customer_name``, ``customer_address``, ...)."""
    from remit.billing import customers as customer_service  # customers know nothing of us

    rendered = customer_service.render(customer)
    return {key: rendered[key] for key in CUSTOMER_FIELDS}


def _sweep(
    conn: sa.Connection, account_id: str, fresh: Sequence[tuple[str, InvoiceDraft]]
) -> dict[str, list[Any]]:
    """Invoice id -> the pending items it takes: its customer's, in its currency; only its
    subscription's when it has one, else any (Stripe: ``subscription`` restricts the sweep,
    and a canceled subscription's proration credit is left to the customer's next invoice);
    the first invoice of a batch to want an item gets it."""
    wanted = [(invoice_id, draft) for invoice_id, draft in fresh if draft.pending_items]
    pending = reads.pending_items(conn, account_id, [draft.customer for _, draft in wanted])
    taken: set[str] = set()
    swept: dict[str, list[Any]] = {}
    for invoice_id, draft in wanted:
        mine = [
            item
            for item in pending.get(draft.customer, ())
            if item.id not in taken
            and item.currency == draft.currency
            and draft.subscription in (None, item.subscription)
        ]
        taken.update(item.id for item in mine)
        if mine:
            swept[invoice_id] = mine
    return swept


def _by_pricing_time(
    fresh: Sequence[tuple[str, InvoiceDraft]],
) -> dict[tuple[str, int], list[tuple[str, InvoiceDraft]]]:
    """Drafts priced alike (one currency, one moment) share one load of their terms."""
    groups: dict[tuple[str, int], list[tuple[str, InvoiceDraft]]] = defaultdict(list)
    for invoice_id, draft in fresh:
        groups[(draft.currency, draft.created)].append((invoice_id, draft))
    return groups


def _priced_rows(
    conn: sa.Connection,
    ctx: CallContext,
    group: Sequence[tuple[str, InvoiceDraft]],
    holders: Mapping[str, Any],
    swept: Mapping[str, Sequence[Any]],
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    currency, at_ts = group[0][1].currency, group[0][1].created
    swept_lines = {
        invoice_id: item_amounts.line_drafts(conn, ctx.account_id, swept.get(invoice_id, ()))
        for invoice_id, _ in group
    }
    every = [
        (invoice_id, draft, (*draft.lines, *swept_lines[invoice_id])) for invoice_id, draft in group
    ]
    rate_ids = {r for _, d, lines in every for line in lines for r in line.tax_rates}
    rate_ids |= {r for _, d, _ in every for r in d.default_tax_rates}
    discount_ids = {x for _, d, lines in every for line in lines for x in line.discounts}
    discount_ids |= {x for _, d, _ in every for x in d.discounts}
    terms = amounts.load_terms(conn, ctx.account_id, rate_ids, discount_ids, currency, at_ts)
    invoice_rows, line_rows = [], []
    for invoice_id, draft, lines in every:
        _check(draft, lines)
        specs = [_spec(str(index), line) for index, line in enumerate(lines)]
        priced = amounts.price(
            specs, draft.default_tax_rates, draft.discounts, terms, ctx.account.rounding_mode
        )
        holder = holders[draft.customer]
        invoice_rows.append(_invoice_row(ctx, invoice_id, draft, holder, priced.columns))
        line_rows += [
            line_row(ctx.account_id, invoice_id, position, line, made)
            for position, (line, made) in enumerate(zip(lines, priced.lines, strict=True))
        ]
    return invoice_rows, line_rows


def _check(draft: InvoiceDraft, lines: Sequence[LineDraft]) -> None:
    if len(lines) > MAX_LINES:
        raise InvalidRequestError(
            f"An invoice can have at most {MAX_LINES} line items; this one would have "
            f"{len(lines)}.",
            param="invoice_items",
        )
    for line in lines:
        if line.currency != draft.currency:
            raise InvalidRequestError(
                f"A line in {line.currency} cannot be on an invoice in {draft.currency}.",
                param="currency",
            )
        if line.period_end < line.period_start:
            raise InvalidRequestError(
                "A line's period must not end before it starts.", param="period"
            )


def _spec(key: str, line: LineDraft) -> amounts.LineSpec:
    return amounts.LineSpec(
        key, line.amount, line.discountable, line.product, line.tax_rates, line.discounts,
        line.explain,
    )  # fmt: skip


def _invoice_row(
    ctx: CallContext, invoice_id: str, draft: InvoiceDraft, holder: Any, totals: dict[str, Any]
) -> dict[str, Any]:
    due = max(0, totals["total"])  # credit and debt apply at finalization, not in drafts
    return {
        "id": invoice_id,
        "account_id": ctx.account_id,
        "customer": draft.customer,
        "subscription": draft.subscription,
        "test_clock": draft.test_clock or holder.test_clock,
        "status": "draft",
        "billing_reason": draft.billing_reason,
        "collection_method": draft.collection_method,
        "currency": draft.currency,
        "created": draft.created,
        "period_start": draft.period_start,
        "period_end": draft.period_end,
        "due_date": draft.due_date,
        "days_until_due": draft.days_until_due,
        "number": None,
        "auto_advance": draft.auto_advance,
        "automatically_finalizes_at": (
            draft.created + AUTO_FINALIZE_AFTER_S if draft.auto_advance else None
        ),
        "effective_at": None,
        "finalized_at": None,
        "paid_at": None,
        "voided_at": None,
        "marked_uncollectible_at": None,
        "paid_out_of_band": False,
        **totals,
        "starting_balance": holder.balance,
        "ending_balance": None,
        "amount_due": due,
        "amount_paid": 0,
        "amount_remaining": due,
        "pre_payment_credit_notes_amount": 0,
        "post_payment_credit_notes_amount": 0,
        "attempt_count": 0,
        "default_tax_rates": list(draft.default_tax_rates),
        "discounts": list(draft.discounts),
        "description": draft.description,
        "footer": draft.footer,
        "metadata": dict(draft.metadata),
        "customer_details": customer_details(holder),
        "cycle_key": draft.cycle_key,
        "last_finalization_error": None,
    }


def line_row(
    account_id: str, invoice_id: str, position: int, line: LineDraft, priced: amounts.PricedLine
) -> dict[str, Any]:
    unit = line.unit_amount_decimal
    return {
        "id": new_id("il"),
        "account_id": account_id,
        "invoice": invoice_id,
        "position": position,
        "currency": line.currency,
        "amount": line.amount,
        "description": line.description,
        "quantity": line.quantity,
        "price": line.price,
        "product": line.product,
        "unit_amount_decimal": None if unit is None else decimal_text(unit),
        "period_start": line.period_start,
        "period_end": line.period_end,
        "proration": line.proration,
        "discountable": line.discountable,
        "discounts": list(line.discounts),
        "discount_amounts": priced.discount_amounts,
        "tax_rates": list(line.tax_rates),
        "taxes": priced.taxes,
        "parent_type": line.parent_type,
        "invoice_item": line.invoice_item,
        "subscription": line.subscription,
        "subscription_item": line.subscription_item,
        "metadata": dict(line.metadata),
        "explain": priced.explain,
    }


def _announce(
    conn: sa.Connection,
    ctx: CallContext,
    invoice_rows: Sequence[dict[str, Any]],
    line_rows: Sequence[dict[str, Any]],
) -> None:
    lines: dict[str, list[SimpleNamespace]] = defaultdict(list)
    for line in line_rows:
        lines[line["invoice"]].append(SimpleNamespace(**line))
    rate_ids = (rate for row in invoice_rows for rate in row["default_tax_rates"])
    rates = reads.rendered_rates(conn, ctx.account_id, rate_ids)
    for row in invoice_rows:
        mine = lines[row["id"]]
        obj = render.render_invoice(
            SimpleNamespace(**row), mine[: render.LINES_PAGE], len(mine) > render.LINES_PAGE, rates
        )
        ctx.touch(row["id"])
        events.emit(conn, ctx, "invoice.created", obj, created=row["created"])
