"""Customer balance transactions: every change of ``customers.balance``, with its cause.

A negative balance is credit the customer holds; a positive one is owed and is added to
the next invoice (Stripe's sign convention).
"""

import sqlalchemy as sa

from remit.store.schema import account_column, id_column, id_type, metadata, ts_column

customer_balance_transactions = sa.Table(
    "customer_balance_transactions",
    metadata,
    id_column(),
    account_column(),
    sa.Column("customer", id_type(), nullable=False),
    ts_column("created"),
    sa.Column("amount", sa.BigInteger, nullable=False),
    sa.Column("currency", sa.String(3), nullable=False),
    sa.Column("ending_balance", sa.BigInteger, nullable=False),
    # adjustment, applied_to_invoice, credit_note, initial, invoice_overpaid,
    # invoice_too_large, invoice_too_small, unapplied_from_invoice, ...
    sa.Column("type", sa.String(40), nullable=False),
    sa.Column("description", sa.String(350), nullable=True),
    sa.Column("invoice", id_type(), nullable=True),
    sa.Column("credit_note", id_type(), nullable=True),
    sa.Column("metadata", sa.JSON, nullable=True),
    sa.Index(None, "account_id", "customer", "id"),
)
