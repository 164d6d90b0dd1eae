"""The posting process is killed (SIGKILL) mid-batch; after restart verify passes, no entry
is half written, every batch is all there or not at all, and the chain goes on."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import threading
import time

import sqlalchemy as sa
from ledger_support import T0, counts, ctx_for, entry

from conftest import new_account
from remit.ledger import service
from remit.ledger.tables import ledger_heads
from remit.ledger.verify import verify

BATCH = 2_000  # entries per post_batch; half of them have 2 legs, half 3
LEGS_PER_BATCH = BATCH // 2 * 2 + BATCH // 2 * 3
COMMITS_BEFORE_KILL = 2
# Posts batches until killed, saying when each one begins and when it has committed.
POSTER = """
import sys, time
from remit.accounts.service import Account
from remit.context import CallContext
from remit.ledger import service
from remit.ledger.domain.entries import Entry, Leg
from remit.primitives.money import DEFAULT_ROUNDING
from remit.store.engine import Store, make_engine

url, account_id, run, size, T0 = *sys.argv[1:4], int(sys.argv[4]), int(sys.argv[5])
store = Store(make_engine(url))
ctx = CallContext(account=Account(account_id, "Crash", DEFAULT_ROUNDING, 0), now=T0)

def legs(i):
    if i % 2 == 0:
        return (Leg("processor_balance_pending", "debit", 100 + i, "usd"),
                Leg("accounts_receivable", "credit", 100 + i, "usd"))
    return (Leg("accounts_receivable", "debit", 300, "usd"), Leg("revenue", "credit", 250, "usd"),
            Leg("tax_payable.fr", "credit", 50, "usd"))

for batch in range(1_000_000):
    entries = [Entry("crash", f"{run}.{batch}.{i}", legs(i), T0) for i in range(size)]
    print("begin", batch, time.monotonic(), flush=True)
    with store.write() as conn:
        service.post_batch(conn, ctx, entries)
    print("committed", batch, time.monotonic(), flush=True)
"""


def post_until_killed(database_url: str, account_id: str, run: int) -> tuple[int, str]:
    """Start the poster, let it commit a few batches, SIGKILL it at a random point of the
    next one; return how many batches it said were committed and its last words."""
    poster = subprocess.Popen(
        [sys.executable, "-c", POSTER, database_url, account_id, f"run{run}", str(BATCH), str(T0)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    watchdog = threading.Timer(120, poster.kill)
    watchdog.start()
    committed, began, last, took = 0, 0.0, "", 0.1
    try:
        while True:
            last = poster.stdout.readline()  # type: ignore[union-attr]
            assert last, f"the poster died on its own: {poster.stderr.read()}"  # type: ignore[union-attr]
            word, _, at = last.split()
            if word == "committed":
                committed, took = committed + 1, float(at) - began
            elif committed >= COMMITS_BEFORE_KILL:
                break
            began = float(at)
        time.sleep(random.Random(run).uniform(0.05, 0.95) * took)
        os.kill(poster.pid, signal.SIGKILL)
        poster.wait(timeout=30)
    finally:
        watchdog.cancel()
        poster.kill()
        poster.wait()
    assert poster.returncode == -signal.SIGKILL
    _await_orphaned_backends(database_url)
    return committed, last


def _await_orphaned_backends(database_url: str) -> None:
    """A killed client's PostgreSQL backend may still be finishing its COMMIT: wait until
    no other session of this database is mid-statement or mid-transaction, so what we
    count next is final."""
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


def assert_whole_batches_and_a_clean_ledger(store, account_id: str) -> int:
    with store.read() as conn:
        entries, legs = counts(conn, account_id)
        head = conn.execute(
            sa.select(ledger_heads.c.last_seq).where(ledger_heads.c.account_id == account_id)
        ).scalar_one()
    assert entries % BATCH == 0, f"{entries} entries: a batch was half written"
    assert legs == entries // BATCH * LEGS_PER_BATCH, "an entry is missing legs"
    assert head == entries
    report = verify(store, account_id)
    assert report.clean, report.findings
    assert (report.entries, report.legs) == (entries, legs)
    return entries // BATCH


def test_a_poster_killed_mid_batch_leaves_only_whole_batches(store, database_url):
    ctx = ctx_for(new_account(store, "Crash"))
    batches = 0
    for run in range(2):
        said, _ = post_until_killed(database_url, ctx.account_id, run)
        landed = assert_whole_batches_and_a_clean_ledger(store, ctx.account_id)
        # The batch in flight either committed before the kill (and its word was lost)
        # or left nothing at all.
        assert batches + said <= landed <= batches + said + 1
        batches = landed
    with store.write() as conn:  # after the restart, the chain goes on
        service.post_batch(conn, ctx, [
            entry(f"after.{i}", ("bank", "debit", 10 + i), ("owner_equity", "credit", 10 + i))
            for i in range(BATCH)
        ])  # fmt: skip
    with store.read() as conn:
        entries, _ = counts(conn, ctx.account_id)
    assert entries == (batches + 1) * BATCH
    assert verify(store, ctx.account_id).clean
