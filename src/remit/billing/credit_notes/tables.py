"""Credit notes and their lines."""

import sqlalchemy as sa

from remit.store.schema import account_column, id_column, id_type, metadata, ts_column

credit_notes = sa.Table(
    "credit_notes",
    metadata,
    id_column(),
    account_column(),
    sa.Column("invoice", id_type(), nullable=False),
    sa.Column("customer", id_type(), nullable=False),
    sa.Column("currency", sa.String(3), nullable=False),
    sa.Column("number", sa.String(60), nullable=False),
    sa.Column("status", sa.String(10), nullable=False),  # issued, void
    sa.Column("type", sa.String(15), nullable=False),  # pre_payment, post_payment, mixed
    ts_column("created"),
    ts_column("effective_at"),
    ts_column("voided_at", nullable=True),
    sa.Column("amount", sa.BigInteger, nullable=False),
    sa.Column("subtotal", sa.BigInteger, nullable=False),
    sa.Column("subtotal_excluding_tax", sa.BigInteger, nullable=False),
    sa.Column("total", sa.BigInteger, nullable=False),
    sa.Column("total_excluding_tax", sa.BigInteger, nullable=False),
    sa.Column("discount_amount", sa.BigInteger, nullable=False),
    sa.Column("discount_amounts", sa.JSON, nullable=False),
    sa.Column("total_taxes", sa.JSON, nullable=False),
    sa.Column("pre_payment_amount", sa.BigInteger, nullable=False),
    sa.Column("post_payment_amount", sa.BigInteger, nullable=False),
    sa.Column("credit_amount", sa.BigInteger, nullable=False),  # to the customer balance
    sa.Column("out_of_band_amount", sa.BigInteger, nullable=True),
    sa.Column("refund_amount", sa.BigInteger, nullable=False),
    # duplicate, fraudulent, order_change, product_unsatisfactory
    sa.Column("reason", sa.String(30), nullable=True),
    sa.Column("memo", sa.String(5000), nullable=True),
    sa.Column("customer_balance_transaction", id_type(), nullable=True),
    sa.Column("metadata", sa.JSON, nullable=False),
    sa.Index(None, "account_id", "id"),
    sa.Index(None, "account_id", "invoice", "id"),
)

credit_note_lines = sa.Table(
    "credit_note_lines",
    metadata,
    id_column(),
    account_column(),
    sa.Column("credit_note", id_type(), nullable=False),
    sa.Column("position", sa.Integer, nullable=False),
    sa.Column("type", sa.String(20), nullable=False),  # invoice_line_item, custom_line_item
    sa.Column("invoice_line_item", id_type(), nullable=True),
    sa.Column("amount", sa.BigInteger, nullable=False),
    sa.Column("description", sa.String(500), nullable=True),
    sa.Column("quantity", sa.BigInteger, nullable=True),
    sa.Column("unit_amount_decimal", sa.String(40), nullable=True),
    sa.Column("discount_amount", sa.BigInteger, nullable=False),
    sa.Column("discount_amounts", sa.JSON, nullable=False),
    sa.Column("tax_rates", sa.JSON, nullable=False),
    sa.Column("taxes", sa.JSON, nullable=False),
    sa.Column("metadata", sa.JSON, nullable=True),
    sa.Index(None, "account_id", "credit_note", "position"),
)
