"""An invoice's derivation as a tree: every line's own story, then the sums, re-derived.

``GET /v1/invoices/{id}/explain`` answers the tree as JSON and ``remit invoice explain``
prints it. Each line shows how its amount came to be (price, quantity source, rating,
proration window) and what its discounts, taxes and rounding made of it; the invoice
shows its figures next to the same figures summed again from its stored lines, and
whether each identity holds.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa

from remit.billing.invoices import reads


def rederived(lines: Sequence[Any]) -> dict[str, int]:
    """The invoice's figures summed again from its stored lines alone."""
    subtotal = sum(line.amount for line in lines)
    discounts = sum(d["amount"] for line in lines for d in line.discount_amounts)
    inclusive = sum(t["amount"] for line in lines for t in line.taxes if t["inclusive"])
    exclusive = sum(t["amount"] for line in lines for t in line.taxes if not t["inclusive"])
    return {
        "subtotal": subtotal,
        "subtotal_excluding_tax": subtotal - inclusive,
        "total_discounts": discounts,
        "total_inclusive_tax": inclusive,
        "total_exclusive_tax": exclusive,
        "total": subtotal - discounts + exclusive,
        "total_excluding_tax": subtotal - discounts - inclusive,
    }


def checks(row: Any, lines: Sequence[Any]) -> list[dict[str, Any]]:
    """The identities an invoice's figures keep, each with whether it holds."""
    again = rederived(lines)
    stated_discounts = sum(d["amount"] for d in row.total_discount_amounts)
    stated_taxes = sum(t["amount"] for t in row.total_taxes)
    found = [
        ("subtotal is the sum of the line amounts", row.subtotal, again["subtotal"]),
        ("total = subtotal - discounts + exclusive taxes", row.total, again["total"]),
        ("total_excluding_tax = subtotal - discounts - inclusive taxes",
         row.total_excluding_tax, again["total_excluding_tax"]),
        ("subtotal_excluding_tax = subtotal - inclusive taxes",
         row.subtotal_excluding_tax, again["subtotal_excluding_tax"]),
        ("total_discount_amounts sum the lines' discounts", stated_discounts,
         again["total_discounts"]),
        ("total_taxes sum the lines' taxes", stated_taxes,
         again["total_inclusive_tax"] + again["total_exclusive_tax"]),
        ("amount_remaining = amount_due - amount_paid", row.amount_remaining,
         row.amount_due - row.amount_paid),
    ]  # fmt: skip
    for line in lines:
        net = line.explain.get("net")
        if net is not None:
            inclusive = sum(t["amount"] for t in line.taxes if t["inclusive"])
            discounts = sum(d["amount"] for d in line.discount_amounts)
            found.append(
                (
                    f"line {line.id}: net + discounts + inclusive taxes = amount",
                    line.amount,
                    net + discounts + inclusive,
                )  # fmt: skip
            )
    return [
        {"check": name, "stated": stated, "rederived": again_, "holds": stated == again_}
        for name, stated, again_ in found
    ]


def _balance(row: Any) -> dict[str, Any]:
    applied = None if row.ending_balance is None else row.ending_balance - row.starting_balance
    return {
        "starting_balance": row.starting_balance,
        "ending_balance": row.ending_balance,
        "applied": applied,
        "amount_due": row.amount_due,
        "amount_paid": row.amount_paid,
        "amount_remaining": row.amount_remaining,
    }


def _line(line: Any) -> dict[str, Any]:
    return {
        "id": line.id,
        "description": line.description,
        "amount": line.amount,
        "quantity": line.quantity,
        "price": line.price,
        "product": line.product,
        "period": {"start": line.period_start, "end": line.period_end},
        "proration": line.proration,
        "derivation": dict(line.explain),
    }


def tree(conn: sa.Connection, account_id: str, invoice_id: str) -> dict[str, Any]:
    row = reads.load_invoice(conn, account_id, invoice_id)
    lines = reads.lines_of(conn, account_id, [row.id])[row.id]
    return {
        "object": "invoice_explanation",
        "invoice": row.id,
        "number": row.number,
        "status": row.status,
        "customer": row.customer,
        "currency": row.currency,
        "billing_reason": row.billing_reason,
        "period": {"start": row.period_start, "end": row.period_end},
        "lines": [_line(line) for line in lines],
        "totals": {
            "subtotal": row.subtotal,
            "subtotal_excluding_tax": row.subtotal_excluding_tax,
            "discounts": [dict(d) for d in row.total_discount_amounts],
            "taxes": [dict(t) for t in row.total_taxes],
            "total": row.total,
            "total_excluding_tax": row.total_excluding_tax,
        },
        "balance": _balance(row),
        "checks": checks(row, lines),
    }
