"""Transaction-mode matching: the rules' passes, strict to loose, over two sides' records
in DuckDB, then a typed break for every record no pass matched.

Reads ``left_records`` and ``right_records`` (``model.RECORD_COLUMNS``); leaves ``matches``
(one row per member record, ``match_no`` = the line of the match's first left record; a
view over the passes' own tables, see ``output``) and the table ``breaks`` (in
``break_key`` order). ``matches`` has no physical order: read it with
``ORDER BY match_no, side, record_id``. Everything is set-based SQL; Python only loops
over passes and assignment rounds, never over records.
"""

from __future__ import annotations

from collections.abc import Callable

import duckdb

from remit.fde.reconcile.matching.classify import classify
from remit.fde.reconcile.matching.expr import drop
from remit.fde.reconcile.matching.output import (
    PassOutcome,
    create_matches_view,
    forget_previous_run,
)
from remit.fde.reconcile.matching.passes import run_pass
from remit.fde.reconcile.matching.prelude import SIDES, check, split
from remit.fde.reconcile.matching.summary import summarize
from remit.fde.reconcile.model import Summary, TransactionRules
from remit.primitives.errors import InvalidRequestError

__all__ = ["Progress", "run_transactions"]

Progress = Callable[[str, int, int | None], None]  # (stage label, done, total)


def run_transactions(
    duck: duckdb.DuckDBPyConnection,
    rules: TransactionRules,
    *,
    cutoff_ts: int | None = None,
    progress: Progress | None = None,
) -> Summary:
    """Match, classify and summarize; ``cutoff_ts`` bounds the balances (None: all)."""
    _check_passes(rules)
    stages = len(rules.passes) + 3
    report = progress or _silent
    report("checking records", 0, stages)
    dup_sides = check(duck)
    forget_previous_run(duck)
    split(duck, dup_sides)
    left, right = "rx_left_active", "rx_right_active"
    outcomes: list[PassOutcome] = []
    for pass_no, p in enumerate(rules.passes, start=1):
        report(f"pass {p.name}", pass_no, stages)
        outcome = run_pass(duck, pass_no, p, left, right)
        for old, new in ((left, outcome.left), (right, outcome.right)):
            if old != new and old.startswith("rx_open_"):
                drop(duck, old)
        left, right = outcome.left, outcome.right
        outcomes.append(outcome)
    create_matches_view(duck, outcomes)
    report("classifying breaks", stages - 2, stages)
    classify(duck, rules, left, right)
    drop(duck, *(name for name in (left, right) if name.startswith("rx_open_")))
    report("summarizing", stages - 1, stages)
    summary = summarize(
        duck,
        cutoff_ts=cutoff_ts,
        matched_pairs=sum(o.matches for o in outcomes),
        ties=sum(o.ties for o in outcomes),
    )
    for side in SIDES:
        duck.execute(f"DROP VIEW IF EXISTS rx_{side}_active")
    drop(duck, "rx_found", *(f"rx_{side}_dups" for side in SIDES))
    report("done", stages, stages)
    return summary


def _check_passes(rules: TransactionRules) -> None:
    """Refuse, before anything runs, passes whose candidates could not be found by a hash
    join or would be meaningless; every problem is listed at once."""
    problems: list[tuple[str, str]] = []
    for i, p in enumerate(rules.passes):
        if p.kind in ("tolerance", "fuzzy") and p.date_window_s is None:
            problems.append(
                (f"passes[{i}].date_window", f"pass {p.name} ({p.kind}) needs a date_window.")
            )
        if p.kind == "group" and p.many not in ("left", "right"):
            problems.append((f"passes[{i}].many", f"pass {p.name} (group) needs many: left|right."))
        if p.kind == "fuzzy" and not 1 <= (p.min_similarity_pct or 0) <= 100:
            problems.append(
                (
                    f"passes[{i}].min_similarity",
                    f"pass {p.name} (fuzzy) needs min_similarity between 1 and 100.",
                )
            )
        if p.tolerance.minor < 0 or p.tolerance.basis_points < 0 or (p.date_window_s or 0) < 0:
            problems.append((f"passes[{i}]", f"pass {p.name} has a negative tolerance or window."))
    if problems:
        raise InvalidRequestError(
            "Invalid reconciliation rules: " + " ".join(message for _, message in problems),
            code="invalid_reconciliation_rules",
            param=problems[0][0],
        )


def _silent(stage: str, done: int, total: int | None) -> None:
    """No progress display: the default for library callers and tests."""
