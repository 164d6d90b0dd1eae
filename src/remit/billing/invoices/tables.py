"""Invoices, their lines, and invoice items (pending until swept into an invoice).

Every amount is an integer in minor units. Totals are stored as computed (and
re-derived from the lines when read back in tests and by verify); each line keeps
its derivation in ``explain`` so ``remit invoice explain`` can rebuild the tree.
"""

import sqlalchemy as sa

from remit.store.schema import account_column, id_column, id_type, metadata, ts_column

invoices = sa.Table(
    "invoices",
    metadata,
    id_column(),
    account_column(),
    sa.Column("customer", id_type(), nullable=False),
    sa.Column("subscription", id_type(), nullable=True),
    sa.Column("test_clock", id_type(), nullable=True),
    # draft, open, paid, uncollectible, void
    sa.Column("status", sa.String(15), nullable=False),
    # manual, subscription_create, subscription_cycle, subscription_update, upcoming, ...
    sa.Column("billing_reason", sa.String(40), nullable=False),
    sa.Column("collection_method", sa.String(25), nullable=False),
    sa.Column("currency", sa.String(3), nullable=False),
    ts_column("created"),
    ts_column("period_start"),
    ts_column("period_end"),
    ts_column("due_date", nullable=True),
    sa.Column("days_until_due", sa.Integer, nullable=True),
    sa.Column("number", sa.String(40), nullable=True),
    sa.Column("auto_advance", sa.Boolean, nullable=False),
    ts_column("automatically_finalizes_at", nullable=True),
    ts_column("effective_at", nullable=True),
    ts_column("finalized_at", nullable=True),
    ts_column("paid_at", nullable=True),
    ts_column("voided_at", nullable=True),
    ts_column("marked_uncollectible_at", nullable=True),
    sa.Column("paid_out_of_band", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("subtotal", sa.BigInteger, nullable=False),
    sa.Column("subtotal_excluding_tax", sa.BigInteger, nullable=False),
    sa.Column("total", sa.BigInteger, nullable=False),
    sa.Column("total_excluding_tax", sa.BigInteger, nullable=False),
    # [{"amount", "discount"}]
    sa.Column("total_discount_amounts", sa.JSON, nullable=False),
    # [{"amount", "tax_rate", "taxable_amount", "inclusive", "jurisdiction"}]
    sa.Column("total_taxes", sa.JSON, nullable=False),
    sa.Column("starting_balance", sa.BigInteger, nullable=False),
    sa.Column("ending_balance", sa.BigInteger, nullable=True),
    sa.Column("amount_due", sa.BigInteger, nullable=False),
    sa.Column("amount_paid", sa.BigInteger, nullable=False),
    sa.Column("amount_remaining", sa.BigInteger, nullable=False),
    sa.Column("pre_payment_credit_notes_amount", sa.BigInteger, nullable=False),
    sa.Column("post_payment_credit_notes_amount", sa.BigInteger, nullable=False),
    sa.Column("attempt_count", sa.Integer, nullable=False, server_default="0"),
    sa.Column("default_tax_rates", sa.JSON, nullable=False),  # ["txr_..."]
    sa.Column("discounts", sa.JSON, nullable=False),  # ["di_..."]
    sa.Column("description", sa.String(1500), nullable=True),
    sa.Column("footer", sa.String(5000), nullable=True),
    sa.Column("metadata", sa.JSON, nullable=False),
    # The customer as it was when the invoice was finalized (email, name, address, ...).
    sa.Column("customer_details", sa.JSON, nullable=False),
    # Why the clock could not finalize this draft ({type, code, message, param}); null if it could.
    sa.Column("last_finalization_error", sa.JSON, nullable=True),
    # "sub_...:<period_start>" for a subscription's cycle invoice: a bill run rerun after a
    # crash finds it taken and creates nothing twice.
    sa.Column("cycle_key", sa.String(80), nullable=True),
    sa.Index(None, "account_id", "id"),
    sa.Index(None, "account_id", "customer", "id"),
    sa.Index(None, "account_id", "subscription", "id"),
    sa.Index(None, "status", "automatically_finalizes_at"),
    # Open invoices past their due date, for the scheduler (send_invoice subscriptions).
    sa.Index(None, "status", "due_date"),
    sa.UniqueConstraint("account_id", "cycle_key"),
)

invoice_lines = sa.Table(
    "invoice_lines",
    metadata,
    id_column(),
    account_column(),
    sa.Column("invoice", id_type(), nullable=False),
    sa.Column("position", sa.Integer, nullable=False),
    sa.Column("currency", sa.String(3), nullable=False),
    sa.Column("amount", sa.BigInteger, nullable=False),
    sa.Column("description", sa.String(500), nullable=True),
    sa.Column("quantity", sa.BigInteger, nullable=True),
    sa.Column("price", id_type(), nullable=True),
    # The price's product: a coupon's applies_to names products, and totals are re-derived.
    sa.Column("product", id_type(), nullable=True),
    sa.Column("unit_amount_decimal", sa.String(40), nullable=True),
    ts_column("period_start"),
    ts_column("period_end"),
    sa.Column("proration", sa.Boolean, nullable=False),
    sa.Column("discountable", sa.Boolean, nullable=False),
    sa.Column("discounts", sa.JSON, nullable=False),  # ["di_..."] applied to this line only
    sa.Column("discount_amounts", sa.JSON, nullable=False),  # [{"amount", "discount"}]
    sa.Column("tax_rates", sa.JSON, nullable=False),  # ["txr_..."]
    sa.Column("taxes", sa.JSON, nullable=False),  # as invoices.total_taxes, for this line
    # subscription_item_details or invoice_item_details
    sa.Column("parent_type", sa.String(30), nullable=False),
    sa.Column("invoice_item", id_type(), nullable=True),
    sa.Column("subscription", id_type(), nullable=True),
    sa.Column("subscription_item", id_type(), nullable=True),
    sa.Column("metadata", sa.JSON, nullable=False),
    sa.Column("explain", sa.JSON, nullable=False),
    sa.Index(None, "account_id", "invoice", "position"),
)

invoice_items = sa.Table(
    "invoice_items",
    metadata,
    id_column(),
    account_column(),
    sa.Column("customer", id_type(), nullable=False),
    sa.Column("invoice", id_type(), nullable=True),  # null while pending
    sa.Column("subscription", id_type(), nullable=True),
    sa.Column("subscription_item", id_type(), nullable=True),
    sa.Column("test_clock", id_type(), nullable=True),
    sa.Column("currency", sa.String(3), nullable=False),
    sa.Column("amount", sa.BigInteger, nullable=False),
    sa.Column("quantity", sa.BigInteger, nullable=False),
    sa.Column("price", id_type(), nullable=True),
    sa.Column("unit_amount_decimal", sa.String(40), nullable=True),
    sa.Column("description", sa.String(500), nullable=True),
    ts_column("date"),
    ts_column("period_start"),
    ts_column("period_end"),
    sa.Column("proration", sa.Boolean, nullable=False),
    sa.Column("discountable", sa.Boolean, nullable=False),
    sa.Column("discounts", sa.JSON, nullable=False),
    sa.Column("tax_rates", sa.JSON, nullable=False),
    sa.Column("metadata", sa.JSON, nullable=False),
    # How the amount was derived (a proration's window and fraction, the price rated).
    sa.Column("explain", sa.JSON, nullable=False),
    sa.Column("deleted", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Index(None, "account_id", "id"),
    sa.Index(None, "account_id", "customer", "invoice"),
)
