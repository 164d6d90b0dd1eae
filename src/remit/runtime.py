"""Wires settings, the store, plugins and the app together for the CLI and servers."""

from __future__ import annotations

from remit.api.app import RemitApp
from remit.plugins.manager import make_manager
from remit.primitives.clock import Clock, WallClock
from remit.settings import Settings
from remit.store import migrate
from remit.store.engine import Store, make_engine


def open_store(settings: Settings) -> Store:
    return Store(make_engine(settings.database_url, settings.sqlite_synchronous))


def migrate_store(store: Store) -> None:
    migrate.upgrade(store.engine)


def build_app(
    settings: Settings | None = None, *, run_worker: bool = False, clock: Clock | None = None
) -> RemitApp:
    settings = settings or Settings.from_env()
    store = open_store(settings)
    pm = make_manager(settings.plugins_allowed)
    return RemitApp(store, pm, clock or WallClock(), run_worker=run_worker)


def asgi_app() -> RemitApp:
    """Entry point for ``uvicorn --factory remit.runtime:asgi_app`` (one per server process)."""
    return build_app(run_worker=False)
