"""Meter event summaries over 10M+ stored events: query latency next to a raw-log scan.

Run with remit's venv python:

    .venv/bin/python benchmarks/meter_summaries.py                       # 10M events
    .venv/bin/python benchmarks/meter_summaries.py --db /tmp/summaries-10m.db   # kept, reused
    .venv/bin/python benchmarks/meter_summaries.py --events 1000000 --customers 200

Build (skipped when --db names a build; a build resumes its drain): a fresh SQLite file
migrated by remit, an account, a sum meter and --customers customers made by the services,
then --events raw events appended into meter_events by a bare executemany (time-ordered over
--days days, random customers, integer values so SQL sums them exactly; synchronous=OFF: a
bulk load, not the durability benchmark); then the rollup applier (`apply_pending`, as the
worker runs it) drains the log and its events/s is printed.

Then, the file read once so that the page cache is warm, the same seeded random questions (a
customer; a minute-aligned window of 1 minute to --days days, or hour/day-aligned windows
grouped by hour or day) are answered three ways, timed one by one: the service
(`list_summaries` in a read transaction, meter and customer loads included), HTTP (GET
event_summaries on `remit serve`, one keep-alive client), and the baseline, a scan of the raw
log (SQL COUNT/SUM ... GROUP BY over meter_events for that customer and window, by its index).
Every answer is checked against the scan's. The issue's goal: summary p99 < 10 ms.
"""

from __future__ import annotations

import argparse
import http.client
import json
import random
import sqlite3
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent))
import meter_support as support  # noqa: E402

from remit.accounts.service import create_account, get_account  # noqa: E402
from remit.billing import customers as customer_service  # noqa: E402
from remit.context import CallContext  # noqa: E402
from remit.metering import meters, rollups, summaries  # noqa: E402
from remit.plugins.manager import make_manager  # noqa: E402
from remit.primitives.clock import WallClock  # noqa: E402
from remit.store import migrate  # noqa: E402
from remit.store.engine import Store, make_engine  # noqa: E402

MINUTE_S, HOUR_S, DAY_S = 60, 3600, 86400
GROUPING_S = {"none": MINUTE_S, "hour": HOUR_S, "day": DAY_S}
LIMIT = 10  # Stripe's default page: the newest 10 windows
INSERT_CHUNK = 100_000
GOAL_P99_MS = 10.0
EVENT_NAME = "bench_calls"


@dataclass(frozen=True)
class Build:
    account_id: str
    secret_key: str
    meter_id: str
    customers: list[str]
    start_s: int
    end_s: int
    events: int
    drained: bool = False  # the applier has folded every event (a build resumes until then)


@dataclass(frozen=True)
class Question:
    kind: str  # none / hour / day
    customer: str
    start_s: int
    end_s: int

    def params(self) -> dict[str, Any]:
        params: dict[str, Any] = {"customer": self.customer, "limit": LIMIT}
        params.update(start_time=self.start_s, end_time=self.end_s)
        if self.kind != "none":
            params["value_grouping_window"] = self.kind
        return params


Answer = list[tuple[int, int]]  # (window start, summed value), newest first


def warm_page_cache(db_path: Path) -> None:
    """Read the database file once: every path is then timed on a warm page cache, and the
    first one timed does not pay for the others' disk reads."""
    began, size = time.perf_counter(), 0
    with db_path.open("rb") as file:
        while chunk := file.read(8 << 20):
            size += len(chunk)
    print(f"page cache: {size / 1e9:.2f} GB read in {time.perf_counter() - began:.1f} s")


def open_store(db_path: Path) -> Store:
    return Store(make_engine(f"sqlite:///{db_path}"))


# -- build ----------------------------------------------------------------------------------
def build(db_path: Path, args: argparse.Namespace) -> Build:
    store = open_store(db_path)
    migrate.upgrade(store.engine)
    now = WallClock().now()
    pm = make_manager()
    with store.write() as conn:
        made = create_account(conn, "summaries bench", now)
    ctx = CallContext(account=made.account, now=now, pm=pm)
    with store.write() as conn:
        meter_id = meters.create(
            conn,
            ctx,
            {
                "display_name": "Bench",
                "event_name": EVENT_NAME,
                "default_aggregation": {"formula": "sum"},
            },
        )["id"]
        customers = [customer_service.create(conn, ctx, {})["id"] for _ in range(args.customers)]
    end_s = now // DAY_S * DAY_S
    info = Build(
        made.account.id,
        made.secret_key,
        meter_id,
        customers,
        end_s - args.days * DAY_S,
        end_s,
        args.events,
    )
    append_raw(db_path, info)
    store.dispose()
    db_path.with_suffix(".json").write_text(json.dumps(asdict(info)))
    return info


def append_raw(db_path: Path, info: Build) -> None:
    db = sqlite3.connect(db_path, isolation_level=None)
    db.execute("PRAGMA synchronous=OFF")
    db.execute("PRAGMA cache_size=-1000000")  # 1 GB: the indexes stay in memory while loading
    insert = (
        "INSERT INTO meter_events (account_id, meter_id, customer_id, event_name, "
        "identifier, timestamp, value, payload, created, source) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
    )
    rng, span_s = random.Random(1), info.end_s - info.start_s
    began = time.perf_counter()
    for first in range(0, info.events, INSERT_CHUNK):
        rows = []
        for n in range(first, min(first + INSERT_CHUNK, info.events)):
            customer, value = rng.choice(info.customers), str(rng.randrange(1, 1000))
            timestamp = info.start_s + n * span_s // info.events
            payload = f'{{"stripe_customer_id": "{customer}", "value": "{value}"}}'
            rows.append(
                (
                    info.account_id,
                    info.meter_id,
                    customer,
                    EVENT_NAME,
                    f"ev{n:010d}",
                    timestamp,
                    value,
                    payload,
                    timestamp,
                    "import",
                )
            )
        db.execute("BEGIN")
        db.executemany(insert, rows)
        db.execute("COMMIT")
        progress(first + len(rows), len(rows), info.events, began, "raw append")
    db.close()
    print(
        f"raw append: {info.events:,} events in {time.perf_counter() - began:.1f} s "
        f"({info.events / (time.perf_counter() - began):,.0f} events/s)",
        flush=True,
    )


def drain(store: Store, pm: Any, events: int) -> None:
    began, applied = time.perf_counter(), 0
    while done := rollups.apply_pending(store, WallClock(), pm):
        applied += done
        progress(applied, done, events, began, "applier")
    elapsed = time.perf_counter() - began
    print(
        f"applier   : {applied:,} events in {elapsed:.1f} s ({applied / elapsed:,.0f} events/s, "
        f"batches of {rollups.BATCH_EVENTS:,}, synchronous=FULL)",
        flush=True,
    )


def progress(done: int, step: int, total: int, began: float, what: str) -> None:
    """A line each time ``done`` passes a million."""
    if done // 1_000_000 > (done - step) // 1_000_000 or done == total:
        rate = done / max(time.perf_counter() - began, 1e-9)
        print(f"  {what}: {done:,}/{total:,} ({rate:,.0f}/s)", flush=True)


# -- questions and their three answers -------------------------------------------------------
def questions(info: Build, count: int, seed: int) -> list[Question]:
    rng, asked = random.Random(seed), []
    for kind, grain_s in GROUPING_S.items():
        first, last = info.start_s // grain_s, info.end_s // grain_s  # in grains
        for _ in range(count):
            start = rng.randrange(first, last)
            end = rng.randrange(start + 1, last + 1)
            asked.append(Question(kind, rng.choice(info.customers), start * grain_s, end * grain_s))
    return asked


def by_service(store: Store, info: Build) -> Callable[[Question], Answer]:
    pm = make_manager()
    with store.read() as conn:
        account = get_account(conn, info.account_id)
    assert account is not None

    def ask(q: Question) -> Answer:
        ctx = CallContext(account=account, now=WallClock().now(), pm=pm)
        with store.read() as conn:
            meter = meters.load(conn, info.account_id, info.meter_id)
            found = summaries.list_summaries(conn, ctx, meter, q.params())
        return [(s["start_time"], s["aggregated_value"]) for s in found["data"]]

    return ask


def by_http(port: int, info: Build) -> Callable[[Question], Answer]:
    conn = http.client.HTTPConnection(support.HOST, port, timeout=support.REQUEST_TIMEOUT_S)
    headers = {"Authorization": f"Bearer {info.secret_key}"}
    path = f"/v1/billing/meters/{info.meter_id}/event_summaries?"

    def ask(q: Question) -> Answer:
        query = "&".join(f"{k}={v}" for k, v in q.params().items())
        conn.request("GET", path + query, headers=headers)
        response = conn.getresponse()
        body = response.read()
        assert response.status == 200, body[:300]
        data = json.loads(body, parse_float=Decimal)["data"]
        return [(s["start_time"], s["aggregated_value"]) for s in data]

    return ask


def by_raw_scan(db_path: Path, info: Build) -> Callable[[Question], Answer]:
    db = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, check_same_thread=False)
    where = (
        "FROM meter_events WHERE account_id = ? AND meter_id = ? AND customer_id = ? "
        "AND timestamp >= ? AND timestamp < ?"
    )
    whole = f"SELECT count(*), sum(value) {where}"
    grouped = (
        f"SELECT timestamp - timestamp % ? AS at, sum(value) {where} "
        f"GROUP BY at ORDER BY at DESC LIMIT {LIMIT}"
    )

    def ask(q: Question) -> Answer:
        args = (info.account_id, info.meter_id, q.customer, q.start_s, q.end_s)
        if q.kind == "none":
            count, total = db.execute(whole, args).fetchone()
            return [(q.start_s, total)] if count else []
        return db.execute(grouped, (GROUPING_S[q.kind], *args)).fetchall()

    return ask


def plain(answer: Answer) -> Answer:
    """Answers as ints: the service's values are exact decimal JSON fragments."""
    return [
        (int(at), int(value if isinstance(value, int | Decimal) else orjson.dumps(value)))
        for at, value in answer
    ]


def timed(ask: Callable[[Question], Answer], asked: list[Question]) -> tuple[list, list]:
    latencies, answers = [], []
    for q in asked:
        began = time.perf_counter()
        answers.append(ask(q))
        latencies.append((time.perf_counter() - began) * 1000)
    return latencies, answers


# -- report -----------------------------------------------------------------------------------
def print_rows(results: dict[tuple[str, str], list[float]]) -> None:
    head = (
        f"{'path':<9} {'grouping':<8} {'queries':>7} {'p50 ms':>8} {'p99 ms':>8} "
        f"{'max ms':>8} {'raw/this p50':>12} {'raw/this p99':>12}"
    )
    print(f"\n{head}\n{'-' * len(head)}")
    for (path, kind), ms in results.items():
        raw = results[("raw scan", kind)]
        p50, p99 = support.percentile(ms, 0.5), support.percentile(ms, 0.99)
        ratio50 = f"{support.percentile(raw, 0.5) / p50:.1f}x" if path != "raw scan" else "-"
        ratio99 = f"{support.percentile(raw, 0.99) / p99:.1f}x" if path != "raw scan" else "-"
        print(
            f"{path:<9} {kind:<8} {len(ms):>7} {p50:>8.2f} {p99:>8.2f} {max(ms):>8.2f} "
            f"{ratio50:>12} {ratio99:>12}"
        )
    for path in ("service", "http"):
        worst = max(support.percentile(ms, 0.99) for (p, _), ms in results.items() if p == path)
        verdict = "met" if worst < GOAL_P99_MS else "NOT met"
        print(
            f"goal: summary p99 < {GOAL_P99_MS:g} ms over {path}: {verdict} "
            f"(worst grouping p99 {worst:.2f} ms)"
        )


def load_or_build(args: argparse.Namespace) -> tuple[Path, Build]:
    db_path = args.db or Path(tempfile.mkdtemp(prefix="bench-summaries-")) / "remit.db"
    sidecar = db_path.with_suffix(".json")
    if sidecar.exists():
        info = Build(**json.loads(sidecar.read_text()))
        print(f"reusing the build in {db_path}: {info.events:,} events", flush=True)
    elif db_path.exists():
        raise SystemExit(f"{db_path} exists without {sidecar.name}: not a build of ours")
    else:
        print(f"building {args.events:,} events in {db_path}", flush=True)
        info = build(db_path, args)
    if not info.drained:  # the applier resumes from its watermark
        store = open_store(db_path)
        drain(store, make_manager(), info.events)
        store.dispose()
        info = Build(**{**asdict(info), "drained": True})
        sidecar.write_text(json.dumps(asdict(info)))
    return db_path, info


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--customers", type=int, default=1000)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--queries", type=int, default=1000, help="per grouping and path")
    parser.add_argument("--http-queries", type=int, default=500, help="per grouping")
    parser.add_argument("--db", type=Path, help="SQLite file: built once, then reused")
    parser.add_argument("--remit-bin", type=Path, default=support.DEFAULT_REMIT_BIN)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    if args.events < 1 or args.customers < 1 or not 1 <= args.days <= 35:
        parser.error("--events and --customers must be positive, --days within 1..35")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    print("== meter event summaries: rollups + tail vs a raw-log scan ==")
    print(support.machine_line(), flush=True)
    db_path, info = load_or_build(args)
    days, size_gb = (info.end_s - info.start_s) // DAY_S, db_path.stat().st_size / 1e9
    print(f"database  : {size_gb:.2f} GB, {info.events:,} events, {len(info.customers)} customers")
    print(f"            over {days} days", flush=True)
    warm_page_cache(db_path)
    store = open_store(db_path)
    asked = questions(info, args.queries, args.seed)
    http_asked = [q for i, q in enumerate(asked) if i % args.queries < args.http_queries]
    paths = {"service": by_service(store, info), "raw scan": by_raw_scan(db_path, info)}
    answers: dict[str, list[Answer]] = {}
    latencies: dict[str, list[float]] = {}
    for name, ask in paths.items():
        timed(ask, questions(info, 50, args.seed + 1))  # warm the page and statement caches
        latencies[name], answers[name] = timed(ask, asked)
    store.dispose()
    with support.remit_server(args.remit_bin, 1, db_path=db_path, extra=("--no-worker",)) as remit:
        ask = by_http(remit.port, info)
        timed(ask, questions(info, 20, args.seed + 1))
        latencies["http"], answers["http"] = timed(ask, http_asked)
    results = {
        (name, kind): [
            ms
            for ms, q in zip(found, http_asked if name == "http" else asked, strict=True)
            if q.kind == kind
        ]
        for name, found in latencies.items()
        for kind in GROUPING_S
    }
    expected = dict(zip(asked, answers["raw scan"], strict=True))
    checked = [
        *zip(asked, answers["service"], strict=True),
        *zip(http_asked, answers["http"], strict=True),
    ]
    wrong = sum(plain(answer) != plain(expected[q]) for q, answer in checked)
    print_rows(dict(sorted(results.items(), key=lambda kv: (kv[0][1], kv[0][0]))))
    print(f"answers checked against the raw scan: {len(checked):,}, {wrong} different")
    return 1 if wrong else 0


if __name__ == "__main__":
    sys.exit(main())
