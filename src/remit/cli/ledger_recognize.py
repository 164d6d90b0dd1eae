"""``remit ledger recognize --through YYYY-MM-DD``: the daily revenue recognition run.

Each tenant runs in its own transactions, a bounded number of days at a time, so one
tenant's failure or a long first run never holds the others back. Safe to re-run:
days already recognized are skipped.
"""

from __future__ import annotations

import sqlalchemy as sa
import typer
from rich.console import Console

from remit.accounts.service import get_account
from remit.context import CallContext
from remit.ledger.revrec.domain import iso_day, parse_day
from remit.ledger.revrec.service import RecognitionRun, recognize_through
from remit.ledger.revrec.tables import revrec_obligations
from remit.ledger.rules import rules_from
from remit.plugins.manager import make_manager
from remit.primitives.clock import WallClock
from remit.primitives.errors import StripeError
from remit.primitives.money import format_amount
from remit.runtime import migrate_store, open_store
from remit.settings import Settings

console = Console()
# A first run over years of history takes this many bounded calls at most.
MAX_CALLS_PER_TENANT = 200


def recognize(
    through: str = typer.Option(..., "--through", help="last day to recognize, YYYY-MM-DD (UTC)"),
    account: str | None = typer.Option(
        None, "--account", help="one tenant (acct_...); default: every tenant with obligations"
    ),
) -> None:
    """Recognize deferred revenue through a day: one ledger entry per day and currency."""
    try:
        through_day = parse_day(through)
    except ValueError as error:
        raise typer.BadParameter(str(error), param_hint="--through") from error
    settings = Settings.from_env()
    store = open_store(settings)
    migrate_store(store)
    rules = rules_from(make_manager(settings.plugins_allowed))
    clock = WallClock()
    with store.read() as conn:
        tenants = [account] if account else _tenants(conn)
    failed = 0
    for tenant in tenants:
        for _ in range(MAX_CALLS_PER_TENANT):
            try:
                with store.write() as conn:
                    found = get_account(conn, tenant)
                    if found is None:
                        raise typer.BadParameter(f"no account {tenant}", param_hint="--account")
                    run = recognize_through(
                        conn, CallContext(found, clock.now()), rules, through_day
                    )
            except StripeError as error:
                console.print(f"{tenant}: {error.message}", style="red", highlight=False)
                failed += 1
                break
            _show(run)
            if run.finished:
                break
    if failed:
        raise typer.Exit(1)


def _tenants(conn: sa.Connection) -> list[str]:
    o = revrec_obligations.c
    return list(conn.execute(sa.select(o.account_id).distinct().order_by(o.account_id)).scalars())


def _show(run: RecognitionRun) -> None:
    if run.first_day is None:
        console.print(
            f"{run.account_id}: already recognized through {iso_day(run.through_day)}",
            highlight=False,
        )
        return
    posted = [t for t in run.totals if t.entry_id is not None]
    console.print(
        f"{run.account_id}: {iso_day(run.first_day)}..{iso_day(run.through_day)}, "
        f"{len(posted)} entries, {run.obligations} obligations",
        highlight=False,
    )
    for total in posted:
        console.print(
            f"  {total.cause_id}  {format_amount(total.amount, total.currency)}", highlight=False
        )
