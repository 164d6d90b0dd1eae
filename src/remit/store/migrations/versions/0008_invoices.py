"""invoices: invoices, their lines, invoice items

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "invoices",
        sa.Column(
            "id",
            sa.String(length=40).with_variant(sa.VARCHAR(length=40, collation="C"), "postgresql"),
            nullable=False,
        ),
        sa.Column("account_id", sa.String(length=40), nullable=False),
        sa.Column(
            "customer",
            sa.String(length=40).with_variant(sa.VARCHAR(length=40, collation="C"), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "subscription",
            sa.String(length=40).with_variant(sa.VARCHAR(length=40, collation="C"), "postgresql"),
            nullable=True,
        ),
        sa.Column(
            "test_clock",
            sa.String(length=40).with_variant(sa.VARCHAR(length=40, collation="C"), "postgresql"),
            nullable=True,
        ),
        sa.Column("status", sa.String(length=15), nullable=False),
        sa.Column("billing_reason", sa.String(length=40), nullable=False),
        sa.Column("collection_method", sa.String(length=25), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("created", sa.BigInteger(), nullable=False),
        sa.Column("period_start", sa.BigInteger(), nullable=False),
        sa.Column("period_end", sa.BigInteger(), nullable=False),
        sa.Column("due_date", sa.BigInteger(), nullable=True),
        sa.Column("days_until_due", sa.Integer(), nullable=True),
        sa.Column("number", sa.String(length=40), nullable=True),
        sa.Column("auto_advance", sa.Boolean(), nullable=False),
        sa.Column("automatically_finalizes_at", sa.BigInteger(), nullable=True),
        sa.Column("effective_at", sa.BigInteger(), nullable=True),
        sa.Column("finalized_at", sa.BigInteger(), nullable=True),
        sa.Column("paid_at", sa.BigInteger(), nullable=True),
        sa.Column("voided_at", sa.BigInteger(), nullable=True),
        sa.Column("marked_uncollectible_at", sa.BigInteger(), nullable=True),
        sa.Column("paid_out_of_band", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("subtotal", sa.BigInteger(), nullable=False),
        sa.Column("subtotal_excluding_tax", sa.BigInteger(), nullable=False),
        sa.Column("total", sa.BigInteger(), nullable=False),
        sa.Column("total_excluding_tax", sa.BigInteger(), nullable=False),
        sa.Column("total_discount_amounts", sa.JSON(), nullable=False),
        sa.Column("total_taxes", sa.JSON(), nullable=False),
        sa.Column("starting_balance", sa.BigInteger(), nullable=False),
        sa.Column("ending_balance", sa.BigInteger(), nullable=True),
        sa.Column("amount_due", sa.BigInteger(), nullable=False),
        sa.Column("amount_paid", sa.BigInteger(), nullable=False),
        sa.Column("amount_remaining", sa.BigInteger(), nullable=False),
        sa.Column("pre_payment_credit_notes_amount", sa.BigInteger(), nullable=False),
        sa.Column("post_payment_credit_notes_amount", sa.BigInteger(), nullable=False),
        sa.Column("attempt_count", sa.Integer(), server_default="0", nullable=False),
        sa.Column("default_tax_rates", sa.JSON(), nullable=False),
        sa.Column("discounts", sa.JSON(), nullable=False),
        sa.Column("description", sa.String(length=1500), nullable=True),
        sa.Column("footer", sa.String(length=5000), nullable=True),
        sa.Column("metadata", sa.JSON(), nullable=False),
        sa.Column("customer_details", sa.JSON(), nullable=False),
        sa.Column("last_finalization_error", sa.JSON(), nullable=True),
        sa.Column("cycle_key", sa.String(length=80), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_invoices")),
        sa.UniqueConstraint(
            "account_id", "cycle_key", name=op.f("uq_invoices_account_id_cycle_key")
        ),
    )
    with op.batch_alter_table("invoices", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_invoices_account_id_customer_id"),
            ["account_id", "customer", "id"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_invoices_account_id_id"), ["account_id", "id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_invoices_account_id_subscription_id"),
            ["account_id", "subscription", "id"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_invoices_status_automatically_finalizes_at"),
            ["status", "automatically_finalizes_at"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_invoices_status_due_date"), ["status", "due_date"], unique=False
        )

    op.create_table(
        "invoice_lines",
        sa.Column(
            "id",
            sa.String(length=40).with_variant(sa.VARCHAR(length=40, collation="C"), "postgresql"),
            nullable=False,
        ),
        sa.Column("account_id", sa.String(length=40), nullable=False),
        sa.Column(
            "invoice",
            sa.String(length=40).with_variant(sa.VARCHAR(length=40, collation="C"), "postgresql"),
            nullable=False,
        ),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("description", sa.String(length=500), nullable=True),
        sa.Column("quantity", sa.BigInteger(), nullable=True),
        sa.Column(
            "price",
            sa.String(length=40).with_variant(sa.VARCHAR(length=40, collation="C"), "postgresql"),
            nullable=True,
        ),
        sa.Column(
            "product",
            sa.String(length=40).with_variant(sa.VARCHAR(length=40, collation="C"), "postgresql"),
            nullable=True,
        ),
        sa.Column("unit_amount_decimal", sa.String(length=40), nullable=True),
        sa.Column("period_start", sa.BigInteger(), nullable=False),
        sa.Column("period_end", sa.BigInteger(), nullable=False),
        sa.Column("proration", sa.Boolean(), nullable=False),
        sa.Column("discountable", sa.Boolean(), nullable=False),
        sa.Column("discounts", sa.JSON(), nullable=False),
        sa.Column("discount_amounts", sa.JSON(), nullable=False),
        sa.Column("tax_rates", sa.JSON(), nullable=False),
        sa.Column("taxes", sa.JSON(), nullable=False),
        sa.Column("parent_type", sa.String(length=30), nullable=False),
        sa.Column(
            "invoice_item",
            sa.String(length=40).with_variant(sa.VARCHAR(length=40, collation="C"), "postgresql"),
            nullable=True,
        ),
        sa.Column(
            "subscription",
            sa.String(length=40).with_variant(sa.VARCHAR(length=40, collation="C"), "postgresql"),
            nullable=True,
        ),
        sa.Column(
            "subscription_item",
            sa.String(length=40).with_variant(sa.VARCHAR(length=40, collation="C"), "postgresql"),
            nullable=True,
        ),
        sa.Column("metadata", sa.JSON(), nullable=False),
        sa.Column("explain", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_invoice_lines")),
    )
    with op.batch_alter_table("invoice_lines", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_invoice_lines_account_id_invoice_position"),
            ["account_id", "invoice", "position"],
            unique=False,
        )

    op.create_table(
        "invoice_items",
        sa.Column(
            "id",
            sa.String(length=40).with_variant(sa.VARCHAR(length=40, collation="C"), "postgresql"),
            nullable=False,
        ),
        sa.Column("account_id", sa.String(length=40), nullable=False),
        sa.Column(
            "customer",
            sa.String(length=40).with_variant(sa.VARCHAR(length=40, collation="C"), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "invoice",
            sa.String(length=40).with_variant(sa.VARCHAR(length=40, collation="C"), "postgresql"),
            nullable=True,
        ),
        sa.Column(
            "subscription",
            sa.String(length=40).with_variant(sa.VARCHAR(length=40, collation="C"), "postgresql"),
            nullable=True,
        ),
        sa.Column(
            "subscription_item",
            sa.String(length=40).with_variant(sa.VARCHAR(length=40, collation="C"), "postgresql"),
            nullable=True,
        ),
        sa.Column(
            "test_clock",
            sa.String(length=40).with_variant(sa.VARCHAR(length=40, collation="C"), "postgresql"),
            nullable=True,
        ),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("quantity", sa.BigInteger(), nullable=False),
        sa.Column(
            "price",
            sa.String(length=40).with_variant(sa.VARCHAR(length=40, collation="C"), "postgresql"),
            nullable=True,
        ),
        sa.Column("unit_amount_decimal", sa.String(length=40), nullable=True),
        sa.Column("description", sa.String(length=500), nullable=True),
        sa.Column("date", sa.BigInteger(), nullable=False),
        sa.Column("period_start", sa.BigInteger(), nullable=False),
        sa.Column("period_end", sa.BigInteger(), nullable=False),
        sa.Column("proration", sa.Boolean(), nullable=False),
        sa.Column("discountable", sa.Boolean(), nullable=False),
        sa.Column("discounts", sa.JSON(), nullable=False),
        sa.Column("tax_rates", sa.JSON(), nullable=False),
        sa.Column("metadata", sa.JSON(), nullable=False),
        sa.Column("explain", sa.JSON(), nullable=False),
        sa.Column("deleted", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_invoice_items")),
    )
    with op.batch_alter_table("invoice_items", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_invoice_items_account_id_customer_invoice"),
            ["account_id", "customer", "invoice"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_invoice_items_account_id_id"), ["account_id", "id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("invoice_items", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_invoice_items_account_id_id"))
        batch_op.drop_index(batch_op.f("ix_invoice_items_account_id_customer_invoice"))

    op.drop_table("invoice_items")
    with op.batch_alter_table("invoice_lines", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_invoice_lines_account_id_invoice_position"))

    op.drop_table("invoice_lines")
    with op.batch_alter_table("invoices", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_invoices_status_due_date"))
        batch_op.drop_index(batch_op.f("ix_invoices_status_automatically_finalizes_at"))
        batch_op.drop_index(batch_op.f("ix_invoices_account_id_subscription_id"))
        batch_op.drop_index(batch_op.f("ix_invoices_account_id_id"))
        batch_op.drop_index(batch_op.f("ix_invoices_account_id_customer_id"))

    op.drop_table("invoices")
