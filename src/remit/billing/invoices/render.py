"""Invoices, their lines and invoice items as Stripe renders them.

Pure: rows (and the rendered tax rates they name) in, wire objects out. Stored amounts
are integers; ``unit_amount_decimal`` is a canonical decimal string already.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

LINES_PAGE = 10  # lines an invoice object carries; the rest via /v1/invoices/{id}/lines


def wire_taxes(stored: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Stored tax amounts as Stripe's ``taxes`` / ``total_taxes`` entries."""
    return [
        {
            "amount": tax["amount"],
            "tax_behavior": "inclusive" if tax["inclusive"] else "exclusive",
            "tax_rate_details": {"tax_rate": tax["tax_rate"]},
            # Stripe states a reason for rates it calculates; a manual rate has none.
            "taxability_reason": None,
            "taxable_amount": tax["taxable_amount"],
            "type": "tax_rate_details",
        }
        for tax in stored
    ]


def _period(row: Any) -> dict[str, int]:
    return {"end": row.period_end, "start": row.period_start}


def _pricing(row: Any) -> dict[str, Any]:
    return {"type": "price_details", "unit_amount_decimal": row.unit_amount_decimal}


def _line_parent(row: Any) -> dict[str, Any]:
    details = {"proration": row.proration, "proration_details": {"credited_items": None}}
    if row.parent_type == "invoice_item_details":
        item = {"invoice_item": row.invoice_item, **details, "subscription": row.subscription}
        return {
            "invoice_item_details": item,
            "subscription_item_details": None,
            "type": "invoice_item_details",
        }
    sub_item = {
        "invoice_item": row.invoice_item,
        **details,
        "subscription": row.subscription,
        "subscription_item": row.subscription_item,
    }
    return {
        "invoice_item_details": None,
        "subscription_item_details": sub_item,
        "type": "subscription_item_details",
    }


def render_line(row: Any) -> dict[str, Any]:
    return {
        "id": row.id,
        "object": "line_item",
        "amount": row.amount,
        "currency": row.currency,
        "description": row.description,
        "discount_amounts": [dict(d) for d in row.discount_amounts],
        "discountable": row.discountable,
        "discounts": list(row.discounts),
        "invoice": row.invoice,
        "livemode": False,
        "metadata": dict(row.metadata),
        "parent": _line_parent(row),
        "period": _period(row),
        "pretax_credit_amounts": None,
        "pricing": _pricing(row),
        "quantity": row.quantity,
        "quantity_decimal": None if row.quantity is None else str(row.quantity),
        "subscription": row.subscription,
        "subtotal": row.amount,
        "taxes": wire_taxes(row.taxes),
    }


def _customer_fields(details: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "customer_address": details.get("address"),
        "customer_email": details.get("email"),
        "customer_name": details.get("name"),
        "customer_phone": details.get("phone"),
        "customer_shipping": details.get("shipping"),
        "customer_tax_exempt": details.get("tax_exempt"),
        "customer_tax_ids": [],
    }


def _parent(row: Any) -> dict[str, Any] | None:
    if row.subscription is None:
        return None
    return {
        "quote_details": None,
        "subscription_details": {"metadata": None, "subscription": row.subscription},
        "type": "subscription_details",
    }


def _amounts(row: Any) -> dict[str, Any]:
    return {
        "amount_due": row.amount_due,
        "amount_overpaid": 0,
        "amount_paid": row.amount_paid,
        "amount_remaining": row.amount_remaining,
        "amount_shipping": 0,
        "ending_balance": row.ending_balance,
        "post_payment_credit_notes_amount": row.post_payment_credit_notes_amount,
        "pre_payment_credit_notes_amount": row.pre_payment_credit_notes_amount,
        "starting_balance": row.starting_balance,
        "subtotal": row.subtotal,
        "subtotal_excluding_tax": row.subtotal_excluding_tax,
        "total": row.total,
        "total_discount_amounts": [dict(d) for d in row.total_discount_amounts],
        "total_excluding_tax": row.total_excluding_tax,
        "total_pretax_credit_amounts": None,
        "total_taxes": wire_taxes(row.total_taxes),
    }


def _status(row: Any) -> dict[str, Any]:
    return {
        "attempt_count": row.attempt_count,
        "attempted": row.attempt_count > 0 or row.status == "paid",
        "auto_advance": row.auto_advance,
        "automatically_finalizes_at": (
            row.automatically_finalizes_at if row.status == "draft" and row.auto_advance else None
        ),
        "due_date": row.due_date,
        "effective_at": row.effective_at,
        # No processor retries payments yet: nothing is scheduled.
        "next_payment_attempt": None,
        "last_finalization_error": row.last_finalization_error,
        "status": row.status,
        "status_transitions": {
            "finalized_at": row.finalized_at,
            "marked_uncollectible_at": row.marked_uncollectible_at,
            "paid_at": row.paid_at,
            "voided_at": row.voided_at,
        },
    }


def _unused() -> dict[str, Any]:
    """Fields of capabilities remit does not have (Connect, hosted pages, Stripe Tax)."""
    return {
        "account_country": None,
        "account_name": None,
        "account_tax_ids": None,
        "application": None,
        "automatic_tax": {
            "disabled_reason": None,
            "enabled": False,
            "liability": None,
            "provider": None,
            "status": None,
        },
        "custom_fields": None,
        "customer_account": None,
        "default_payment_method": None,
        "default_source": None,
        "from_invoice": None,
        "hosted_invoice_url": None,
        "invoice_pdf": None,
        "issuer": {"type": "self"},
        "latest_revision": None,
        "on_behalf_of": None,
        "payment_settings": {
            "default_mandate": None,
            "payment_method_options": None,
            "payment_method_types": None,
        },
        "receipt_number": None,
        "rendering": None,
        "shipping_cost": None,
        "shipping_details": None,
        "statement_descriptor": None,
        "webhooks_delivered_at": None,
    }


def render_invoice(
    row: Any,
    lines: Sequence[Any],
    has_more: bool,
    tax_rates: Mapping[str, dict[str, Any]],
) -> dict[str, Any]:
    """``lines`` is the first page of the invoice's lines; ``tax_rates`` the rendered rates
    its ``default_tax_rates`` name (Stripe expands them in place)."""
    return {
        "id": row.id,
        "object": "invoice",
        **_unused(),
        **_amounts(row),
        **_status(row),
        **_customer_fields(row.customer_details),
        "billing_reason": row.billing_reason,
        "collection_method": row.collection_method,
        "created": row.created,
        "currency": row.currency,
        "customer": row.customer,
        "default_tax_rates": [tax_rates[rate] for rate in row.default_tax_rates],
        "description": row.description,
        "discounts": list(row.discounts),
        "footer": row.footer,
        "lines": {
            "object": "list",
            "data": [render_line(line) for line in lines],
            "has_more": has_more,
            "url": f"/v1/invoices/{row.id}/lines",
        },
        "livemode": False,
        "metadata": dict(row.metadata),
        "number": row.number,
        "parent": _parent(row),
        "period_end": row.period_end,
        "period_start": row.period_start,
        "subscription": row.subscription,
        "test_clock": row.test_clock,
    }


def render_item(row: Any, tax_rates: Mapping[str, dict[str, Any]]) -> dict[str, Any]:
    parent = None
    if row.subscription is not None:
        parent = {
            "subscription_details": {"subscription": row.subscription},
            "type": "subscription_details",
        }
    return {
        "id": row.id,
        "object": "invoiceitem",
        "amount": row.amount,
        "currency": row.currency,
        "customer": row.customer,
        "customer_account": None,
        "date": row.date,
        "description": row.description,
        "discountable": row.discountable,
        "discounts": list(row.discounts),
        "invoice": row.invoice,
        "livemode": False,
        "metadata": dict(row.metadata),
        # Stripe's: the amount after discounts for items discounts cannot touch, else null.
        "net_amount": None if row.discountable else row.amount,
        "parent": parent,
        "period": _period(row),
        "pricing": _pricing(row),
        "proration": row.proration,
        "quantity": row.quantity,
        "quantity_decimal": str(row.quantity),
        "tax_rates": [tax_rates[rate] for rate in row.tax_rates],
        "test_clock": row.test_clock,
    }
