"""Reading what the customers hold, from the ledger and from the customers table."""

from __future__ import annotations

import sqlalchemy as sa

from remit.billing.tables import customers
from remit.ledger.tables import ledger_accounts


def credit_held_in_ledger(store, account_id: str, currency: str = "usd") -> int:  # type: ignore[no-untyped-def]
    """What the ledger says the customers hold (credit positive), from its running totals."""
    with store.read() as conn:
        row = conn.execute(
            sa.select(ledger_accounts.c.credits_posted, ledger_accounts.c.debits_posted).where(
                ledger_accounts.c.account_id == account_id,
                ledger_accounts.c.code == "customer_credit_balance",
                ledger_accounts.c.currency == currency,
            )
        ).first()
    return 0 if row is None else row.credits_posted - row.debits_posted


def balances(store, account_id: str) -> int:  # type: ignore[no-untyped-def]
    with store.read() as conn:
        return int(
            conn.execute(
                sa.select(sa.func.coalesce(sa.func.sum(customers.c.balance), 0)).where(
                    customers.c.account_id == account_id
                )
            ).scalar_one()
        )
