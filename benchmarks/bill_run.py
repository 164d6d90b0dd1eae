"""Bill run: subscriptions (licensed seats, metered calls on graduated tiers, coupons, tax
rates) renewed into finalized invoices with their ledger entries, at several scales, next
to a bare DuckDB aggregation of the same meter events.

Run with remit's venv python:

    .venv/bin/python benchmarks/bill_run.py                            # 10k and 100k
    .venv/bin/python benchmarks/bill_run.py --scales 10000 --db-dir /tmp/bill-run  # kept
    .venv/bin/python benchmarks/bill_run.py --scales 1000000 --events-per-sub 10
    .venv/bin/python benchmarks/bill_run.py --scales 10000 --profile   # where time goes

Build (per scale; skipped when --db-dir holds that scale's build): a SQLite file migrated
by remit, an account, a catalog made through the API (in-process server), twelve template
subscriptions made by the subscriptions service on 2024-01-01 (every mix of coupon: none,
20% forever, 5.00 off for 3 months; tax: 8.25% exclusive or 20% inclusive; seats 1-5),
then the other subscriptions cloned from them row for row (customers, subscriptions,
items, discounts; bulk inserts). Every subscription has a metered item on one sum meter:
--events-per-sub events each, spread over January with values 1-20, appended straight
into the raw log (synchronous=OFF: a bulk load), then folded by the rollup applier
(``apply_pending``, as the worker runs it; its events/s is printed).

Measured, on a copy of the build: ``bill_run.run`` at 2024-02-01 01:00 (every period ends
on Feb 1; each renewal's draft is due an hour later, so the run renews and finalizes:
usage from the rollups, rating, totals, numbering, revenue recognition and the ledger,
events), synchronous=FULL, batches of --batch subscriptions. Figures: invoices/s, and the
ratio of the run's time to the floor: DuckDB summing the same events per customer
(in memory, best of three), the bare set-based aggregation any bill run has to do.
"""

from __future__ import annotations

import argparse
import cProfile
import hashlib
import json
import pstats
import shutil
import sqlite3
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import duckdb
import httpx
import numpy as np
import pyarrow as pa
import sqlalchemy as sa

from remit.accounts.service import create_account, get_account
from remit.api.app import RemitApp
from remit.billing import bill_run, customers
from remit.billing.discounts.tables import discounts
from remit.billing.invoices.tables import invoices
from remit.billing.subscriptions import create
from remit.billing.subscriptions.tables import subscription_items, subscriptions
from remit.billing.tables import customers as customer_rows
from remit.context import CallContext
from remit.ledger.tables import journal_entries
from remit.metering import rollups
from remit.plugins.manager import make_manager
from remit.primitives.clock import FixedClock, WallClock
from remit.primitives.ids import new_id
from remit.serving import ServerThread
from remit.store import migrate
from remit.store.engine import Store, make_engine
from remit.store.registry import load_all, metadata

JAN_1, FEB_1, HOUR_S = 1_704_067_200, 1_706_745_600, 3_600
EVENT_NAME = "bench_calls"
TEMPLATES = 12
INSERT_CHUNK = 200_000
GOAL_INVOICES_S = 5_000


@dataclass(frozen=True)
class Build:
    subscriptions: int
    events_per_sub: int
    account_id: str
    meter_id: str
    customers: list[str]
    seed: int
    schema: str  # the schema it was built with: a build from another schema is rebuilt
    drained: bool = False


def schema_fingerprint() -> str:
    """The tables and columns remit declares now (migrations may change in place)."""
    load_all()
    shape = sorted(f"{t.name}.{c.name}" for t in metadata.sorted_tables for c in t.columns)
    return hashlib.sha256("\n".join(shape).encode()).hexdigest()[:16]


# -- build -----------------------------------------------------------------------------------
def _api_catalog(store: Store, pm: Any, secret_key: str) -> dict[str, str]:
    """Prices, a meter, coupons and tax rates through the API, as a business would make them."""
    with ServerThread(RemitApp(store, pm, WallClock())) as server:
        headers = {"Authorization": f"Bearer {secret_key}"}
        with httpx.Client(base_url=server.url, headers=headers, timeout=30) as api:

            def post(path: str, data: dict[str, str]) -> str:
                response = api.post(path, data=data)
                assert response.status_code == 200, response.text
                return str(response.json()["id"])

            return _catalog(post)


def _catalog(post: Any) -> dict[str, str]:
    monthly = {"currency": "usd", "recurring[interval]": "month"}
    meter = post(
        "/v1/billing/meters",
        {"display_name": "Calls", "event_name": EVENT_NAME, "default_aggregation[formula]": "sum"},
    )
    calls = {
        **monthly,
        "product_data[name]": "API calls",
        "billing_scheme": "tiered",
        "tiers_mode": "graduated",
        "recurring[usage_type]": "metered",
        "recurring[meter]": meter,
        "tiers[0][up_to]": "500",
        "tiers[0][unit_amount_decimal]": "1.5",
        "tiers[1][up_to]": "inf",
        "tiers[1][unit_amount_decimal]": "0.75",
        "tiers[1][flat_amount]": "200",
    }
    return {
        "meter": meter,
        "calls": post("/v1/prices", calls),
        "seats": post("/v1/prices", {**monthly, "product_data[name]": "Seats",
                                     "unit_amount": "2000"}),
        "forever": post("/v1/coupons", {"percent_off": "20", "duration": "forever"}),
        "repeating": post("/v1/coupons", {"amount_off": "500", "currency": "usd",
                                          "duration": "repeating", "duration_in_months": "3"}),
        "exclusive": post("/v1/tax_rates", {"display_name": "Sales tax", "percentage": "8.25",
                                            "inclusive": "false", "jurisdiction": "US-CA"}),
        "inclusive": post("/v1/tax_rates", {"display_name": "VAT", "percentage": "20",
                                            "inclusive": "true", "jurisdiction": "FR"}),
    }  # fmt: skip


def _templates(store: Store, ctx: CallContext, catalog: dict[str, str]) -> list[str]:
    """Every mix of coupon and tax, made by the subscriptions service."""
    made = []
    with store.write() as conn:
        for n in range(TEMPLATES):
            customer = customers.create(conn, ctx, {})["id"]
            coupon = (None, catalog["forever"], catalog["repeating"])[n % 3]
            params: dict[str, Any] = {
                "customer": customer,
                "items": [
                    {"price": catalog["seats"], "quantity": 1 + n % 5},
                    {"price": catalog["calls"]},
                ],
                "collection_method": "send_invoice",
                "days_until_due": 30,
                "default_tax_rates": [catalog["inclusive" if n % 2 else "exclusive"]],
            }
            if coupon is not None:
                params["discounts"] = [{"coupon": coupon}]
            made.append(str(create.create(conn, ctx, params)["id"]))
    return made


def _clone(store: Store, account_id: str, templates: list[str], total: int) -> list[str]:
    """Subscriptions ``TEMPLATES..total`` as copies of the templates, row for row."""
    with store.read() as conn:
        subs = {
            r.id: r._asdict()
            for r in conn.execute(sa.select(subscriptions).where(subscriptions.c.id.in_(templates)))
        }
        items = conn.execute(
            sa.select(subscription_items).where(subscription_items.c.subscription.in_(templates))
        ).all()
        held = conn.execute(
            sa.select(discounts).where(discounts.c.subscription.in_(templates))
        ).all()
        holders = {
            r.id: r._asdict()
            for r in conn.execute(
                sa.select(customer_rows).where(
                    customer_rows.c.id.in_([s["customer"] for s in subs.values()])
                )
            )
        }
    # fmt: skip
    ids = [subs[t]["customer"] for t in templates]
    rows: dict[str, list[dict[str, Any]]] = {"c": [], "s": [], "i": [], "d": []}
    for n in range(TEMPLATES, total):
        template = subs[templates[n % TEMPLATES]]
        customer_id, sub_id = new_id("cus"), new_id("sub")
        rows["c"].append({**holders[template["customer"]], "id": customer_id,
                          "invoice_prefix": f"Q{n:07X}"})  # fmt: skip
        discount_ids = []
        for d in (d for d in held if d.subscription == template["id"]):
            discount_ids.append(new_id("di"))
            rows["d"].append({**d._asdict(), "id": discount_ids[-1], "subscription": sub_id})
        rows["s"].append({**template, "id": sub_id, "customer": customer_id,
                          "discounts": discount_ids, "latest_invoice": None})  # fmt: skip
        for item in (i for i in items if i.subscription == template["id"]):
            rows["i"].append({**item._asdict(), "id": new_id("si"), "subscription": sub_id})
        ids.append(customer_id)
        if len(rows["s"]) >= 20_000 or n == total - 1:
            _write(store, rows)
    return ids


def _write(store: Store, rows: dict[str, list[dict[str, Any]]]) -> None:
    tables = {"c": customer_rows, "s": subscriptions, "i": subscription_items, "d": discounts}
    with store.write() as conn:
        for key, table in tables.items():
            if rows[key]:
                conn.execute(table.insert(), rows[key])
            rows[key] = []


def _events(info: Build) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(customer index, timestamp, value) of every event, time ordered, from the seed."""
    rng = np.random.default_rng(info.seed)
    count = info.subscriptions * info.events_per_sub
    who = np.repeat(np.arange(info.subscriptions), info.events_per_sub)
    at = rng.integers(JAN_1, FEB_1, size=count)
    value = rng.integers(1, 21, size=count)
    order = np.argsort(at, kind="stable")
    return who[order], at[order], value[order]


def _append_events(db_path: Path, info: Build) -> None:
    who, at, value = _events(info)
    db = sqlite3.connect(db_path, isolation_level=None)
    db.execute("PRAGMA synchronous=OFF")
    db.execute("PRAGMA cache_size=-1000000")
    insert = (
        "INSERT INTO meter_events (account_id, meter_id, customer_id, event_name, identifier, "
        "timestamp, value, payload, created, source) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
    )
    began = time.perf_counter()
    for first in range(0, len(at), INSERT_CHUNK):
        chunk = range(first, min(first + INSERT_CHUNK, len(at)))
        db.execute("BEGIN")
        db.executemany(insert, (
            (info.account_id, info.meter_id, info.customers[who[k]], EVENT_NAME, f"e{k:010d}",
             int(at[k]), str(value[k]),
             f'{{"stripe_customer_id": "{info.customers[who[k]]}", "value": "{value[k]}"}}',
             int(at[k]), "import")
            for k in chunk
        ))  # fmt: skip
        db.execute("COMMIT")
    db.close()
    elapsed = time.perf_counter() - began
    print(f"  raw append: {len(at):,} events in {elapsed:.1f} s", flush=True)


def build(db_path: Path, subscriptions_n: int, events_per_sub: int, seed: int) -> Build:
    store = Store(make_engine(f"sqlite:///{db_path}"))
    migrate.upgrade(store.engine)
    pm = make_manager()
    with store.write() as conn:
        made = create_account(conn, "bill run bench", JAN_1)
    catalog = _api_catalog(store, pm, made.secret_key)
    ctx = CallContext(account=made.account, now=JAN_1, pm=pm)
    began = time.perf_counter()
    templates = _templates(store, ctx, catalog)
    ids = _clone(store, made.account.id, templates, subscriptions_n)
    print(
        f"  subscriptions: {subscriptions_n:,} in {time.perf_counter() - began:.1f} s", flush=True
    )
    info = Build(
        subscriptions_n, events_per_sub, made.account.id, catalog["meter"], ids, seed,
        schema_fingerprint(),
    )  # fmt: skip
    _append_events(db_path, info)
    store.dispose()
    return info


def drain(db_path: Path, info: Build) -> None:
    store = Store(make_engine(f"sqlite:///{db_path}"))
    began, applied, pm = time.perf_counter(), 0, make_manager()
    while done := rollups.apply_pending(store, FixedClock(FEB_1), pm):
        applied += done
    elapsed = time.perf_counter() - began
    rate = applied / elapsed if elapsed else 0.0
    print(f"  applier: {applied:,} events in {elapsed:.1f} s ({rate:,.0f} events/s)", flush=True)
    store.dispose()


def load_or_build(db_dir: Path, args: argparse.Namespace, scale: int) -> tuple[Path, Build]:
    db_path = db_dir / f"bill-run-{scale}-{args.events_per_sub}.db"
    sidecar = db_path.with_suffix(".json")
    kept = json.loads(sidecar.read_text()) if sidecar.exists() else {}
    if kept.get("schema") == schema_fingerprint():
        info = Build(**kept)
        print(f"reusing {db_path}", flush=True)
    else:
        if kept:
            print(f"{db_path} was built with another schema: building it again", flush=True)
        db_path.unlink(missing_ok=True)
        print(f"building {scale:,} subscriptions in {db_path}", flush=True)
        info = build(db_path, scale, args.events_per_sub, args.seed)
        sidecar.write_text(json.dumps(asdict(info)))
    if not info.drained:
        drain(db_path, info)
        info = Build(**{**asdict(info), "drained": True})
        sidecar.write_text(json.dumps(asdict(info)))
    return db_path, info


# -- measure ----------------------------------------------------------------------------------
def duckdb_floor(info: Build) -> float:
    """Seconds DuckDB takes to sum January's events per customer (in memory, best of 3)."""
    who, at, value = _events(info)
    names = np.array(info.customers, dtype=object)[who]
    table = pa.table({"customer": pa.array(names, pa.string()), "ts": at, "value": value})
    db = duckdb.connect()
    db.register("events", table)
    db.execute("CREATE TABLE ev AS SELECT * FROM events")
    query = (
        f"SELECT customer, sum(value), count(*) FROM ev WHERE ts >= {JAN_1} AND ts < {FEB_1} "
        "GROUP BY customer"
    )
    best = float("inf")
    for _ in range(3):
        began = time.perf_counter()
        rows = db.execute(query).fetchall()
        best = min(best, time.perf_counter() - began)
    assert len(rows) == len(set(info.customers))
    db.close()
    return best


def measure(db_path: Path, info: Build, args: argparse.Namespace) -> dict[str, Any]:
    """The bill run on a copy of the build (removed afterwards, whatever happens)."""
    work = Path(tempfile.mkdtemp(prefix="bill-run-work-")) / "remit.db"
    try:
        shutil.copy(db_path, work)
        return _timed_run(work, info, args)
    finally:
        shutil.rmtree(work.parent)


def _timed_run(work: Path, info: Build, args: argparse.Namespace) -> dict[str, Any]:
    store = Store(make_engine(f"sqlite:///{work}"))
    pm = make_manager()
    with store.read() as conn:
        account = get_account(conn, info.account_id)
    assert account is not None
    profiler = cProfile.Profile() if args.profile else None
    began = time.perf_counter()
    if profiler is not None:
        profiler.enable()
    report = bill_run.run(store, account, FEB_1 + HOUR_S, pm=pm, batch_size=args.batch)
    if profiler is not None:
        profiler.disable()
    elapsed = time.perf_counter() - began
    with store.read() as conn:
        made = conn.execute(
            sa.select(sa.func.count())
            .select_from(invoices)
            .where(invoices.c.billing_reason == "subscription_cycle", invoices.c.status == "open")
        ).scalar_one()
        entries = conn.execute(sa.select(sa.func.count()).select_from(journal_entries)).scalar_one()
    store.dispose()
    if profiler is not None:
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(40)
        pstats.Stats(profiler).sort_stats("tottime").print_stats(25)
    assert made == report.finalized == info.subscriptions, (made, report)
    return {"seconds": elapsed, "invoices": made, "entries": entries, "batches": report.batches}


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scales", default="10000,100000", help="subscriptions, comma-separated")
    parser.add_argument("--events-per-sub", type=int, default=100)
    parser.add_argument("--batch", type=int, default=bill_run.DEFAULT_BATCH)
    parser.add_argument("--db-dir", type=Path, help="keep builds here and reuse them")
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--profile", action="store_true", help="cProfile the bill run")
    args = parser.parse_args(argv)
    args.scale_list = [int(s) for s in args.scales.split(",")]
    if min(args.scale_list) < TEMPLATES or args.events_per_sub < 1:
        parser.error(f"scales start at {TEMPLATES} subscriptions; events per sub at 1")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    print("== bill run: subscriptions -> finalized invoices with ledger entries ==", flush=True)
    db_dir = args.db_dir or Path(tempfile.mkdtemp(prefix="bench-bill-run-"))
    db_dir.mkdir(parents=True, exist_ok=True)
    rows = []
    for scale in args.scale_list:
        db_path, info = load_or_build(db_dir, args, scale)
        floor_s = duckdb_floor(info)
        result = measure(db_path, info, args)
        rows.append((scale, info.subscriptions * info.events_per_sub, floor_s, result))
        print(f"  {scale:,}: {result['invoices'] / result['seconds']:,.0f} invoices/s", flush=True)
    head = (f"{'subscriptions':>13} {'events':>11} {'invoices':>9} {'entries':>9} {'run s':>8} "
            f"{'invoices/s':>10} {'duckdb s':>9} {'run/duckdb':>10}")  # fmt: skip
    print(f"\n{head}\n{'-' * len(head)}")
    for scale, events, floor_s, r in rows:
        print(f"{scale:>13,} {events:>11,} {r['invoices']:>9,} {r['entries']:>9,} "
              f"{r['seconds']:>8.1f} {r['invoices'] / r['seconds']:>10,.0f} {floor_s:>9.3f} "
              f"{r['seconds'] / floor_s:>9,.0f}x")  # fmt: skip
    best = max(r["invoices"] / r["seconds"] for *_, r in rows)
    verdict = "met" if best >= GOAL_INVOICES_S else "NOT met"
    print(f"goal: >= {GOAL_INVOICES_S:,} invoices/s: {verdict} (best {best:,.0f}/s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
