"""What ``remit reconcile`` shows: the run's progress on stderr, its tables on stdout.

Everything here reads the wire objects (``reconciliation.run``, ``.run_diff``,
``.repair_plan``), so the CLI shows exactly what the API answers.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

from remit.primitives.money import format_amount

# Piped into a file or another program, rich would fit the tables to 80 columns and cut
# amounts short; results keep every digit instead.
PIPED_WIDTH = 200
console = Console(width=None if sys.stdout.isatty() else PIPED_WIDTH)
# The progress bar, notes and errors go to stderr; results to stdout.
notes = Console(stderr=True)


class RunProgress:
    """A rich bar per stage (load left, load right, each pass, classify, persist), fed by
    the run's ``(stage, done, total)`` calls; a stage without a total shows as busy."""

    def __init__(self) -> None:
        self.progress = Progress(
            TextColumn("{task.description:<24}"), BarColumn(), MofNCompleteColumn(),
            TimeElapsedColumn(), console=notes, transient=False,
        )  # fmt: skip
        self.tasks: dict[str, TaskID] = {}
        self.current: str | None = None

    def __enter__(self) -> RunProgress:
        self.progress.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._close_current()
        self.progress.stop()

    def __call__(self, stage: str, done: int, total: int | None) -> None:
        if stage != self.current:
            self._close_current()
            self.current = stage
            if stage not in self.tasks:
                self.tasks[stage] = self.progress.add_task(escape(stage), total=total)
        self.progress.update(self.tasks[stage], completed=done, total=total)

    def _close_current(self) -> None:
        # A stage that never said how much it had is done when the next one starts.
        if self.current is not None:
            task = self.progress.tasks[self.tasks[self.current]]
            self.progress.update(self.tasks[self.current], total=task.completed or 1,
                                 completed=task.completed or 1)  # fmt: skip


def run_tables(run: Mapping[str, Any]) -> list[Table]:
    """The summary of a run: per currency, then breaks and rates."""
    summary = run["summary"] or {}
    return [_currency_table(run, summary), _totals_table(run, summary)]


def _currency_table(run: Mapping[str, Any], summary: Mapping[str, Any]) -> Table:
    left, right = run["left"]["label"], run["right"]["label"]
    table = Table(
        "currency", f"{left} records", f"{right} records", f"{left} matched",
        f"{right} matched", "value matched", f"unmatched {left}", f"unmatched {right}", "drift",
        title=f"{run['id']}: {run['rules']['name']} v{run['rules']['version']} ({run['mode']})",
        title_justify="left",
    )  # fmt: skip
    for column in table.columns[1:]:
        column.justify = "right"
    for c in summary.get("currencies", []):
        code = c["currency"]
        table.add_row(
            code.upper(), f"{c['left_records']:,}", f"{c['right_records']:,}",
            f"{c['left_matched']:,}", f"{c['right_matched']:,}",
            format_amount(c["value_matched"], code),
            format_amount(c["value_unmatched_left"], code),
            format_amount(c["value_unmatched_right"], code), format_amount(c["drift"], code),
        )  # fmt: skip
    return table


def _totals_table(run: Mapping[str, Any], summary: Mapping[str, Any]) -> Table:
    table = Table("", "", show_header=False, title="breaks and rates", title_justify="left")
    table.columns[1].justify = "right"
    for kind, count in summary.get("breaks_by_type", {}).items():
        table.add_row(kind, f"{count:,}")
    rate = summary.get("match_rate_bp", 0)
    table.add_row("match rate", f"{rate // 100}.{rate % 100:02d}%")
    table.add_row("matched pairs and groups", f"{summary.get('matched_pairs', 0):,}")
    table.add_row("ties (broken by id)", f"{summary.get('ties', 0):,}")
    table.add_row("rejected rows left", f"{run['left']['rejected']:,}")
    table.add_row("rejected rows right", f"{run['right']['rejected']:,}")
    if run["cutoff"] is not None:
        table.add_row("cutoff", str(run["cutoff"]))
    table.add_row("results digest", (run["results_digest"] or "")[:16])
    return table


def diff_line(found: Mapping[str, Any]) -> str:
    """The diff in one line, kept whole (a script greps it) whatever the terminal width."""
    return (
        f"{found['run']} against {found['against']}: {found['resolved_count']:,} resolved, "
        f"{found['new_count']:,} new, {found['persisting']:,} persisting"
    )


def diff_table(found: Mapping[str, Any]) -> Table:
    """Resolved and new breaks (the first of each), with type, key and the run's detail."""
    table = Table("", "type", "break key", "detail")
    table.columns[2].overflow = "fold"
    for status in ("resolved", "new"):
        for item in found[status]:
            table.add_row(status, item["type"], escape(item["break_key"]), escape(item["detail"]))
    return table


def plan_table(plan: Mapping[str, Any]) -> Table:
    """A repair plan's actions, as the person approving it reads them."""
    table = Table(
        "#", "action", "object", "break", "expected effect",
        title=f"{plan['id']} ({plan['status']}) for {plan['run']}, digest {plan['digest'][:16]}",
        title_justify="left",
    )  # fmt: skip
    for action in plan["actions"]:
        table.add_row(
            str(action["action_no"]), action["type"], escape(str(action["object_id"] or "")),
            escape(str(action["break"] or "")), escape(str(action["expected_effect"] or "")),
        )  # fmt: skip
    return table
