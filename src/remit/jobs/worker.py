"""The worker: claims jobs, runs their handlers, and settles them."""

from __future__ import annotations

import logging
import os
import socket
import threading
from collections.abc import Callable, Mapping

from remit.jobs import queue
from remit.jobs.queue import Job
from remit.primitives.clock import Clock
from remit.primitives.ids import new_id
from remit.store.engine import Store

log = logging.getLogger("remit.worker")

# A handler does its own transactions (it may call the network in between) and
# settles the job through ``queue.complete`` / ``reschedule`` / ``bury``.
Handler = Callable[[Store, Job, Clock], None]

DEFAULT_LEASE_S = 60
MAX_GENERIC_ATTEMPTS = 20


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{new_id('job')[-6:]}"


class Worker:
    def __init__(
        self,
        store: Store,
        handlers: Mapping[str, Handler],
        clock: Clock,
        *,
        owner: str | None = None,
        lease_s: int = DEFAULT_LEASE_S,
        batch: int = 10,
    ) -> None:
        self.store = store
        self.handlers = dict(handlers)
        self.clock = clock
        self.owner = owner or worker_name()
        self.lease_s = lease_s
        self.batch = batch

    def run_once(self) -> int:
        """Claim one batch and run it; returns how many jobs were attempted."""
        claimed = queue.claim(self.store, self.owner, self.clock.now(), self.lease_s, self.batch)
        for job in claimed:
            self._run(job)
        return len(claimed)

    def drain(self, max_rounds: int = 1000) -> int:
        """Run until nothing is due (bounded); for tests, the demo and the CLI."""
        total = 0
        for _ in range(max_rounds):
            ran = self.run_once()
            if not ran:
                break
            total += ran
        return total

    def run_forever(self, stop: threading.Event, idle_sleep_s: float = 0.2) -> None:
        while not stop.is_set():
            try:
                ran = self.run_once()
            except Exception:  # keep serving; the failure is logged and retried next loop
                log.exception("worker loop failed")
                ran = 0
            if not ran:
                stop.wait(idle_sleep_s)

    def _run(self, job: Job) -> None:
        handler = self.handlers.get(job.kind)
        try:
            if handler is None:
                raise LookupError(f"no handler for job kind {job.kind!r}")
            handler(self.store, job, self.clock)
        except Exception as exc:
            log.exception("job %s (%s) failed", job.id, job.kind)
            now = self.clock.now()
            with self.store.write() as conn:
                if job.attempts >= MAX_GENERIC_ATTEMPTS or handler is None:
                    queue.bury(conn, job, now, repr(exc))
                else:
                    queue.reschedule(conn, job, now + min(2**job.attempts, 3600), repr(exc))
