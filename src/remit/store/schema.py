"""The one MetaData every capability registers its tables on.

Capabilities own their tables (``remit/<capability>/tables.py``) and import
``metadata`` from here; ``remit.store.registry`` imports them all so Alembic and
the tests see the whole schema. Every table carries ``account_id``.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

metadata = sa.MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "pk": "pk_%(table_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
    }
)


def id_type() -> sa.types.TypeEngine[str]:
    """Ids sort in creation order only byte-wise; PostgreSQL must not use a locale's collation."""
    return sa.String(40).with_variant(postgresql.VARCHAR(40, collation="C"), "postgresql")


def id_column() -> sa.Column[str]:
    return sa.Column("id", id_type(), primary_key=True)


def account_column(nullable: bool = False) -> sa.Column[str]:
    return sa.Column("account_id", sa.String(40), nullable=nullable)


def ts_column(name: str, nullable: bool = False) -> sa.Column[int]:
    """Unix seconds, UTC, as Stripe puts them on the wire."""
    return sa.Column(name, sa.BigInteger, nullable=nullable)
