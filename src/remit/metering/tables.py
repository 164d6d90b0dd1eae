"""Metering's tables: meters, the raw event log and what is derived from it.

``meter_events`` is the raw log: append-only, never updated, the source every
aggregate can be rebuilt from. ``meter_rollups`` are derived (per minute, hour and
day bucket) by the rollup applier up to ``meter_rollup_watermarks.applied_seq``;
``meter_event_cancellations`` subtracts events without touching the log.
"""

import sqlalchemy as sa

from remit.store.schema import account_column, id_column, id_type, metadata, ts_column

# SQLite only makes an INTEGER PRIMARY KEY the rowid (cheap, monotonic); PostgreSQL
# wants 64 bits for a log that grows without bound.
SEQ_TYPE = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

billing_meters = sa.Table(
    "billing_meters",
    metadata,
    id_column(),
    account_column(),
    ts_column("created"),
    ts_column("updated"),
    sa.Column("display_name", sa.String(250), nullable=False),
    sa.Column("event_name", sa.String(100), nullable=False),
    sa.Column("formula", sa.String(40), nullable=False),
    sa.Column("customer_payload_key", sa.String(100), nullable=False),
    sa.Column("customer_mapping_type", sa.String(10), nullable=False),
    sa.Column("value_payload_key", sa.String(100), nullable=False),
    sa.Column("event_time_window", sa.String(10), nullable=True),
    sa.Column("status", sa.String(10), nullable=False),
    ts_column("deactivated_at", nullable=True),
    sa.Index(None, "account_id", "id"),
    sa.Index(None, "account_id", "event_name"),
    # One active meter per event name, enforced by the database so that two
    # concurrent creates cannot both win.
    sa.Index(
        "uq_billing_meters_active_event_name",
        "account_id",
        "event_name",
        unique=True,
        sqlite_where=sa.text("status = 'active'"),
        postgresql_where=sa.text("status = 'active'"),
    ),
)

# The v2 meter event stream's credential (the session service lives in sessions.py).
meter_event_sessions = sa.Table(
    "meter_event_sessions",
    metadata,
    id_column(),
    account_column(),
    sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
    ts_column("created"),
    ts_column("expires_at"),
)

meter_events = sa.Table(
    "meter_events",
    metadata,
    sa.Column("seq", SEQ_TYPE, primary_key=True, autoincrement=True),
    account_column(),
    sa.Column("meter_id", id_type(), nullable=False),
    sa.Column("customer_id", sa.String(40), nullable=False),
    sa.Column("event_name", sa.String(100), nullable=False),
    sa.Column("identifier", sa.String(100), nullable=False),
    ts_column("timestamp"),
    # The payload's value as sent (exact decimal text); null for formulas that ignore it.
    sa.Column("value", sa.String(100), nullable=True),
    sa.Column("payload", sa.JSON, nullable=False),
    ts_column("created"),
    sa.Column("source", sa.String(20), nullable=False),
    # Dedup for the life of the log (stricter than Stripe's rolling window).
    sa.UniqueConstraint("account_id", "identifier"),
    sa.Index(None, "account_id", "meter_id", "customer_id", "timestamp"),
    # The applier's and the summaries' tail: everything past a watermark.
    sa.Index(None, "account_id", "seq"),
)

meter_event_errors = sa.Table(
    "meter_event_errors",
    metadata,
    id_column(),
    account_column(),
    sa.Column("meter_id", id_type(), nullable=True),
    sa.Column("event_name", sa.String(100), nullable=False),
    sa.Column("identifier", sa.String(100), nullable=False),
    sa.Column("code", sa.String(60), nullable=False),
    sa.Column("message", sa.String(500), nullable=False),
    sa.Column("payload", sa.JSON, nullable=False),
    ts_column("timestamp", nullable=True),
    ts_column("created"),
    sa.Column("source", sa.String(20), nullable=False),
    sa.Index(None, "account_id", "id"),
    sa.Index(None, "account_id", "meter_id", "id"),
)

meter_event_cancellations = sa.Table(
    "meter_event_cancellations",
    metadata,
    account_column(),
    sa.Column("identifier", sa.String(100), nullable=False),
    sa.Column("meter_id", id_type(), nullable=False),
    sa.Column("event_name", sa.String(100), nullable=False),
    sa.Column("seq", sa.BigInteger, nullable=False),
    ts_column("created"),
    sa.PrimaryKeyConstraint("account_id", "identifier"),
)

meter_rollups = sa.Table(
    "meter_rollups",
    metadata,
    account_column(),
    sa.Column("meter_id", id_type(), nullable=False),
    sa.Column("customer_id", sa.String(40), nullable=False),
    sa.Column("grain_s", sa.Integer, nullable=False),
    ts_column("bucket_start"),
    # The aggregation's state as JSON text (``Aggregation.initial``/``fold``/``merge``).
    sa.Column("state", sa.Text, nullable=False),
    sa.Column("event_count", sa.BigInteger, nullable=False),
    sa.PrimaryKeyConstraint("account_id", "meter_id", "customer_id", "grain_s", "bucket_start"),
)

meter_rollup_watermarks = sa.Table(
    "meter_rollup_watermarks",
    metadata,
    account_column(),
    # Every raw event with seq <= applied_seq is folded into the rollups, and no other.
    sa.Column("applied_seq", sa.BigInteger, nullable=False),
    ts_column("applied_at"),
    sa.PrimaryKeyConstraint("account_id"),
)

# Bulk imports (``remit meter import``), one per file content (its sha256). The checkpoint
# (``rows_committed`` and the running counts) advances in the same transaction as each
# chunk's events, so a crash leaves it exactly at the last committed chunk.
meter_imports = sa.Table(
    "meter_imports",
    metadata,
    id_column(),
    account_column(),
    sa.Column("fingerprint", sa.String(64), nullable=False),
    sa.Column("file_name", sa.String(250), nullable=False),
    sa.Column("format", sa.String(10), nullable=False),
    sa.Column("status", sa.String(10), nullable=False),
    # Every row numbered <= rows_committed has its outcome (event or error) committed.
    sa.Column("rows_committed", sa.BigInteger, nullable=False),
    sa.Column("rows_total", sa.BigInteger, nullable=True),
    sa.Column("rows_read", sa.BigInteger, nullable=False),
    sa.Column("accepted", sa.BigInteger, nullable=False),
    sa.Column("duplicates", sa.BigInteger, nullable=False),
    sa.Column("errors", sa.BigInteger, nullable=False),
    # Error code -> count, over every run of this import.
    sa.Column("error_codes", sa.JSON, nullable=False),
    # CSV records that do not split into the header's fields have no row number; the
    # last line of them already recorded as an error, so a resumed run skips it.
    sa.Column("malformed_through_line", sa.BigInteger, nullable=False),
    ts_column("created"),
    ts_column("updated"),
    ts_column("completed_at", nullable=True),
    sa.UniqueConstraint("account_id", "fingerprint"),
    sa.Index(None, "account_id", "id"),
)
