"""Booking finalized invoices: ``invoice.finalized`` posted and one obligation recorded per
line (deferred over its service period, or revenue at once), for one invoice or a batch.

A batch is checked whole before anything is written, posted as one ledger batch and
recorded with one multi-row insert per table: a bill run books thousands of invoices at
the cost of a few statements.
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
from remit.ledger.revrec.reductions import TaxAmount
from remit.ledger.revrec.state import lock_progress, refused
from remit.ledger.revrec.tables import (
    revrec_invoice_taxes,
    revrec_invoices,
    revrec_obligations,
    revrec_recognitions,
)
from remit.ledger.rules import post_batch_by_rule
from remit.primitives.currency import is_supported, normalize
from remit.primitives.ids import new_id, register_prefix

register_prefix("ob")
MAX_LINES = 1000  # the posting rules' bound on a payload's list
_CHUNK_IDS = 500  # ids per IN list


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


def book_invoice(
    conn: sa.Connection, ctx: CallContext, rules: Mapping[str, PostingRule], invoice: InvoiceBooking
) -> Booked:
    """Post ``invoice.finalized`` and record one obligation per line."""
    return book_invoices(conn, ctx, rules, [invoice])[0]


def book_invoices(
    conn: sa.Connection,
    ctx: CallContext,
    rules: Mapping[str, PostingRule],
    invoices: Sequence[InvoiceBooking],
) -> list[Booked]:
    """``book_invoice`` for many invoices at once (a bill run's batch): every invoice is
    checked before anything is written, the entries are posted as one ledger batch, and
    each table gets one multi-row insert. All are booked, or none."""
    findings = [finding for invoice in invoices for finding in _check(invoice)]
    if findings:
        raise LedgerRejected(findings)
    ids = [invoice.id for invoice in invoices]
    if len(set(ids)) != len(ids):
        raise refused("revrec_invoice_booked", "An invoice is booked once per batch.", "id")
    lock_progress(conn, ctx)
    taken = _booked(conn, ctx.account_id, ids)
    if taken:
        raise refused("revrec_invoice_booked", f"Invoice {taken[0]} is already booked.", "id")
    currencies = [normalize(invoice.currency) for invoice in invoices]
    payloads = {
        n: _payload(invoice, currency)
        for n, (invoice, currency) in enumerate(zip(invoices, currencies, strict=True))
        if _moves_money(invoice)  # a free invoice moves no money; its obligations still exist
    }
    posted = post_batch_by_rule(conn, ctx, rules, "invoice.finalized", list(payloads.values()))
    entries: list[str | None] = [None] * len(invoices)
    for n, done in zip(payloads, posted, strict=True):
        entries[n] = done.id
    _record_invoices(conn, ctx, invoices, currencies, entries)
    obligations = _record_obligations(conn, ctx, invoices, currencies, entries)
    return [
        Booked(invoice.id, entry, tuple(made))
        for invoice, entry, made in zip(invoices, entries, obligations, strict=True)
    ]


def _payload(invoice: InvoiceBooking, currency: str) -> dict[str, Any]:
    return {
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


def _moves_money(invoice: InvoiceBooking) -> bool:
    amounts = [invoice.amount_due, invoice.credit_applied, *(t.amount for t in invoice.taxes)]
    return any(amounts) or any(line.net for line in invoice.lines)


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


def _booked(conn: sa.Connection, account_id: str, invoice_ids: Sequence[str]) -> list[str]:
    """Those of ``invoice_ids`` already booked."""
    i = revrec_invoices.c
    found: list[str] = []
    for at in range(0, len(invoice_ids), _CHUNK_IDS):
        chunk = invoice_ids[at : at + _CHUNK_IDS]
        found += conn.execute(
            sa.select(i.invoice_id).where(i.account_id == account_id, i.invoice_id.in_(chunk))
        ).scalars()
    return sorted(found)


def _record_invoices(
    conn: sa.Connection,
    ctx: CallContext,
    invoices: Sequence[InvoiceBooking],
    currencies: Sequence[str],
    entries: Sequence[str | None],
) -> None:
    conn.execute(
        revrec_invoices.insert(),
        [
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
            }
            for invoice, currency, entry in zip(invoices, currencies, entries, strict=True)
        ],
    )
    taxes = [
        {
            "account_id": ctx.account_id,
            "invoice_id": invoice.id,
            "jurisdiction": t.jurisdiction.lower(),
            "amount": t.amount,
            "reduced": 0,
        }
        for invoice in invoices
        for t in invoice.taxes
    ]
    if taxes:
        conn.execute(revrec_invoice_taxes.insert(), taxes)


def _record_obligations(
    conn: sa.Connection,
    ctx: CallContext,
    invoices: Sequence[InvoiceBooking],
    currencies: Sequence[str],
    entries: Sequence[str | None],
) -> list[list[str]]:
    """One obligation per line of every invoice; their ids, invoice by invoice."""
    rows: list[dict[str, Any]] = []
    recognized: list[dict[str, Any]] = []
    made: list[list[str]] = []
    for invoice, currency, entry in zip(invoices, currencies, entries, strict=True):
        mine = [_obligation(ctx, invoice, line, currency) for line in invoice.lines]
        rows += mine
        made.append([str(row["id"]) for row in mine])
        recognized += [
            _booked_at_once(ctx, invoice, row, entry) for row in mine if row["recognized"]
        ]
    conn.execute(revrec_obligations.insert(), rows)
    if recognized:
        conn.execute(revrec_recognitions.insert(), recognized)
    return made


def _obligation(
    ctx: CallContext, invoice: InvoiceBooking, line: InvoiceLine, currency: str
) -> dict[str, Any]:
    period = line.period
    booked_day = day_of(invoice.effective_at)
    days = point_in_time(booked_day) if period is None else service_days(period.start, period.end)
    # A line without a period is revenue at booking: fully recognized from the start.
    at_once = period is None
    return {
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


def _booked_at_once(
    ctx: CallContext, invoice: InvoiceBooking, obligation: Mapping[str, Any], entry: str | None
) -> dict[str, Any]:
    return {
        "account_id": ctx.account_id,
        "obligation_id": obligation["id"],
        "invoice_id": invoice.id,
        "booked_at": invoice.effective_at,
        "currency": obligation["currency"],
        "day": day_of(invoice.effective_at),
        "kind": "booking",
        "amount": obligation["amount"],
        "entry_id": entry,
        "created": ctx.now,
    }
