"""The worker: claims jobs, runs their handlers, and settles them."""

from __future__ import annotations

import logging
import os
import socket
import threading
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING

from remit.jobs import queue
from remit.jobs.queue import Job
from remit.primitives.clock import Clock
from remit.primitives.ids import new_id
from remit.store.engine import Store

if TYPE_CHECKING:
    import pluggy

log = logging.getLogger("remit.worker")

# A handler does its own transactions (it may call the network in between) and
# settles the job through ``queue.complete`` / ``reschedule`` / ``bury``.
Handler = Callable[[Store, Job, Clock], None]
# A background task does one bounded round of recurring work (the rollup applier) in
# its own transactions and returns how much it did; 0 means nothing is pending.
Task = Callable[[Store, Clock], int]

DEFAULT_LEASE_S = 60
MAX_GENERIC_ATTEMPTS = 20


def background_tasks(pm: pluggy.PluginManager) -> list[Task]:
    """Every plugin's background tasks (``remit_background_tasks``)."""
    return [task for group in pm.hook.remit_background_tasks(pm=pm) for task in group]


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
        tasks: Sequence[Task] = (),
    ) -> None:
        self.store = store
        self.handlers = dict(handlers)
        self.clock = clock
        self.owner = owner or worker_name()
        self.lease_s = lease_s
        self.batch = batch
        self.tasks = tuple(tasks)

    def run_once(self) -> int:
        """Claim one batch and run it, then one round of each background task; returns
        how many jobs were attempted plus how much the tasks did."""
        claimed = queue.claim(self.store, self.owner, self.clock.now(), self.lease_s, self.batch)
        for job in claimed:
            self._run(job)
        return len(claimed) + self._run_tasks()

    def _run_tasks(self) -> int:
        done = 0
        for task in self.tasks:
            try:
                done += task(self.store, self.clock)
            except Exception:  # one failing task must not starve the jobs or the others
                log.exception("background task %r failed", task)
        return done

    def drain(self, max_rounds: int = 1000) -> int:
        """Run until no job is due and every task is idle (bounded); for tests, the demo
        and the CLI."""
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
