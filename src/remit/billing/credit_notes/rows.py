"""A planned credit note as the rows it is stored as (and a preview is rendered from)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from remit.billing.credit_notes.plan import Plan
from remit.billing.invoices.amounts import stored_taxes


def _discounts(amounts: tuple[tuple[str, int], ...]) -> list[dict[str, Any]]:
    return [{"amount": amount, "discount": discount} for discount, amount in amounts]


def note_row(
    account_id: str, found: Plan, note_id: str | None, txn_id: str | None
) -> dict[str, Any]:
    invoice, totals = found.invoice, found.totals
    return {
        "id": note_id,
        "account_id": account_id,
        "invoice": invoice.id,
        "customer": invoice.customer,
        "currency": invoice.currency,
        "number": found.number,
        "status": "issued",
        "type": found.type,
        "created": found.created,
        "effective_at": found.effective_at,
        "voided_at": None,
        "amount": totals.total,
        "subtotal": totals.subtotal,
        "subtotal_excluding_tax": totals.subtotal_excluding_tax,
        "total": totals.total,
        "total_excluding_tax": totals.total_excluding_tax,
        "discount_amount": totals.discount_amount,
        "discount_amounts": _discounts(totals.discount_amounts),
        "total_taxes": stored_taxes(totals.total_taxes),
        "pre_payment_amount": found.pre_payment_amount,
        "post_payment_amount": found.post_payment_amount,
        "credit_amount": found.credit_amount,
        "out_of_band_amount": found.out_of_band_amount,
        "refund_amount": found.refund_amount,
        "reason": found.reason,
        "memo": found.memo,
        "customer_balance_transaction": txn_id,
        "metadata": found.metadata,
    }


def line_rows(
    account_id: str, found: Plan, note_id: str | None, line_ids: Sequence[str]
) -> list[dict[str, Any]]:
    return [
        {
            "id": line_id,
            "account_id": account_id,
            "credit_note": note_id,
            "position": position,
            "type": line.type,
            "invoice_line_item": line.invoice_line_item,
            "amount": line.credited.amount,
            "description": line.description,
            "quantity": line.quantity,
            "unit_amount_decimal": line.unit_amount_decimal,
            "discount_amount": line.credited.discount,
            "discount_amounts": _discounts(line.credited.discount_amounts),
            "tax_rates": list(line.tax_rates),
            "taxes": stored_taxes(line.credited.taxes),
            "metadata": line.metadata,
        }
        for position, (line_id, line) in enumerate(zip(line_ids, found.lines, strict=True))
    ]
