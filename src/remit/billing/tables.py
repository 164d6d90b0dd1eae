import sqlalchemy as sa

from remit.store.schema import account_column, id_column, metadata, ts_column

test_clocks = sa.Table(
    "test_clocks",
    metadata,
    id_column(),
    account_column(),
    sa.Column("name", sa.String(300), nullable=True),
    ts_column("frozen_time"),
    sa.Column("status", sa.String(20), nullable=False),
    ts_column("created"),
    ts_column("deletes_after"),
    sa.Column("deleted", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Index(None, "account_id", "id"),
)

customers = sa.Table(
    "customers",
    metadata,
    id_column(),
    account_column(),
    ts_column("created"),
    sa.Column("email", sa.String(512), nullable=True),
    sa.Column("name", sa.String(256), nullable=True),
    sa.Column("description", sa.String(350), nullable=True),
    sa.Column("phone", sa.String(20), nullable=True),
    sa.Column("balance", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("currency", sa.String(3), nullable=True),
    sa.Column("address", sa.JSON, nullable=True),
    sa.Column("shipping", sa.JSON, nullable=True),
    sa.Column("metadata", sa.JSON, nullable=False),
    sa.Column("invoice_settings", sa.JSON, nullable=False),
    sa.Column("invoice_prefix", sa.String(12), nullable=False),
    sa.Column("next_invoice_sequence", sa.Integer, nullable=False, server_default="1"),
    sa.Column("preferred_locales", sa.JSON, nullable=False),
    sa.Column("tax_exempt", sa.String(10), nullable=False, server_default="none"),
    sa.Column("test_clock", sa.String(40), sa.ForeignKey("test_clocks.id"), nullable=True),
    sa.Column("delinquent", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("deleted", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Index(None, "account_id", "id"),
    sa.Index(None, "account_id", "email"),
    sa.Index(None, "test_clock"),
    sa.UniqueConstraint("account_id", "invoice_prefix"),
)
