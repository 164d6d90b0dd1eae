"""Shared fixtures: one database per session (SQLite, or PostgreSQL when
``REMIT_TEST_DATABASE_URL`` names one), a real server on loopback, and a clean
slate for every test."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa

from remit.accounts.service import NewAccount, create_account
from remit.api.app import RemitApp
from remit.plugins.manager import make_manager
from remit.primitives.clock import WallClock
from remit.serving import ServerThread
from remit.store import migrate
from remit.store.engine import Store, make_engine
from remit.store.registry import load_all, metadata

LEDGER_TABLES = frozenset({"ledger_accounts", "ledger_heads", "journal_entries", "journal_legs"})
FIXTURES = Path(__file__).resolve().parents[2] / "shared" / "stripe" / "fixtures3.json"


def _postgres_database(admin_url: str) -> Iterator[str]:
    """A throwaway database on the given server, dropped at the end of the session."""
    name = f"remit_test_{os.getpid()}_{secrets.token_hex(3)}"
    admin = sa.create_engine(sa.make_url(admin_url).set(drivername="postgresql+psycopg"),
                             isolation_level="AUTOCOMMIT")  # fmt: skip
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        yield str(sa.make_url(admin_url).set(database=name).render_as_string(hide_password=False))
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    url = os.environ.get("REMIT_TEST_DATABASE_URL", "")
    if url.startswith("postgresql"):
        yield from _postgres_database(url)
    else:
        yield f"sqlite:///{tmp_path_factory.mktemp('db') / 'remit.db'}"


@pytest.fixture(scope="session")
def store(database_url: str) -> Iterator[Store]:
    engine = make_engine(database_url)
    migrate.upgrade(engine)
    store = Store(engine)
    yield store
    store.dispose()


@pytest.fixture(autouse=True)
def _clean(request: pytest.FixtureRequest) -> Iterator[None]:
    yield
    if "store" not in request.fixturenames:
        return
    store: Store = request.getfixturevalue("store")
    load_all()
    with store.write() as conn:
        for table in reversed(metadata.sorted_tables):
            # The journal is append-only (the database refuses deletes); every test posts
            # under a fresh tenant instead, and the ledger's tables stay.
            if table.name not in LEDGER_TABLES:
                conn.execute(table.delete())


@pytest.fixture(scope="session")
def pm():  # type: ignore[no-untyped-def]
    return make_manager()


@pytest.fixture(scope="session")
def server(store: Store, pm) -> Iterator[ServerThread]:  # type: ignore[no-untyped-def]
    """The API on a loopback port. Its worker is off: tests run jobs explicitly."""
    app = RemitApp(store, pm, WallClock())
    with ServerThread(app) as running:
        yield running


def new_account(store: Store, name: str = "Acme") -> NewAccount:
    with store.write() as conn:
        return create_account(conn, name, WallClock().now())


@pytest.fixture
def account(store: Store) -> NewAccount:
    return new_account(store)


@pytest.fixture
def api(server: ServerThread, account: NewAccount) -> Iterator[httpx.Client]:
    """A raw HTTP client authenticated as ``account``."""
    headers = {"Authorization": f"Bearer {account.secret_key}"}
    with httpx.Client(base_url=server.url, headers=headers, timeout=30) as client:
        yield client
