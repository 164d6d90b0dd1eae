"""Customer balance transactions: the only way ``customers.balance`` changes.

``adjust`` records one transaction, moves the customer's balance and, for money the
business grants or charges outside any invoice, posts ``customer_balance.adjusted`` so
the ledger's customer credit balance always agrees with ``customers.balance``. Callers
whose own posting already carries the movement (invoice finalization applying the
balance, a void giving it back, a credit note) pass ``post_ledger=False``.

Sign convention (Stripe's): a negative amount is credit for the customer, a positive one
is owed by them; ``ending_balance`` is the balance after the transaction.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import SimpleNamespace
from typing import Any

import sqlalchemy as sa

from remit.billing import test_clocks
from remit.billing.balance.tables import customer_balance_transactions as transactions
from remit.billing.tables import customers
from remit.context import CallContext
from remit.events import service as events
from remit.ledger.domain.rules import PostingRule
from remit.ledger.rules import BUILTIN_RULES, post_by_rule, rules_from
from remit.primitives.errors import ResourceMissing, invalid_parameter
from remit.primitives.ids import new_id, register_prefix

register_prefix("cbtxn")

TYPES = (
    "adjustment",
    "applied_to_invoice",
    "credit_note",
    "initial",
    "invoice_overpaid",
    "invoice_too_large",
    "invoice_too_small",
    "migration",
    "unapplied_from_invoice",
    "unspent_receiver_credit",
)
# The bound of the customer API's own ``balance`` param: far beyond any real balance,
# far below what a 64-bit column holds.
MAX_BALANCE = 10**12
ADJUSTED_RULE = "customer_balance.adjusted"
# Stripe keeps a balance given to a customer without a currency (the customer API's
# ``balance``) in the account's default currency. Accounts here have no such setting; usd
# is the default of the accounts Stripe's fixtures describe (account_country "US").
DEFAULT_CURRENCY = "usd"


def render(row: Any) -> dict[str, Any]:
    return {
        "id": row.id,
        "object": "customer_balance_transaction",
        "amount": row.amount,
        "checkout_session": None,
        "created": row.created,
        "credit_note": row.credit_note,
        "currency": row.currency,
        "customer": row.customer,
        "customer_account": None,
        "description": row.description,
        "ending_balance": row.ending_balance,
        "invoice": row.invoice,
        "livemode": False,
        "metadata": dict(row.metadata or {}),
        "type": row.type,
    }


def load(conn: sa.Connection, account_id: str, customer_id: str, transaction_id: str) -> Any:
    t = transactions.c
    row = conn.execute(
        sa.select(transactions).where(
            t.account_id == account_id, t.customer == customer_id, t.id == transaction_id
        )
    ).first()
    if row is None:
        raise ResourceMissing("customer balance transaction", transaction_id, param="transaction")
    return row


def _locked_customer(conn: sa.Connection, account_id: str, customer_id: str) -> Any:
    """The live customer, its row locked on PostgreSQL so concurrent adjustments serialize."""
    c = customers.c
    row = conn.execute(
        sa.select(customers)
        .where(c.account_id == account_id, c.id == customer_id)
        .with_for_update()
    ).first()
    if row is None or row.deleted:
        raise ResourceMissing("customer", customer_id, param="customer")
    return row


def check_currency(customer: Any, currency: str, param: str = "currency") -> None:
    """A customer's balance lives in one currency: the first one it was given."""
    if customer.currency is not None and customer.currency != currency:
        raise invalid_parameter(
            param,
            f"The customer's balance is in {customer.currency}; a balance transaction in "
            f"{currency} cannot apply to it. Customers can hold a balance in one currency.",
        )


def adjust(
    conn: sa.Connection,
    ctx: CallContext,
    customer_id: str,
    amount: int,
    currency: str,
    type: str,
    *,
    invoice: str | None = None,
    credit_note: str | None = None,
    description: str | None = None,
    metadata: Mapping[str, str] | None = None,
    post_ledger: bool = True,
    announce: bool = True,
    at_ts: int | None = None,
) -> Any:
    """Record ``amount`` on the customer's balance; returns the transaction row.

    ``announce`` emits ``customer.updated`` for the balance change; a caller that emits
    its own customer event (customer create/update) turns it off. ``at_ts`` defaults to
    the customer's clock.
    """
    assert type in TYPES, type
    customer = _locked_customer(conn, ctx.account_id, customer_id)
    check_currency(customer, currency)
    ending = customer.balance + amount
    if abs(ending) > MAX_BALANCE:
        raise invalid_parameter(
            "amount", f"The customer's balance would be {ending}; it must stay within "
            f"{MAX_BALANCE} in absolute value."
        )  # fmt: skip
    created = test_clocks.now_for(conn, ctx, customer.test_clock) if at_ts is None else at_ts
    row = {
        "id": new_id("cbtxn"),
        "account_id": ctx.account_id,
        "customer": customer_id,
        "created": created,
        "amount": amount,
        "currency": currency,
        "ending_balance": ending,
        "type": type,
        "description": description,
        "invoice": invoice,
        "credit_note": credit_note,
        "metadata": dict(metadata or {}),
    }
    conn.execute(transactions.insert(), row)
    conn.execute(
        customers.update()
        .where(customers.c.account_id == ctx.account_id, customers.c.id == customer_id)
        .values(balance=ending, currency=currency)
    )
    if post_ledger and amount:
        _post(conn, ctx, row)
    if announce and (amount or customer.currency is None):
        _announce(conn, ctx, customer, ending, currency, created)
    ctx.touch(row["id"])
    return SimpleNamespace(**row)


def posting_rules(ctx: CallContext) -> Mapping[str, PostingRule]:
    """The posting rules of the call's plugins; without a manager only the built-ins exist."""
    if ctx.pm is None:
        return {rule.name: rule for rule in BUILTIN_RULES}
    return rules_from(ctx.pm)


def _post(conn: sa.Connection, ctx: CallContext, row: Mapping[str, Any]) -> None:
    payload = {
        "id": row["id"],
        "customer": row["customer"],
        "currency": row["currency"],
        "effective_at": row["created"],
        # The rule credits the customer's credit balance: a negative balance change.
        "credit": -row["amount"],
    }
    post_by_rule(conn, ctx, posting_rules(ctx), ADJUSTED_RULE, payload)


def _announce(
    conn: sa.Connection, ctx: CallContext, customer: Any, ending: int, currency: str, at: int
) -> None:
    from remit.billing import customers as customer_service  # customers adjust through us

    after = customer_service.render(
        SimpleNamespace(**{**customer._asdict(), "balance": ending, "currency": currency})
    )
    before = customer_service.render(customer)
    changed = events.previous_attributes(before, after)
    events.emit(conn, ctx, "customer.updated", after, previous_attributes=changed, created=at)


def create(
    conn: sa.Connection, ctx: CallContext, customer_id: str, params: dict[str, Any]
) -> dict[str, Any]:
    if params["amount"] == 0:
        raise invalid_parameter("amount", "The amount of a balance transaction must not be 0.")
    metadata = params["metadata"].apply({}) if "metadata" in params else {}
    row = adjust(
        conn, ctx, customer_id, params["amount"], params["currency"], "adjustment",
        description=params.get("description") or None, metadata=metadata,
    )  # fmt: skip
    return render(row)


def update(
    conn: sa.Connection, ctx: CallContext, customer_id: str, txn_id: str, params: dict[str, Any]
) -> dict[str, Any]:
    """Only the description and metadata of a transaction change: its money never does."""
    row = load(conn, ctx.account_id, customer_id, txn_id)
    values: dict[str, Any] = {}
    if "description" in params:
        values["description"] = params["description"] or None
    if "metadata" in params:
        values["metadata"] = params["metadata"].apply(dict(row.metadata or {}))
    if values:
        conn.execute(transactions.update().where(transactions.c.id == row.id).values(**values))
    ctx.touch(row.id)
    return render(SimpleNamespace(**{**row._asdict(), **values}))


def require_customer(conn: sa.Connection, account_id: str, customer_id: str) -> None:
    found = conn.execute(
        sa.select(customers.c.deleted).where(
            customers.c.account_id == account_id, customers.c.id == customer_id
        )
    ).first()
    if found is None or found.deleted:
        raise ResourceMissing("customer", customer_id, param="customer")
