"""Durable batched ledger posting: legs/s of ``post_batch`` next to a bare executemany floor.

Run with remit's venv python:

    .venv/bin/python benchmarks/ledger_posting.py [--legs 300000] [--batch 5000] [--profile]

Each configuration gets a fresh database: SQLite with synchronous=NORMAL and FULL, and
PostgreSQL when ``--postgres URL`` (default: REMIT_BENCH_POSTGRES_URL, else the local
server the test suite uses) is reachable. The floor writes the same leg rows, as tuples,
through the driver's executemany into a plain table (same columns; no key, index, foreign
key or trigger) in the same database, one transaction per batch as post_batch has. A
diagnostic row posts into a database whose guard triggers were dropped, to price them.
Figures and ratios are printed; nothing is judged pass/fail.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import platform
import pstats
import random
import runpy
import secrets
import sqlite3
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa

from remit.accounts.service import create_account
from remit.context import CallContext
from remit.ledger import service
from remit.ledger.domain.entries import Entry, Leg
from remit.store import migrate
from remit.store.engine import Store, make_engine

GOAL_LEGS_PER_S = 200_000
T0 = 1_767_225_600  # 2026-01-01T00:00:00Z
LOCAL_POSTGRES = "postgresql://postgres@127.0.0.1:5432/postgres"
DROP_GUARDS = runpy.run_path(str(migrate.MIGRATIONS_DIR / "versions" / "0002_ledger.py"))[
    "DROP_GUARDS"
]
LEG_COLUMNS = "account_id, entry_id, leg_no, ledger_account_id, side, amount, currency"


# -- what a business posts -------------------------------------------------------------------
class Business:
    """A deterministic stream of a billing business's entries, 2-4 legs each.

    Invoices (AR against revenue and tax, some with a discount), payments, fees,
    settlements and payouts, refunds, and a few two-currency entries. Money only
    leaves the limited available balance after it arrived there, in every prefix.
    """

    def __init__(self, seed: int, prefix: str = "c") -> None:
        self.rng = random.Random(seed)
        self.prefix = prefix
        self.n = 0
        self.available = 0

    def entries(self, count: int) -> list[Entry]:
        return [self.next() for _ in range(count)]

    def next(self) -> Entry:
        self.n += 1
        roll, amount = self.rng.random(), self.rng.randint(100, 500_000)
        if roll < 0.30:
            legs = self._invoice(amount)
        elif roll < 0.55:
            legs = _pair("processor_balance_pending", "accounts_receivable", amount)
        elif roll < 0.70:
            legs = _pair("processing_fees", "processor_balance_pending", amount // 30 + 1)
        elif roll < 0.99 and (roll < 0.85 or self.available == 0):
            self.available += amount
            legs = _pair("processor_balance_available", "processor_balance_pending", amount)
        elif roll < 0.99:
            taken = self.rng.randint(1, self.available)
            self.available -= taken
            payout = roll < 0.95
            debit = "cash_in_transit" if payout else "contra_revenue"
            legs = _pair(debit, "processor_balance_available", taken)
        else:
            legs = _pair("bank", "revenue", amount) + _pair("bank", "revenue", amount, "eur")
        return Entry("bench", f"{self.prefix}{self.n}", legs, T0 + self.n // 1000)

    def _invoice(self, total: int) -> tuple[Leg, ...]:
        tax = total // 5
        tax_account = f"tax_payable.{self.rng.choice(('fr', 'de', 'us-ca', 'gb'))}"
        legs = [Leg("accounts_receivable", "debit", total, "usd")]
        if self.rng.random() < 0.3:
            discount = total // 10 + 1
            legs.append(Leg("contra_revenue", "debit", discount, "usd"))
            total += discount
        legs += [
            Leg("revenue", "credit", total - tax, "usd"),
            Leg(tax_account, "credit", tax, "usd"),
        ]
        return tuple(legs)


def _pair(debit: str, credit: str, amount: int, currency: str = "usd") -> tuple[Leg, ...]:
    return (Leg(debit, "debit", amount, currency), Leg(credit, "credit", amount, currency))


def new_tenant(store: Store, name: str = "bench") -> CallContext:
    with store.write() as conn:
        made = create_account(conn, name, T0)
    return CallContext(account=made.account, now=T0)


# -- databases -------------------------------------------------------------------------------
@contextmanager
def fresh_database(kind: str, postgres_url: str | None) -> Iterator[str]:
    """A new, empty, migrated database: a SQLite file, or a throwaway PostgreSQL database."""
    if kind == "sqlite":
        with tempfile.TemporaryDirectory(prefix="remit-bench-") as folder:
            url = f"sqlite:///{Path(folder) / 'ledger.db'}"
            yield url
        return
    assert postgres_url is not None
    name = f"remit_bench_{os.getpid()}_{secrets.token_hex(3)}"
    admin = sa.create_engine(
        sa.make_url(postgres_url).set(drivername="postgresql+psycopg"), isolation_level="AUTOCOMMIT"
    )
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        yield sa.make_url(postgres_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


def open_store(url: str, synchronous: str = "FULL") -> Store:
    store = Store(make_engine(url, sqlite_synchronous=synchronous))
    migrate.upgrade(store.engine)
    return store


def drop_guards(store: Store) -> None:
    """Diagnostic only: the database's own guards of the journal, removed."""
    with store.write() as conn:
        for statement in DROP_GUARDS[store.dialect]:
            conn.exec_driver_sql(statement)


def postgres_reachable(url: str | None) -> bool:
    if not url:
        return False
    engine = sa.create_engine(
        sa.make_url(url).set(drivername="postgresql+psycopg"), connect_args={"connect_timeout": 3}
    )
    try:
        with engine.connect():
            return True
    except sa.exc.OperationalError:
        return False
    finally:
        engine.dispose()


# -- measuring -------------------------------------------------------------------------------
@dataclass(frozen=True)
class Row:
    name: str
    legs: int
    entries: int
    seconds: float

    @property
    def legs_per_s(self) -> float:
        return self.legs / self.seconds


def post_run(store: Store, batches: list[list[Entry]], name: str) -> Row:
    """post_batch, one durable transaction per batch; the entries are made beforehand."""
    ctx = new_tenant(store)
    with store.write() as conn:  # warm-up: opens the tenant's accounts, plans the statements
        service.post_batch(conn, ctx, Business(seed=99, prefix="warm").entries(200))
    if store.dialect == "postgresql":
        with (
            store.write() as conn
        ):  # fresh tables: give the planner statistics, as autovacuum would
            conn.exec_driver_sql("ANALYZE")
    started = time.perf_counter()
    for batch in batches:
        with store.write() as conn:
            service.post_batch(conn, ctx, batch)
    seconds = time.perf_counter() - started
    legs = sum(len(e.legs) for batch in batches for e in batch)
    return Row(name, legs, sum(len(b) for b in batches), seconds)


def floor_run(store: Store, batches: list[list[Entry]], name: str) -> Row:
    """The same leg rows through a bare executemany into a plain table."""
    with store.write() as conn:
        conn.exec_driver_sql(
            "CREATE TABLE bench_floor_legs (account_id VARCHAR(40), entry_id VARCHAR(40), "
            "leg_no SMALLINT, ledger_account_id VARCHAR(40), side VARCHAR(1), amount BIGINT, "
            "currency VARCHAR(3))"
        )
    marks = ", ".join(["?" if store.is_sqlite else "%s"] * 7)
    sql = f"INSERT INTO bench_floor_legs ({LEG_COLUMNS}) VALUES ({marks})"
    rows = [
        [
            ("acct_bench", f"je_{b}_{i}", n, f"la_{leg.code}", leg.side[0].upper(), leg.amount,
             leg.currency)
            for i, entry in enumerate(batch) for n, leg in enumerate(entry.legs)
        ]
        for b, batch in enumerate(batches)
    ]  # fmt: skip
    started = time.perf_counter()
    for batch_rows in rows:
        with store.write() as conn:
            conn.exec_driver_sql(sql, batch_rows)  # type: ignore[arg-type]
    seconds = time.perf_counter() - started
    return Row(name, sum(len(r) for r in rows), sum(len(b) for b in batches), seconds)


def measure(kind: str, synchronous: str, batches: list[list[Entry]], pg: str | None) -> list[Row]:
    label = f"sqlite {synchronous}" if kind == "sqlite" else "postgresql"
    out = []
    with fresh_database(kind, pg) as url:
        store = open_store(url, synchronous)
        try:
            out.append(floor_run(store, batches, f"{label}: floor (bare executemany)"))
            out.append(post_run(store, batches, f"{label}: post_batch"))
        finally:
            store.dispose()
    with fresh_database(kind, pg) as url:
        store = open_store(url, synchronous)
        try:
            drop_guards(store)
            out.append(post_run(store, batches, f"{label}: post_batch, guards dropped [diag]"))
        finally:
            store.dispose()
    return out


def profile_once(batches: list[list[Entry]], top: int) -> None:
    with fresh_database("sqlite", None) as url:
        store = open_store(url, "NORMAL")
        profiler = cProfile.Profile()
        profiler.enable()
        post_run(store, batches, "profile")
        profiler.disable()
        store.dispose()
    print(f"\ncProfile of one sqlite NORMAL post_batch run, top {top} by own time:")
    pstats.Stats(profiler, stream=sys.stdout).sort_stats("tottime").print_stats(top)


def print_table(rows: list[Row]) -> None:
    print(f"\n{'configuration':<52} {'legs':>9} {'entries':>8} {'s':>7} {'legs/s':>9} "
          f"{'entries/s':>9} {'vs floor':>8}")  # fmt: skip
    floor = None
    for row in rows:
        if "floor" in row.name:
            floor = row
        ratio = f"{row.legs_per_s / floor.legs_per_s:7.2f}x" if floor else ""
        print(f"{row.name:<52} {row.legs:>9,} {row.entries:>8,} {row.seconds:>7.2f} "
              f"{row.legs_per_s:>9,.0f} {row.entries / row.seconds:>9,.0f} {ratio:>8}")  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--legs", type=int, default=300_000, help="legs per configuration")
    parser.add_argument("--batch", type=int, default=5_000, help="entries per post_batch")
    parser.add_argument("--postgres", default=os.environ.get("REMIT_BENCH_POSTGRES_URL",
                                                             LOCAL_POSTGRES))  # fmt: skip
    parser.add_argument("--profile", action="store_true", help="cProfile one SQLite run")
    parser.add_argument("--top", type=int, default=30, help="functions shown by --profile")
    args = parser.parse_args(argv)
    if not 1 <= args.batch <= service.MAX_BATCH or not 1_000 <= args.legs <= 20_000_000:
        parser.error(f"--batch 1..{service.MAX_BATCH}, --legs 1000..20000000")
    business, batches, legs = Business(seed=7), [], 0
    while legs < args.legs:
        batches.append(business.entries(args.batch))
        legs += sum(len(e.legs) for e in batches[-1])
    print(f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}, "
          f"SQLite {sqlite3.sqlite_version}, SQLAlchemy {sa.__version__}")  # fmt: skip
    print(f"{len(batches)} batches of {args.batch} entries, {legs:,} legs "
          f"({legs / (len(batches) * args.batch):.2f} legs/entry)")  # fmt: skip
    rows = measure("sqlite", "NORMAL", batches, None) + measure("sqlite", "FULL", batches, None)
    if postgres_reachable(args.postgres):
        rows += measure("postgresql", "FULL", batches, args.postgres)
    else:
        print(f"PostgreSQL not reachable at {args.postgres}: skipped")
    print_table(rows)
    best = max(r.legs_per_s for r in rows if r.name.startswith("sqlite") and "[diag]" not in r.name
               and "floor" not in r.name)  # fmt: skip
    print(f"\ngoal: >= {GOAL_LEGS_PER_S:,} legs/s posted on SQLite; best here {best:,.0f} "
          f"({best / GOAL_LEGS_PER_S:.2f}x the goal)")  # fmt: skip
    if args.profile:
        profile_once(batches, args.top)
    return 0


if __name__ == "__main__":
    sys.exit(main())
