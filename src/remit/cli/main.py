"""The ``remit`` command line."""

from __future__ import annotations

import logging
import signal
import threading

import typer
import uvicorn
from rich.console import Console
from rich.table import Table

from remit.accounts.service import create_account
from remit.api import request_log
from remit.cli.bill_run import bill_run
from remit.cli.demo import run_demo
from remit.cli.invoice import invoice_app
from remit.cli.ledger import ledger_app
from remit.cli.ledger_recognize import recognize
from remit.cli.ledger_verify import verify as verify_ledger
from remit.cli.meter import meter_app
from remit.cli.reconcile import reconcile_app
from remit.jobs.worker import Worker, background_tasks
from remit.plugins.manager import job_handlers, make_manager
from remit.primitives.clock import WallClock
from remit.runtime import build_app, migrate_store, open_store
from remit.settings import Settings

app = typer.Typer(
    help="remit: a self-hosted, Stripe-compatible revenue platform.", no_args_is_help=True
)
account_app = typer.Typer(help="Accounts and their secret keys.", no_args_is_help=True)
app.add_typer(account_app, name="account")
app.add_typer(ledger_app, name="ledger")
app.add_typer(meter_app, name="meter")
app.add_typer(invoice_app, name="invoice")
app.add_typer(reconcile_app, name="reconcile")
ledger_app.command("recognize")(recognize)
ledger_app.command("verify")(verify_ledger)
app.command("bill-run")(bill_run)
console = Console()


@app.command()
def migrate() -> None:
    """Bring the database schema up to date."""
    store = open_store(Settings.from_env())
    migrate_store(store)
    console.print("[green]database is up to date[/green]")


@account_app.command("create")
def account_create(name: str) -> None:
    """Create an account and print its secret key (the only time it is shown)."""
    store = open_store(Settings.from_env())
    migrate_store(store)
    with store.write() as conn:
        made = create_account(conn, name, WallClock().now())
    console.print(f"account {made.account.id} ({made.account.name})", style="dim", highlight=False)
    print(made.secret_key)


@app.command()
def serve(
    host: str = "127.0.0.1",
    port: int = 4242,
    workers: int = typer.Option(1, min=1, max=32, help="server processes"),
    worker: bool = typer.Option(True, help="run the job worker in this process"),
) -> None:
    """Serve the API (and deliver webhooks from an in-process worker)."""
    settings = Settings.from_env()
    migrate_store(open_store(settings))
    target: object = build_app(settings, run_worker=worker) if workers == 1 else None
    stop = threading.Event()
    if target is None:
        target = "remit.runtime:asgi_app"  # each server process builds its own app
        if worker:
            threading.Thread(target=_work, args=(settings, stop), daemon=True).start()
    try:
        # No access log and no proxy-header rewriting: the request log is ours, and remit
        # binds to loopback by default rather than sitting behind a proxy.
        uvicorn.run(
            target,  # type: ignore[arg-type]
            factory=workers > 1, workers=workers, host=host, port=port, log_level="warning",
            access_log=False, proxy_headers=False, server_header=False,
        )  # fmt: skip
    finally:
        stop.set()


def _work(settings: Settings, stop: threading.Event) -> None:
    store = open_store(settings)
    pm = make_manager(settings.plugins_allowed)
    Worker(store, job_handlers(pm), WallClock(), tasks=background_tasks(pm)).run_forever(stop)


@app.command("worker")
def worker_command(
    lease: int = typer.Option(60, min=1, help="seconds a claimed job stays ours"),
) -> None:
    """Run the job worker (webhook delivery, test clock advances, the usage rollup applier,
    expired idempotency keys) until interrupted."""
    settings = Settings.from_env()
    store = open_store(settings)
    migrate_store(store)
    pm = make_manager(settings.plugins_allowed)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    console.print("worker running; Ctrl-C stops it", style="dim")
    tasks = background_tasks(pm)
    Worker(store, job_handlers(pm), WallClock(), lease_s=lease, tasks=tasks).run_forever(stop)


@app.command()
def requests(
    account: str = typer.Argument(..., help="account id (acct_...)"),
    path: str | None = None,
    method: str | None = None,
    status: int | None = None,
    object_id: str | None = typer.Option(None, "--object"),
    limit: int = typer.Option(20, min=1, max=1000),
) -> None:
    """Show the request log of an account, newest first."""
    store = open_store(Settings.from_env())
    with store.read() as conn:
        rows = request_log.query(
            conn, account, path=path, method=method, status=status, object_id=object_id,
            limit=limit,
        )  # fmt: skip
    table = Table("request", "method", "path", "status", "ms", "idempotency key", "objects")
    for row in rows:
        table.add_row(
            row["id"], row["method"], row["path"], str(row["status"]),
            f"{row['latency_us'] / 1000:.1f}", row["idempotency_key"] or "",
            " ".join(row["object_ids"]),
        )  # fmt: skip
    console.print(table)


@app.command()
def demo(port: int = 0) -> None:
    """Run the demo business against a fresh embedded database and print a summary."""
    logging.basicConfig(level=logging.WARNING)
    raise typer.Exit(run_demo(port))
