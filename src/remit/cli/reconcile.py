"""``remit reconcile ...``: runs, diffs and repair plans from the command line.

This is where a person approves a repair plan: ``approve`` prints the approval token
once, and only the token applies the plan. No API route approves.
"""

from __future__ import annotations

from collections.abc import Callable
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, NoReturn, TypeVar

import sqlalchemy as sa
import typer

from remit.accounts.service import get_account
from remit.cli.reconcile_show import (
    RunProgress,
    console,
    diff_line,
    diff_table,
    notes,
    plan_table,
    run_tables,
)
from remit.context import CallContext
from remit.fde.reconcile import repair
from remit.fde.reconcile.diff import diff
from remit.fde.reconcile.runs import RunRequest, execute
from remit.fde.reconcile.sources import parse_source
from remit.fde.reconcile.tables import reconciliation_repair_plans, reconciliation_runs
from remit.plugins.manager import make_manager
from remit.primitives.clock import WallClock
from remit.primitives.errors import StripeError
from remit.runtime import migrate_store, open_store
from remit.settings import Settings
from remit.store.engine import Store

reconcile_app = typer.Typer(
    help="Reconciliation: runs, diffs and repair plans.", no_args_is_help=True
)
T = TypeVar("T")
SOURCE_HELP = (
    "platform:invoices, file:/path/bank.csv (or a bare .csv/.ndjson/.parquet path), "
    "sql:postgresql://user@host/db#table"
)
ACCOUNT_HELP = "The tenant's account id (acct_...); default: the account that owns the run or plan."


class OutputFormat(StrEnum):
    csv = "csv"
    parquet = "parquet"


@reconcile_app.callback()
def reconcile() -> None:
    """Reconciliation: runs, diffs and repair plans."""


@reconcile_app.command("run")
def run_command(
    rules: Annotated[Path, typer.Option("--rules", help="The rules (YAML).")],
    left: Annotated[str, typer.Option("--left", help=SOURCE_HELP)],
    right: Annotated[str, typer.Option("--right", help=SOURCE_HELP)],
    account: Annotated[str, typer.Option("--account", help="The tenant's account id (acct_...).")],
    cutoff: Annotated[
        int | None, typer.Option(help="Balances at this Unix time (transaction mode).")
    ] = None,
    out: Annotated[
        Path | None, typer.Option("--out", help="Write matches, breaks and rejects here.")
    ] = None,
    fmt: Annotated[OutputFormat, typer.Option("--format", help="Output files.")] = OutputFormat.csv,
    memory_limit: Annotated[
        str | None, typer.Option(help="DuckDB's memory limit (e.g. 1GB); past it, it spills.")
    ] = None,
    temp_dir: Annotated[Path | None, typer.Option(help="Where DuckDB spills.")] = None,
) -> None:
    """Reconcile LEFT against RIGHT under RULES, keep the run, print its summary."""
    try:
        rules_text = rules.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        _fail(f"Cannot read the rules file {rules}: {exc}")

    def work(store: Store, settings: Settings) -> dict[str, Any]:
        ctx = _context(store, settings, account)
        request = RunRequest(
            rules_text=rules_text, left=parse_source(left), right=parse_source(right),
            cutoff_ts=cutoff, memory_limit=memory_limit, temp_dir=temp_dir, outputs_dir=out,
            output_format=fmt.value,
        )  # fmt: skip
        with RunProgress() as bar:
            return execute(store, ctx, request, progress=bar)

    run = _with_store(work)
    for table in run_tables(run):
        console.print(table)
    if out is not None:
        notes.print(f"matches, breaks and rejects written to {out}", highlight=False)
    if run["status"] != "succeeded":
        _fail(f"run {run['id']} failed: {run['failure']['message']}")


@reconcile_app.command("diff")
def diff_command(
    run: Annotated[str, typer.Argument(help="The later run (recrun_...).")],
    against: Annotated[str, typer.Argument(help="The run to compare with (recrun_...).")],
    account: Annotated[str | None, typer.Option("--account", help=ACCOUNT_HELP)] = None,
) -> None:
    """Breaks resolved since AGAINST, breaks new in RUN, and how many persist."""

    def work(store: Store, settings: Settings) -> dict[str, Any]:
        with store.read() as conn:
            owner = account or _owner(conn, reconciliation_runs, run, "reconciliation.run")
            return diff(conn, owner, run, against)

    found = _with_store(work)
    console.print(diff_line(found), soft_wrap=True, highlight=False)
    if found["resolved"] or found["new"]:
        console.print(diff_table(found))


@reconcile_app.command("plan")
def plan_command(
    run: Annotated[str, typer.Argument(help="A state-mode run (recrun_...).")],
    account: Annotated[str | None, typer.Option("--account", help=ACCOUNT_HELP)] = None,
) -> None:
    """Propose a repair plan for RUN's breaks: a dry run, nothing changes until approved."""

    def work(store: Store, settings: Settings) -> dict[str, Any]:
        with store.read() as conn:
            owner = account or _owner(conn, reconciliation_runs, run, "reconciliation.run")
        ctx = _context(store, settings, owner)
        with store.write() as conn:
            return repair.propose(conn, ctx, run)

    plan = _with_store(work)
    console.print(plan_table(plan))
    notes.print(f"approve with: remit reconcile approve {plan['id']} --by NAME", highlight=False)


@reconcile_app.command("approve")
def approve_command(
    plan: Annotated[str, typer.Argument(help="The plan (recplan_...).")],
    by: Annotated[str, typer.Option("--by", help="Who approves (kept on the audit record).")],
) -> None:
    """Approve PLAN as it stands and print its approval token (the only time it is shown)."""

    def work(store: Store, settings: Settings) -> tuple[dict[str, Any], str]:
        with store.write() as conn:
            owner = _owner(conn, reconciliation_repair_plans, plan, "reconciliation.repair_plan")
            token = repair.approve(conn, owner, plan, by, WallClock().now())
            return repair.retrieve(conn, owner, plan), token

    approved, token = _with_store(work)
    notes.print(plan_table(approved))
    notes.print("approval token (shown once; apply with --token):", highlight=False)
    print(token)


@reconcile_app.command("apply")
def apply_command(
    plan: Annotated[str, typer.Argument(help="The approved plan (recplan_...).")],
    token: Annotated[str, typer.Option("--token", help="The token approve printed.")],
) -> None:
    """Apply an approved PLAN: its actions run and each leaves an audit record."""

    def work(store: Store, settings: Settings) -> dict[str, Any]:
        with store.read() as conn:
            owner = _owner(conn, reconciliation_repair_plans, plan, "reconciliation.repair_plan")
        ctx = _context(store, settings, owner)
        with store.write() as conn:
            return repair.apply(conn, ctx, plan, token)

    applied = _with_store(work)
    console.print(plan_table(applied))


def _with_store(work: Callable[[Store, Settings], T]) -> T:
    """Open (and migrate) the store, run ``work``; a Stripe-shaped error exits 1 on stderr."""
    settings = Settings.from_env()
    store = open_store(settings)
    try:
        migrate_store(store)
        return work(store, settings)
    except StripeError as error:
        where = f" ({error.param})" if error.param else ""
        _fail(f"{error.message}{where}")
    finally:
        store.dispose()


def _context(store: Store, settings: Settings, account_id: str) -> CallContext:
    with store.read() as conn:
        found = get_account(conn, account_id)
    if found is None:
        _fail(f"No such account: {account_id}")
    return CallContext(found, WallClock().now(), pm=make_manager(settings.plugins_allowed))


def _owner(conn: sa.Connection, table: sa.Table, object_id: str, object_name: str) -> str:
    """The account a run or plan belongs to: the operator at the CLI sees every tenant."""
    found = conn.execute(sa.select(table.c.account_id).where(table.c.id == object_id)).first()
    if found is None:
        _fail(f"No such {object_name}: '{object_id}'")
    return str(found.account_id)


def _fail(message: str) -> NoReturn:
    notes.print(f"[red]{message}[/red]", highlight=False)
    raise typer.Exit(1)
