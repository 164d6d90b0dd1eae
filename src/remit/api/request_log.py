"""The request log: every API call, persisted and queryable.

Rows are written by a background thread in batches, so logging never adds a
write transaction (and SQLite's single writer lock) to a read request. The
bounded queue applies back-pressure: when it is full the caller writes the
batch itself. A process that dies loses at most one flush interval of rows.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa

from remit.api.tables import request_log
from remit.store.engine import Store

log = logging.getLogger("remit.request_log")

FLUSH_INTERVAL_S = 0.1
MAX_BATCH = 1000
MAX_QUEUED = 20_000
MAX_VALUE_CHARS = 200
MAX_QUERY_LIMIT = 1000
REDACTED = "[redacted]"
SENSITIVE = frozenset(
    {
        "number", "cvc", "cvv", "exp_month", "exp_year", "password", "secret",
        "client_secret", "account_number", "routing_number", "id_number",
        "ssn_last_4", "token", "iban", "pin",
    }
)  # fmt: skip


def redact(params: Any, key: str | None = None) -> Any:
    """Drop secrets and bound sizes; the shape of the call is what the log is for."""
    if key in SENSITIVE:
        return REDACTED
    if isinstance(params, Mapping):
        return {k: redact(v, k) for k, v in list(params.items())[:100]}
    if isinstance(params, list):
        return [redact(v) for v in params[:100]]
    if isinstance(params, str) and len(params) > MAX_VALUE_CHARS:
        return params[:MAX_VALUE_CHARS] + "..."
    return params


class RequestLogWriter:
    def __init__(self, store: Store) -> None:
        self.store = store
        self._queue: queue.Queue[dict[str, Any]] = queue.Queue(MAX_QUEUED)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._write_lock = threading.Lock()

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="request-log", daemon=True)
            self._thread.start()

    def submit(self, row: dict[str, Any]) -> None:
        try:
            self._queue.put_nowait(row)
        except queue.Full:
            self.flush()
            self._queue.put(row)

    def flush(self) -> int:
        """Write everything queued so far; returns the number of rows written."""
        written = 0
        with self._write_lock:
            while True:
                batch = self._take(MAX_BATCH)
                if not batch:
                    return written
                with self.store.write() as conn:
                    conn.execute(request_log.insert(), batch)
                written += len(batch)

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
        self.flush()

    def _take(self, limit: int) -> list[dict[str, Any]]:
        batch: list[dict[str, Any]] = []
        while len(batch) < limit:
            try:
                batch.append(self._queue.get_nowait())
            except queue.Empty:
                break
        return batch

    def _run(self) -> None:
        while not self._stop.wait(FLUSH_INTERVAL_S):
            try:
                self.flush()
            except Exception:  # the next tick retries; a log outage must not stop the API
                log.exception("request log flush failed")


def query(
    conn: sa.Connection,
    account_id: str,
    *,
    path: str | None = None,
    method: str | None = None,
    status: int | None = None,
    object_id: str | None = None,
    limit: int = 100,
) -> list[dict[str, Any]]:
    """The account's requests, newest first, filtered as asked."""
    stmt = sa.select(request_log).where(request_log.c.account_id == account_id)
    if path is not None:
        stmt = stmt.where(request_log.c.path == path)
    if method is not None:
        stmt = stmt.where(request_log.c.method == method.upper())
    if status is not None:
        stmt = stmt.where(request_log.c.status == status)
    rows = conn.execute(stmt.order_by(request_log.c.id.desc()).limit(MAX_QUERY_LIMIT)).all()
    found = [dict(r._mapping) for r in rows]
    if object_id is not None:
        # object_ids is a small JSON list; filtering in Python keeps the query portable.
        found = [r for r in found if object_id in r["object_ids"]]
    return found[: max(1, min(limit, MAX_QUERY_LIMIT))]
