"""Servers under test: start as subprocesses, wait until they answer, always stop them.

Each server runs in its own session (process group) so that stopping it also stops any
worker processes it forked (remit's `--workers N`), and nothing outlives the benchmark.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx

BENCH_DIR = Path(__file__).resolve().parent
REPO_DIR = BENCH_DIR.parent
LOCALSTRIPE_VENV = BENCH_DIR / ".venv-localstripe"
DEFAULT_REMIT_BIN = REPO_DIR / ".venv" / "bin" / "remit"
# localstripe pickles its whole store to this fixed path after every write; we keep a
# copy of any pre-existing file and put it back afterwards.
LOCALSTRIPE_PICKLE = Path("/tmp/localstripe.pickle")
LOCALSTRIPE_API_KEY = "sk_test_benchmark"  # localstripe accepts any sk_... key
HOST = "127.0.0.1"
READY_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 5.0
CLI_TIMEOUT_S = 120.0
LOG_TAIL_CHARS = 2000


class ServerError(RuntimeError):
    """A server (or its setup CLI) failed to start or is not installed."""


@dataclasses.dataclass(frozen=True)
class Server:
    name: str
    base_url: str
    api_key: str
    pid: int

    def cpu_s(self) -> float:
        """CPU seconds used so far by the server and all its descendant processes."""
        return tree_cpu_s(self.pid)


def localstripe_version() -> str:
    python = LOCALSTRIPE_VENV / "bin" / "python"
    out = _run_cli([str(python), "-c", "import localstripe; print(localstripe.__version__)"])
    return out.strip()


def check_localstripe() -> None:
    if not (LOCALSTRIPE_VENV / "bin" / "localstripe").exists():
        raise ServerError(
            f"localstripe is not installed in {LOCALSTRIPE_VENV}; "
            "run benchmarks/setup_localstripe.sh first"
        )


def check_remit(remit_bin: Path) -> None:
    """Fail early, and clearly, while the remit CLI is missing or does not import."""
    hint = "remit is not usable yet; run with `--only localstripe` until it is."
    if not remit_bin.exists():
        raise ServerError(f"{remit_bin} does not exist. {hint}")
    try:
        _run_cli([str(remit_bin), "--help"])
    except ServerError as exc:
        raise ServerError(f"{exc}\n{hint}") from None


@contextlib.contextmanager
def localstripe() -> Iterator[Server]:
    check_localstripe()
    work_dir = Path(tempfile.mkdtemp(prefix="bench-localstripe-"))
    saved_pickle = work_dir / "saved-localstripe.pickle"
    had_pickle = LOCALSTRIPE_PICKLE.exists()
    if had_pickle:
        shutil.copy2(LOCALSTRIPE_PICKLE, saved_pickle)
    port = free_port()
    # --from-scratch: never load state a previous localstripe left in /tmp.
    argv = [str(LOCALSTRIPE_VENV / "bin" / "localstripe"), "--port", str(port), "--from-scratch"]
    try:
        with _serving("localstripe", argv, work_dir, os.environ.copy()) as pid:
            server = Server("localstripe", f"http://{HOST}:{port}", LOCALSTRIPE_API_KEY, pid)
            _wait_ready(server, work_dir)
            yield server
    finally:
        if had_pickle:
            os.replace(saved_pickle, LOCALSTRIPE_PICKLE)
        else:
            LOCALSTRIPE_PICKLE.unlink(missing_ok=True)
        shutil.rmtree(work_dir, ignore_errors=True)


@contextlib.contextmanager
def remit(remit_bin: Path, workers: int) -> Iterator[Server]:
    """A fresh SQLite database, migrated, with one account, served by `workers` processes."""
    work_dir = Path(tempfile.mkdtemp(prefix="bench-remit-"))
    env = os.environ.copy()
    env["REMIT_DATABASE_URL"] = f"sqlite:///{work_dir / 'remit.db'}"
    try:
        _run_cli([str(remit_bin), "migrate"], env)
        api_key = _run_cli([str(remit_bin), "account", "create", "bench"], env)
        api_key = (api_key.strip().splitlines() or [""])[-1].strip()
        if not api_key.startswith("sk_test_"):
            raise ServerError(f"`remit account create` printed no sk_test_ key: {api_key!r}")
        port = free_port()
        argv = [
            str(remit_bin),
            "serve",
            "--host",
            HOST,
            "--port",
            str(port),
            "--workers",
            str(workers),
        ]
        name = f"remit-{workers}proc"
        with _serving(name, argv, work_dir, env) as pid:
            server = Server(name, f"http://{HOST}:{port}", api_key, pid)
            _wait_ready(server, work_dir)
            yield server
    finally:
        shutil.rmtree(work_dir, ignore_errors=True)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def tree_cpu_s(root_pid: int) -> float:
    """utime+stime (and reaped children's) of root_pid and its live descendants, from /proc."""
    ticks_per_s = os.sysconf("SC_CLK_TCK")
    children: dict[int, list[int]] = {}
    cpu_ticks: dict[int, int] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            stat = Path(entry.path, "stat").read_text()
        except OSError:  # the process exited while we were scanning
            continue
        # Fields after "(comm)": state ppid ... utime(14) stime(15) cutime(16) cstime(17).
        fields = stat.rsplit(")", 1)[1].split()
        pid = int(entry.name)
        children.setdefault(int(fields[1]), []).append(pid)
        cpu_ticks[pid] = sum(int(f) for f in fields[11:15])
    total_ticks, stack = 0, [root_pid]
    while stack:
        pid = stack.pop()
        total_ticks += cpu_ticks.get(pid, 0)
        stack.extend(children.get(pid, []))
    return total_ticks / ticks_per_s


@contextlib.contextmanager
def _serving(name: str, argv: list[str], work_dir: Path, env: dict[str, str]) -> Iterator[int]:
    log_path = work_dir / "server.log"
    with open(log_path, "wb") as log:
        try:
            proc = subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=work_dir,
                env=env,
                start_new_session=True,
            )
        except OSError as exc:
            raise ServerError(f"{name}: cannot start {argv[0]}: {exc}") from None
        try:
            yield proc.pid
        finally:
            _stop(proc)


def _stop(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM the server's process group, then SIGKILL it if it lingers."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, sig)  # start_new_session made pid the group id
        try:
            proc.wait(timeout=STOP_TIMEOUT_S)
            return
        except subprocess.TimeoutExpired:
            continue


def _wait_ready(server: Server, work_dir: Path) -> None:
    """Poll until the server answers any HTTP status on a customer URL."""
    deadline = time.monotonic() + READY_TIMEOUT_S
    headers = {"Authorization": f"Bearer {server.api_key}"}
    url = f"{server.base_url}/v1/customers/cus_readiness_probe"
    while time.monotonic() < deadline:
        if not _alive(server.pid):
            break
        try:
            httpx.get(url, headers=headers, timeout=1.0)
            return
        except httpx.TransportError:
            time.sleep(0.1)
    log_tail = (work_dir / "server.log").read_text(errors="replace")[-LOG_TAIL_CHARS:]
    raise ServerError(
        f"{server.name} did not answer on {server.base_url} within {READY_TIMEOUT_S:.0f} s "
        f"(or exited). Log tail:\n{log_tail}"
    )


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def _run_cli(argv: list[str], env: dict[str, str] | None = None) -> str:
    try:
        done = subprocess.run(
            argv,
            capture_output=True,
            text=True,
            env=env,
            timeout=CLI_TIMEOUT_S,
            stdin=subprocess.DEVNULL,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise ServerError(f"`{' '.join(argv)}` failed: {exc}") from None
    if done.returncode != 0:
        tail = (done.stderr or done.stdout)[-LOG_TAIL_CHARS:]
        raise ServerError(f"`{' '.join(argv)}` exited {done.returncode}:\n{tail}")
    return done.stdout
