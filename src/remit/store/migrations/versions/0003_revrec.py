"""revenue recognition: booked invoices, obligations, recognitions, adjustments, progress

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "revrec_adjustments",
        sa.Column("account_id", sa.String(length=40), nullable=False),
        sa.Column(
            "obligation_id",
            sa.String(length=40).with_variant(sa.VARCHAR(length=40, collation="C"), "postgresql"),
            nullable=False,
        ),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("source_id", sa.String(length=120), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("invoice_id", sa.String(length=120), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("effective_at", sa.BigInteger(), nullable=False),
        sa.Column("share", sa.BigInteger(), nullable=False),
        sa.Column("contra", sa.BigInteger(), nullable=False),
        sa.Column("release", sa.BigInteger(), nullable=False),
        sa.Column("segment_start_day", sa.Integer(), nullable=False),
        sa.Column("segment_anchor", sa.BigInteger(), nullable=False),
        sa.Column("segment_total", sa.BigInteger(), nullable=False),
        sa.Column(
            "entry_id",
            sa.String(length=40).with_variant(sa.VARCHAR(length=40, collation="C"), "postgresql"),
            nullable=False,
        ),
        sa.Column("created", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("obligation_id", "seq", name=op.f("pk_revrec_adjustments")),
        sa.UniqueConstraint(
            "account_id",
            "source_id",
            "obligation_id",
            name=op.f("uq_revrec_adjustments_account_id_source_id_obligation_id"),
        ),
    )
    op.create_table(
        "revrec_invoice_taxes",
        sa.Column("account_id", sa.String(length=40), nullable=False),
        sa.Column("invoice_id", sa.String(length=120), nullable=False),
        sa.Column("jurisdiction", sa.String(length=40), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("reduced", sa.BigInteger(), server_default="0", nullable=False),
        sa.PrimaryKeyConstraint(
            "account_id", "invoice_id", "jurisdiction", name=op.f("pk_revrec_invoice_taxes")
        ),
    )
    op.create_table(
        "revrec_invoices",
        sa.Column("account_id", sa.String(length=40), nullable=False),
        sa.Column("invoice_id", sa.String(length=120), nullable=False),
        sa.Column("customer_id", sa.String(length=120), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("booked_at", sa.BigInteger(), nullable=False),
        sa.Column("amount_due", sa.BigInteger(), nullable=False),
        sa.Column("credit_applied", sa.BigInteger(), nullable=False),
        sa.Column("revenue", sa.BigInteger(), nullable=False),
        sa.Column("reduced", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column(
            "entry_id",
            sa.String(length=40).with_variant(sa.VARCHAR(length=40, collation="C"), "postgresql"),
            nullable=True,
        ),
        sa.Column(
            "void_entry_id",
            sa.String(length=40).with_variant(sa.VARCHAR(length=40, collation="C"), "postgresql"),
            nullable=True,
        ),
        sa.Column("voided_at", sa.BigInteger(), nullable=True),
        sa.Column("created", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("account_id", "invoice_id", name=op.f("pk_revrec_invoices")),
    )
    op.create_table(
        "revrec_obligations",
        sa.Column(
            "id",
            sa.String(length=40).with_variant(sa.VARCHAR(length=40, collation="C"), "postgresql"),
            nullable=False,
        ),
        sa.Column("account_id", sa.String(length=40), nullable=False),
        sa.Column("source_id", sa.String(length=120), nullable=False),
        sa.Column("invoice_id", sa.String(length=120), nullable=False),
        sa.Column("customer_id", sa.String(length=120), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("booked_at", sa.BigInteger(), nullable=False),
        sa.Column("period_start", sa.BigInteger(), nullable=True),
        sa.Column("period_end", sa.BigInteger(), nullable=True),
        sa.Column("start_day", sa.Integer(), nullable=False),
        sa.Column("end_day", sa.Integer(), nullable=False),
        sa.Column("deferred", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("recognized", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("contra", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("released", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("adjustments", sa.Integer(), server_default="0", nullable=False),
        sa.Column("created", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_revrec_obligations")),
        sa.UniqueConstraint(
            "account_id",
            "invoice_id",
            "source_id",
            name=op.f("uq_revrec_obligations_account_id_invoice_id_source_id"),
        ),
    )
    with op.batch_alter_table("revrec_obligations", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_revrec_obligations_account_id_status_start_day"),
            ["account_id", "status", "start_day"],
            unique=False,
        )

    op.create_table(
        "revrec_progress",
        sa.Column("account_id", sa.String(length=40), nullable=False),
        sa.Column("through_day", sa.Integer(), nullable=True),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("account_id", name=op.f("pk_revrec_progress")),
    )
    op.create_table(
        "revrec_recognitions",
        sa.Column("account_id", sa.String(length=40), nullable=False),
        sa.Column(
            "obligation_id",
            sa.String(length=40).with_variant(sa.VARCHAR(length=40, collation="C"), "postgresql"),
            nullable=False,
        ),
        sa.Column("invoice_id", sa.String(length=120), nullable=False),
        sa.Column("booked_at", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("day", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column(
            "entry_id",
            sa.String(length=40).with_variant(sa.VARCHAR(length=40, collation="C"), "postgresql"),
            nullable=True,
        ),
        sa.Column("created", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint(
            "obligation_id", "kind", "day", name=op.f("pk_revrec_recognitions")
        ),
    )
    with op.batch_alter_table("revrec_recognitions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_revrec_recognitions_account_id_day"), ["account_id", "day"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("revrec_recognitions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_revrec_recognitions_account_id_day"))

    op.drop_table("revrec_recognitions")
    op.drop_table("revrec_progress")
    with op.batch_alter_table("revrec_obligations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_revrec_obligations_account_id_status_start_day"))

    op.drop_table("revrec_obligations")
    op.drop_table("revrec_invoices")
    op.drop_table("revrec_invoice_taxes")
    op.drop_table("revrec_adjustments")
