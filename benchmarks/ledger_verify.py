"""``verify()`` over a large ledger: legs per second, next to one bare pass over the legs.

Run with remit's venv python:

    .venv/bin/python benchmarks/ledger_verify.py [--legs 10000000] [--db PATH] [--postgres URL]

Builds a ledger of about ``--legs`` legs through ``post_batch`` (batches of 50,000 entries,
tenants in turn) plus pending holds posted, voided and expired, and reversals, so every
entry kind is there; the build is timed and reported on its own. ``--db PATH`` keeps the
SQLite file, ``--postgres URL`` builds into that (existing) database; a later run with the
same one reuses the ledger there. Then ``verify()`` runs over the
whole ledger, next to the floor: one ``SELECT COUNT(*), SUM(amount)`` over the legs. The
goal (10M legs in <= 30 s) is printed, never enforced; below 10M legs the 10M figure is a
linear extrapolation and says so.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

from ledger_posting import T0, Business, fresh_database, new_tenant, open_store, postgres_reachable

from remit.context import CallContext
from remit.ledger import service
from remit.ledger.domain.entries import Entry, Leg
from remit.ledger.verify import verify
from remit.store.engine import Store

GOAL_LEGS, GOAL_S = 10_000_000, 30.0
BATCH = 50_000


def legs_in(store: Store) -> int:
    with store.read() as conn:
        return int(conn.exec_driver_sql("SELECT COUNT(*) FROM journal_legs").scalar_one())


def lifecycle(store: Store, ctx: CallContext, tenant: int, holds: int) -> None:
    """Pending holds on the limited balance posted (partly), voided, expired; reversals."""
    with store.write() as conn:
        for n in range(holds):
            legs = (Leg("cash_in_transit", "debit", 100 + n, "usd"),
                    Leg("processor_balance_available", "credit", 100 + n, "usd"))  # fmt: skip
            held = service.hold(conn, ctx, Entry("hold", f"h{tenant}.{n}", legs, T0), T0 + 60)
            if n % 3 == 0:
                service.post_pending(conn, ctx, held.id, f"p{tenant}.{n}", amount=50 + n)
            elif n % 3 == 1:
                service.void_pending(conn, ctx, held.id)
        booked = service.post_batch(conn, ctx, Business(seed=tenant, prefix="r").entries(holds))
        for posted in booked:
            service.reverse(conn, ctx, posted.id)
    later = CallContext(account=ctx.account, now=T0 + 120)
    with store.write() as conn:
        service.expire_pending(conn, later)


def build(store: Store, legs: int, tenants: int) -> tuple[int, float]:
    started = time.perf_counter()
    contexts = [new_tenant(store, f"tenant {n}") for n in range(tenants)]
    businesses = [Business(seed=n, prefix=f"t{n}.") for n in range(tenants)]
    for n, ctx in enumerate(contexts):
        # Enough settled money first, so the holds on the available balance fit.
        with store.write() as conn:
            service.post(conn, ctx, Entry("seed", "seed", (
                Leg("processor_balance_available", "debit", 10**12, "usd"),
                Leg("owner_equity", "credit", 10**12, "usd")), T0))  # fmt: skip
        lifecycle(store, ctx, n, holds=300)
    made, turn = legs_in(store), 0
    while made < legs:
        batch = businesses[turn % tenants].entries(BATCH)
        with store.write() as conn:
            service.post_batch(conn, contexts[turn % tenants], batch)
        made += sum(len(e.legs) for e in batch)
        turn += 1
        if turn == 1 and store.dialect == "postgresql":
            analyze(store)
        if turn % 20 == 0:
            rate = made / (time.perf_counter() - started)
            print(f"  built {made:,} legs, {rate:,.0f} legs/s", flush=True)
    return made, time.perf_counter() - started


def analyze(store: Store) -> None:
    """Statistics for the fresh tables, as autovacuum would give them sooner or later: with
    none, the duplicate-cause lookup scans a tenant's entries per batch (see README)."""
    with store.write() as conn:
        conn.exec_driver_sql("ANALYZE")


def floor(store: Store) -> float:
    started = time.perf_counter()
    with store.read() as conn:
        conn.exec_driver_sql("SELECT COUNT(*), SUM(amount) FROM journal_legs").one()
    return time.perf_counter() - started


def run(store: Store, legs: int, tenants: int) -> None:
    have = legs_in(store)
    if have >= legs * 0.98:
        print(f"reusing the ledger there: {have:,} legs (build not timed)")
    else:
        made, seconds = build(store, legs, tenants)
        print(
            f"built {made:,} legs in {seconds:.1f} s ({made / seconds:,.0f} legs/s via post_batch)"
        )
    floor_s = floor(store)
    report = verify(store)
    rate = report.legs / report.elapsed_s
    print(f"\n{'':<34} {'legs':>12} {'s':>8} {'legs/s':>12} {'vs floor':>9}")
    print(f"{'floor: COUNT+SUM over the legs':<34} {report.legs:>12,} {floor_s:>8.2f} "
          f"{report.legs / floor_s:>12,.0f} {'1.00x':>9}")  # fmt: skip
    print(f"{'verify()':<34} {report.legs:>12,} {report.elapsed_s:>8.2f} {rate:>12,.0f} "
          f"{report.elapsed_s / floor_s:>8.1f}x")  # fmt: skip
    print(f"entries {report.entries:,}, ledger accounts {report.accounts:,}, tenants "
          f"{report.tenants}, findings {len(report.findings) + report.omitted} "
          f"({'clean' if report.clean else 'NOT CLEAN'})")  # fmt: skip
    for finding in report.findings[:10]:
        print("  ", finding)
    at_goal = GOAL_LEGS / rate
    label = "measured" if report.legs >= GOAL_LEGS else "extrapolated linearly from this run"
    print(f"goal: {GOAL_LEGS:,} legs in <= {GOAL_S:.0f} s; {label}: {at_goal:.1f} s for "
          f"{GOAL_LEGS:,} legs ({GOAL_S / at_goal:.2f}x the goal's speed)")  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--legs", type=int, default=GOAL_LEGS)
    parser.add_argument("--tenants", type=int, default=4)
    parser.add_argument("--db", type=Path, help="SQLite file to build into, kept and reused")
    parser.add_argument(
        "--postgres", help="a PostgreSQL database (URL) to build into, kept and reused"
    )
    args = parser.parse_args(argv)
    if not 10_000 <= args.legs <= 50_000_000 or not 1 <= args.tenants <= 100:
        parser.error("--legs 10000..50000000, --tenants 1..100")
    print(f"{os.cpu_count()} CPUs; target {args.legs:,} legs over {args.tenants} tenants")
    if args.postgres:
        if not postgres_reachable(args.postgres):
            parser.error(f"PostgreSQL not reachable at {args.postgres}")
        store = open_store(args.postgres)
        run(store, args.legs, args.tenants)
        store.dispose()
        return 0
    if args.db:
        store = open_store(f"sqlite:///{args.db.resolve()}", "NORMAL")
        run(store, args.legs, args.tenants)
        store.dispose()
        return 0
    with fresh_database("sqlite", None) as url:
        store = open_store(url, "NORMAL")
        run(store, args.legs, args.tenants)
        store.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
