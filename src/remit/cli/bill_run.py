"""``remit bill-run ACCOUNT [--at TS] [--batch N]``: renew every subscription of an account
due by a moment (default: now), in batches of N, each batch one transaction.

Safe to interrupt and run again: a batch in flight rolls back whole, and a rerun renews
only what is still due (each renewal invoice is unique per subscription and period).
"""

from __future__ import annotations

import typer
from rich.console import Console

from remit.accounts.service import get_account
from remit.billing import bill_run as service
from remit.plugins.manager import make_manager
from remit.primitives.clock import WallClock
from remit.runtime import open_store
from remit.settings import Settings

console = Console()


def bill_run(
    account: str = typer.Argument(..., help="the account (acct_...)"),
    at: int | None = typer.Option(None, "--at", help="Unix seconds; default: now"),
    batch: int = typer.Option(
        service.DEFAULT_BATCH, min=1, max=service.MAX_BATCH, help="subscriptions per transaction"
    ),
) -> None:
    """Renew the account's due subscriptions and finalize the drafts due, in batches."""
    settings = Settings.from_env()
    store = open_store(settings)
    try:
        with store.read() as conn:
            found = get_account(conn, account)
        if found is None:
            console.print(f"[red]no such account: {account}[/red]", highlight=False)
            raise typer.Exit(1)
        at_ts = WallClock().now() if at is None else at

        def progress(done: service.BatchDone) -> None:
            console.print(
                f"batch {done.number}: {done.subscriptions} subscriptions, "
                f"{done.renewed} renewed, {done.finalized} finalized",
                style="dim", highlight=False,
            )  # fmt: skip

        report = service.run(
            store, found, at_ts, pm=make_manager(settings.plugins_allowed), batch_size=batch,
            on_batch=progress,
        )  # fmt: skip
    finally:
        store.dispose()
    console.print(
        f"bill run at {at_ts}: {report.subscriptions:,} subscriptions in {report.batches} "
        f"batch(es), {report.renewed:,} renewed, {report.finalized:,} invoices finalized",
        highlight=False,
    )
