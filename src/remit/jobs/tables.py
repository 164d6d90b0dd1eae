import sqlalchemy as sa

from remit.store.schema import account_column, id_column, metadata, ts_column

jobs = sa.Table(
    "jobs",
    metadata,
    id_column(),
    account_column(),
    sa.Column("kind", sa.String(60), nullable=False),
    sa.Column("payload", sa.JSON, nullable=False),
    sa.Column("status", sa.String(10), nullable=False),
    ts_column("run_at"),
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("lease_owner", sa.String(80), nullable=True),
    ts_column("lease_expires_at", nullable=True),
    sa.Column("last_error", sa.String(1000), nullable=True),
    ts_column("created"),
    ts_column("finished_at", nullable=True),
    sa.Index(None, "status", "run_at"),
)
