"""The test clock advance job: capabilities catch up through a hook, then the clock is ready.

Each test builds its own plugin manager (``make_manager()`` plus a test plugin) so
the session's manager, which the API server uses, is never changed.
"""

from __future__ import annotations

import threading
import time

import sqlalchemy as sa

from remit.billing.tables import customers
from remit.events import service as events
from remit.jobs.tables import jobs
from remit.jobs.worker import Worker
from remit.plugins.hookspecs import hookimpl
from remit.plugins.manager import job_handlers, make_manager
from remit.primitives.clock import FixedClock, WallClock

FROZEN = 1_700_000_000
MONTH_S = 31 * 24 * 3600
WAIT_S = 20


class CatchUp:
    """Stands in for billing catch-up: notes each call and writes to the customer it bills."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str, int, int]] = []

    @hookimpl
    def remit_test_clock_advance(self, conn, ctx, clock_id, from_ts, to_ts):
        self.calls.append((ctx.account_id, clock_id, from_ts, to_ts))
        _renew(conn, ctx, clock_id, to_ts)


class Exploding:
    """Writes its part of the catch-up, then fails."""

    @hookimpl
    def remit_test_clock_advance(self, conn, ctx, clock_id, from_ts, to_ts):
        _renew(conn, ctx, clock_id, to_ts)
        raise RuntimeError("renewal engine exploded")


def _renew(conn, ctx, clock_id, to_ts) -> None:
    conn.execute(
        customers.update()
        .where(customers.c.account_id == ctx.account_id, customers.c.test_clock == clock_id)
        .values(description=f"renewed to {to_ts}", balance=customers.c.balance + 100)
    )
    events.emit(conn, ctx, "customer.updated", {"id": clock_id, "object": "renewal"})


def manager_with(*plugins):
    pm = make_manager()
    for plugin in plugins:
        pm.register(plugin)
    return pm


def new_clock(api, frozen_time: int = FROZEN) -> dict:
    response = api.post(
        "/v1/test_helpers/test_clocks", data={"frozen_time": frozen_time, "name": "month end"}
    )
    assert response.status_code == 200, response.text
    return response.json()


def customer_on(api, clock_id: str) -> dict:
    response = api.post("/v1/customers", data={"email": "c@example.com", "test_clock": clock_id})
    assert response.status_code == 200, response.text
    return response.json()


def advance(api, clock_id: str, frozen_time: int) -> dict:
    response = api.post(
        f"/v1/test_helpers/test_clocks/{clock_id}/advance", data={"frozen_time": frozen_time}
    )
    assert response.status_code == 200, response.text
    return response.json()


def clock_events(api, clock_id: str, kind: str) -> list[dict]:
    listed = api.get("/v1/events", params={"type": f"test_helpers.test_clock.{kind}"}).json()
    return [e for e in listed["data"] if e["data"]["object"]["id"] == clock_id]


def advance_jobs(store) -> list:
    with store.read() as conn:
        return list(conn.execute(sa.select(jobs).where(jobs.c.kind == "test_clock.advance")))


def test_advancing_runs_the_catch_up_hook_then_the_clock_is_ready(api, store, account):
    clock = new_clock(api)
    customer = customer_on(api, clock["id"])
    catch_up = CatchUp()
    worker = Worker(store, job_handlers(manager_with(catch_up)), WallClock())

    advancing = advance(api, clock["id"], FROZEN + MONTH_S)
    assert (advancing["status"], advancing["frozen_time"]) == ("advancing", FROZEN + MONTH_S)
    assert api.get(f"/v1/test_helpers/test_clocks/{clock['id']}").json()["status"] == "advancing"
    again = api.post(
        f"/v1/test_helpers/test_clocks/{clock['id']}/advance",
        data={"frozen_time": FROZEN + 2 * MONTH_S},
    )
    assert again.status_code == 400
    assert again.json()["error"]["code"] == "test_clock_not_ready"
    assert catch_up.calls == [], "nothing catches up before the job runs"

    assert worker.drain() == 1

    ready = api.get(f"/v1/test_helpers/test_clocks/{clock['id']}").json()
    assert (ready["status"], ready["frozen_time"]) == ("ready", FROZEN + MONTH_S)
    assert catch_up.calls == [(account.account.id, clock["id"], FROZEN, FROZEN + MONTH_S)]
    (advancing_evt,) = clock_events(api, clock["id"], "advancing")
    (ready_evt,) = clock_events(api, clock["id"], "ready")
    assert advancing_evt["data"]["object"]["status"] == "advancing"
    assert ready_evt["data"]["object"]["status"] == "ready"
    assert ready_evt["data"]["object"]["frozen_time"] == FROZEN + MONTH_S
    assert clock_events(api, clock["id"], "internal_failure") == []
    renewed = api.get(f"/v1/customers/{customer['id']}").json()
    assert (renewed["description"], renewed["balance"]) == (f"renewed to {FROZEN + MONTH_S}", 100)
    (job,) = advance_jobs(store)
    assert (job.status, job.attempts) == ("done", 1)

    # A second advance starts from where the first one ended.
    advance(api, clock["id"], FROZEN + 2 * MONTH_S)
    assert worker.drain() == 1
    assert catch_up.calls[-1][2:] == (FROZEN + MONTH_S, FROZEN + 2 * MONTH_S)
    assert len(clock_events(api, clock["id"], "ready")) == 2


def test_a_failing_hook_leaves_the_clock_in_internal_failure_and_writes_nothing(api, store):
    clock = new_clock(api)
    customer = customer_on(api, clock["id"])
    before = api.get(f"/v1/customers/{customer['id']}").json()
    catch_up = CatchUp()
    # pluggy calls the last registered first: CatchUp writes, then Exploding writes and raises.
    worker = Worker(store, job_handlers(manager_with(Exploding(), catch_up)), WallClock())

    advance(api, clock["id"], FROZEN + MONTH_S)
    assert worker.drain() == 1

    assert len(catch_up.calls) == 1, "the well-behaved hook ran"
    failed = api.get(f"/v1/test_helpers/test_clocks/{clock['id']}").json()
    assert failed["status"] == "internal_failure"
    (failure_evt,) = clock_events(api, clock["id"], "internal_failure")
    assert failure_evt["data"]["object"]["status"] == "internal_failure"
    assert clock_events(api, clock["id"], "ready") == []
    # Every hook's writes are rolled back together, the one that raised and the one that did not.
    assert api.get(f"/v1/customers/{customer['id']}").json() == before
    updated = api.get("/v1/events", params={"type": "customer.updated"}).json()["data"]
    assert updated == []
    (job,) = advance_jobs(store)
    assert job.status == "dead"
    assert "renewal engine exploded" in job.last_error
    refused = api.post(
        f"/v1/test_helpers/test_clocks/{clock['id']}/advance",
        data={"frozen_time": FROZEN + 2 * MONTH_S},
    )
    assert refused.status_code == 400, "a failed clock cannot advance again"


class Slow(CatchUp):
    """Catch-up whose first run takes longer than the worker's lease."""

    def __init__(self) -> None:
        super().__init__()
        self.first_started = threading.Event()
        self.release_first = threading.Event()

    @hookimpl
    def remit_test_clock_advance(self, conn, ctx, clock_id, from_ts, to_ts):
        first = not self.calls
        self.calls.append((ctx.account_id, clock_id, from_ts, to_ts))
        if first:
            self.first_started.set()
            self.release_first.wait(WAIT_S)
        _renew(conn, ctx, clock_id, to_ts)


def test_an_advance_whose_lease_is_taken_over_commits_its_catch_up_once(api, store):
    """Worker A's catch-up outlives its lease; worker B re-leases the job meanwhile.

    However the two overlap, the customer must be renewed once and the clock
    reported ready once: the job's doc promises the catch-up commits whole, once.
    """
    clock = new_clock(api)
    customer = customer_on(api, clock["id"])
    slow = Slow()
    handlers = job_handlers(manager_with(slow))
    advance(api, clock["id"], FROZEN + MONTH_S)
    now = int(time.time())
    worker_a = Worker(store, handlers, FixedClock(now), owner="worker-a", lease_s=2)
    worker_b = Worker(store, handlers, FixedClock(now + 3), owner="worker-b", lease_s=60)
    ran: dict[str, int] = {}

    def run(worker: Worker) -> None:
        ran[worker.owner] = worker.run_once()

    thread_a = threading.Thread(target=run, args=(worker_a,))
    thread_b = threading.Thread(target=run, args=(worker_b,))
    try:
        thread_a.start()
        assert slow.first_started.wait(WAIT_S)
        # B's clock is past A's lease. On SQLite B waits for A's write lock; on
        # PostgreSQL it re-leases the job at once and runs the catch-up itself.
        thread_b.start()
        thread_b.join(timeout=1)
    finally:
        slow.release_first.set()
        thread_a.join(timeout=WAIT_S)
        thread_b.join(timeout=WAIT_S)
    assert not thread_a.is_alive() and not thread_b.is_alive()
    assert ran["worker-a"] == 1

    assert api.get(f"/v1/test_helpers/test_clocks/{clock['id']}").json()["status"] == "ready"
    committed = {
        "customer balance": api.get(f"/v1/customers/{customer['id']}").json()["balance"],
        "renewal events": len(
            api.get("/v1/events", params={"type": "customer.updated"}).json()["data"]
        ),
        "ready events": len(clock_events(api, clock["id"], "ready")),
    }
    assert committed == {"customer balance": 100, "renewal events": 1, "ready events": 1}, (
        f"the catch-up committed more than once (hook calls: {len(slow.calls)})"
    )
    (job,) = advance_jobs(store)
    assert job.status == "done"
