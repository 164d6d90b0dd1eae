import sqlalchemy as sa

from remit.store.schema import account_column, id_column, metadata, ts_column

# The outbox: an event row is written in the same transaction as the change it describes.
events = sa.Table(
    "events",
    metadata,
    id_column(),
    account_column(),
    sa.Column("type", sa.String(100), nullable=False),
    ts_column("created"),
    sa.Column("api_version", sa.String(40), nullable=True),
    sa.Column("object_id", sa.String(40), nullable=True),
    sa.Column("data", sa.JSON, nullable=False),
    sa.Column("request_id", sa.String(40), nullable=True),
    sa.Column("idempotency_key", sa.String(255), nullable=True),
    sa.Column("pending_webhooks", sa.Integer, nullable=False, server_default="0"),
    sa.Index(None, "account_id", "id"),
    sa.Index(None, "account_id", "type", "id"),
    # An object's events, newest last: its latest change (reconciliation's updated_at, repairs).
    sa.Index(None, "account_id", "object_id", "created"),
)

webhook_endpoints = sa.Table(
    "webhook_endpoints",
    metadata,
    id_column(),
    account_column(),
    sa.Column("url", sa.String(2048), nullable=False),
    sa.Column("description", sa.String(5000), nullable=True),
    sa.Column("enabled_events", sa.JSON, nullable=False),
    sa.Column("secret", sa.String(80), nullable=False),
    sa.Column("status", sa.String(10), nullable=False),
    sa.Column("api_version", sa.String(40), nullable=True),
    sa.Column("metadata", sa.JSON, nullable=False),
    ts_column("created"),
    sa.Column("deleted", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Index(None, "account_id", "id"),
)

webhook_deliveries = sa.Table(
    "webhook_deliveries",
    metadata,
    id_column(),
    account_column(),
    sa.Column("event_id", sa.String(40), sa.ForeignKey("events.id"), nullable=False),
    sa.Column("endpoint_id", sa.String(40), sa.ForeignKey("webhook_endpoints.id"), nullable=False),
    sa.Column("status", sa.String(12), nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    ts_column("created"),
    ts_column("next_attempt_at", nullable=True),
    ts_column("completed_at", nullable=True),
    sa.UniqueConstraint("event_id", "endpoint_id"),
    sa.Index(None, "account_id", "endpoint_id", "id"),
)

webhook_attempts = sa.Table(
    "webhook_attempts",
    metadata,
    id_column(),
    account_column(),
    sa.Column("delivery_id", sa.String(40), sa.ForeignKey("webhook_deliveries.id"), nullable=False),
    ts_column("attempted_at"),
    sa.Column("http_status", sa.Integer, nullable=True),
    sa.Column("error", sa.String(500), nullable=True),
    sa.Column("duration_ms", sa.Integer, nullable=False),
    sa.Index(None, "delivery_id"),
)
