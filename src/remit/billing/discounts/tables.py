"""Coupons, promotion codes and the discounts that attach them to customers,
subscriptions, items and invoices.

``percent_off`` is stored as a canonical decimal string ("25.5"); ``amount_off`` in
minor units of ``currency``, with other currencies in ``currency_options``.
"""

import sqlalchemy as sa

from remit.store.schema import account_column, id_column, id_type, metadata, ts_column

# Coupons may carry a caller-chosen id ("SUMMER25"), unique per account only; lists
# order by ``list_key``, a minted creation-ordered id, as products do.
coupons = sa.Table(
    "coupons",
    metadata,
    account_column(),
    sa.Column("id", id_type(), nullable=False),
    sa.Column("list_key", id_type(), nullable=False),
    ts_column("created"),
    sa.Column("name", sa.String(40), nullable=True),
    sa.Column("percent_off", sa.String(40), nullable=True),
    sa.Column("amount_off", sa.BigInteger, nullable=True),
    sa.Column("currency", sa.String(3), nullable=True),
    # {"eur": {"amount_off": 500}}
    sa.Column("currency_options", sa.JSON, nullable=False),
    sa.Column("duration", sa.String(10), nullable=False),
    sa.Column("duration_in_months", sa.Integer, nullable=True),
    sa.Column("max_redemptions", sa.Integer, nullable=True),
    ts_column("redeem_by", nullable=True),
    sa.Column("times_redeemed", sa.Integer, nullable=False, server_default="0"),
    # {"products": ["prod_..."]} or null: which products the coupon discounts.
    sa.Column("applies_to", sa.JSON, nullable=True),
    sa.Column("metadata", sa.JSON, nullable=False),
    sa.Column("deleted", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.PrimaryKeyConstraint("account_id", "id"),
    sa.UniqueConstraint("account_id", "list_key"),
)

promotion_codes = sa.Table(
    "promotion_codes",
    metadata,
    id_column(),
    account_column(),
    ts_column("created"),
    sa.Column("code", sa.String(500), nullable=False),
    sa.Column("coupon", id_type(), nullable=False),
    sa.Column("active", sa.Boolean, nullable=False),
    sa.Column("customer", id_type(), nullable=True),
    ts_column("expires_at", nullable=True),
    sa.Column("max_redemptions", sa.Integer, nullable=True),
    sa.Column("times_redeemed", sa.Integer, nullable=False, server_default="0"),
    # {"first_time_transaction", "minimum_amount", "minimum_amount_currency",
    #  "currency_options": {"eur": {"minimum_amount"}}}
    sa.Column("restrictions", sa.JSON, nullable=False),
    sa.Column("metadata", sa.JSON, nullable=False),
    sa.ForeignKeyConstraint(["account_id", "coupon"], ["coupons.account_id", "coupons.id"]),
    sa.Index(None, "account_id", "id"),
    sa.Index(None, "account_id", "code"),
)

# One row per application of a coupon (Stripe's ``discount`` object, ``di_...``).
# Exactly one of customer-level, subscription, subscription_item, invoice or
# invoice_item scopes it; ``end`` is when a repeating coupon stops applying.
discounts = sa.Table(
    "discounts",
    metadata,
    id_column(),
    account_column(),
    sa.Column("coupon", id_type(), nullable=False),
    sa.Column("promotion_code", id_type(), nullable=True),
    sa.Column("customer", id_type(), nullable=True),
    sa.Column("subscription", id_type(), nullable=True),
    sa.Column("subscription_item", id_type(), nullable=True),
    sa.Column("invoice", id_type(), nullable=True),
    sa.Column("invoice_item", id_type(), nullable=True),
    ts_column("start"),
    ts_column("end", nullable=True),
    # A "once" coupon is spent after its first invoice.
    sa.Column("spent", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("deleted", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.ForeignKeyConstraint(["account_id", "coupon"], ["coupons.account_id", "coupons.id"]),
    sa.Index(None, "account_id", "id"),
    sa.Index(None, "account_id", "subscription"),
    sa.Index(None, "account_id", "customer"),
)
