"""``remit meter ...``: meter events from the command line (bulk import)."""

from __future__ import annotations

import time
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TaskID,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table
from rich.text import Text

from remit.accounts.service import get_account
from remit.context import CallContext
from remit.metering.bulk_import import (
    DEFAULT_CHUNK_ROWS,
    MAX_CHUNK_ROWS,
    ImportSummary,
    import_file,
)
from remit.plugins.manager import make_manager
from remit.primitives.clock import WallClock
from remit.primitives.errors import StripeError
from remit.runtime import migrate_store, open_store
from remit.settings import Settings

meter_app = typer.Typer(help="Meter events: bulk import.", no_args_is_help=True)
console = Console()
# The progress bar and errors go to stderr, the summary to stdout.
notes = Console(stderr=True)

FILE_HELP = (
    "CSV, NDJSON or Parquet. Columns: event_name, timestamp (Unix seconds or RFC 3339 with "
    "a time zone), identifier (optional), and the payload: a `payload` column holding a "
    "JSON object, or else every other column is a payload key."
)


class FileFormat(StrEnum):
    csv = "csv"
    ndjson = "ndjson"
    parquet = "parquet"


@meter_app.callback()
def meter() -> None:
    """Meter events: bulk import."""


class RowsPerSecond(ProgressColumn):
    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        return Text("" if speed is None else f"{speed:,.0f} rows/s", style="progress.data.speed")


@meter_app.command("import")
def import_command(
    file: Annotated[Path, typer.Argument(help=FILE_HELP)],
    account: Annotated[str, typer.Option("--account", help="The tenant's account id (acct_...).")],
    fmt: Annotated[
        FileFormat | None, typer.Option("--format", help="Default: from the file's extension.")
    ] = None,
    restart: Annotated[
        bool, typer.Option(help="Read a completed or interrupted import again from row 1.")
    ] = False,
    chunk_rows: Annotated[
        int, typer.Option(min=1, max=MAX_CHUNK_ROWS, help="Rows per transaction.")
    ] = DEFAULT_CHUNK_ROWS,
) -> None:
    """Import meter events from a file: idempotent by identifier, resumable (run the same
    command again after an interruption: it continues after the last committed chunk)."""
    settings = Settings.from_env()
    store = open_store(settings)
    try:
        migrate_store(store)
        with store.read() as conn:
            found = get_account(conn, account)
        if found is None:
            notes.print(f"[red]No such account: {account}[/red]", highlight=False)
            raise typer.Exit(1)
        ctx = CallContext(found, WallClock().now(), pm=make_manager(settings.plugins_allowed))
        with ImportProgress() as bar:
            summary = import_file(
                store, ctx, file, fmt=None if fmt is None else fmt.value, restart=restart,
                chunk_rows=chunk_rows, progress=bar, timer=time.perf_counter,
            )  # fmt: skip
            bar.finish()
    except StripeError as error:
        notes.print(f"[red]{error.message}[/red]", highlight=False)
        raise typer.Exit(1) from None
    finally:
        store.dispose()
    print_summary(summary)


class ImportProgress:
    """The rich progress bar, fed by the import's (rows committed, rows total) calls."""

    def __init__(self) -> None:
        self.progress = Progress(
            TextColumn("importing"), BarColumn(), MofNCompleteColumn(), TaskProgressColumn(),
            RowsPerSecond(), TimeElapsedColumn(), console=notes, transient=False,
        )  # fmt: skip
        self.task: TaskID | None = None

    def __enter__(self) -> ImportProgress:
        self.progress.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.progress.stop()

    def __call__(self, rows_committed: int, rows_total: int) -> None:
        if self.task is None:
            self.task = self.progress.add_task("import", total=rows_total, completed=rows_committed)
        else:
            self.progress.update(self.task, completed=rows_committed)

    def finish(self) -> None:
        # A text file's total is a line count: a quoted newline makes it an estimate.
        if self.task is not None:
            done = self.progress.tasks[0].completed
            self.progress.update(self.task, total=done, completed=done)


def print_summary(summary: ImportSummary) -> None:
    """The summary table, then what identifies the import and how this run went."""
    facts = summary.facts
    console.print(summary_table(summary))
    lines = [f"import {summary.import_id}, sha256 {facts.fingerprint[:16]}"]
    if summary.already_complete:
        lines.append("already imported: nothing read (--restart reads it again)")
    elif summary.resumed_after_row:
        lines.append(f"resumed after row {summary.resumed_after_row:,}")
    for line in lines:
        console.print(line, style="dim", highlight=False)


def summary_table(summary: ImportSummary) -> Table:
    facts, run, total = summary.facts, summary.run, summary.total
    table = Table(
        "", "this run", "all runs", title=f"{facts.path.name} ({facts.format})",
        title_justify="left",
    )  # fmt: skip
    table.columns[1].justify = table.columns[2].justify = "right"
    rows = [("rows read", run.rows_read, total.rows_read),
            ("accepted", run.accepted, total.accepted),
            ("duplicates", run.duplicates, total.duplicates),
            ("errors", run.errors, total.errors)]  # fmt: skip
    for label, here, overall in rows:
        table.add_row(label, f"{here:,}", f"{overall:,}")
    for code in sorted(set(run.error_codes) | set(total.error_codes)):
        table.add_row(f"  {code}", f"{run.error_codes.get(code, 0):,}",
                      f"{total.error_codes.get(code, 0):,}")  # fmt: skip
    table.add_row("elapsed", f"{summary.elapsed_s:.2f} s", "")
    table.add_row("events/s", f"{summary.events_per_s:,.0f}", "")
    return table
