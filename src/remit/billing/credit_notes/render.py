"""Credit notes and their lines as Stripe renders them.

Pure: rows (and the rendered tax rates their lines name) in, wire objects out. Stored
taxes have the invoices' shape, so they render through the invoices' ``wire_taxes``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from remit.billing.invoices.render import wire_taxes

LINES_PAGE = 10  # lines a credit note carries; the rest via /v1/credit_notes/{id}/lines


def pretax_credits(discount_amounts: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Stripe lists the discounts credited again as pretax credit amounts."""
    return [
        {
            "amount": entry["amount"],
            "credit_balance_transaction": None,
            "discount": entry["discount"],
            "type": "discount",
        }
        for entry in discount_amounts
    ]


def _unit_amount(unit_amount_decimal: str | None) -> int | None:
    if unit_amount_decimal is None:
        return None
    value = Decimal(unit_amount_decimal)
    # Stripe's integer ``unit_amount`` is only set when the unit price is whole.
    return int(value) if value == value.to_integral_value() else None


def render_line(row: Any, tax_rates: Mapping[str, dict[str, Any]]) -> dict[str, Any]:
    return {
        "id": row.id,
        "object": "credit_note_line_item",
        "amount": row.amount,
        "description": row.description,
        "discount_amount": row.discount_amount,
        "discount_amounts": [dict(entry) for entry in row.discount_amounts],
        "invoice_line_item": row.invoice_line_item,
        "livemode": False,
        "metadata": None if row.metadata is None else dict(row.metadata),
        "pretax_credit_amounts": pretax_credits(row.discount_amounts),
        "quantity": row.quantity,
        "tax_rates": [tax_rates[rate] for rate in row.tax_rates],
        "taxes": wire_taxes(row.taxes),
        "type": row.type,
        "unit_amount": _unit_amount(row.unit_amount_decimal),
        "unit_amount_decimal": row.unit_amount_decimal,
    }


def lines_list(
    url: str, rows: Sequence[Any], has_more: bool, tax_rates: Mapping[str, dict[str, Any]]
) -> dict[str, Any]:
    return {
        "object": "list",
        "data": [render_line(row, tax_rates) for row in rows],
        "has_more": has_more,
        "url": url,
    }


def render_note(
    row: Any,
    lines: Sequence[Any],
    has_more: bool,
    tax_rates: Mapping[str, dict[str, Any]],
    lines_url: str | None = None,
) -> dict[str, Any]:
    """``lines`` is the first page of the note's lines; ``tax_rates`` the rendered rates
    they name. A preview has no id: its lines are listed at ``lines_url``."""
    url = lines_url or f"/v1/credit_notes/{row.id}/lines"
    return {
        "id": row.id,
        "object": "credit_note",
        "amount": row.amount,
        "amount_shipping": 0,
        "created": row.created,
        "currency": row.currency,
        "customer": row.customer,
        "customer_account": None,
        "customer_balance_transaction": row.customer_balance_transaction,
        "discount_amount": row.discount_amount,
        "discount_amounts": [dict(entry) for entry in row.discount_amounts],
        "effective_at": row.effective_at,
        "invoice": row.invoice,
        "lines": lines_list(url, lines, has_more, tax_rates),
        "livemode": False,
        "memo": row.memo,
        "metadata": dict(row.metadata),
        "number": row.number,
        "out_of_band_amount": row.out_of_band_amount,
        # No PDF is rendered for a credit note.
        "pdf": None,
        "post_payment_amount": row.post_payment_amount,
        "pre_payment_amount": row.pre_payment_amount,
        "pretax_credit_amounts": pretax_credits(row.discount_amounts),
        "reason": row.reason,
        # A credit note's refund part needs a charge to refund: none is ever linked yet.
        "refunds": [],
        "shipping_cost": None,
        "status": row.status,
        "subtotal": row.subtotal,
        "subtotal_excluding_tax": row.subtotal_excluding_tax,
        "total": row.total,
        "total_excluding_tax": row.total_excluding_tax,
        "total_taxes": wire_taxes(row.total_taxes),
        "type": row.type,
        "voided_at": row.voided_at,
    }
