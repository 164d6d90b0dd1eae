"""The durable job queue: leases, settlement by the lease holder only, and the worker loop."""

from __future__ import annotations

import threading
import time

import pytest
import sqlalchemy as sa

from remit.jobs import queue
from remit.jobs.queue import MAX_CLAIM_BATCH, MAX_ERROR_CHARS
from remit.jobs.tables import jobs
from remit.jobs.worker import MAX_GENERIC_ATTEMPTS, Worker
from remit.primitives.clock import FixedClock

ACCOUNT = "acct_queue_test"
T0 = 1_700_000_000
LEASE_S = 30


def enqueue(store, kind="test.noop", run_at=T0, **payload) -> str:
    with store.write() as conn:
        return queue.enqueue(
            conn, account_id=ACCOUNT, kind=kind, payload=payload, run_at=run_at, now=T0
        )


def row(store, job_id: str):
    with store.read() as conn:
        return conn.execute(sa.select(jobs).where(jobs.c.id == job_id)).one()


def statuses(store) -> dict[str, str]:
    with store.read() as conn:
        return {r.id: r.status for r in conn.execute(sa.select(jobs.c.id, jobs.c.status))}


def test_a_job_is_enqueued_claimed_and_completed(store):
    job_id = enqueue(store, n=7)
    queued = row(store, job_id)
    assert (queued.status, queued.attempts, queued.run_at, queued.created) == ("queued", 0, T0, T0)
    assert queued.payload == {"n": 7}

    (job,) = queue.claim(store, "w1", T0, LEASE_S)
    assert (job.id, job.account_id, job.kind, job.payload) == (
        job_id,
        ACCOUNT,
        "test.noop",
        {"n": 7},
    )
    assert (job.attempts, job.lease_owner) == (1, "w1")
    running = row(store, job_id)
    assert (running.status, running.lease_owner, running.lease_expires_at) == (
        "running",
        "w1",
        T0 + LEASE_S,
    )

    with store.write() as conn:
        assert queue.complete(conn, job, T0 + 5)
    done = row(store, job_id)
    assert (done.status, done.finished_at, done.lease_owner, done.lease_expires_at) == (
        "done",
        T0 + 5,
        None,
        None,
    )
    assert queue.claim(store, "w2", T0 + 10_000, LEASE_S) == []


def test_a_job_is_not_due_before_its_run_at(store):
    job_id = enqueue(store, run_at=T0 + 60)
    assert queue.claim(store, "w1", T0 + 59, LEASE_S) == []
    assert [j.id for j in queue.claim(store, "w1", T0 + 60, LEASE_S)] == [job_id]


def test_a_leased_job_is_claimed_again_only_after_its_lease_lapses(store):
    job_id = enqueue(store)
    (first,) = queue.claim(store, "w1", T0, LEASE_S)

    # Held through the last second of the lease, by any claimer.
    for now in (T0, T0 + 1, T0 + LEASE_S):
        assert queue.claim(store, "w2", now, LEASE_S) == []
    assert row(store, job_id).lease_owner == "w1"

    (second,) = queue.claim(store, "w2", T0 + LEASE_S + 1, LEASE_S)
    assert (second.id, second.attempts, second.lease_owner) == (job_id, 2, "w2")
    taken = row(store, job_id)
    assert (taken.status, taken.lease_owner, taken.lease_expires_at, taken.attempts) == (
        "running",
        "w2",
        T0 + 2 * LEASE_S + 1,
        2,
    )

    # The first worker comes back: none of its settlements touch the job any more.
    with store.write() as conn:
        assert queue.complete(conn, first, T0 + 40) is False
        assert queue.reschedule(conn, first, T0 + 100, "late") is False
        assert queue.bury(conn, first, T0 + 40, "late") is False
    assert row(store, job_id) == taken

    with store.write() as conn:
        assert queue.complete(conn, second, T0 + 41) is True
    assert row(store, job_id).status == "done"


def test_reschedule_requeues_the_job_for_later(store):
    job_id = enqueue(store)
    (job,) = queue.claim(store, "w1", T0, LEASE_S)
    with store.write() as conn:
        assert queue.reschedule(conn, job, T0 + 300, "x" * (MAX_ERROR_CHARS + 50))
    queued = row(store, job_id)
    assert (queued.status, queued.run_at, queued.lease_owner, queued.lease_expires_at) == (
        "queued",
        T0 + 300,
        None,
        None,
    )
    assert queued.last_error == "x" * MAX_ERROR_CHARS
    assert queued.finished_at is None

    assert queue.claim(store, "w1", T0 + 299, LEASE_S) == []
    (again,) = queue.claim(store, "w2", T0 + 300, LEASE_S)
    assert (again.id, again.attempts) == (job_id, 2)


def test_a_buried_job_stays_for_inspection_and_never_runs_again(store):
    job_id = enqueue(store)
    (job,) = queue.claim(store, "w1", T0, LEASE_S)
    with store.write() as conn:
        assert queue.bury(conn, job, T0 + 1, "poison")
    dead = row(store, job_id)
    assert (dead.status, dead.finished_at, dead.last_error, dead.lease_owner) == (
        "dead",
        T0 + 1,
        "poison",
        None,
    )
    assert queue.claim(store, "w2", T0 + 10**6, LEASE_S) == []


def test_claims_take_the_earliest_due_jobs_first(store):
    run_ats = [T0 + 50, T0 + 10, T0 + 30, T0 + 20, T0 + 40, T0 + 999]
    ids = {run_at: enqueue(store, run_at=run_at) for run_at in run_ats}
    claimed = []
    for _ in range(len(run_ats)):
        claimed += queue.claim(store, "w1", T0 + 100, LEASE_S, limit=1)
    expected = [ids[r] for r in sorted(run_ats) if r <= T0 + 100]
    assert [j.id for j in claimed] == expected


def test_jobs_due_at_the_same_time_are_claimed_in_creation_order(store):
    ids = [enqueue(store) for _ in range(5)]
    claimed = []
    for _ in ids:
        claimed += queue.claim(store, "w1", T0, LEASE_S, limit=1)
    assert [j.id for j in claimed] == ids


def test_a_batch_comes_back_in_due_order(store):
    # Enqueued latest-due first, so creation order and due order disagree.
    ids = [enqueue(store, run_at=T0 - n) for n in range(8)]
    batch = queue.claim(store, "w1", T0, LEASE_S, limit=10)
    assert {j.id for j in batch} == set(ids)
    assert [j.id for j in batch] == ids[::-1], "the worker runs a batch in the order claimed"


def test_the_worker_runs_a_batch_earliest_due_first(store):
    handler = Recorder()
    ids = [enqueue(store, kind="test.ok", run_at=T0 - n) for n in range(6)]
    worker = Worker(store, {"test.ok": handler}, FixedClock(T0), owner="w1", batch=10)
    assert worker.run_once() == 6
    assert [r[0] for r in handler.runs] == ids[::-1]


def test_a_claim_is_bounded(store):
    for _ in range(MAX_CLAIM_BATCH + 20):
        enqueue(store)
    assert len(queue.claim(store, "w1", T0, LEASE_S, limit=10_000)) == MAX_CLAIM_BATCH
    assert len(queue.claim(store, "w1", T0, LEASE_S, limit=0)) == 1
    assert len(queue.claim(store, "w1", T0, LEASE_S, limit=-5)) == 1
    assert len(queue.claim(store, "w1", T0, LEASE_S, limit=100)) == 18


def test_concurrent_claimers_never_share_a_job(store):
    total, claimers, batch = 200, 4, 3
    with store.write() as conn:
        expected = {
            queue.enqueue(conn, account_id=ACCOUNT, kind="test.noop", payload={}, run_at=T0, now=T0)
            for _ in range(total)
        }
    start = threading.Barrier(claimers)
    got: dict[str, list[str]] = {f"w{i}": [] for i in range(claimers)}
    errors: list[BaseException] = []

    def claim_until_empty(owner: str) -> None:
        try:
            start.wait(timeout=10)
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                jobs_ = queue.claim(store, owner, T0, lease_s=3600, limit=batch)
                got[owner] += [j.id for j in jobs_]
                if not jobs_ and "queued" not in statuses(store).values():
                    return
        except BaseException as exc:  # surfaced by the main thread
            errors.append(exc)

    threads = [threading.Thread(target=claim_until_empty, args=(o,)) for o in got]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not any(t.is_alive() for t in threads)
    assert errors == []

    every_claim = [job_id for ids in got.values() for job_id in ids]
    assert len(every_claim) == len(set(every_claim)) == total, "a job was claimed twice"
    assert set(every_claim) == expected
    # The table agrees with what each claimer believes it holds.
    with store.read() as conn:
        rows = conn.execute(sa.select(jobs.c.id, jobs.c.lease_owner, jobs.c.attempts)).all()
    owner_of = {job_id: owner for owner, ids in got.items() for job_id in ids}
    assert {r.id: r.lease_owner for r in rows} == owner_of
    assert {r.attempts for r in rows} == {1}
    assert sum(1 for ids in got.values() if ids) >= 2, "the claimers never overlapped"


class Recorder:
    def __init__(self, fail: bool = False) -> None:
        self.fail = fail
        self.runs: list[tuple[str, int, int]] = []

    def __call__(self, store, job, clock) -> None:
        self.runs.append((job.id, job.attempts, clock.now()))
        if self.fail:
            raise RuntimeError(f"boom on attempt {job.attempts}")
        with store.write() as conn:
            queue.complete(conn, job, clock.now())


def test_the_worker_runs_handlers_and_they_settle_their_jobs(store):
    handler = Recorder()
    ids = [enqueue(store, kind="test.ok") for _ in range(3)]
    clock = FixedClock(T0)
    worker = Worker(store, {"test.ok": handler}, clock, owner="w1", batch=2)

    assert worker.drain() == 3
    assert sorted(r[0] for r in handler.runs) == ids
    assert {r[1] for r in handler.runs} == {1}
    assert set(statuses(store).values()) == {"done"}
    assert worker.run_once() == 0


def test_a_failing_handler_is_retried_with_backoff_then_buried(store):
    handler = Recorder(fail=True)
    job_id = enqueue(store, kind="test.flaky")
    clock = FixedClock(T0)
    worker = Worker(store, {"test.flaky": handler}, clock, owner="w1")

    assert worker.run_once() == 1
    failed = row(store, job_id)
    assert (failed.status, failed.run_at, failed.attempts) == ("queued", T0 + 2, 1)
    assert "boom on attempt 1" in failed.last_error
    clock.set(T0 + 1)
    assert worker.run_once() == 0

    delays = []
    for _ in range(MAX_GENERIC_ATTEMPTS - 1):
        before = row(store, job_id)
        clock.set(before.run_at)
        assert worker.run_once() == 1
        after = row(store, job_id)
        if after.status == "queued":
            delays.append(after.run_at - clock.now())
    assert delays == [min(2**n, 3600) for n in range(2, MAX_GENERIC_ATTEMPTS)]

    dead = row(store, job_id)
    assert (dead.status, dead.attempts) == ("dead", MAX_GENERIC_ATTEMPTS)
    assert f"boom on attempt {MAX_GENERIC_ATTEMPTS}" in dead.last_error
    assert len(handler.runs) == MAX_GENERIC_ATTEMPTS
    clock.advance(10**6)
    assert worker.run_once() == 0


def test_a_job_of_an_unknown_kind_is_buried_at_once(store):
    job_id = enqueue(store, kind="test.nobody_handles_this")
    worker = Worker(store, {}, FixedClock(T0), owner="w1")
    assert worker.run_once() == 1
    dead = row(store, job_id)
    assert (dead.status, dead.attempts, dead.finished_at) == ("dead", 1, T0)
    assert "no handler" in dead.last_error and "test.nobody_handles_this" in dead.last_error


@pytest.mark.parametrize("lease_s", [1, 60])
def test_a_worker_claims_with_its_lease(store, lease_s):
    job_id = enqueue(store, kind="test.hang")
    seen = []
    # A handler that never settles: the job stays leased until the lease lapses.
    handlers = {"test.hang": lambda s, j, c: seen.append(j.id)}
    worker = Worker(store, handlers, FixedClock(T0), owner="w1", lease_s=lease_s)
    assert worker.run_once() == 1
    assert seen == [job_id]
    assert row(store, job_id).lease_expires_at == T0 + lease_s
    assert queue.claim(store, "w2", T0 + lease_s, LEASE_S) == []
    assert [j.id for j in queue.claim(store, "w2", T0 + lease_s + 1, LEASE_S)] == [job_id]
