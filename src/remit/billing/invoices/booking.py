"""The ledger side of an invoice's life, in the transaction of each change.

Finalization books the invoice through revenue recognition (``book_invoice``: lines at
their net, deferred over their period, tax per jurisdiction, the customer's credit used);
a balance the customer owed moves onto the invoice by ``customer_balance.invoiced``. A
void reverses both; marking uncollectible writes the receivable off, and paying or
voiding afterwards reverses that write-off first; a payment received outside remit posts
``invoice.paid_out_of_band``.

Revenue recognition takes no negative credit, so an invoice whose total is negative (more
credited than charged; its credit goes to the customer's balance) posts
``invoice.finalized`` directly, every line recognized at once.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

import sqlalchemy as sa

from remit.billing.domain.totals import BalanceApplied
from remit.context import CallContext
from remit.ledger import service as ledger
from remit.ledger.domain.rules import PostingRule
from remit.ledger.revrec import service as revrec
from remit.ledger.rules import post_by_rule
from remit.ledger.tables import journal_entries

UNCOLLECTIBLE_RULE = "invoice.marked_uncollectible"
_NOT_TOKEN = re.compile(r"[^a-z0-9]+")
JURISDICTION_MAX = 40  # a ledger account code's jurisdiction part


def jurisdiction_key(jurisdiction: str | None) -> str:
    """A tax rate's jurisdiction as the token of its ``tax_payable.<jurisdiction>`` account:
    lower case letters and digits joined by dashes; a rate without one pays into
    ``tax_payable.unspecified``."""
    token = _NOT_TOKEN.sub("-", (jurisdiction or "").lower()).strip("-")[:JURISDICTION_MAX]
    return token.strip("-") or "unspecified"


def taxes_by_jurisdiction(total_taxes: Sequence[Mapping[str, Any]]) -> tuple[revrec.TaxAmount, ...]:
    summed: dict[str, int] = defaultdict(int)
    for tax in total_taxes:
        summed[jurisdiction_key(tax["jurisdiction"])] += tax["amount"]
    return tuple(revrec.TaxAmount(key, amount) for key, amount in sorted(summed.items()) if amount)


def _inclusive_tax(line: Any) -> int:
    return sum(tax["amount"] for tax in line.taxes if tax["inclusive"])


def _booked_line(line: Any) -> revrec.InvoiceLine:
    """A line as an obligation: its revenue excludes the tax its amount includes; a line
    with a service period is deferred over it, a one-off (start == end) is revenue now."""
    period = None
    if line.period_end > line.period_start:
        period = revrec.Period(line.period_start, line.period_end)
    return revrec.InvoiceLine(
        id=line.id,
        amount=line.amount - _inclusive_tax(line),
        period=period,
        discount_amounts=tuple(d["amount"] for d in line.discount_amounts),
    )


def book(
    conn: sa.Connection,
    ctx: CallContext,
    rules: Mapping[str, PostingRule],
    invoice: Any,
    lines: Sequence[Any],
    applied: BalanceApplied,
    at_ts: int,
    balance_txn: str | None,
) -> revrec.InvoiceBooking | None:
    """Post a finalization: ``applied`` is how the customer's balance met the total.

    What revenue recognition books is returned, not booked: the caller books a whole
    batch of finalizations at once (``revrec.book_invoices``: one ledger batch)."""
    taxes = taxes_by_jurisdiction(invoice.total_taxes)
    if invoice.total < 0:
        _post_negative(conn, ctx, rules, invoice, lines, applied, at_ts, taxes)
        return None
    # Credit used is booked with the invoice; debt added is moved onto it separately.
    if applied.applied < 0:
        assert balance_txn is not None
        move_balance(conn, ctx, rules, invoice, -applied.applied, at_ts, balance_txn)
    if not lines:
        return None
    credit = max(applied.applied, 0)
    return revrec.InvoiceBooking(
        id=invoice.id, customer=invoice.customer, currency=invoice.currency,
        effective_at=at_ts, lines=tuple(_booked_line(line) for line in lines),
        amount_due=invoice.total - credit, credit_applied=credit, taxes=taxes,
    )  # fmt: skip


def _post_negative(
    conn: sa.Connection,
    ctx: CallContext,
    rules: Mapping[str, PostingRule],
    invoice: Any,
    lines: Sequence[Any],
    applied: BalanceApplied,
    at_ts: int,
    taxes: Sequence[revrec.TaxAmount],
) -> None:
    payload = _payload(
        invoice,
        at_ts,
        amount_due=applied.amount_due,
        credit_applied=applied.applied,
        lines=[{"amount": _booked_line(line).net, "deferred": False} for line in lines],
        taxes=[{"jurisdiction": t.jurisdiction, "amount": t.amount} for t in taxes],
    )
    post_by_rule(conn, ctx, rules, "invoice.finalized", payload)


def _payload(invoice: Any, at_ts: int, **amounts: Any) -> dict[str, Any]:
    """A posting rule's payload about ``invoice``: its id, currency and moment, and
    ``amounts``."""
    return {"id": invoice.id, "currency": invoice.currency, "effective_at": at_ts, **amounts}


def _entries(ctx: CallContext, rule: str, invoice_id: str) -> sa.ColumnElement[bool]:
    """The tenant's journal entries of ``rule`` about the invoice."""
    e = journal_entries.c
    return sa.and_(e.account_id == ctx.account_id, e.rule == rule, e.subject_id == invoice_id)


def move_balance(
    conn: sa.Connection,
    ctx: CallContext,
    rules: Mapping[str, PostingRule],
    invoice: Any,
    amount: int,
    at_ts: int,
    balance_txn: str,
) -> None:
    """What the customer owed moves onto the invoice (negative: back to their balance)."""
    payload = {
        "id": balance_txn,
        "invoice": invoice.id,
        "currency": invoice.currency,
        "effective_at": at_ts,
        "amount": amount,
    }
    post_by_rule(conn, ctx, rules, "customer_balance.invoiced", payload)


def void(
    conn: sa.Connection,
    ctx: CallContext,
    rules: Mapping[str, PostingRule],
    invoice: Any,
    has_lines: bool,
    at_ts: int,
) -> None:
    if invoice.status == "uncollectible":
        reverse_write_off(conn, ctx, invoice.id, at_ts)
    if invoice.total < 0:
        # Posted directly (see the module's note), debt it took from the balance included.
        _reverse(conn, ctx, "invoice.finalized", invoice.id, at_ts)
    elif has_lines:
        revrec.void_invoice(conn, ctx, rules, invoice.id, at_ts)


def write_off(
    conn: sa.Connection,
    ctx: CallContext,
    rules: Mapping[str, PostingRule],
    invoice: Any,
    at_ts: int,
) -> None:
    if not invoice.amount_remaining:
        return
    payload = _payload(invoice, at_ts, amount_remaining=invoice.amount_remaining)
    # Partly collected after a write-off, an invoice is open again and may be written off
    # again: each write-off is its own entry, numbered within the invoice.
    earlier = conn.execute(
        sa.select(sa.func.count()).where(_entries(ctx, UNCOLLECTIBLE_RULE, invoice.id))
    ).scalar_one()
    cause_id = invoice.id if not earlier else f"{invoice.id}:{earlier + 1}"
    post_by_rule(conn, ctx, rules, UNCOLLECTIBLE_RULE, payload, cause_id=cause_id)


def reverse_write_off(conn: sa.Connection, ctx: CallContext, invoice_id: str, at_ts: int) -> None:
    """An uncollectible invoice paid or voided after all: its receivable is back first."""
    _reverse(conn, ctx, UNCOLLECTIBLE_RULE, invoice_id, at_ts)


def _reverse(conn: sa.Connection, ctx: CallContext, rule: str, invoice_id: str, at_ts: int) -> None:
    """Reverse the invoice's entry of ``rule`` that stands (none reverses it yet), if any."""
    e = journal_entries.c
    reversal = journal_entries.alias("reversal")
    standing = ~sa.exists().where(reversal.c.reverses == e.id)
    entry_id = conn.execute(
        sa.select(e.id).where(_entries(ctx, rule, invoice_id), standing)
    ).scalar()
    if entry_id is not None:
        ledger.reverse(conn, replace(ctx, now=at_ts), entry_id)


def paid_out_of_band(
    conn: sa.Connection,
    ctx: CallContext,
    rules: Mapping[str, PostingRule],
    invoice: Any,
    at_ts: int,
) -> None:
    if not invoice.amount_remaining:
        return
    payload = _payload(invoice, at_ts, amount=invoice.amount_remaining)
    post_by_rule(conn, ctx, rules, "invoice.paid_out_of_band", payload)
