"""credit notes: credit notes and their lines

Revision ID: 0010
Revises: 0009
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "credit_notes",
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
        sa.Column(
            "customer",
            sa.String(length=40).with_variant(sa.VARCHAR(length=40, collation="C"), "postgresql"),
            nullable=False,
        ),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("number", sa.String(length=60), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("type", sa.String(length=15), nullable=False),
        sa.Column("created", sa.BigInteger(), nullable=False),
        sa.Column("effective_at", sa.BigInteger(), nullable=False),
        sa.Column("voided_at", sa.BigInteger(), nullable=True),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("subtotal", sa.BigInteger(), nullable=False),
        sa.Column("subtotal_excluding_tax", sa.BigInteger(), nullable=False),
        sa.Column("total", sa.BigInteger(), nullable=False),
        sa.Column("total_excluding_tax", sa.BigInteger(), nullable=False),
        sa.Column("discount_amount", sa.BigInteger(), nullable=False),
        sa.Column("discount_amounts", sa.JSON(), nullable=False),
        sa.Column("total_taxes", sa.JSON(), nullable=False),
        sa.Column("pre_payment_amount", sa.BigInteger(), nullable=False),
        sa.Column("post_payment_amount", sa.BigInteger(), nullable=False),
        sa.Column("credit_amount", sa.BigInteger(), nullable=False),
        sa.Column("out_of_band_amount", sa.BigInteger(), nullable=True),
        sa.Column("refund_amount", sa.BigInteger(), nullable=False),
        sa.Column("reason", sa.String(length=30), nullable=True),
        sa.Column("memo", sa.String(length=5000), nullable=True),
        sa.Column(
            "customer_balance_transaction",
            sa.String(length=40).with_variant(sa.VARCHAR(length=40, collation="C"), "postgresql"),
            nullable=True,
        ),
        sa.Column("metadata", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_credit_notes")),
    )
    with op.batch_alter_table("credit_notes", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_credit_notes_account_id_id"), ["account_id", "id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_credit_notes_account_id_invoice_id"),
            ["account_id", "invoice", "id"],
            unique=False,
        )

    op.create_table(
        "credit_note_lines",
        sa.Column(
            "id",
            sa.String(length=40).with_variant(sa.VARCHAR(length=40, collation="C"), "postgresql"),
            nullable=False,
        ),
        sa.Column("account_id", sa.String(length=40), nullable=False),
        sa.Column(
            "credit_note",
            sa.String(length=40).with_variant(sa.VARCHAR(length=40, collation="C"), "postgresql"),
            nullable=False,
        ),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("type", sa.String(length=20), nullable=False),
        sa.Column(
            "invoice_line_item",
            sa.String(length=40).with_variant(sa.VARCHAR(length=40, collation="C"), "postgresql"),
            nullable=True,
        ),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("description", sa.String(length=500), nullable=True),
        sa.Column("quantity", sa.BigInteger(), nullable=True),
        sa.Column("unit_amount_decimal", sa.String(length=40), nullable=True),
        sa.Column("discount_amount", sa.BigInteger(), nullable=False),
        sa.Column("discount_amounts", sa.JSON(), nullable=False),
        sa.Column("tax_rates", sa.JSON(), nullable=False),
        sa.Column("taxes", sa.JSON(), nullable=False),
        sa.Column("metadata", sa.JSON(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_credit_note_lines")),
    )
    with op.batch_alter_table("credit_note_lines", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_credit_note_lines_account_id_credit_note_position"),
            ["account_id", "credit_note", "position"],
            unique=False,
        )


def downgrade() -> None:
    with op.batch_alter_table("credit_note_lines", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_credit_note_lines_account_id_credit_note_position"))

    op.drop_table("credit_note_lines")
    with op.batch_alter_table("credit_notes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_credit_notes_account_id_invoice_id"))
        batch_op.drop_index(batch_op.f("ix_credit_notes_account_id_id"))

    op.drop_table("credit_notes")
