"""meter imports: the checkpoint of each bulk import of meter events

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

# Ids sort in creation order byte-wise only: PostgreSQL must compare them in the C collation.
ID = sa.String(length=40).with_variant(postgresql.VARCHAR(length=40, collation="C"), "postgresql")


def upgrade() -> None:
    op.create_table(
        "meter_imports",
        sa.Column("id", ID, nullable=False),
        sa.Column("account_id", sa.String(length=40), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("file_name", sa.String(length=250), nullable=False),
        sa.Column("format", sa.String(length=10), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("rows_committed", sa.BigInteger(), nullable=False),
        sa.Column("rows_total", sa.BigInteger(), nullable=True),
        sa.Column("rows_read", sa.BigInteger(), nullable=False),
        sa.Column("accepted", sa.BigInteger(), nullable=False),
        sa.Column("duplicates", sa.BigInteger(), nullable=False),
        sa.Column("errors", sa.BigInteger(), nullable=False),
        sa.Column("error_codes", sa.JSON(), nullable=False),
        sa.Column("malformed_through_line", sa.BigInteger(), nullable=False),
        sa.Column("created", sa.BigInteger(), nullable=False),
        sa.Column("updated", sa.BigInteger(), nullable=False),
        sa.Column("completed_at", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_meter_imports")),
        sa.UniqueConstraint(
            "account_id", "fingerprint", name=op.f("uq_meter_imports_account_id_fingerprint")
        ),
    )
    with op.batch_alter_table("meter_imports", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_meter_imports_account_id_id"), ["account_id", "id"], unique=False
        )


def downgrade() -> None:
    op.drop_table("meter_imports")
