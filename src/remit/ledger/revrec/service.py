"""Revenue recognition, Stripe's way: each invoice line is a performance obligation.

At finalization (``book_invoice``) a line with a service period is deferred and then
recognized daily, straight-line, over that period (``recognize_through``); a line
without one is revenue at once. Amounts are net of discounts; tax is a liability,
never revenue. A refund or credit note (``refund``, ``credit_note``) offsets the part
already recognized with contra revenue and releases the rest from deferred revenue,
and the obligation recognizes only what is left. A void (``void_invoice``) reverses
the whole booking. Every function works inside the caller's transaction, posts
through the ledger's posting rules, and takes business time from its arguments.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from remit.context import CallContext
from remit.ledger.domain.entries import Finding
from remit.ledger.domain.rules import PostingRule
from remit.ledger.errors import LedgerRejected
from remit.ledger.revrec.domain import day_of, point_in_time, service_days
from remit.ledger.revrec.recognition import MAX_RUN_DAYS, RecognitionRun, recognize_through
from remit.ledger.revrec.reductions import Reduced, TaxAmount, credit_note, load_invoice, refund
from remit.ledger.revrec.state import load_obligations, lock_progress, refused
from remit.ledger.revrec.tables import (
    revrec_invoice_taxes,
    revrec_invoices,
    revrec_obligations,
    revrec_recognitions,
)
from remit.ledger.rules import post_by_rule
from remit.primitives.currency import is_supported, normalize
from remit.primitives.ids import new_id, register_prefix

register_prefix("ob")
MAX_LINES = 1000  # the posting rules' bound on a payload's list

__all__ = [
    "MAX_RUN_DAYS",
    "Booked",
    "InvoiceBooking",
    "InvoiceLine",
    "Period",
    "RecognitionRun",
    "Reduced",
    "TaxAmount",
    "Voided",
    "book_invoice",
    "credit_note",
    "recognize_through",
    "refund",
    "void_invoice",
]


@dataclass(frozen=True, slots=True)
class Period:
    """A line's service period, Unix seconds (Stripe's ``line.period``)."""

    start: int
    end: int


@dataclass(frozen=True, slots=True)
class InvoiceLine:
    """``amount`` before discounts (Stripe's ``line.amount``) and the discounts on it
    (``discount_amounts``); what is recognized is the net."""

    id: str
    amount: int
    period: Period | None = None
    discount_amounts: tuple[int, ...] = ()

    @property
    def net(self) -> int:
        return self.amount - sum(self.discount_amounts)


@dataclass(frozen=True, slots=True)
class InvoiceBooking:
    """A finalized invoice, as revenue recognition books it. ``effective_at`` is the
    finalization time on the customer's clock (a test clock's, when it has one)."""

    id: str
    customer: str
    currency: str
    effective_at: int
    lines: tuple[InvoiceLine, ...]
    amount_due: int
    credit_applied: int = 0
    taxes: tuple[TaxAmount, ...] = ()


@dataclass(frozen=True, slots=True)
class Booked:
    invoice_id: str
    entry_id: str | None  # none when every amount was zero: nothing to post
    obligations: tuple[str, ...]  # in line order


@dataclass(frozen=True, slots=True)
class Voided:
    invoice_id: str
    entry_id: str | None
    recognized: int  # revenue taken back
    deferred: int  # deferred revenue taken back


def book_invoice(
    conn: sa.Connection, ctx: CallContext, rules: Mapping[str, PostingRule], invoice: InvoiceBooking
) -> Booked:
    """Post ``invoice.finalized`` and record one obligation per line."""
    findings = _check(invoice)
    if findings:
        raise LedgerRejected(findings)
    currency = normalize(invoice.currency)
    lock_progress(conn, ctx)
    if _booked(conn, ctx.account_id, invoice.id):
        raise refused("revrec_invoice_booked", f"Invoice {invoice.id} is already booked.", "id")
    payload = {
        "id": invoice.id,
        "currency": currency,
        "effective_at": invoice.effective_at,
        "amount_due": invoice.amount_due,
        "credit_applied": invoice.credit_applied,
        "lines": [
            {"amount": line.net, "deferred": line.period is not None} for line in invoice.lines
        ],
        "taxes": [{"jurisdiction": t.jurisdiction, "amount": t.amount} for t in invoice.taxes],
    }
    amounts = [invoice.amount_due, invoice.credit_applied, *(t.amount for t in invoice.taxes)]
    if any(amounts) or any(line.net for line in invoice.lines):
        entry_id: str | None = post_by_rule(conn, ctx, rules, "invoice.finalized", payload).id
    else:
        entry_id = None  # a free invoice moves no money; its obligations still exist
    _record_invoice(conn, ctx, invoice, currency, entry_id)
    ids = _record_obligations(conn, ctx, invoice, currency, entry_id)
    return Booked(invoice.id, entry_id, ids)


def _check(invoice: InvoiceBooking) -> list[Finding]:
    def bad(code: str, message: str, param: str) -> None:
        found.append(Finding(f"revrec_{code}", message, param))

    found: list[Finding] = []
    if not 0 < len(invoice.id) <= 120:
        bad("invoice_invalid", "An invoice id has 1 to 120 characters.", "id")
    if not isinstance(invoice.currency, str) or not is_supported(invoice.currency):
        bad("currency_invalid", f"Unknown currency {invoice.currency!r}.", "currency")
    if not 0 < len(invoice.customer) <= 120:
        bad("customer_invalid", "An invoice names its customer.", "customer")
    money = {"amount_due": invoice.amount_due, "credit_applied": invoice.credit_applied}
    for name, value in {**money, "effective_at": invoice.effective_at}.items():
        if type(value) is not int or value < 0:
            bad("amount_invalid", f"{name} is a non-negative integer, not {value!r}.", name)
    if not 0 < len(invoice.lines) <= MAX_LINES:
        bad("lines_invalid", f"An invoice has 1 to {MAX_LINES} lines.", "lines")
    if len({line.id for line in invoice.lines}) != len(invoice.lines):
        bad("lines_invalid", "Invoice line ids are unique.", "lines")
    for index, line in enumerate(invoice.lines):
        found.extend(_check_line(line, f"lines[{index}]"))
    jurisdictions = [t.jurisdiction.lower() for t in invoice.taxes]
    if len(set(jurisdictions)) != len(jurisdictions) or len(jurisdictions) > MAX_LINES:
        bad("taxes_invalid", "One tax amount per jurisdiction.", "taxes")
    for index, tax in enumerate(invoice.taxes):
        # The jurisdiction names a ledger account (tax_payable.<jurisdiction>).
        token = tax.jurisdiction.replace("-", "")
        if type(tax.amount) is not int or not (token.isalnum() and len(tax.jurisdiction) <= 40):
            bad("taxes_invalid", "A tax amount names its jurisdiction.", f"taxes[{index}]")
    if not found:
        charged = sum(line.net for line in invoice.lines) + sum(t.amount for t in invoice.taxes)
        if charged != invoice.amount_due + invoice.credit_applied:
            bad(
                "invoice_unbalanced",
                f"Lines and taxes come to {charged}; amount_due and credit_applied "
                f"to {invoice.amount_due + invoice.credit_applied}.",
                "amount_due",
            )
    return found


def _check_line(line: InvoiceLine, param: str) -> list[Finding]:
    found: list[Finding] = []
    if not 0 < len(line.id) <= 120:
        found.append(Finding("revrec_line_invalid", "A line id has 1 to 120 characters.", param))
    if type(line.amount) is not int or any(type(d) is not int for d in line.discount_amounts):
        found.append(Finding("revrec_amount_invalid", "Line amounts are integers.", param))
    period = line.period
    if period is not None:
        try:
            service_days(period.start, period.end)
        except ValueError as error:
            found.append(Finding("revrec_period_invalid", str(error), f"{param}[period]"))
    return found


def _booked(conn: sa.Connection, account_id: str, invoice_id: str) -> bool:
    i = revrec_invoices.c
    found = conn.execute(
        sa.select(i.status).where(i.account_id == account_id, i.invoice_id == invoice_id)
    ).first()
    return found is not None


def _record_invoice(
    conn: sa.Connection, ctx: CallContext, invoice: InvoiceBooking, currency: str, entry: str | None
) -> None:
    conn.execute(
        revrec_invoices.insert(),
        {
            "account_id": ctx.account_id,
            "invoice_id": invoice.id,
            "customer_id": invoice.customer,
            "currency": currency,
            "booked_at": invoice.effective_at,
            "amount_due": invoice.amount_due,
            "credit_applied": invoice.credit_applied,
            "revenue": sum(line.net for line in invoice.lines),
            "reduced": 0,
            "status": "booked",
            "entry_id": entry,
            "created": ctx.now,
        },
    )
    if invoice.taxes:
        conn.execute(
            revrec_invoice_taxes.insert(),
            [
                {
                    "account_id": ctx.account_id,
                    "invoice_id": invoice.id,
                    "jurisdiction": t.jurisdiction.lower(),
                    "amount": t.amount,
                    "reduced": 0,
                }
                for t in invoice.taxes
            ],
        )


def _record_obligations(
    conn: sa.Connection, ctx: CallContext, invoice: InvoiceBooking, currency: str, entry: str | None
) -> tuple[str, ...]:
    booked_day = day_of(invoice.effective_at)
    rows: list[dict[str, Any]] = []
    recognized: list[dict[str, Any]] = []
    for line in invoice.lines:
        period = line.period
        days = (
            point_in_time(booked_day) if period is None else service_days(period.start, period.end)
        )
        # A line without a period is revenue at booking: fully recognized from the start.
        at_once = period is None
        row = {
            "id": new_id("ob"),
            "account_id": ctx.account_id,
            "source_id": line.id,
            "invoice_id": invoice.id,
            "customer_id": invoice.customer,
            "currency": currency,
            "amount": line.net,
            "booked_at": invoice.effective_at,
            "period_start": None if period is None else period.start,
            "period_end": None if period is None else period.end,
            "start_day": days.first,
            "end_day": days.end,
            "deferred": not at_once,
            "status": "complete" if at_once or line.net == 0 else "active",
            "recognized": line.net if at_once else 0,
            "contra": 0,
            "released": 0,
            "adjustments": 0,
            "created": ctx.now,
        }
        rows.append(row)
        if at_once and line.net:
            recognized.append(
                {
                    "account_id": ctx.account_id,
                    "obligation_id": row["id"],
                    "invoice_id": invoice.id,
                    "booked_at": invoice.effective_at,
                    "currency": currency,
                    "day": booked_day,
                    "kind": "booking",
                    "amount": line.net,
                    "entry_id": entry,
                    "created": ctx.now,
                }
            )
    conn.execute(revrec_obligations.insert(), rows)
    if recognized:
        conn.execute(revrec_recognitions.insert(), recognized)
    return tuple(str(row["id"]) for row in rows)


def void_invoice(
    conn: sa.Connection,
    ctx: CallContext,
    rules: Mapping[str, PostingRule],
    invoice_id: str,
    at: int,
) -> Voided:
    """Reverse a booked invoice whole: what it recognized, what it still defers, its tax.

    An invoice with refunds or credit notes is not voidable (as in Stripe, a void is for
    an invoice nobody paid or credited); what it still owes is credited instead.
    """
    lock_progress(conn, ctx)
    invoice, taxes = load_invoice(conn, ctx, invoice_id, at)
    if invoice.reduced or any(t.reduced for t in taxes):
        raise refused(
            "revrec_invoice_not_voidable",
            f"Invoice {invoice_id} has refunds or credit notes; credit it instead.",
            "invoice",
        )
    o = revrec_obligations.c
    obligations = load_obligations(conn, ctx.account_id, o.invoice_id == invoice_id)
    recognized = sum(ob.standing.recognized for ob in obligations)
    deferred = sum(
        ob.standing.schedule.amount - ob.standing.recognized for ob in obligations if ob.deferred
    )
    payload = {
        "id": invoice_id,
        "currency": invoice.currency,
        "effective_at": at,
        "deferred_remaining": deferred,
        "recognized": recognized,
        "taxes": [{"jurisdiction": t.jurisdiction, "amount": t.amount} for t in taxes],
        "amount_due": invoice.amount_due,
        "credit_applied": invoice.credit_applied,
    }
    entry_id = None
    if invoice.entry_id is not None:
        entry_id = post_by_rule(conn, ctx, rules, "invoice.voided", payload).id
    _record_void(conn, ctx, invoice_id, obligations, entry_id, at)
    return Voided(invoice_id, entry_id, recognized, deferred)


def _record_void(
    conn: sa.Connection,
    ctx: CallContext,
    invoice_id: str,
    obligations: Sequence[Any],
    entry_id: str | None,
    at: int,
) -> None:
    taken_back = [
        {
            "account_id": ctx.account_id,
            "obligation_id": ob.id,
            "invoice_id": invoice_id,
            "booked_at": ob.booked_at,
            "currency": ob.currency,
            "day": day_of(at),
            "kind": "void",
            "amount": -ob.standing.recognized,
            "entry_id": entry_id,
            "created": ctx.now,
        }
        for ob in obligations
        if ob.standing.recognized
    ]
    if taken_back:
        conn.execute(revrec_recognitions.insert(), taken_back)
    o, i = revrec_obligations.c, revrec_invoices.c
    conn.execute(
        revrec_obligations.update()
        .where(o.account_id == ctx.account_id, o.invoice_id == invoice_id)
        .values(status="voided")
    )
    conn.execute(
        revrec_invoices.update()
        .where(i.account_id == ctx.account_id, i.invoice_id == invoice_id)
        .values(status="voided", void_entry_id=entry_id, voided_at=at)
    )
