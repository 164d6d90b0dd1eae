"""Two workers sending one delivery: a slow request outlives its worker's lease.

Worker A's request hangs past its lease; worker B re-leases the job and delivers
successfully; then A's request finally fails. A is no longer the job's owner, so
its late result must not leave the delivery row contradicting its own attempts.
"""

from __future__ import annotations

import threading
import time

from webhook_support import (
    Receiver,
    attempts_of,
    create_customer,
    create_endpoint,
    delivery_job,
    get_event,
    only_delivery,
    wait_until,
)

from remit.jobs.worker import Worker
from remit.plugins.manager import job_handlers
from remit.primitives.clock import FixedClock

WAIT_S = 20


def test_a_late_result_from_a_worker_that_lost_its_lease_keeps_the_delivery_consistent(
    api, store, pm
):
    release_first = threading.Event()

    def answer(index: int) -> int:
        if index == 0:
            release_first.wait(WAIT_S)
            return 500
        return 200

    with Receiver(answer) as receiver:
        create_endpoint(api, receiver.url)
        _, event = create_customer(api)
        delivery = only_delivery(store, event["id"])
        now = int(time.time())
        worker_a = Worker(store, job_handlers(pm), FixedClock(now), owner="worker-a", lease_s=2)
        worker_b = Worker(store, job_handlers(pm), FixedClock(now + 3), owner="worker-b")
        thread_a = threading.Thread(target=worker_a.run_once)
        try:
            thread_a.start()
            wait_until(lambda: len(receiver.snapshot()) == 1, WAIT_S, "worker A's request")
            assert worker_b.run_once() == 1
            assert only_delivery(store, event["id"]).status == "succeeded"
        finally:
            release_first.set()
            thread_a.join(timeout=WAIT_S)
        assert not thread_a.is_alive()

    assert [r.status for r in receiver.snapshot()] == [500, 200]
    assert {r.event_id for r in receiver.snapshot()} == {event["id"]}
    attempts = attempts_of(store, delivery.id)
    assert sorted(a.http_status for a in attempts) == [200, 500]
    final = only_delivery(store, event["id"])
    assert {
        "status": final.status,
        "attempts": final.attempts,
        "next_attempt_at": final.next_attempt_at,
    } == {"status": "succeeded", "attempts": len(attempts), "next_attempt_at": None}
    assert get_event(api, event["id"])["pending_webhooks"] == 0
    job = delivery_job(store, delivery.id)
    assert (job.status, job.lease_owner) == ("done", None)
