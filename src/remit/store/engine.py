"""Engines and transactions for the state store (SQLite embedded, PostgreSQL in production).

Writers on SQLite take the database lock up front (``BEGIN IMMEDIATE``): a deferred
transaction that later upgrades to a write lock can fail with SQLITE_BUSY without
waiting, which would surface as spurious errors under concurrency.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event

BUSY_TIMEOUT_MS = 15_000


def _make_sqlite_engine(url: sa.URL, synchronous: str) -> sa.Engine:
    if url.database and url.database != ":memory:":
        Path(url.database).parent.mkdir(parents=True, exist_ok=True)
    engine = sa.create_engine(
        url,
        connect_args={"timeout": BUSY_TIMEOUT_MS / 1000, "check_same_thread": False},
        pool_size=8,
        max_overflow=16,
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Let us issue BEGIN ourselves; pysqlite's implicit transactions are not IMMEDIATE.
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute(f"PRAGMA synchronous={synchronous}")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: sa.Connection) -> None:
        mode = "IMMEDIATE" if conn.get_execution_options().get("remit_write") else "DEFERRED"
        conn.exec_driver_sql(f"BEGIN {mode}")

    return engine


def make_engine(database_url: str, sqlite_synchronous: str = "FULL") -> sa.Engine:
    url = sa.make_url(database_url)
    if url.get_backend_name() == "sqlite":
        return _make_sqlite_engine(url, sqlite_synchronous)
    if url.get_backend_name() == "postgresql" and url.drivername == "postgresql":
        url = url.set(drivername="postgresql+psycopg")
    return sa.create_engine(url, pool_size=10, max_overflow=20, pool_pre_ping=True)


class Store:
    """The state store: an engine plus the two kinds of transaction services use."""

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine
        self.dialect = engine.dialect.name

    @property
    def is_sqlite(self) -> bool:
        return self.dialect == "sqlite"

    @contextmanager
    def write(self) -> Iterator[sa.Connection]:
        with self.engine.connect().execution_options(remit_write=True) as conn, conn.begin():
            yield conn

    @contextmanager
    def read(self) -> Iterator[sa.Connection]:
        with self.engine.connect() as conn, conn.begin():
            yield conn

    def dispose(self) -> None:
        self.engine.dispose()
