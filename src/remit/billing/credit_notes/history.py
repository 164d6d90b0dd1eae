"""What an invoice has already been credited: the issued notes on it and their lines.

A new note is measured against this: each invoice line's credited share (by amount or by
quantity, never both), the invoice's total, its revenue and each of its tax rates.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from remit.billing.credit_notes.tables import credit_note_lines, credit_notes


@dataclass
class LineCredits:
    """An invoice line's credits so far: by ``quantity`` or by ``amount`` (gross)."""

    by_quantity: bool
    credited: int = 0


@dataclass
class Credited:
    total: int = 0
    total_excluding_tax: int = 0
    taxes: dict[str, int] = field(default_factory=dict)  # tax rate -> credited tax
    lines: dict[str, LineCredits] = field(default_factory=dict)  # invoice line -> credits
    notes: int = 0  # every note ever numbered on the invoice, void ones too


def credited(conn: sa.Connection, account_id: str, invoice_id: str) -> Credited:
    """Sums over the invoice's issued notes (a void note gives its credit back)."""
    n = credit_notes.c
    found = Credited()
    issued: list[str] = []
    for note in conn.execute(
        sa.select(n.id, n.status, n.total, n.total_excluding_tax, n.total_taxes).where(
            n.account_id == account_id, n.invoice == invoice_id
        )
    ):
        found.notes += 1
        if note.status != "issued":
            continue
        issued.append(note.id)
        found.total += note.total
        found.total_excluding_tax += note.total_excluding_tax
        for tax in note.total_taxes:
            found.taxes[tax["tax_rate"]] = found.taxes.get(tax["tax_rate"], 0) + tax["amount"]
    if issued:
        _line_credits(conn, account_id, issued, found.lines)
    return found


def _line_credits(
    conn: sa.Connection, account_id: str, note_ids: list[str], into: dict[str, LineCredits]
) -> None:
    t = credit_note_lines.c
    rows: Any = conn.execute(
        sa.select(t.invoice_line_item, t.quantity, t.amount).where(
            t.account_id == account_id,
            t.credit_note.in_(note_ids),
            t.type == "invoice_line_item",
        )
    )
    for row in rows:
        by_quantity = row.quantity is not None
        entry = into.setdefault(row.invoice_line_item, LineCredits(by_quantity))
        entry.credited += row.quantity if by_quantity else row.amount
