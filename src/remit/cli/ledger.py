"""``remit ledger ...``: the ledger's financial reports from the command line."""

from __future__ import annotations

import sys
from datetime import date
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from remit.ledger.reports import (
    CHARTED,
    REPORT_NAMES,
    Report,
    ReportParams,
    major_units,
    run_report,
    write_chart,
    write_csv,
    write_parquet,
)
from remit.ledger.reports.model import day_of
from remit.primitives.clock import WallClock
from remit.primitives.currency import normalize
from remit.primitives.errors import StripeError
from remit.runtime import open_store
from remit.settings import Settings

ledger_app = typer.Typer(help="The ledger: financial reports.", no_args_is_help=True)
console = Console()
# Status and errors go to stderr, so `--format csv` on stdout stays a clean file.
notes = Console(stderr=True)


@ledger_app.callback()
def ledger() -> None:
    """The ledger: financial reports."""


CHART_HELP = "png, svg, or a path ending .png/.svg (revenue_waterfall, the rollforward)."


class Format(StrEnum):
    table = "table"
    csv = "csv"
    parquet = "parquet"


def _day(value: str | None, option: str) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(
            f"{value!r} is not a date (YYYY-MM-DD)", param_hint=option
        ) from None


@ledger_app.command("report")
def report_command(
    name: Annotated[str, typer.Argument(help=f"One of: {', '.join(REPORT_NAMES)}.")],
    account: Annotated[str, typer.Option("--account", help="The tenant's account id (acct_...).")],
    at: Annotated[
        str | None, typer.Option(help="Report date, YYYY-MM-DD (UTC); default today.")
    ] = None,
    to: Annotated[str | None, typer.Option(help="Last day of the period (as --at).")] = None,
    since: Annotated[str | None, typer.Option("--from", help="First day of the period.")] = None,
    code: Annotated[str | None, typer.Option(help="Ledger account code (general_ledger).")] = None,
    currency: Annotated[str | None, typer.Option(help="Only this currency.")] = None,
    fmt: Annotated[Format, typer.Option("--format", help="table, csv or parquet.")] = Format.table,
    out: Annotated[Path | None, typer.Option(help="Write here (csv, parquet).")] = None,
    chart: Annotated[str | None, typer.Option(help=CHART_HELP)] = None,
) -> None:
    """Compute a report for one account and print it, or write it as CSV or Parquet."""
    through, end = _day(at, "--at"), _day(to, "--to")
    if through and end and through != end:
        raise typer.BadParameter("--at and --to name the same day; give one", param_hint="--to")
    if fmt is Format.parquet and out is None:
        raise typer.BadParameter("Parquet is written to a file: add --out PATH", param_hint="--out")
    if chart and name not in CHARTED:
        raise typer.BadParameter(
            f"only {', '.join(sorted(CHARTED))} have charts", param_hint="--chart"
        )
    store = open_store(Settings.from_env())
    try:
        params = ReportParams(
            through or end or day_of(WallClock().now()), _day(since, "--from"), code,
            normalize(currency) if currency else None,
        )  # fmt: skip
        with store.read() as conn:
            report = run_report(conn, account, name, params)
        _emit(report, fmt, out)
        if chart:
            drawn = write_chart(report, _chart_path(chart, out, name), params.currency)
            notes.print(f"chart written to {drawn}", style="dim", highlight=False)
    except StripeError as error:
        notes.print(f"[red]{error.message}[/red]", highlight=False)
        raise typer.Exit(1) from None
    finally:
        store.dispose()


def _emit(report: Report, fmt: Format, out: Path | None) -> None:
    if fmt is Format.parquet and out is not None:
        write_parquet(report, out)
    elif fmt is Format.csv and out is not None:
        with out.open("w", newline="", encoding="utf-8") as handle:
            write_csv(report, handle)
    elif fmt is Format.csv:
        write_csv(report, sys.stdout)
        return
    else:
        console.print(render_table(report))
        return
    notes.print(f"{report.title}: {len(report.rows)} rows written to {out}", style="dim")


def _chart_path(chart: str, out: Path | None, name: str) -> Path:
    """``png``/``svg`` mean a file beside ``--out`` (or ``NAME.png`` here); else a path."""
    if chart.lower() in ("png", "svg"):
        return (out or Path(name)).with_suffix(f".{chart.lower()}")
    return Path(chart)


def render_table(report: Report) -> Table:
    """A rich table: amounts in major units of each row's currency, totals last."""
    table = Table(title=report.title, title_justify="left")
    for column in report.columns:
        table.add_column(column.name, justify="left" if column.kind == "text" else "right")

    def cells(row: tuple[str | int, ...]) -> list[str]:
        currency = str(row[0])
        return [
            major_units(int(cell), currency) if column.kind == "amount" else str(cell)
            for cell, column in zip(row, report.columns, strict=True)
        ]

    for row in report.rows:
        table.add_row(*cells(row))
    if report.totals:
        table.add_section()
        for row in report.totals:
            table.add_row(*cells(row), style="bold")
    if not report.rows:
        table.caption = "no ledger activity matches"
    return table
