"""What the metering benchmarks share: a fresh `remit serve` on a SQLite file (optionally under
cProfile on every thread), plain HTTP calls to it, percentiles, the machine line.

Run as a script only by the benchmarks themselves, for the profiled server:

    python benchmarks/meter_support.py --profiled-serve OUT.prof --host ... --port ...
"""

from __future__ import annotations

import contextlib
import dataclasses
import http.client
import json
import math
import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
DEFAULT_REMIT_BIN = BENCH_DIR.parent / ".venv" / "bin" / "remit"
HOST = "127.0.0.1"
READY_TIMEOUT_S = 60.0
REQUEST_TIMEOUT_S = 30.0
# What `remit serve` passes to uvicorn.run, for servers that must run under the same options.
UVICORN_FLAGS = (
    "--log-level",
    "warning",
    "--no-access-log",
    "--no-proxy-headers",
    "--no-server-header",
)


class ServerError(RuntimeError):
    """A server or its setup CLI failed."""


@dataclasses.dataclass(frozen=True)
class Remit:
    port: int
    pid: int
    secret_key: str
    db_path: Path
    work: Path


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest rank; NaN when empty."""
    ordered = sorted(values)
    return ordered[max(1, math.ceil(q * len(ordered))) - 1] if ordered else math.nan


def machine_line() -> str:
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    return f"machine : nproc={os.cpu_count()}, {platform.platform()}, loadavg {load}"


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def tree_cpu_s(root_pid: int) -> float:
    """CPU seconds of a process and its live descendants (utime+stime, reaped children too)."""
    children: dict[int, list[int]] = {}
    ticks: dict[int, int] = {}
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                fields = Path(entry.path, "stat").read_text().rsplit(")", 1)[1].split()
                children.setdefault(int(fields[1]), []).append(int(entry.name))
                ticks[int(entry.name)] = sum(int(f) for f in fields[11:15])
    total, stack = 0, [root_pid]
    while stack:
        pid = stack.pop()
        total += ticks.get(pid, 0)
        stack.extend(children.get(pid, []))
    return total / os.sysconf("SC_CLK_TCK")


@contextlib.contextmanager
def spawn(argv: list[str], work: Path, env: dict[str, str]) -> Iterator[int]:
    """A server in its own session, stopped (SIGTERM, then SIGKILL) with its process group."""
    with (work / "server.log").open("wb") as log:
        proc = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=log,
            cwd=work,
            env=env,
            start_new_session=True,
        )
    try:
        yield proc.pid
    finally:
        for sig, wait_s in ((signal.SIGTERM, 60), (signal.SIGKILL, 5)):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, sig)
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=wait_s)
                break


def wait_ready(port: int, pid: int, work: Path) -> None:
    deadline = time.monotonic() + READY_TIMEOUT_S
    while time.monotonic() < deadline and Path(f"/proc/{pid}").exists():
        with contextlib.suppress(OSError):
            conn = http.client.HTTPConnection(HOST, port, timeout=1)
            conn.request("GET", "/v1/customers")
            conn.getresponse().read()
            return
        time.sleep(0.1)
    tail = (work / "server.log").read_text(errors="replace")[-2000:]
    raise ServerError(f"server on port {port} did not come up:\n{tail}")


def cli(argv: list[str], env: dict[str, str]) -> str:
    done = subprocess.run(
        argv,
        capture_output=True,
        text=True,
        env=env,
        check=False,
        stdin=subprocess.DEVNULL,
        timeout=600,
    )
    if done.returncode != 0:
        raise ServerError(f"{' '.join(argv)} exited {done.returncode}: {done.stderr[-2000:]}")
    return done.stdout


def call(port: int, method: str, path: str, body: bytes | None, headers: dict[str, str]) -> Any:
    """One request on a fresh connection; the decoded answer (numbers as Decimal)."""
    conn = http.client.HTTPConnection(HOST, port, timeout=REQUEST_TIMEOUT_S)
    try:
        conn.request(method, path, body, headers)
        response = conn.getresponse()
        payload = response.read()
    finally:
        conn.close()
    if response.status != 200:
        raise ServerError(f"{method} {path}: HTTP {response.status} {payload[:300]!r}")
    return json.loads(payload, parse_float=Decimal)


def remit_env(db_path: Path) -> dict[str, str]:
    env = {**os.environ, "REMIT_DATABASE_URL": f"sqlite:///{db_path}"}
    env["REMIT_DATA_DIR"] = str(db_path.parent)
    env.pop("REMIT_PLUGINS", None)
    return env


@contextlib.contextmanager
def remit_server(
    remit_bin: Path,
    workers: int,
    profile: Path | None = None,
    db_path: Path | None = None,
    extra: Sequence[str] = (),
) -> Iterator[Remit]:
    """`remit serve --workers N [extra]` on a SQLite file (a fresh one unless ``db_path``)
    with a new account; ``profile``: one process under cProfile, its stats written there."""
    work = Path(tempfile.mkdtemp(prefix="bench-remit-"))
    db_path = db_path or work / "remit.db"
    env = remit_env(db_path)
    try:
        cli([str(remit_bin), "migrate"], env)
        secret_key = cli([str(remit_bin), "account", "create", "bench"], env).split()[-1]
        port = free_port()
        serve = ["serve", "--host", HOST, "--port", str(port), "--workers", str(workers), *extra]
        argv = [str(remit_bin), *serve]
        if profile is not None:
            assert workers == 1, "cProfile sees one process"
            argv = [sys.executable, __file__, "--profiled-serve", str(profile), *serve[1:]]
        with spawn(argv, work, env) as pid:
            wait_ready(port, pid, work)
            yield Remit(port, pid, secret_key, db_path, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def profiled_serve(out: Path, serve_args: list[str]) -> int:
    """`remit serve` in this process with cProfile on every thread (the event loop, the
    group-commit writer, the worker); the merged stats are written when the server stops."""
    import cProfile
    import pstats
    import threading

    profiles: list[cProfile.Profile] = []
    thread_run = threading.Thread.run

    def profiled_run(self: threading.Thread) -> None:
        profile = cProfile.Profile()
        profiles.append(profile)
        profile.enable()
        try:
            thread_run(self)
        finally:
            profile.disable()

    threading.Thread.run = profiled_run  # type: ignore[method-assign]
    from remit.cli.main import app

    # uvicorn re-raises the SIGTERM it handled once it has shut down; a Python handler
    # lets this process live on to write the stats.
    signal.signal(signal.SIGTERM, lambda *_: None)
    main = cProfile.Profile()
    profiles.append(main)
    main.enable()
    try:
        app(["serve", *serve_args], standalone_mode=False)
    finally:
        main.disable()
        stats = pstats.Stats(profiles[0])
        for profile in profiles[1:]:
            stats.add(profile)
        stats.dump_stats(out)
    return 0


def print_profile(path: Path, top: int) -> None:
    import pstats

    for key in ("tottime", "cumulative"):
        print(f"\n-- profile of the single-process remit run, top {top} by {key} --")
        pstats.Stats(str(path)).strip_dirs().sort_stats(key).print_stats(top)


if __name__ == "__main__" and sys.argv[1:2] == ["--profiled-serve"]:
    sys.exit(profiled_serve(Path(sys.argv[2]), sys.argv[3:]))
