"""catalog: products and prices

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

# Ids sort in creation order byte-wise only: PostgreSQL must compare them in the C collation.
ID = sa.String(length=40).with_variant(postgresql.VARCHAR(length=40, collation="C"), "postgresql")


def upgrade() -> None:
    op.create_table(
        "products",
        sa.Column("account_id", sa.String(length=40), nullable=False),
        sa.Column("id", ID, nullable=False),
        sa.Column("list_key", ID, nullable=False),
        sa.Column("created", sa.BigInteger(), nullable=False),
        sa.Column("updated", sa.BigInteger(), nullable=False),
        sa.Column("name", sa.String(length=5000), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("description", sa.String(length=40000), nullable=True),
        sa.Column("images", sa.JSON(), nullable=False),
        sa.Column("marketing_features", sa.JSON(), nullable=False),
        sa.Column("metadata", sa.JSON(), nullable=False),
        sa.Column("package_dimensions", sa.JSON(), nullable=True),
        sa.Column("shippable", sa.Boolean(), nullable=True),
        sa.Column("statement_descriptor", sa.String(length=22), nullable=True),
        sa.Column("tax_code", sa.String(length=5000), nullable=True),
        sa.Column("type", sa.String(length=10), nullable=False),
        sa.Column("unit_label", sa.String(length=12), nullable=True),
        sa.Column("url", sa.String(length=5000), nullable=True),
        sa.Column("default_price", ID, nullable=True),
        sa.Column("deleted", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.PrimaryKeyConstraint("account_id", "id", name=op.f("pk_products")),
        sa.UniqueConstraint("account_id", "list_key", name=op.f("uq_products_account_id_list_key")),
    )
    op.create_table(
        "prices",
        sa.Column("id", ID, nullable=False),
        sa.Column("account_id", sa.String(length=40), nullable=False),
        sa.Column("created", sa.BigInteger(), nullable=False),
        sa.Column("product", ID, nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("type", sa.String(length=10), nullable=False),
        sa.Column("billing_scheme", sa.String(length=64), nullable=False),
        sa.Column("unit_amount_decimal", sa.String(length=40), nullable=True),
        sa.Column("tiers_mode", sa.String(length=10), nullable=True),
        sa.Column("tiers", sa.JSON(), nullable=True),
        sa.Column("transform_quantity", sa.JSON(), nullable=True),
        sa.Column("recurring_interval", sa.String(length=5), nullable=True),
        sa.Column("recurring_interval_count", sa.Integer(), nullable=True),
        sa.Column("recurring_usage_type", sa.String(length=8), nullable=True),
        sa.Column("recurring_meter", ID, nullable=True),
        sa.Column("recurring_trial_period_days", sa.Integer(), nullable=True),
        sa.Column("currency_options", sa.JSON(), nullable=False),
        sa.Column("custom_unit_amount", sa.JSON(), nullable=True),
        sa.Column("tax_behavior", sa.String(length=11), nullable=False),
        sa.Column("lookup_key", sa.String(length=200), nullable=True),
        sa.Column("nickname", sa.String(length=5000), nullable=True),
        sa.Column("metadata", sa.JSON(), nullable=False),
        sa.Column("pricing_config", sa.JSON(), nullable=True),
        sa.ForeignKeyConstraint(
            ["account_id", "product"],
            ["products.account_id", "products.id"],
            name=op.f("fk_prices_account_id_products"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_prices")),
        sa.UniqueConstraint(
            "account_id", "lookup_key", name=op.f("uq_prices_account_id_lookup_key")
        ),
    )
    with op.batch_alter_table("prices", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_prices_account_id_id"), ["account_id", "id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_prices_account_id_product_id"),
            ["account_id", "product", "id"],
            unique=False,
        )


def downgrade() -> None:
    with op.batch_alter_table("prices", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_prices_account_id_product_id"))
        batch_op.drop_index(batch_op.f("ix_prices_account_id_id"))

    op.drop_table("prices")
    op.drop_table("products")
