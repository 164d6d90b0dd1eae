"""Catalog tables: products and their prices.

Amounts are stored as canonical decimal strings (``"1250"``, ``"0.000000000001"``) in minor
units, never as floats or SQL decimals: the catalog only stores and returns them; rating
turns them into ``Decimal`` and rounds once, through the money primitive.
"""

import sqlalchemy as sa

from remit.store.schema import account_column, id_column, id_type, metadata, ts_column

# Products may carry a caller-chosen id ("gold-plan"), unique per account only, so the
# primary key includes the account and lists order by ``list_key``, a minted creation-
# ordered id, instead of by ``id``.
products = sa.Table(
    "products",
    metadata,
    account_column(),
    sa.Column("id", id_type(), nullable=False),
    sa.Column("list_key", id_type(), nullable=False),
    ts_column("created"),
    ts_column("updated"),
    sa.Column("name", sa.String(5000), nullable=False),
    sa.Column("active", sa.Boolean, nullable=False),
    sa.Column("description", sa.String(40000), nullable=True),
    sa.Column("images", sa.JSON, nullable=False),
    sa.Column("marketing_features", sa.JSON, nullable=False),
    sa.Column("metadata", sa.JSON, nullable=False),
    # {"height": "10.25", ...}: exact decimal strings, rendered as JSON numbers.
    sa.Column("package_dimensions", sa.JSON, nullable=True),
    sa.Column("shippable", sa.Boolean, nullable=True),
    sa.Column("statement_descriptor", sa.String(22), nullable=True),
    sa.Column("tax_code", sa.String(5000), nullable=True),
    sa.Column("type", sa.String(10), nullable=False),
    sa.Column("unit_label", sa.String(12), nullable=True),
    sa.Column("url", sa.String(5000), nullable=True),
    sa.Column("default_price", id_type(), nullable=True),
    sa.Column("deleted", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.PrimaryKeyConstraint("account_id", "id"),
    sa.UniqueConstraint("account_id", "list_key"),
)

prices = sa.Table(
    "prices",
    metadata,
    id_column(),
    account_column(),
    ts_column("created"),
    sa.Column("product", id_type(), nullable=False),
    sa.Column("active", sa.Boolean, nullable=False),
    sa.Column("currency", sa.String(3), nullable=False),
    sa.Column("type", sa.String(10), nullable=False),
    # per_unit, tiered, or the name of a pricing model registered by a plugin.
    sa.Column("billing_scheme", sa.String(64), nullable=False),
    sa.Column("unit_amount_decimal", sa.String(40), nullable=True),
    sa.Column("tiers_mode", sa.String(10), nullable=True),
    # [{"up_to": int | null, "unit_amount_decimal": str | null, "flat_amount_decimal": ...}]
    sa.Column("tiers", sa.JSON, nullable=True),
    sa.Column("transform_quantity", sa.JSON, nullable=True),
    # recurring[...] in columns: lists filter on interval, meter and usage_type.
    sa.Column("recurring_interval", sa.String(5), nullable=True),
    sa.Column("recurring_interval_count", sa.Integer, nullable=True),
    sa.Column("recurring_usage_type", sa.String(8), nullable=True),
    sa.Column("recurring_meter", id_type(), nullable=True),
    sa.Column("recurring_trial_period_days", sa.Integer, nullable=True),
    # {"eur": {"unit_amount_decimal", "tiers", "tax_behavior", "custom_unit_amount"}}; the
    # price's own currency is never a key here.
    sa.Column("currency_options", sa.JSON, nullable=False),
    sa.Column("custom_unit_amount", sa.JSON, nullable=True),
    sa.Column("tax_behavior", sa.String(11), nullable=False),
    sa.Column("lookup_key", sa.String(200), nullable=True),
    sa.Column("nickname", sa.String(5000), nullable=True),
    sa.Column("metadata", sa.JSON, nullable=False),
    # The config of a plugin pricing model, as sent (its model parses it when rating).
    sa.Column("pricing_config", sa.JSON, nullable=True),
    sa.ForeignKeyConstraint(
        ["account_id", "product"],
        ["products.account_id", "products.id"],
    ),
    sa.Index(None, "account_id", "id"),
    sa.Index(None, "account_id", "product", "id"),
    sa.UniqueConstraint("account_id", "lookup_key"),
)
