"""A worker killed mid-delivery: the job is re-leased and the event is sent again.

Real ``remit worker`` processes against the session database. The receiver holds
the first request open; while it is held the worker is killed with SIGKILL, so
the worker never learns the outcome. The receiver did process the event (its
acknowledgement went to a dead socket), so when a second worker resends the same
event id the receiver recognises the duplicate and only acknowledges it.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import sqlalchemy as sa
from webhook_support import (
    Receiver,
    attempts_of,
    create_customer,
    create_endpoint,
    deliveries_of,
    delivery_job,
    get_event,
    only_delivery,
    wait_until,
)

from remit.jobs.tables import jobs

REMIT = Path(sys.executable).with_name("remit")
LEASE_S = 2
WAIT_S = 30


def start_worker(database_url: str, log: Path) -> subprocess.Popen:
    env = {**os.environ, "REMIT_DATABASE_URL": database_url, "REMIT_DATA_DIR": str(log.parent)}
    env.pop("REMIT_PLUGINS", None)
    with log.open("ab") as out:
        return subprocess.Popen(
            [str(REMIT), "worker", "--lease", str(LEASE_S)],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )


def stop(proc: subprocess.Popen | None) -> None:
    if proc is not None and proc.poll() is None:
        proc.kill()
        proc.wait(timeout=10)


class DedupingReceiver:
    """Processes each event id once; a redelivery of a processed event is only acknowledged."""

    def __init__(self) -> None:
        self.release_first = threading.Event()
        self.first_done = threading.Event()
        self.processed: list[str] = []
        self.receiver = Receiver(self.answer)

    def answer(self, index: int) -> int:
        event_id = self.receiver.snapshot()[index].event_id
        if index == 0:
            # Hold the first request open until the worker sending it has been killed.
            self.release_first.wait(WAIT_S)
        if event_id not in self.processed:
            self.processed.append(event_id)
        if index == 0:
            self.first_done.set()
        return 200


def test_a_worker_killed_mid_delivery_is_replaced_and_the_event_resent(
    api, store, database_url, tmp_path
):
    hook = DedupingReceiver()
    first = second = None
    log = tmp_path / "workers.log"
    with hook.receiver as receiver:
        try:
            create_endpoint(api, receiver.url)
            _, event = create_customer(api)
            delivery = only_delivery(store, event["id"])

            first = start_worker(database_url, log)
            wait_until(
                lambda: receiver.snapshot() or first.poll() is not None,
                WAIT_S,
                "the first worker to reach the receiver",
            )
            assert first.poll() is None, log.read_text()
            leased = delivery_job(store, delivery.id)
            assert (leased.status, leased.attempts) == ("running", 1)
            first_owner = leased.lease_owner
            assert f":{first.pid}:" in first_owner

            first.send_signal(signal.SIGKILL)
            assert first.wait(timeout=10) == -signal.SIGKILL
            hook.release_first.set()
            assert hook.first_done.wait(WAIT_S)
            # The worker died before it could record anything: the job is still leased to it.
            orphaned = delivery_job(store, delivery.id)
            assert (orphaned.status, orphaned.lease_owner) == ("running", first_owner)
            assert only_delivery(store, event["id"]).status == "pending"

            second = start_worker(database_url, log)
            wait_until(
                lambda: (
                    only_delivery(store, event["id"]).status != "pending"
                    or second.poll() is not None
                ),
                WAIT_S,
                "the second worker to settle the delivery",
            )
            assert second.poll() is None, log.read_text()
            second.send_signal(signal.SIGTERM)
            assert second.wait(timeout=10) == 0, log.read_text()
        finally:
            hook.release_first.set()
            stop(first)
            stop(second)

    requests = receiver.snapshot()
    assert len(requests) >= 2
    assert {r.event_id for r in requests} == {event["id"]}
    assert requests[-1].status == 200
    assert hook.processed == [event["id"]], "the receiver processed the event more than once"

    final = only_delivery(store, event["id"])
    assert final.status == "succeeded"
    assert len(deliveries_of(store, event["id"])) == 1
    assert attempts_of(store, delivery.id)[-1].http_status == 200
    assert get_event(api, event["id"])["pending_webhooks"] == 0
    job = delivery_job(store, delivery.id)
    assert job.status == "done"
    assert job.attempts == 2, "the job should have been leased twice: once per worker"
    with store.read() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(jobs)).scalar_one() == 1
