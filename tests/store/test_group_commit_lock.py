"""While another writer holds SQLite's lock, the group-commit writer asks for it itself: its
batch commits as soon as the lock is free; it waits as long as its connection's busy timeout
and then fails SQLITE_BUSY having written nothing; the busy timeout is left as it was."""

from __future__ import annotations

import threading
import time

import pytest
import sqlalchemy as sa

from remit.accounts.tables import accounts
from remit.store.engine import BUSY_TIMEOUT_MS, Store, make_engine
from remit.store.group_commit import GroupCommitWriter

HOLD_S = 0.35
# After a third of a second of waiting, SQLite's busy handler sleeps 50-100 ms at a time
# (answers came 19-80 ms after the release here); polling answers within a few ms. The
# best of three tries, so that a loaded machine does not fail it.
PROMPT_S = 0.015


def _insert(name: str):
    def work(conn: sa.Connection) -> str:
        conn.execute(
            accounts.insert(),
            {"id": f"acct_{name}", "name": name, "rounding_mode": "half_up", "created": 1},
        )
        busy_timeout = conn.exec_driver_sql("PRAGMA busy_timeout").scalar()
        return f"{name}:{busy_timeout}"

    return work


def _names(store) -> set[str]:
    with store.read() as conn:
        return set(conn.execute(sa.select(accounts.c.name)).scalars())


@pytest.fixture
def sqlite_store(store):
    if not store.is_sqlite:
        pytest.skip("the group-commit writer serves SQLite only")
    return store


@pytest.fixture
def impatient_store(sqlite_store, database_url):
    """The same database through an engine whose connections wait 200 ms for the lock."""
    engine = make_engine(database_url)
    sa.event.listen(engine, "connect", lambda dbapi, _: dbapi.execute("PRAGMA busy_timeout=200"))
    yield Store(engine)
    engine.dispose()


class Holder:
    """Another writer (the request log, the applier, another process) mid-transaction."""

    def __init__(self, store: Store, tag: str) -> None:
        self.held, self.release = threading.Event(), threading.Event()
        self.released_at = 0.0
        self.thread = threading.Thread(target=self._hold, args=(store, tag))

    def _hold(self, store: Store, tag: str) -> None:
        with store.write() as conn:
            _insert(f"holder{tag}")(conn)
            self.held.set()
            self.release.wait(10)
        self.released_at = time.monotonic()

    def __enter__(self) -> Holder:
        self.thread.start()
        assert self.held.wait(10)
        return self

    def __exit__(self, *exc: object) -> None:
        self.release.set()
        self.thread.join(10)


def _answered_after_release(store: Store, writer: GroupCommitWriter, tag: str) -> float:
    with Holder(store, tag) as holder:
        pending = writer.submit(_insert(f"waiter{tag}"))
        time.sleep(HOLD_S)
        assert not pending.done(), "nothing commits while another writer holds the lock"
        holder.release.set()
        # Inside the transaction the connection's busy timeout is back.
        assert pending.result(timeout=20) == f"waiter{tag}:{BUSY_TIMEOUT_MS}"
        answered_at = time.monotonic()
    return answered_at - holder.released_at


def test_a_batch_behind_another_writer_commits_as_soon_as_the_lock_is_free(sqlite_store):
    writer = GroupCommitWriter(sqlite_store)
    try:
        delays_s = [_answered_after_release(sqlite_store, writer, str(n)) for n in range(3)]
    finally:
        writer.close()
    assert min(delays_s) < PROMPT_S, delays_s
    tried = {f"{role}{n}" for role in ("holder", "waiter") for n in range(3)}
    assert _names(sqlite_store) == tried


def test_past_the_busy_timeout_a_batch_fails_busy_and_writes_nothing(sqlite_store, impatient_store):
    writer = GroupCommitWriter(impatient_store)
    try:
        with Holder(sqlite_store, ""):
            began = time.monotonic()
            with pytest.raises(sa.exc.OperationalError) as raised:
                writer.run(_insert("too-late"))
            assert raised.value.orig.sqlite_errorname == "SQLITE_BUSY"
            assert 0.2 <= time.monotonic() - began < 5
        # The same pooled connection, its own busy timeout back, serves the next batch.
        assert writer.run(_insert("next")) == "next:200"
    finally:
        writer.close()
    assert _names(sqlite_store) == {"holder", "next"}
