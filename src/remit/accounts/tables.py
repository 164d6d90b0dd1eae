import sqlalchemy as sa

from remit.store.schema import id_column, metadata, ts_column

accounts = sa.Table(
    "accounts",
    metadata,
    id_column(),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("rounding_mode", sa.String(16), nullable=False),
    ts_column("created"),
)

# Secret keys are never stored: only their SHA-256, which is what a lookup needs.
api_keys = sa.Table(
    "api_keys",
    metadata,
    id_column(),
    sa.Column("account_id", sa.String(40), sa.ForeignKey("accounts.id"), nullable=False),
    sa.Column("key_hash", sa.String(64), nullable=False, unique=True),
    sa.Column("last4", sa.String(4), nullable=False),
    ts_column("created"),
    ts_column("revoked_at", nullable=True),
)
