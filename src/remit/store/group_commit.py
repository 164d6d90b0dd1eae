"""Group commit: many concurrent write requests, one durable commit.

SQLite has one writer at a time and, with ``synchronous=FULL``, an fsync per
commit: on virtual disks that fsync costs milliseconds and caps write requests
at a few hundred per second. A single writer thread instead takes whatever
requests are waiting, runs each inside its own SAVEPOINT of one transaction, and
commits once. A request that fails rolls back to its savepoint, so it leaves
nothing behind and never disturbs its batch-mates; nobody is answered before
the commit that makes their effects durable.

PostgreSQL commits concurrent transactions on separate connections and
batches their WAL flushes itself, so there writes run directly.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any, Protocol, TypeVar

import sqlalchemy as sa

from remit.store.engine import Store

log = logging.getLogger("remit.store")
T = TypeVar("T")
MAX_BATCH = 128
MAX_QUEUED = 10_000
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
            with self.store.write() as conn:
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


def make_writer(store: Store) -> Writer:
    return GroupCommitWriter(store) if store.is_sqlite else DirectWriter(store)
