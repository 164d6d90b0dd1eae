"""Helpers for ledger tests: a tenant, its context, and reading balances back."""

from __future__ import annotations

import sqlalchemy as sa

from remit.context import CallContext
from remit.ledger.domain.entries import Entry, Leg
from remit.ledger.tables import journal_entries, journal_legs, ledger_accounts

T0 = 1_767_225_600  # 2026-01-01T00:00:00Z


def ctx_for(account, now: int = T0) -> CallContext:
    return CallContext(account=account.account, now=now)


def entry(
    cause: str, *legs: tuple[str, str, int], currency: str = "usd", rule: str = "manual"
) -> Entry:
    return Entry(
        rule, cause, tuple(Leg(code, side, amount, currency) for code, side, amount in legs), T0
    )  # type: ignore[arg-type]


def balances(
    conn: sa.Connection, account_id: str
) -> dict[tuple[str, str], tuple[int, int, int, int]]:
    rows = conn.execute(
        sa.select(ledger_accounts).where(ledger_accounts.c.account_id == account_id)
    )
    return {
        (r.code, r.currency): (
            r.debits_posted,
            r.credits_posted,
            r.debits_pending,
            r.credits_pending,
        )
        for r in rows
    }


def counts(conn: sa.Connection, account_id: str) -> tuple[int, int]:
    entries = conn.execute(
        sa.select(sa.func.count()).where(journal_entries.c.account_id == account_id)
    ).scalar_one()
    legs = conn.execute(
        sa.select(sa.func.count()).where(journal_legs.c.account_id == account_id)
    ).scalar_one()
    return entries, legs
