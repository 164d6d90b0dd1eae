"""The receivables check of ``remit ledger verify``: the ledger's accounts receivable are
exactly what open invoices still ask for, for every tenant that invoices.

Per currency, the receivable balance equals the sum of ``amount_remaining`` over open
invoices; per invoice, the receivable legs posted about it (entries name their invoice as
subject) net to its ``amount_remaining`` while it is open, and to zero once it is paid,
void or written off. A tampered invoice or a posting that went astray shows up by name.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import sqlalchemy as sa

from remit.billing.invoices.tables import invoices
from remit.ledger.tables import journal_entries, journal_legs, ledger_accounts
from remit.ledger.verify import Discrepancy

CHECK = "receivables"
RECEIVABLE = "accounts_receivable"
MAX_FINDINGS = 200
# Resolved pending holds count through their resolution; the holds themselves do not.
POSTED_KINDS = ("posted", "post_pending")


def receivables(conn: sa.Connection, account_id: str) -> list[Discrepancy]:
    """Findings about one tenant; a tenant that never invoiced (its ledger used on its own,
    through the ledger's API) has no receivables billing could account for."""
    i = invoices.c
    invoiced = conn.execute(sa.select(i.id).where(i.account_id == account_id).limit(1)).first()
    if invoiced is None:
        return []
    found = _per_currency(conn, account_id) + _per_invoice(conn, account_id)
    return found[:MAX_FINDINGS]


def _open_by_currency(conn: sa.Connection, account_id: str) -> dict[str, int]:
    i = invoices.c
    rows = conn.execute(
        sa.select(i.currency, sa.func.sum(i.amount_remaining))
        .where(i.account_id == account_id, i.status == "open")
        .group_by(i.currency)
    )
    return {currency: int(total) for currency, total in rows}


def _per_currency(conn: sa.Connection, account_id: str) -> list[Discrepancy]:
    a = ledger_accounts.c
    rows = conn.execute(
        sa.select(a.currency, a.debits_posted, a.credits_posted).where(
            a.account_id == account_id, a.code == RECEIVABLE
        )
    )
    ledger = {row.currency: row.debits_posted - row.credits_posted for row in rows}
    owed = _open_by_currency(conn, account_id)
    return [
        Discrepancy(
            CHECK,
            "ledger_receivables_mismatch",
            f"Accounts receivable in {currency} is {ledger.get(currency, 0)}; open invoices "
            f"ask for {owed.get(currency, 0)}.",
            account_id,
        )
        for currency in sorted(ledger.keys() | owed.keys())
        if ledger.get(currency, 0) != owed.get(currency, 0)
    ]


def _receivable_by_subject(conn: sa.Connection, account_id: str) -> dict[str, int]:
    a, e, leg = ledger_accounts.c, journal_entries.c, journal_legs.c
    debits = sa.func.sum(sa.case((leg.side == "D", leg.amount), else_=0))
    credits = sa.func.sum(sa.case((leg.side == "C", leg.amount), else_=0))
    rows = conn.execute(
        sa.select(e.subject_id, debits, credits)
        .select_from(journal_legs)
        .join(ledger_accounts, a.id == leg.ledger_account_id)
        .join(journal_entries, e.id == leg.entry_id)
        .where(
            a.account_id == account_id,
            a.code == RECEIVABLE,
            e.kind.in_(POSTED_KINDS),
            e.subject_id.is_not(None),
        )
        .group_by(e.subject_id)
    )
    return {str(subject): int(d) - int(c) for subject, d, c in rows}


def _per_invoice(conn: sa.Connection, account_id: str) -> list[Discrepancy]:
    i = invoices.c
    expected: dict[str, int] = defaultdict(int)
    statuses: dict[str, Any] = {}
    rows = conn.execute(
        sa.select(i.id, i.status, i.amount_remaining).where(
            i.account_id == account_id, i.status != "draft"
        )
    )
    for row in rows:
        statuses[row.id] = row.status
        if row.status == "open":
            expected[row.id] = row.amount_remaining
    posted = _receivable_by_subject(conn, account_id)
    return [
        Discrepancy(
            CHECK,
            "ledger_invoice_receivable_mismatch",
            f"The ledger holds {posted.get(invoice_id, 0)} receivable for invoice {invoice_id} "
            f"({statuses.get(invoice_id, 'unknown')}); it should hold "
            f"{expected.get(invoice_id, 0)}.",
            account_id,
            invoice_id,
        )
        for invoice_id in sorted(expected.keys() | posted.keys())
        if expected.get(invoice_id, 0) != posted.get(invoice_id, 0)
    ]
