"""Schema migrations through Alembic, driven from code (``remit migrate``)."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def alembic_config(connection: sa.Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["connection"] = connection
    return config


def upgrade(engine: sa.Engine, revision: str = "head") -> None:
    with engine.begin() as conn:
        command.upgrade(alembic_config(conn), revision)


def revision(engine: sa.Engine, message: str) -> None:
    """Autogenerate a migration from the difference between the tables and the database."""
    with engine.begin() as conn:
        command.revision(alembic_config(conn), message=message, autogenerate=True)
