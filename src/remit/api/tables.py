import sqlalchemy as sa

from remit.store.schema import account_column, id_column, metadata, ts_column

# Every request, as the integration maps will read it: who called what, how, and what it touched.
request_log = sa.Table(
    "request_log",
    metadata,
    id_column(),
    account_column(nullable=True),
    sa.Column("method", sa.String(10), nullable=False),
    sa.Column("path", sa.String(500), nullable=False),
    sa.Column("status", sa.Integer, nullable=False),
    sa.Column("latency_us", sa.BigInteger, nullable=False),
    sa.Column("idempotency_key", sa.String(255), nullable=True),
    sa.Column("api_version", sa.String(60), nullable=True),
    sa.Column("user_agent", sa.String(500), nullable=True),
    sa.Column("params", sa.JSON, nullable=False),
    sa.Column("object_ids", sa.JSON, nullable=False),
    sa.Column("error_type", sa.String(40), nullable=True),
    ts_column("created"),
    sa.Index(None, "account_id", "id"),
    sa.Index(None, "account_id", "path"),
)

idempotency_keys = sa.Table(
    "idempotency_keys",
    metadata,
    account_column(),
    sa.Column("key", sa.String(255), nullable=False),
    sa.Column("fingerprint", sa.String(64), nullable=False),
    sa.Column("status", sa.String(10), nullable=False),
    sa.Column("request_id", sa.String(40), nullable=False),
    sa.Column("response_status", sa.Integer, nullable=True),
    sa.Column("response_body", sa.LargeBinary, nullable=True),
    ts_column("locked_at"),
    ts_column("created"),
    sa.PrimaryKeyConstraint("account_id", "key"),
    sa.Index(None, "created"),
)
