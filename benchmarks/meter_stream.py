"""v2 meter event stream ingestion: remit next to its floors, measured in the same run.

Run with remit's venv python:

    .venv/bin/python benchmarks/meter_stream.py                     # ~2 min
    .venv/bin/python benchmarks/meter_stream.py --profile /tmp/stream.prof   # + a profiled run

Every target is a fresh server on loopback driven by the same closed-loop clients (K
processes, each with one request of 100 events in flight): `remit serve --workers N` on a
fresh SQLite file (synchronous=FULL unless REMIT_SQLITE_SYNCHRONOUS says otherwise; every
event has its own identifier, so each is deduped), and the HTTP floor: a trivial ASGI app
under the same uvicorn options that parses the JSON body (numbers as Decimal, as remit does)
and answers {}. The storage floor has no HTTP: the same rows appended by a bare sqlite3
executemany into remit's own migrated meter_events table (its indexes and dedup key),
committed per 100 rows (one request) and per 12,800 (one full group commit).

While remit is under load, a probe process streams one event at a time for its own customer
and polls event_summaries until the sum shows it: event -> visible latency.

Exit status: 0 after a complete run whatever the figures; 1 if a phase had errors, a client
crashed or the raw log does not hold exactly the acknowledged events; 2 if a server failed.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import http.client
import json
import math
import multiprocessing
import os
import platform
import random
import signal
import sqlite3
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import meter_floors as floors  # noqa: E402
import meter_support as support  # noqa: E402
from meter_support import HOST, REQUEST_TIMEOUT_S, call, percentile  # noqa: E402

STREAM_PATH = "/v2/billing/meter_event_stream"
EVENTS_PER_REQUEST = 100
EVENT_NAME = "bench_calls"
STRIPE_ANCHOR_EPS, GOAL_EPS = 10_000, 110_000
START_LEAD_S, WARMUP_REQUESTS = 2.0, 3
PROBE_GAP_S, PROBE_POLL_S, PROBE_GIVE_UP_S = 0.05, 0.002, 10.0


@dataclasses.dataclass(frozen=True)
class Target:
    name: str
    procs: int
    port: int
    pid: int
    token: str = "floor"
    secret_key: str = ""
    meter_id: str = ""
    customers: tuple[str, ...] = ()
    probe_customer: str = ""
    db_path: Path | None = None


@dataclasses.dataclass
class ClientResult:
    latencies_ms: list[float]
    errors: int = 0
    samples: list[str] = dataclasses.field(default_factory=list)
    acked_events: int = 0  # warm-up included: what the raw log must hold
    end_ts: float = 0.0
    cpu_s: float = 0.0
    crashed: bool = False


@dataclasses.dataclass(frozen=True)
class Row:
    name: str
    procs: int
    requests: int
    errors: int
    wall_s: float
    p50_ms: float
    p99_ms: float
    server_cpu_s: float
    client_cpu_s: float
    visible_ms: tuple[float, ...] = ()
    log_check: str = "-"
    crashed: int = 0

    @property
    def events_per_s(self) -> float:
        return self.requests * EVENTS_PER_REQUEST / self.wall_s if self.wall_s else 0.0


# -- servers ------------------------------------------------------------------------------
def setup_account(port: int, secret_key: str, customers: int) -> tuple[str, list[str], str]:
    """A sum meter, customers and a stream session, through the API."""
    form = {
        "Authorization": f"Bearer {secret_key}",
        "Content-Type": "application/x-www-form-urlencoded",
    }
    body = f"display_name=Bench&event_name={EVENT_NAME}&default_aggregation[formula]=sum"
    meter_id = call(port, "POST", "/v1/billing/meters", body.encode(), form)["id"]
    made = [call(port, "POST", "/v1/customers", b"", form)["id"] for _ in range(customers + 1)]
    headers = {"Authorization": f"Bearer {secret_key}", "Content-Type": "application/json"}
    session = call(port, "POST", "/v2/billing/meter_event_session", b"{}", headers)
    return meter_id, made, session["authentication_token"]


@contextlib.contextmanager
def floor_target(workers: int) -> Iterator[Target]:
    with floors.http_floor(workers) as (port, pid):
        customers = tuple(f"cus_floor{i}" for i in range(100))
        yield Target(f"http-floor-{workers}proc", workers, port, pid, customers=customers)


@contextlib.contextmanager
def remit_target(args: argparse.Namespace, workers: int, profile: Path | None) -> Iterator[Target]:
    with support.remit_server(args.remit_bin, workers, profile) as remit:
        meter_id, customers, token = setup_account(remit.port, remit.secret_key, args.customers)
        name = f"remit-{workers}proc" + ("-profiled" if profile else "")
        found = (token, remit.secret_key, meter_id, tuple(customers[1:]), customers[0])
        yield Target(name, workers, remit.port, remit.pid, *found, remit.db_path)


# -- load ---------------------------------------------------------------------------------
def stream_body(rng: random.Random, tag: str, customers: tuple[str, ...], count: int) -> bytes:
    import orjson

    stamp = datetime.fromtimestamp(int(time.time()), tz=UTC).isoformat()
    payloads = [
        {"stripe_customer_id": rng.choice(customers), "value": str(rng.randrange(1, 1000))}
        for _ in range(count)
    ]
    events = [
        {"event_name": EVENT_NAME, "identifier": f"{tag}-{i}", "timestamp": stamp, "payload": p}
        for i, p in enumerate(payloads)
    ]
    return orjson.dumps({"events": events})


def _client(
    target: Target, index: int, run_tag: str, start_ts: float, deadline_ts: float
) -> ClientResult:
    conn = http.client.HTTPConnection(HOST, target.port, timeout=REQUEST_TIMEOUT_S)
    headers = {"Authorization": f"Bearer {target.token}", "Content-Type": "application/json"}
    rng, result, seq = random.Random(index), ClientResult([]), 0

    def send() -> None:
        nonlocal seq
        seq += 1
        body = stream_body(rng, f"{run_tag}-{index}-{seq}", target.customers, EVENTS_PER_REQUEST)
        conn.request("POST", STREAM_PATH, body, headers)
        response = conn.getresponse()
        payload = response.read()
        if response.status != 200:
            raise RuntimeError(f"HTTP {response.status}: {payload[:200]!r}")
        result.acked_events += EVENTS_PER_REQUEST

    for _ in range(WARMUP_REQUESTS):
        send()
    time.sleep(max(0.0, start_ts - time.perf_counter()))
    cpu_start_s = time.process_time()
    while (began := time.perf_counter()) < deadline_ts:
        try:
            send()
        except Exception as exc:  # counted and sampled; the run goes on
            result.errors += 1
            if len(result.samples) < 3:
                result.samples.append(f"{type(exc).__name__}: {exc}"[:300])
            conn.close()
            time.sleep(0.01)
            continue
        result.latencies_ms.append((time.perf_counter() - began) * 1000)
    result.end_ts, result.cpu_s = time.perf_counter(), time.process_time() - cpu_start_s
    return result


def _probe(target: Target, run_tag: str, start_ts: float, deadline_ts: float) -> ClientResult:
    """One event (value 1) at a time; the latency is send -> first summary that counts it."""
    stream = http.client.HTTPConnection(HOST, target.port, timeout=REQUEST_TIMEOUT_S)
    reads = http.client.HTTPConnection(HOST, target.port, timeout=REQUEST_TIMEOUT_S)
    stream_headers = {"Authorization": f"Bearer {target.token}", "Content-Type": "application/json"}
    read_headers = {"Authorization": f"Bearer {target.secret_key}"}
    start = int(time.time()) // 3600 * 3600 - 3600
    path = (
        f"/v1/billing/meters/{target.meter_id}/event_summaries?customer="
        f"{target.probe_customer}&start_time={start}&end_time={start + 3 * 3600}"
    )
    result = ClientResult([])
    time.sleep(max(0.0, start_ts - time.perf_counter()))
    while time.perf_counter() < deadline_ts:
        event = {
            "event_name": EVENT_NAME,
            "identifier": f"{run_tag}-probe-{result.acked_events}",
            "payload": {"stripe_customer_id": target.probe_customer, "value": "1"},
        }
        body = json.dumps({"events": [event]}).encode()
        began = time.perf_counter()
        stream.request("POST", STREAM_PATH, body, stream_headers)
        response = stream.getresponse()
        if response.read() != b"{}" or response.status != 200:
            raise RuntimeError(f"probe event refused: HTTP {response.status}")
        result.acked_events += 1
        while True:
            reads.request("GET", path, headers=read_headers)
            data = json.loads(reads.getresponse().read(), parse_float=Decimal)["data"]
            if data and data[0]["aggregated_value"] >= result.acked_events:
                break
            if time.perf_counter() - began > PROBE_GIVE_UP_S:
                raise RuntimeError(f"probe event {result.acked_events} never became visible")
            time.sleep(PROBE_POLL_S)
        result.latencies_ms.append((time.perf_counter() - began) * 1000)
        time.sleep(PROBE_GAP_S)
    return result


def _child(queue: Any, fn: Any, *args: Any) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    try:
        queue.put(fn(*args))
    except Exception as exc:
        queue.put(
            ClientResult([], 1, [f"crashed: {type(exc).__name__}: {exc}"[:300]], crashed=True)
        )


def run_load(target: Target, args: argparse.Namespace, probe: bool) -> Row:
    ctx = multiprocessing.get_context("fork")
    queue, probe_queue = ctx.Queue(), ctx.Queue()
    run_tag = f"{target.name}-{os.getpid()}"
    start_ts = time.perf_counter() + START_LEAD_S
    deadline_ts = start_ts + args.duration
    jobs = [
        (queue, _client, target, i, run_tag, start_ts, deadline_ts) for i in range(args.clients)
    ]
    if probe:
        jobs.append((probe_queue, _probe, target, run_tag, start_ts, deadline_ts))
    procs = [ctx.Process(target=_child, args=job, daemon=True) for job in jobs]
    for proc in procs:
        proc.start()
    try:
        time.sleep(max(0.0, start_ts - time.perf_counter()))
        cpu_start_s = support.tree_cpu_s(target.pid)
        limit_s = args.duration + REQUEST_TIMEOUT_S + 30
        results = [queue.get(timeout=limit_s) for _ in range(args.clients)]
        cpu_s = support.tree_cpu_s(target.pid) - cpu_start_s
        probed = probe_queue.get(timeout=limit_s) if probe else None
    finally:
        for proc in procs:
            proc.join(timeout=5)
            if proc.is_alive():
                proc.terminate()
    latencies = [ms for r in results for ms in r.latencies_ms]
    for sample in [s for r in results for s in r.samples][:3] + (probed.samples if probed else []):
        print(f"   error sample [{target.name}]: {sample}", flush=True)
    acked = sum(r.acked_events for r in results) + (probed.acked_events if probed else 0)
    return Row(
        target.name,
        target.procs,
        len(latencies),
        sum(r.errors for r in results),
        max(r.end_ts for r in results) - start_ts,
        percentile(latencies, 0.5),
        percentile(latencies, 0.99),
        cpu_s,
        sum(r.cpu_s for r in results),
        tuple(probed.latencies_ms) if probed else (),
        check_log(target.db_path, acked) if target.db_path else "-",
        sum(r.crashed for r in results) + (probed.crashed if probed else 0),
    )


def check_log(db_path: Path, acked: int) -> str:
    """The raw log holds exactly the acknowledged events, and no event went to errors."""
    with contextlib.closing(sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)) as db:
        stored = db.execute("SELECT count(*) FROM meter_events").fetchone()[0]
        refused = db.execute("SELECT count(*) FROM meter_event_errors").fetchone()[0]
    return "ok" if (stored, refused) == (acked, 0) else f"BAD {stored}/{acked} ({refused} err)"


# -- report ---------------------------------------------------------------------------------
def _ratio(a: float, b: float) -> str:
    return f"{a / b:.2f}x" if b and not math.isnan(a) and not math.isnan(b) else "n/a"


def print_table(rows: list[Row], sqlite_floors: dict[int, float]) -> None:
    http_floor = {r.procs: r.events_per_s for r in rows if r.name.startswith("http-floor")}
    head = (
        f"{'target':<22} {'events/s':>9} {'req/s':>7} {'p50 ms':>7} {'p99 ms':>7} "
        f"{'errors':>6} {'srv cpu%':>8} {'cli cpu%':>8} {'srv us/ev':>9} {'vs http':>7} "
        f"{'vs sqlite':>9} {'visible p50/p99 ms':>19} {'log':>4}"
    )
    print(f"\n{head}\n{'-' * len(head)}")
    sqlite_best = max(sqlite_floors.values(), default=math.nan)
    for r in rows:
        events = r.requests * EVENTS_PER_REQUEST
        visible = "-"
        if r.visible_ms:
            p50, p99 = percentile(r.visible_ms, 0.5), percentile(r.visible_ms, 0.99)
            visible = f"{p50:.1f}/{p99:.1f} (n={len(r.visible_ms)})"
        print(
            f"{r.name:<22} {r.events_per_s:>9,.0f} {r.requests / r.wall_s:>7,.0f} "
            f"{r.p50_ms:>7.2f} {r.p99_ms:>7.2f} {r.errors:>6} "
            f"{100 * r.server_cpu_s / r.wall_s:>8.0f} {100 * r.client_cpu_s / r.wall_s:>8.0f} "
            f"{r.server_cpu_s * 1e6 / max(events, 1):>9.1f} "
            f"{_ratio(r.events_per_s, http_floor.get(r.procs, math.nan)):>7} "
            f"{_ratio(r.events_per_s, sqlite_best):>9} {visible:>19} {r.log_check:>4}"
        )
    for per_commit, eps in sqlite_floors.items():
        print(f"{'sqlite executemany':<22} {eps:>9,.0f}  (commit per {per_commit:,} rows)")
    print(
        "srv us/ev: server CPU per event; cpu% of one core; 'vs sqlite' against the faster "
        "bare append; visible: stream send -> summary shows the event, under load."
    )
    remit = [r for r in rows if r.name.startswith("remit")]
    for r in remit:
        print(
            f"anchors [{r.name}]: {_ratio(r.events_per_s, STRIPE_ANCHOR_EPS)} Stripe's "
            f"10k/s default; goal 110k/s {'met' if r.events_per_s >= GOAL_EPS else 'NOT met'} "
            f"({_ratio(r.events_per_s, GOAL_EPS)})"
        )


# -- main -----------------------------------------------------------------------------------
def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=10.0, help="s of load per target")
    parser.add_argument("--clients", type=int, default=8, help="client processes (default 8)")
    parser.add_argument("--customers", type=int, default=1000, help="customers events name")
    parser.add_argument("--workers-list", default="1,2", help="remit/floor process counts")
    parser.add_argument("--only", choices=("remit", "floors"), help="skip the other side")
    parser.add_argument("--profile", type=Path, help="then one profiled 1-process remit run")
    parser.add_argument("--remit-bin", type=Path, default=support.DEFAULT_REMIT_BIN)
    args = parser.parse_args(argv)
    args.workers_list = [int(w) for w in args.workers_list.split(",") if w]
    if not 1 <= args.clients <= 64 or not 0.5 <= args.duration <= 300:
        parser.error("--clients must be within 1..64 and --duration within 0.5..300")
    return args


def print_header(args: argparse.Namespace) -> None:
    print("== v2 meter event stream: remit vs HTTP floor vs bare SQLite append ==")
    print(support.machine_line())
    print(f"python  : {platform.python_version()} ({sys.executable})")
    print(
        f"params  : duration={args.duration:g}s clients={args.clients} "
        f"events/request={EVENTS_PER_REQUEST} customers={args.customers} "
        f"workers={args.workers_list} warmup={WARMUP_REQUESTS} req/client "
        f"sqlite synchronous={os.environ.get('REMIT_SQLITE_SYNCHRONOUS', 'FULL')}",
        flush=True,
    )


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    print_header(args)
    rows: list[Row] = []
    sqlite_floors: dict[int, float] = {}
    runs: list[tuple[str, Any]] = []
    for workers in args.workers_list:
        if args.only != "remit":
            runs.append(("floor", lambda w=workers: floor_target(w)))
        if args.only != "floors":
            runs.append(("remit", lambda w=workers: remit_target(args, w, None)))
    if args.profile is not None:
        runs.append(("remit", lambda: remit_target(args, 1, args.profile)))
    try:
        for kind, factory in runs:
            with factory() as target:
                print(f"-- {target.name}: loading", flush=True)
                rows.append(run_load(target, args, probe=kind == "remit"))
                print(f"   {rows[-1].events_per_s:,.0f} events/s", flush=True)
        if args.only != "remit":
            for size in (EVENTS_PER_REQUEST, 128 * EVENTS_PER_REQUEST):  # a request, a group
                sqlite_floors[size] = floors.sqlite_append(args.customers, size, args.duration)[1]
    except support.ServerError as exc:
        print(f"\nERROR: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    print_table(rows, sqlite_floors)
    if args.profile is not None:
        support.print_profile(args.profile, 30)
    bad = [r for r in rows if r.errors or r.crashed or r.log_check not in ("ok", "-")]
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
