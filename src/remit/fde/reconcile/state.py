"""State mode: the platform's objects against a customer's own copy of them.

Each side is keyed (a platform id, or a platform field holding the external id, against
an external column), and every matched object is compared field by field after the
external value is turned into the platform's vocabulary (decimal strings into minor
units, local times into Unix seconds, a status vocabulary into Stripe's). What differs
becomes a typed break; a copy that last synced before the platform's latest change is
one ``stale`` break, since its differences are the sync's lag, not disagreements.

Everything runs set-based in DuckDB (``state_sql`` holds the statements): one statement
per table, each field a branch of a UNION ALL; no Python loop over objects.
"""

from __future__ import annotations

from collections.abc import Callable

import duckdb

from remit.fde.reconcile import state_breaks, state_sql
from remit.fde.reconcile.model import BREAK_TYPES, REJECT_COLUMNS, StateRules, Summary
from remit.fde.reconcile.transforms import create_currency_table
from remit.primitives.errors import InvalidRequestError

Progress = Callable[[str, int, int | None], None]
STAGES = ("parse", "pair", "compare", "breaks")


def run_state(
    duck: duckdb.DuckDBPyConnection, rules: StateRules, *, progress: Progress | None = None
) -> Summary:
    """Compare ``left_raw`` (the platform's objects) with ``right_raw`` (the external
    rows); write ``matches`` and ``breaks`` and append unreadable values to ``rejects``.

    Columns the rules name but a side lacks are refused before anything is written.
    """
    report = progress or _quiet
    left_columns = _columns(duck, "left_raw")
    _check_columns(rules, left_columns, _columns(duck, "right_raw"))
    create_currency_table(duck)
    reject_columns = ", ".join(f"{name} {kind}" for name, kind in REJECT_COLUMNS)
    duck.execute(f"CREATE TABLE IF NOT EXISTS rejects ({reject_columns})")
    report("parse", 0, len(STAGES))
    duck.execute(state_sql.left_table(rules, "updated_at" in left_columns))
    duck.execute(state_sql.right_table(rules))
    duck.execute(state_sql.insert_rejects(rules))
    report("pair", 1, len(STAGES))
    duck.execute(state_sql.PAIRS)
    duck.execute(state_sql.MATCHES)
    report("compare", 2, len(STAGES))
    duck.execute(state_sql.diffs(rules))
    report("breaks", 3, len(STAGES))
    duck.execute(state_breaks.breaks(rules))
    report("breaks", len(STAGES), len(STAGES))
    return _summary(duck)


def _quiet(stage: str, done: int, total: int | None) -> None:
    """Nobody is watching this run."""


def _columns(duck: duckdb.DuckDBPyConnection, table: str) -> set[str]:
    return {str(row[0]) for row in duck.execute(f"DESCRIBE {table}").fetchall()}


def _check_columns(rules: StateRules, left: set[str], right: set[str]) -> None:
    """Every column the rules name, checked at once: the error lists each missing one
    (with the rules' path to it), so one correction fixes them all."""
    wanted: list[tuple[str, str, set[str], str]] = [
        ("platform", "key.platform", left, rules.platform_key),
        ("platform", "id", left, "id"),
        (rules.external_label, "key.external", right, rules.external_key),
    ]
    if rules.synced_at is not None:
        wanted.append((rules.external_label, "external.synced_at", right, rules.synced_at))
    for i, field in enumerate(rules.fields):
        wanted.append(("platform", f"fields[{i}].platform", left, field.platform))
        wanted.append((rules.external_label, f"fields[{i}].external", right, field.external))
        if field.currency_column is not None:
            wanted.append(
                (rules.external_label, f"fields[{i}].currency_column", right,
                 field.currency_column)
            )  # fmt: skip
    missing = [(side, path, name) for side, path, found, name in wanted if name not in found]
    if missing:
        listed = "; ".join(f"{path}: {side} has no column {name!r}" for side, path, name in missing)
        raise InvalidRequestError(
            f"The sources lack columns the rules name: {listed}.",
            code="missing_columns",
            param=missing[0][1],
        )


def _summary(duck: duckdb.DuckDBPyConnection) -> Summary:
    counted = duck.execute(
        "SELECT (SELECT COUNT(*) FROM left_raw), (SELECT COUNT(*) FROM right_raw),"
        " (SELECT COUNT(*) FROM state_pairs)"
    ).fetchone()
    assert counted is not None
    records_left, records_right, pairs = (int(n) for n in counted)
    by_type = dict.fromkeys(BREAK_TYPES, 0)
    for kind, count in duck.execute(
        "SELECT type, COUNT(*) FROM breaks GROUP BY type ORDER BY type"
    ).fetchall():
        by_type[str(kind)] = int(count)
    return Summary(
        matched_pairs=pairs,
        matched_left=pairs,
        matched_right=pairs,
        records_left=records_left,
        records_right=records_right,
        breaks_by_type=by_type,
        ties=0,
        currencies=(),
        cutoff_ts=None,
    )
