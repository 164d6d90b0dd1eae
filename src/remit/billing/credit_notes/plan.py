"""A credit note worked out from its params, before anything is written (create and preview
share it): its lines and figures, how it settles, and every limit checked.

Stripe's rules: only an open or paid invoice is credited; a credit first lowers what the
invoice still owes (``pre_payment_amount``, never below zero) and the rest
(``post_payment_amount``) must be given exactly as ``credit_amount`` (to the customer's
balance), ``out_of_band_amount`` and ``refund_amount``; all notes of an invoice together
never credit more than its total. Beyond Stripe, a note gives back no more of the invoice's
revenue, or of any tax rate, than the invoice still holds, so the ledger can follow it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from remit.billing import test_clocks
from remit.billing.credit_notes import history
from remit.billing.credit_notes.domain import (
    NoteTotals,
    amount_credit,
    note_totals,
    settle,
)
from remit.billing.credit_notes.lines import PlannedLine, planned_lines
from remit.billing.domain.totals import TaxAmount
from remit.billing.invoices import reads
from remit.context import CallContext
from remit.primitives.errors import InvalidRequestError, invalid_parameter

CREDITABLE = ("open", "paid")
SETTLEMENT = ("credit_amount", "out_of_band_amount", "refund_amount")


@dataclass(frozen=True)
class Plan:
    invoice: Any  # the invoice row, locked when the plan is for writing
    number: str
    created: int
    effective_at: int
    lines: tuple[PlannedLine, ...]
    totals: NoteTotals
    pre_payment_amount: int
    post_payment_amount: int
    credit_amount: int
    out_of_band_amount: int | None
    refund_amount: int
    type: str  # pre_payment, post_payment or mixed
    reason: str | None
    memo: str | None
    metadata: dict[str, str]


def plan(
    conn: sa.Connection, ctx: CallContext, params: Mapping[str, Any], *, for_preview: bool = False
) -> Plan:
    """``for_preview``: nothing will be written, so the invoice is not locked, and a
    preview that says nothing of how the post-payment part is given out is not refused
    for it (a preview is how the caller learns that part)."""
    invoice = reads.load_invoice(
        conn, ctx.account_id, params["invoice"], "invoice", lock=not for_preview
    )
    if invoice.status not in CREDITABLE:
        raise invalid_parameter(
            "invoice",
            f"Invoice {invoice.id} is {invoice.status}: credit notes can only be issued on an "
            "open or paid invoice.",
        )
    before = history.credited(conn, ctx.account_id, invoice.id)
    created = test_clocks.now_for(conn, ctx, invoice.test_clock)
    lines, totals = _figures(conn, ctx, params, invoice, before)
    _check_limits(invoice, before, totals)
    pre, post = settle(totals.total, invoice.amount_remaining)
    credit, out_of_band, refund = _settlement(invoice, params, post, for_preview)
    return Plan(
        invoice=invoice,
        number=f"{invoice.number}-CN-{before.notes + 1:02d}",
        created=created,
        effective_at=_effective_at(invoice, params, created),
        lines=tuple(lines),
        totals=totals,
        pre_payment_amount=pre,
        post_payment_amount=post,
        credit_amount=credit,
        out_of_band_amount=out_of_band,
        refund_amount=refund,
        type=_type(invoice, pre, post),
        reason=params.get("reason"),
        memo=params.get("memo") or None,
        metadata=params["metadata"].apply({}) if "metadata" in params else {},
    )


def _figures(
    conn: sa.Connection,
    ctx: CallContext,
    params: Mapping[str, Any],
    invoice: Any,
    before: history.Credited,
) -> tuple[list[PlannedLine], NoteTotals]:
    rounding = ctx.account.rounding_mode
    if "lines" in params:
        invoice_lines = reads.lines_of(conn, ctx.account_id, [invoice.id])[invoice.id]
        lines = planned_lines(
            conn, ctx.account_id, params["lines"], invoice_lines, before.lines, rounding
        )
        totals = note_totals([line.credited for line in lines])
        if "amount" in params and params["amount"] != totals.total:
            raise invalid_parameter(
                "amount",
                f"The amount ({params['amount']}) must equal the total of the lines "
                f"({totals.total}).",
            )
        return lines, totals
    if "amount" not in params:
        raise InvalidRequestError(
            "One of `amount` or `lines` is required to say what the credit note credits.",
            code="parameter_missing",
            param="amount",
        )
    revenue_left, taxes_left = _left(invoice, before)
    if params["amount"] > invoice.total - before.total:
        raise _too_much(invoice, before, params["amount"], "amount")
    credited = amount_credit(params["amount"], revenue_left, taxes_left, rounding)
    return [], note_totals([credited])


def _left(invoice: Any, before: history.Credited) -> tuple[int, list[TaxAmount]]:
    """The invoice's revenue and each of its tax rates less what notes gave back already."""
    taxes = [
        TaxAmount(
            tax["tax_rate"],
            tax["amount"] - before.taxes.get(tax["tax_rate"], 0),
            tax["taxable_amount"],
            tax["inclusive"],
            tax["jurisdiction"],
        )
        for tax in invoice.total_taxes
    ]
    return invoice.total_excluding_tax - before.total_excluding_tax, taxes


def _too_much(invoice: Any, before: history.Credited, total: int, param: str) -> Exception:
    return invalid_parameter(
        param,
        f"The credit note's total ({total}) is more than invoice {invoice.id} has left to "
        f"credit: its total is {invoice.total} and {before.total} is credited already.",
    )


def _check_limits(invoice: Any, before: history.Credited, totals: NoteTotals) -> None:
    param = "lines"
    if totals.total > invoice.total - before.total:
        raise _too_much(invoice, before, totals.total, param)
    revenue_left, taxes_left = _left(invoice, before)
    if totals.total_excluding_tax > revenue_left:
        raise invalid_parameter(
            param,
            f"The credit note gives back {totals.total_excluding_tax} before tax; invoice "
            f"{invoice.id} has {revenue_left} left. Credit its lines, or give custom lines "
            "the tax rates the invoice charged.",
        )
    left = {tax.tax_rate: tax.amount for tax in taxes_left}
    for tax in totals.total_taxes:
        if tax.amount > left.get(tax.tax_rate, 0):
            raise invalid_parameter(
                param,
                f"The credit note gives back {tax.amount} of tax at {tax.tax_rate}; invoice "
                f"{invoice.id} has {left.get(tax.tax_rate, 0)} of that tax left to give back.",
            )


def _settlement(
    invoice: Any, params: Mapping[str, Any], post: int, for_preview: bool
) -> tuple[int, int | None, int]:
    credit = params.get("credit_amount", 0)
    out_of_band = params.get("out_of_band_amount")
    refund = params.get("refund_amount", 0)
    if refund:
        raise invalid_parameter(
            "refund_amount",
            f"Invoice {invoice.id} has no charge to refund: remit takes no payments yet, and "
            "an invoice paid outside it is refunded outside it. Credit the customer's "
            "balance (credit_amount) or record the credit as settled outside (out_of_band_amount).",
        )
    given = credit + (out_of_band or 0) + refund
    unsaid = not any(key in params for key in SETTLEMENT)
    if given != post and not (for_preview and unsaid):
        raise invalid_parameter(
            "out_of_band_amount" if given < post else "credit_amount",
            f"The sum of credit_amount, refund_amount and out_of_band_amount ({given}) must "
            f"equal the credit note's post-payment amount ({post}): the part of its total "
            f"beyond what invoice {invoice.id} still owes ({invoice.amount_remaining}).",
        )
    return credit, out_of_band, refund


def _effective_at(invoice: Any, params: Mapping[str, Any], created: int) -> int:
    effective_at = params.get("effective_at", created)
    finalized_at = invoice.effective_at
    if not finalized_at <= effective_at <= created:
        raise invalid_parameter(
            "effective_at",
            f"effective_at must lie between the invoice's finalization ({finalized_at}) and "
            f"now ({created}).",
        )
    return int(effective_at)


def _type(invoice: Any, pre: int, post: int) -> str:
    if pre and post:
        return "mixed"
    if post or (not pre and invoice.status == "paid"):
        return "post_payment"
    return "pre_payment"
