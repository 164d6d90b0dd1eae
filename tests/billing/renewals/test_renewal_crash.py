"""A bill run killed (SIGKILL) halfway and run again yields the same invoices as a run that
was never interrupted: no duplicates, none missing, a clean ledger."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import threading
import time

import httpx
import sqlalchemy as sa
from renewal_support import HOUR_S, JAN_1, cycle_invoices, new_price, service_ctx
from renewal_support import wall_subscriptions as subscribed

from conftest import new_account
from remit.billing import bill_run
from remit.ledger.verify import verify

FEB_1 = 1_706_745_600
SUBSCRIPTIONS = 40
BATCH = 4
COMMITS_BEFORE_KILL = 2
# Runs the bill run, saying when it starts and when each batch has committed.
RUNNER = """
import sys, time
from remit.accounts.service import get_account
from remit.billing import bill_run
from remit.plugins.manager import make_manager
from remit.store.engine import Store, make_engine

url, account_id, at_ts, batch = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
store = Store(make_engine(url))
with store.read() as conn:
    account = get_account(conn, account_id)
print("begin", 0, time.monotonic(), flush=True)
bill_run.run(store, account, at_ts, pm=make_manager(), batch_size=batch,
             on_batch=lambda b: print("committed", b.number, time.monotonic(), flush=True))
print("done", 0, time.monotonic(), flush=True)
"""


def _setup(server, store, pm, made):
    """``SUBSCRIPTIONS`` customers on two prices (the seat count varies), for ``made``."""
    headers = {"Authorization": f"Bearer {made.secret_key}"}
    with httpx.Client(base_url=server.url, headers=headers, timeout=30) as api:
        seats, support = new_price(api, 2000), new_price(api, 499)
    ctx = service_ctx(store, made, JAN_1, pm)
    subs = []
    for n in range(SUBSCRIPTIONS):
        items = [{"price": seats, "quantity": 1 + n % 5}, {"price": support}]
        [(sub, _)] = subscribed(store, ctx, 1, items, collection_method="send_invoice",
                                days_until_due=30)  # fmt: skip
        subs.append(sub)
    return subs


def _run_until_killed(database_url: str, account_id: str) -> int:
    runner = subprocess.Popen(
        [sys.executable, "-c", RUNNER, database_url, account_id, str(FEB_1 + HOUR_S), str(BATCH)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    watchdog = threading.Timer(120, runner.kill)
    watchdog.start()
    committed, began, took = 0, 0.0, 0.1
    try:
        while committed < COMMITS_BEFORE_KILL:
            line = runner.stdout.readline()  # type: ignore[union-attr]
            assert line, f"the bill run died on its own: {runner.stderr.read()}"  # type: ignore[union-attr]
            word, _, at = line.split()
            assert word != "done", "the bill run finished before it could be killed"
            if word == "committed":
                committed, took = committed + 1, float(at) - began
            began = float(at)
        time.sleep(random.Random(7).uniform(0.05, 0.95) * took)
        os.kill(runner.pid, signal.SIGKILL)
        runner.wait(timeout=30)
    finally:
        watchdog.cancel()
        runner.kill()
        runner.wait()
    assert runner.returncode == -signal.SIGKILL
    _await_orphaned_backends(database_url)
    return committed


def _await_orphaned_backends(database_url: str) -> None:
    """A killed client's PostgreSQL backend may still be finishing its transaction."""
    if not database_url.startswith("postgresql"):
        return
    engine = sa.create_engine(sa.make_url(database_url).set(drivername="postgresql+psycopg"))
    busy = sa.text(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
        "AND pid <> pg_backend_pid() AND state IN ('active', 'idle in transaction')"
    )
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with engine.connect() as conn:
                if conn.execute(busy).scalar() == 0:
                    return
            time.sleep(0.05)
    finally:
        engine.dispose()


def _shapes(store, account_id, subs):
    """Each subscription's renewal invoices as amounts and periods (ids differ by run)."""
    found = {sub: [] for sub in subs}
    for i in cycle_invoices(store, account_id):
        found[i.subscription].append(
            (i.status, i.period_start, i.period_end, i.created, i.finalized_at, i.subtotal,
             i.total, i.amount_due)
        )  # fmt: skip
    return [found[sub] for sub in subs]


def test_a_bill_run_killed_halfway_and_rerun_gives_the_same_invoices(
    server, store, pm, database_url
):
    control = new_account(store, "Control")
    control_subs = _setup(server, store, pm, control)
    bill_run.run(store, control.account, FEB_1 + HOUR_S, pm=pm, batch_size=BATCH)
    crashed = new_account(store, "Crashed")
    crashed_subs = _setup(server, store, pm, crashed)
    committed = _run_until_killed(database_url, crashed.account.id)
    halfway = _shapes(store, crashed.account.id, crashed_subs)
    renewed = sum(1 for shape in halfway if shape)
    assert committed * BATCH <= renewed < SUBSCRIPTIONS, "the kill did not land halfway"
    assert renewed % BATCH == 0, "a batch was half committed"
    bill_run.run(store, crashed.account, FEB_1 + HOUR_S, pm=pm, batch_size=BATCH)
    after = _shapes(store, crashed.account.id, crashed_subs)
    assert after == _shapes(store, control.account.id, control_subs)
    assert all(len(shape) == 1 for shape in after), "a subscription was invoiced twice"
    report = verify(store, crashed.account.id)
    assert report.clean, report.findings
