"""Subscriptions and their items.

The current period lives on the subscription (every item of a subscription shares it
here; Stripe renders it on each item). ``next_action_at`` is the earliest time the
scheduler has work for the subscription (renewal, trial end, cancel_at, the
trial_will_end notice, a pause that resumes); null when nothing is due.
"""

import sqlalchemy as sa

from remit.store.schema import account_column, id_column, id_type, metadata, ts_column

subscriptions = sa.Table(
    "subscriptions",
    metadata,
    id_column(),
    account_column(),
    sa.Column("customer", id_type(), nullable=False),
    sa.Column("test_clock", id_type(), nullable=True),
    # incomplete, incomplete_expired, trialing, active, past_due, unpaid, canceled, paused
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("currency", sa.String(3), nullable=False),
    ts_column("created"),
    ts_column("start_date"),
    ts_column("billing_cycle_anchor"),
    sa.Column("billing_cycle_anchor_config", sa.JSON, nullable=True),
    ts_column("current_period_start"),
    ts_column("current_period_end"),
    ts_column("trial_start", nullable=True),
    ts_column("trial_end", nullable=True),
    sa.Column("trial_will_end_sent", sa.Boolean, nullable=False, server_default=sa.false()),
    # {"end_behavior": {"missing_payment_method": "create_invoice" | "pause" | "cancel"}}
    sa.Column("trial_settings", sa.JSON, nullable=True),
    ts_column("cancel_at", nullable=True),
    sa.Column("cancel_at_period_end", sa.Boolean, nullable=False, server_default=sa.false()),
    ts_column("canceled_at", nullable=True),
    ts_column("ended_at", nullable=True),
    sa.Column("cancellation_details", sa.JSON, nullable=False),
    sa.Column("collection_method", sa.String(25), nullable=False),
    sa.Column("days_until_due", sa.Integer, nullable=True),
    sa.Column("default_tax_rates", sa.JSON, nullable=False),  # ["txr_..."]
    sa.Column("discounts", sa.JSON, nullable=False),  # ["di_..."]
    sa.Column("pause_collection", sa.JSON, nullable=True),  # {"behavior", "resumes_at"}
    sa.Column("latest_invoice", id_type(), nullable=True),
    sa.Column("description", sa.String(500), nullable=True),
    sa.Column("metadata", sa.JSON, nullable=False),
    ts_column("next_action_at", nullable=True),
    sa.Index(None, "account_id", "id"),
    sa.Index(None, "account_id", "customer", "id"),
    sa.Index(None, "next_action_at"),
    sa.Index(None, "test_clock", "next_action_at"),
)

subscription_items = sa.Table(
    "subscription_items",
    metadata,
    id_column(),
    account_column(),
    sa.Column("subscription", id_type(), nullable=False),
    sa.Column("price", id_type(), nullable=False),
    sa.Column("quantity", sa.BigInteger, nullable=True),  # null for metered prices
    ts_column("created"),
    sa.Column("tax_rates", sa.JSON, nullable=False),
    sa.Column("discounts", sa.JSON, nullable=False),
    sa.Column("metadata", sa.JSON, nullable=False),
    sa.Column("deleted", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Index(None, "account_id", "subscription", "id"),
    sa.Index(None, "account_id", "id"),
)
