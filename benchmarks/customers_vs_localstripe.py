"""Customers create/retrieve throughput and latency: remit (SQLite) vs localstripe, same run.

Run with remit's venv python (it has stripe and httpx):

    .venv/bin/python benchmarks/customers_vs_localstripe.py [--only localstripe]

Each (server, mode) pair gets a freshly started server with an empty store, then two phases:
create customers, then retrieve random ones of those just created. The issue's goal (remit
>= 10x localstripe's ops/s) is reported, not enforced: this is a benchmark, not a test.

Exit status: 0 after a complete run whatever the figures; 1 if any phase had more than 1%
errors or a client process crashed; 2 if a server could not be set up or started.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import math
import os
import platform
import sys
from collections.abc import Callable, Iterator
from importlib.metadata import version
from pathlib import Path

import loadgen
import servers

GOAL_RATIO = 10.0
MAX_ERROR_RATE = 0.01
BASELINE = "localstripe"
BUSY_LOAD_PER_CPU = 0.25  # 1-minute loadavg per core above which we warn before/after a run
ServerFactory = Callable[[], contextlib.AbstractContextManager[servers.Server]]


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--duration", type=float, default=8.0, help="seconds of measured load per phase (default 8)"
    )
    parser.add_argument(
        "--clients",
        type=int,
        default=8,
        help="concurrent client processes, one request in flight each "
        "(default 8; they share the CPU with the server)",
    )
    parser.add_argument(
        "--max-ops",
        type=int,
        default=100_000,
        help="upper bound on operations per phase (default 100000)",
    )
    parser.add_argument(
        "--only",
        choices=("localstripe", "remit"),
        help="benchmark only this side (no ratios without localstripe)",
    )
    parser.add_argument(
        "--modes",
        default=",".join(loadgen.MODES),
        help="comma-separated drivers: sdk (stripe-python), raw (keep-alive http.client)",
    )
    parser.add_argument(
        "--workers-list",
        default="1,2",
        help="comma-separated remit server process counts (default 1,2)",
    )
    parser.add_argument(
        "--remit-bin",
        type=Path,
        default=servers.DEFAULT_REMIT_BIN,
        help=f"remit executable (default {servers.DEFAULT_REMIT_BIN})",
    )
    args = parser.parse_args(argv)
    args.modes = [m for m in args.modes.split(",") if m]
    args.workers_list = [int(w) for w in args.workers_list.split(",") if w]
    if not 0.5 <= args.duration <= 300:
        parser.error("--duration must be within 0.5..300 s")
    if not 1 <= args.clients <= 64:
        parser.error("--clients must be within 1..64")
    if not 1 <= args.max_ops <= 10_000_000:
        parser.error("--max-ops must be within 1..10000000")
    if not args.modes or any(m not in loadgen.MODES for m in args.modes):
        parser.error(f"--modes must be a comma-separated subset of {','.join(loadgen.MODES)}")
    if not args.workers_list or any(not 1 <= w <= 16 for w in args.workers_list):
        parser.error("--workers-list must be comma-separated integers within 1..16")
    return args


def targets(args: argparse.Namespace) -> list[tuple[str, ServerFactory]]:
    chosen: list[tuple[str, ServerFactory]] = []
    if args.only in (None, "localstripe"):
        chosen.append((BASELINE, servers.localstripe))
    if args.only in (None, "remit"):
        for workers in args.workers_list:
            factory = functools.partial(servers.remit, args.remit_bin, workers)
            chosen.append((f"remit-{workers}proc", factory))
    return chosen


def preflight(args: argparse.Namespace) -> None:
    """Refuse to start any load when a side cannot possibly run."""
    if args.only in (None, "localstripe"):
        servers.check_localstripe()
    if args.only in (None, "remit"):
        servers.check_remit(args.remit_bin)


def print_header(args: argparse.Namespace) -> None:
    print("== customers: remit vs localstripe ==")
    affinity = len(os.sched_getaffinity(0))
    print(f"machine : nproc={os.cpu_count()} (usable {affinity}), {platform.platform()}")
    print_load("start")
    print(f"python  : {platform.python_version()} ({sys.executable})")
    versions = f"stripe {version('stripe')}, httpx {version('httpx')}"
    if args.only in (None, "localstripe"):
        versions += f", localstripe {servers.localstripe_version()}"
    print(f"clients : {versions}")
    print(
        f"params  : duration={args.duration:g}s/phase clients={args.clients} "
        f"max_ops={args.max_ops}/phase modes={','.join(args.modes)} "
        f"workers={','.join(map(str, args.workers_list))} warmup={loadgen.WARMUP_OPS}/client "
        f"request_timeout={loadgen.REQUEST_TIMEOUT_S:g}s db=sqlite (fresh file per server)"
    )
    print(
        "          closed loop: each client process keeps one request in flight; "
        "a fresh server per (server, mode)",
        flush=True,
    )


def print_load(when: str) -> None:
    """Other work on the box skews every figure; say so rather than hide it."""
    load = os.getloadavg()
    busy = load[0] > BUSY_LOAD_PER_CPU * (os.cpu_count() or 1)
    print(
        f"loadavg : {' '.join(f'{x:.2f}' for x in load)} at {when}"
        + (" -- WARNING: the box is busy, figures are noisy" if busy else ""),
        flush=True,
    )


def run_server(
    name: str, factory: ServerFactory, args: argparse.Namespace
) -> Iterator[loadgen.PhaseResult]:
    for mode in args.modes:
        print(f"-- {name} / {mode}: starting server", flush=True)
        with factory() as server:
            create = _phase(server, mode, "create", args, ())
            yield create
            if not create.created_ids:
                print(f"-- {name} / {mode}: nothing created, skipping retrieve", flush=True)
                continue
            yield _phase(server, mode, "retrieve", args, loadgen.sample_ids(create.created_ids))


def _phase(
    server: servers.Server, mode: str, op: str, args: argparse.Namespace, ids: tuple[str, ...]
) -> loadgen.PhaseResult:
    spec = loadgen.PhaseSpec(
        mode=mode,
        op=op,
        base_url=server.base_url,
        api_key=server.api_key,
        clients=args.clients,
        duration_s=args.duration,
        max_ops=args.max_ops,
        ids=ids,
    )
    result = loadgen.run_phase(spec, server.cpu_s)
    print(
        f"   {server.name:<12} {mode:<4} {op:<8} {result.ops_per_s:9.1f} ops/s "
        f"p50 {result.p50_ms:7.2f} ms  p99 {result.p99_ms:7.2f} ms  "
        f"errors {result.errors}",
        flush=True,
    )
    return result


def print_table(rows: list[tuple[str, loadgen.PhaseResult]]) -> None:
    baseline = {(r.spec.mode, r.spec.op): r for name, r in rows if name == BASELINE}
    head = (
        f"{'server':<12} {'mode':<4} {'op':<8} {'ops':>7} {'ops/s':>9} {'p50 ms':>8} "
        f"{'p99 ms':>8} {'errors':>6} {'srv cpu%':>8} {'cli cpu%':>8} {'srv ms/op':>9} "
        f"{'ops/s vs ls':>11} {'cpu/op vs ls':>12}"
    )
    print()
    print(head)
    print("-" * len(head))
    for name, r in rows:
        wall_s = max(r.wall_s, 1e-9)
        base = baseline.get((r.spec.mode, r.spec.op))
        if name == BASELINE:
            vs_ops, vs_cpu = "baseline", "baseline"
        elif base is None:
            vs_ops, vs_cpu = "n/a", "n/a"
        else:
            vs_ops = _ratio(r.ops_per_s, base.ops_per_s)
            vs_cpu = _ratio(_cpu_ms_per_op(base), _cpu_ms_per_op(r))
        print(
            f"{name:<12} {r.spec.mode:<4} {r.spec.op:<8} {r.ops:>7} {r.ops_per_s:>9.1f} "
            f"{r.p50_ms:>8.2f} {r.p99_ms:>8.2f} {r.errors:>6} "
            f"{100 * r.server_cpu_s / wall_s:>8.0f} {100 * r.client_cpu_s / wall_s:>8.0f} "
            f"{_cpu_ms_per_op(r):>9.2f} {vs_ops:>11} {vs_cpu:>12}"
        )
    print(
        f"cpu% is of one core (nproc={os.cpu_count()}); srv ms/op = server CPU per successful "
        "op; 'cpu/op vs ls' = localstripe's srv ms/op / this row's (higher is better), "
        "a capacity ratio that holds even when the clients, not the server, are the limit."
    )
    print("create 'ops' is also the store size that the retrieve phase read from.")
    _print_goal(rows, baseline)
    for name, r in rows:
        for sample in r.error_samples:
            print(f"error sample [{name} {r.spec.mode} {r.spec.op}]: {sample.strip()}")


def _cpu_ms_per_op(r: loadgen.PhaseResult) -> float:
    return r.server_cpu_s * 1000 / r.ops if r.ops else math.nan


def _ratio(numerator: float, denominator: float) -> str:
    if not denominator or math.isnan(numerator) or math.isnan(denominator):
        return "n/a"
    return f"{numerator / denominator:.2f}x"


def _print_goal(
    rows: list[tuple[str, loadgen.PhaseResult]],
    baseline: dict[tuple[str, str], loadgen.PhaseResult],
) -> None:
    compared = [
        (name, r) for name, r in rows if name != BASELINE and (r.spec.mode, r.spec.op) in baseline
    ]
    if not compared:
        print("goal: not evaluated (needs both localstripe and remit in the same run)")
        return
    met = [
        (n, r)
        for n, r in compared
        if r.ops_per_s >= GOAL_RATIO * baseline[(r.spec.mode, r.spec.op)].ops_per_s
    ]
    print(
        f"goal: remit >= {GOAL_RATIO:g}x localstripe ops/s: met in {len(met)}/{len(compared)} "
        "rows (reported, not enforced)"
    )


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    rows: list[tuple[str, loadgen.PhaseResult]] = []
    try:
        preflight(args)
        print_header(args)
        for name, factory in targets(args):
            for result in run_server(name, factory, args):
                rows.append((name, result))
    except servers.ServerError as exc:
        print(f"\nERROR: {exc}", file=sys.stderr)
        if rows:
            print_table(rows)
        return 2
    except KeyboardInterrupt:
        print("\ninterrupted: clients and servers stopped", file=sys.stderr)
        return 130
    print_table(rows)
    print_load("end")
    failed = [(n, r) for n, r in rows if r.error_rate > MAX_ERROR_RATE or r.crashed_clients]
    for name, r in failed:
        print(
            f"FAIL: {name} {r.spec.mode} {r.spec.op}: {r.errors} errors "
            f"({100 * r.error_rate:.1f}%), {r.crashed_clients} crashed clients",
            file=sys.stderr,
        )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
