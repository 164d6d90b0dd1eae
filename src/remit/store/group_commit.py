"""Group commit: many concurrent write requests, one durable commit.

SQLite has one writer at a time and, with ``synchronous=FULL``, an fsync per
commit: on virtual disks that fsync costs milliseconds and caps write requests
at a few hundred per second. A single writer thread instead takes whatever
requests are waiting, runs each inside its own SAVEPOINT of one transaction, and
commits once. A request that fails rolls back to its savepoint, so it leaves
nothing behind and never disturbs its batch-mates; nobody is answered before
the commit that makes their effects durable.

While another writer holds SQLite's lock (the request log, the rollup applier,
another server process), SQLite's busy handler sleeps in growing steps of up to
100 ms and may sleep on after the lock is free. Every write request waits on this
thread, so it asks for the lock itself (BEGIN IMMEDIATE) every few milliseconds,
as long as the busy handler would have waited.

PostgreSQL commits concurrent transactions on separate connections and
batches their WAL flushes itself, so there writes run directly.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from contextlib import contextmanager
from typing import Any, Protocol, TypeVar

import sqlalchemy as sa

from remit.store.engine import Store

log = logging.getLogger("remit.store")
T = TypeVar("T")
MAX_BATCH = 128
MAX_QUEUED = 10_000
LOCK_POLL_S = (0.0002, 0.0005, 0.001, 0.002)  # then every 2 ms
Work = tuple[Callable[[sa.Connection], Any], "Future[Any]"]


class Writer(Protocol):
    def run(self, work: Callable[[sa.Connection], T]) -> T: ...

    def close(self) -> None: ...


class DirectWriter:
    """One transaction per unit of work, on the caller's thread."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def run(self, work: Callable[[sa.Connection], T]) -> T:
        with self.store.write() as conn:
            return work(conn)

    def close(self) -> None:
        pass


class GroupCommitWriter:
    def __init__(self, store: Store, max_batch: int = MAX_BATCH) -> None:
        self.store = store
        self.max_batch = max_batch
        self._queue: queue.Queue[Work | None] = queue.Queue(MAX_QUEUED)
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def run(self, work: Callable[[sa.Connection], T]) -> T:
        return self.submit(work).result()

    def submit(self, work: Callable[[sa.Connection], T]) -> Future[T]:
        """Queue ``work``; the future resolves once the batch holding it has committed."""
        self._ensure_started()
        future: Future[T] = Future()
        self._queue.put((work, future))
        return future

    def close(self) -> None:
        with self._lock:
            if self._thread is None:
                return
            self._queue.put(None)
            self._thread.join(timeout=30)
            self._thread = None

    def _ensure_started(self) -> None:
        if self._thread is None:
            with self._lock:
                if self._thread is None:
                    self._thread = threading.Thread(
                        target=self._loop, name="group-commit", daemon=True
                    )
                    self._thread.start()

    def _loop(self) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                return
            batch = [first]
            stopping = False
            while len(batch) < self.max_batch:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is None:
                    stopping = True
                    break
                batch.append(item)
            self._commit(batch)
            if stopping:
                return

    def _commit(self, batch: list[Work]) -> None:
        outcomes: list[tuple[bool, Any]] = []
        try:
            with self._transaction() as conn:
                for work, _ in batch:
                    savepoint = conn.begin_nested()
                    try:
                        result = work(conn)
                    except BaseException as exc:  # the caller gets it; the batch goes on
                        savepoint.rollback()
                        outcomes.append((False, exc))
                    else:
                        savepoint.commit()
                        outcomes.append((True, result))
        except Exception as exc:  # the commit itself failed: nothing in the batch happened
            log.exception("group commit of %d writes failed", len(batch))
            for _, future in batch:
                future.set_exception(exc)
            return
        for (_, future), (ok, value) in zip(batch, outcomes, strict=True):
            if ok:
                future.set_result(value)
            else:
                future.set_exception(value)

    @contextmanager
    def _transaction(self) -> Iterator[sa.Connection]:
        """``store.write()``; on SQLite its lock polled for (see the module's doc)."""
        if not self.store.is_sqlite:
            with self.store.write() as conn:
                yield conn
            return
        with self.store.engine.connect().execution_options(remit_write=True) as conn:
            driver = conn.connection.driver_connection
            assert driver is not None
            # As patient as the connection's busy timeout, which the transaction then keeps.
            (patience_ms,) = driver.execute("PRAGMA busy_timeout").fetchone()
            driver.execute("PRAGMA busy_timeout=0")
            try:
                transaction = _begin_polling(conn, patience_ms / 1000)
            finally:
                driver.execute(f"PRAGMA busy_timeout={int(patience_ms)}")
            with transaction:
                yield conn


def _begin_polling(conn: sa.Connection, patience_s: float) -> sa.RootTransaction:
    """``conn.begin()`` (BEGIN IMMEDIATE, by the engine), retried while SQLite is busy."""
    deadline = time.monotonic() + patience_s
    attempt = 0
    while True:
        try:
            return conn.begin()
        except sa.exc.OperationalError as exc:
            busy = getattr(exc.orig, "sqlite_errorname", None) == "SQLITE_BUSY"
            if not busy or time.monotonic() >= deadline:
                raise
        time.sleep(LOCK_POLL_S[min(attempt, len(LOCK_POLL_S) - 1)])
        attempt += 1


def make_writer(store: Store) -> Writer:
    return GroupCommitWriter(store) if store.is_sqlite else DirectWriter(store)
