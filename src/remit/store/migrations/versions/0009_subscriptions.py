"""subscriptions: subscriptions and subscription items

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "subscriptions",
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
            "test_clock",
            sa.String(length=40).with_variant(sa.VARCHAR(length=40, collation="C"), "postgresql"),
            nullable=True,
        ),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("created", sa.BigInteger(), nullable=False),
        sa.Column("start_date", sa.BigInteger(), nullable=False),
        sa.Column("billing_cycle_anchor", sa.BigInteger(), nullable=False),
        sa.Column("billing_cycle_anchor_config", sa.JSON(), nullable=True),
        sa.Column("current_period_start", sa.BigInteger(), nullable=False),
        sa.Column("current_period_end", sa.BigInteger(), nullable=False),
        sa.Column("trial_start", sa.BigInteger(), nullable=True),
        sa.Column("trial_end", sa.BigInteger(), nullable=True),
        sa.Column("trial_will_end_sent", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("trial_settings", sa.JSON(), nullable=True),
        sa.Column("cancel_at", sa.BigInteger(), nullable=True),
        sa.Column("cancel_at_period_end", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("canceled_at", sa.BigInteger(), nullable=True),
        sa.Column("ended_at", sa.BigInteger(), nullable=True),
        sa.Column("cancellation_details", sa.JSON(), nullable=False),
        sa.Column("collection_method", sa.String(length=25), nullable=False),
        sa.Column("days_until_due", sa.Integer(), nullable=True),
        sa.Column("default_tax_rates", sa.JSON(), nullable=False),
        sa.Column("discounts", sa.JSON(), nullable=False),
        sa.Column("pause_collection", sa.JSON(), nullable=True),
        sa.Column(
            "latest_invoice",
            sa.String(length=40).with_variant(sa.VARCHAR(length=40, collation="C"), "postgresql"),
            nullable=True,
        ),
        sa.Column("description", sa.String(length=500), nullable=True),
        sa.Column("metadata", sa.JSON(), nullable=False),
        sa.Column("next_action_at", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_subscriptions")),
    )
    with op.batch_alter_table("subscriptions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_subscriptions_account_id_customer_id"),
            ["account_id", "customer", "id"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_subscriptions_account_id_id"), ["account_id", "id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_subscriptions_next_action_at"), ["next_action_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_subscriptions_test_clock_next_action_at"),
            ["test_clock", "next_action_at"],
            unique=False,
        )

    op.create_table(
        "subscription_items",
        sa.Column(
            "id",
            sa.String(length=40).with_variant(sa.VARCHAR(length=40, collation="C"), "postgresql"),
            nullable=False,
        ),
        sa.Column("account_id", sa.String(length=40), nullable=False),
        sa.Column(
            "subscription",
            sa.String(length=40).with_variant(sa.VARCHAR(length=40, collation="C"), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "price",
            sa.String(length=40).with_variant(sa.VARCHAR(length=40, collation="C"), "postgresql"),
            nullable=False,
        ),
        sa.Column("quantity", sa.BigInteger(), nullable=True),
        sa.Column("created", sa.BigInteger(), nullable=False),
        sa.Column("tax_rates", sa.JSON(), nullable=False),
        sa.Column("discounts", sa.JSON(), nullable=False),
        sa.Column("metadata", sa.JSON(), nullable=False),
        sa.Column("deleted", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_subscription_items")),
    )
    with op.batch_alter_table("subscription_items", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_subscription_items_account_id_id"), ["account_id", "id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_subscription_items_account_id_subscription_id"),
            ["account_id", "subscription", "id"],
            unique=False,
        )


def downgrade() -> None:
    with op.batch_alter_table("subscription_items", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_subscription_items_account_id_subscription_id"))
        batch_op.drop_index(batch_op.f("ix_subscription_items_account_id_id"))

    op.drop_table("subscription_items")
    with op.batch_alter_table("subscriptions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_subscriptions_test_clock_next_action_at"))
        batch_op.drop_index(batch_op.f("ix_subscriptions_next_action_at"))
        batch_op.drop_index(batch_op.f("ix_subscriptions_account_id_id"))
        batch_op.drop_index(batch_op.f("ix_subscriptions_account_id_customer_id"))

    op.drop_table("subscriptions")
