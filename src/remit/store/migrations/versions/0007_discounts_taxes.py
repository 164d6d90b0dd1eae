"""discounts taxes: coupons, promotion codes, discounts, tax rates, customer balance transactions

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "coupons",
        sa.Column("account_id", sa.String(length=40), nullable=False),
        sa.Column(
            "id",
            sa.String(length=40).with_variant(sa.VARCHAR(length=40, collation="C"), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "list_key",
            sa.String(length=40).with_variant(sa.VARCHAR(length=40, collation="C"), "postgresql"),
            nullable=False,
        ),
        sa.Column("created", sa.BigInteger(), nullable=False),
        sa.Column("name", sa.String(length=40), nullable=True),
        sa.Column("percent_off", sa.String(length=40), nullable=True),
        sa.Column("amount_off", sa.BigInteger(), nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=True),
        sa.Column("currency_options", sa.JSON(), nullable=False),
        sa.Column("duration", sa.String(length=10), nullable=False),
        sa.Column("duration_in_months", sa.Integer(), nullable=True),
        sa.Column("max_redemptions", sa.Integer(), nullable=True),
        sa.Column("redeem_by", sa.BigInteger(), nullable=True),
        sa.Column("times_redeemed", sa.Integer(), server_default="0", nullable=False),
        sa.Column("applies_to", sa.JSON(), nullable=True),
        sa.Column("metadata", sa.JSON(), nullable=False),
        sa.Column("deleted", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.PrimaryKeyConstraint("account_id", "id", name=op.f("pk_coupons")),
        sa.UniqueConstraint("account_id", "list_key", name=op.f("uq_coupons_account_id_list_key")),
    )
    op.create_table(
        "promotion_codes",
        sa.Column(
            "id",
            sa.String(length=40).with_variant(sa.VARCHAR(length=40, collation="C"), "postgresql"),
            nullable=False,
        ),
        sa.Column("account_id", sa.String(length=40), nullable=False),
        sa.Column("created", sa.BigInteger(), nullable=False),
        sa.Column("code", sa.String(length=500), nullable=False),
        sa.Column(
            "coupon",
            sa.String(length=40).with_variant(sa.VARCHAR(length=40, collation="C"), "postgresql"),
            nullable=False,
        ),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column(
            "customer",
            sa.String(length=40).with_variant(sa.VARCHAR(length=40, collation="C"), "postgresql"),
            nullable=True,
        ),
        sa.Column("expires_at", sa.BigInteger(), nullable=True),
        sa.Column("max_redemptions", sa.Integer(), nullable=True),
        sa.Column("times_redeemed", sa.Integer(), server_default="0", nullable=False),
        sa.Column("restrictions", sa.JSON(), nullable=False),
        sa.Column("metadata", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id", "coupon"],
            ["coupons.account_id", "coupons.id"],
            name=op.f("fk_promotion_codes_account_id_coupons"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_promotion_codes")),
    )
    with op.batch_alter_table("promotion_codes", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_promotion_codes_account_id_code"), ["account_id", "code"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_promotion_codes_account_id_id"), ["account_id", "id"], unique=False
        )

    op.create_table(
        "discounts",
        sa.Column(
            "id",
            sa.String(length=40).with_variant(sa.VARCHAR(length=40, collation="C"), "postgresql"),
            nullable=False,
        ),
        sa.Column("account_id", sa.String(length=40), nullable=False),
        sa.Column(
            "coupon",
            sa.String(length=40).with_variant(sa.VARCHAR(length=40, collation="C"), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "promotion_code",
            sa.String(length=40).with_variant(sa.VARCHAR(length=40, collation="C"), "postgresql"),
            nullable=True,
        ),
        sa.Column(
            "customer",
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
            "invoice",
            sa.String(length=40).with_variant(sa.VARCHAR(length=40, collation="C"), "postgresql"),
            nullable=True,
        ),
        sa.Column(
            "invoice_item",
            sa.String(length=40).with_variant(sa.VARCHAR(length=40, collation="C"), "postgresql"),
            nullable=True,
        ),
        sa.Column("start", sa.BigInteger(), nullable=False),
        sa.Column("end", sa.BigInteger(), nullable=True),
        sa.Column("spent", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("deleted", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id", "coupon"],
            ["coupons.account_id", "coupons.id"],
            name=op.f("fk_discounts_account_id_coupons"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_discounts")),
    )
    with op.batch_alter_table("discounts", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_discounts_account_id_customer"), ["account_id", "customer"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_discounts_account_id_id"), ["account_id", "id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_discounts_account_id_subscription"),
            ["account_id", "subscription"],
            unique=False,
        )

    op.create_table(
        "tax_rates",
        sa.Column(
            "id",
            sa.String(length=40).with_variant(sa.VARCHAR(length=40, collation="C"), "postgresql"),
            nullable=False,
        ),
        sa.Column("account_id", sa.String(length=40), nullable=False),
        sa.Column("created", sa.BigInteger(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("country", sa.String(length=2), nullable=True),
        sa.Column("description", sa.String(length=500), nullable=True),
        sa.Column("display_name", sa.String(length=50), nullable=False),
        sa.Column("inclusive", sa.Boolean(), nullable=False),
        sa.Column("jurisdiction", sa.String(length=200), nullable=True),
        sa.Column("percentage", sa.String(length=40), nullable=False),
        sa.Column("state", sa.String(length=3), nullable=True),
        sa.Column("tax_type", sa.String(length=30), nullable=True),
        sa.Column("metadata", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tax_rates")),
    )
    with op.batch_alter_table("tax_rates", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_tax_rates_account_id_id"), ["account_id", "id"], unique=False
        )

    op.create_table(
        "customer_balance_transactions",
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
        sa.Column("created", sa.BigInteger(), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("ending_balance", sa.BigInteger(), nullable=False),
        sa.Column("type", sa.String(length=40), nullable=False),
        sa.Column("description", sa.String(length=350), nullable=True),
        sa.Column(
            "invoice",
            sa.String(length=40).with_variant(sa.VARCHAR(length=40, collation="C"), "postgresql"),
            nullable=True,
        ),
        sa.Column(
            "credit_note",
            sa.String(length=40).with_variant(sa.VARCHAR(length=40, collation="C"), "postgresql"),
            nullable=True,
        ),
        sa.Column("metadata", sa.JSON(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_customer_balance_transactions")),
    )
    with op.batch_alter_table("customer_balance_transactions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_customer_balance_transactions_account_id_customer_id"),
            ["account_id", "customer", "id"],
            unique=False,
        )


def downgrade() -> None:
    with op.batch_alter_table("customer_balance_transactions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_customer_balance_transactions_account_id_customer_id"))

    op.drop_table("customer_balance_transactions")
    with op.batch_alter_table("tax_rates", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_tax_rates_account_id_id"))

    op.drop_table("tax_rates")
    with op.batch_alter_table("discounts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_discounts_account_id_subscription"))
        batch_op.drop_index(batch_op.f("ix_discounts_account_id_id"))
        batch_op.drop_index(batch_op.f("ix_discounts_account_id_customer"))

    op.drop_table("discounts")
    with op.batch_alter_table("promotion_codes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_promotion_codes_account_id_id"))
        batch_op.drop_index(batch_op.f("ix_promotion_codes_account_id_code"))

    op.drop_table("promotion_codes")
    op.drop_table("coupons")
