"""metering: billing meters, meter event sessions, the raw event log, errors, cancellations, rollups

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

# Ids sort in creation order byte-wise only: PostgreSQL must compare them in the C collation.
ID = sa.String(length=40).with_variant(postgresql.VARCHAR(length=40, collation="C"), "postgresql")
# SQLite makes only an INTEGER PRIMARY KEY the rowid; PostgreSQL gets 64 bits.
SEQ = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
ACTIVE = sa.text("status = 'active'")


def upgrade() -> None:
    op.create_table(
        "billing_meters",
        sa.Column("id", ID, nullable=False),
        sa.Column("account_id", sa.String(length=40), nullable=False),
        sa.Column("created", sa.BigInteger(), nullable=False),
        sa.Column("updated", sa.BigInteger(), nullable=False),
        sa.Column("display_name", sa.String(length=250), nullable=False),
        sa.Column("event_name", sa.String(length=100), nullable=False),
        sa.Column("formula", sa.String(length=40), nullable=False),
        sa.Column("customer_payload_key", sa.String(length=100), nullable=False),
        sa.Column("customer_mapping_type", sa.String(length=10), nullable=False),
        sa.Column("value_payload_key", sa.String(length=100), nullable=False),
        sa.Column("event_time_window", sa.String(length=10), nullable=True),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("deactivated_at", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_billing_meters")),
    )
    with op.batch_alter_table("billing_meters", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_billing_meters_account_id_event_name"),
            ["account_id", "event_name"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_billing_meters_account_id_id"), ["account_id", "id"], unique=False
        )
        batch_op.create_index(
            "uq_billing_meters_active_event_name",
            ["account_id", "event_name"],
            unique=True,
            sqlite_where=ACTIVE,
            postgresql_where=ACTIVE,
        )

    op.create_table(
        "meter_event_sessions",
        sa.Column("id", ID, nullable=False),
        sa.Column("account_id", sa.String(length=40), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("created", sa.BigInteger(), nullable=False),
        sa.Column("expires_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_meter_event_sessions")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_meter_event_sessions_token_hash")),
    )

    op.create_table(
        "meter_events",
        sa.Column("seq", SEQ, autoincrement=True, nullable=False),
        sa.Column("account_id", sa.String(length=40), nullable=False),
        sa.Column("meter_id", ID, nullable=False),
        sa.Column("customer_id", sa.String(length=40), nullable=False),
        sa.Column("event_name", sa.String(length=100), nullable=False),
        sa.Column("identifier", sa.String(length=100), nullable=False),
        sa.Column("timestamp", sa.BigInteger(), nullable=False),
        sa.Column("value", sa.String(length=100), nullable=True),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("created", sa.BigInteger(), nullable=False),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_meter_events")),
        sa.UniqueConstraint(
            "account_id", "identifier", name=op.f("uq_meter_events_account_id_identifier")
        ),
    )
    with op.batch_alter_table("meter_events", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_meter_events_account_id_meter_id_customer_id_timestamp"),
            ["account_id", "meter_id", "customer_id", "timestamp"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_meter_events_account_id_seq"), ["account_id", "seq"], unique=False
        )

    op.create_table(
        "meter_event_errors",
        sa.Column("id", ID, nullable=False),
        sa.Column("account_id", sa.String(length=40), nullable=False),
        sa.Column("meter_id", ID, nullable=True),
        sa.Column("event_name", sa.String(length=100), nullable=False),
        sa.Column("identifier", sa.String(length=100), nullable=False),
        sa.Column("code", sa.String(length=60), nullable=False),
        sa.Column("message", sa.String(length=500), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("timestamp", sa.BigInteger(), nullable=True),
        sa.Column("created", sa.BigInteger(), nullable=False),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_meter_event_errors")),
    )
    with op.batch_alter_table("meter_event_errors", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_meter_event_errors_account_id_id"), ["account_id", "id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_meter_event_errors_account_id_meter_id_id"),
            ["account_id", "meter_id", "id"],
            unique=False,
        )

    op.create_table(
        "meter_event_cancellations",
        sa.Column("account_id", sa.String(length=40), nullable=False),
        sa.Column("identifier", sa.String(length=100), nullable=False),
        sa.Column("meter_id", ID, nullable=False),
        sa.Column("event_name", sa.String(length=100), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("created", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint(
            "account_id", "identifier", name=op.f("pk_meter_event_cancellations")
        ),
    )

    op.create_table(
        "meter_rollups",
        sa.Column("account_id", sa.String(length=40), nullable=False),
        sa.Column("meter_id", ID, nullable=False),
        sa.Column("customer_id", sa.String(length=40), nullable=False),
        sa.Column("grain_s", sa.Integer(), nullable=False),
        sa.Column("bucket_start", sa.BigInteger(), nullable=False),
        sa.Column("state", sa.Text(), nullable=False),
        sa.Column("event_count", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint(
            "account_id",
            "meter_id",
            "customer_id",
            "grain_s",
            "bucket_start",
            name=op.f("pk_meter_rollups"),
        ),
    )
    op.create_table(
        "meter_rollup_watermarks",
        sa.Column("account_id", sa.String(length=40), nullable=False),
        sa.Column("applied_seq", sa.BigInteger(), nullable=False),
        sa.Column("applied_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("account_id", name=op.f("pk_meter_rollup_watermarks")),
    )


def downgrade() -> None:
    op.drop_table("meter_rollup_watermarks")
    op.drop_table("meter_rollups")
    op.drop_table("meter_event_cancellations")
    op.drop_table("meter_event_errors")
    op.drop_table("meter_events")
    op.drop_table("meter_event_sessions")
    op.drop_table("billing_meters")
