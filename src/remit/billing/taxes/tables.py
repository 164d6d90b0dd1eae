"""Tax rates. ``percentage`` is a canonical decimal string ("19", "8.875")."""

import sqlalchemy as sa

from remit.store.schema import account_column, id_column, metadata, ts_column

tax_rates = sa.Table(
    "tax_rates",
    metadata,
    id_column(),
    account_column(),
    ts_column("created"),
    sa.Column("active", sa.Boolean, nullable=False),
    sa.Column("country", sa.String(2), nullable=True),
    sa.Column("description", sa.String(500), nullable=True),
    sa.Column("display_name", sa.String(50), nullable=False),
    sa.Column("inclusive", sa.Boolean, nullable=False),
    sa.Column("jurisdiction", sa.String(200), nullable=True),
    sa.Column("percentage", sa.String(40), nullable=False),
    # ISO 3166-2 subdivision codes without the country prefix have 1 to 3 characters.
    sa.Column("state", sa.String(3), nullable=True),
    sa.Column("tax_type", sa.String(30), nullable=True),
    sa.Column("metadata", sa.JSON, nullable=False),
    sa.Index(None, "account_id", "id"),
)
