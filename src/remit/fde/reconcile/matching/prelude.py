"""Before any pass: check the records are what matching assumes, and set aside every later
copy of a record id so each id takes part once.

A side's records become the view ``rx_<side>_active`` (its first copy of every id) and the
table ``rx_<side>_dups`` (every later copy, with the line of the first): the later copies
are ``duplicate`` breaks, not candidates, because two rows claiming one id cannot both be
the record the other side refers to.

Nothing is written before the checks pass: bad records raise one error listing every
problem found, so a caller never sees half a run.
"""

from __future__ import annotations

import duckdb

from remit.fde.reconcile.matching.expr import AMOUNT_LIMIT_MINOR
from remit.fde.reconcile.model import Side
from remit.primitives.errors import InvalidRequestError

SIDES: tuple[Side, ...] = ("left", "right")
RECORD_FIELDS = "line_no, record_id, amount, currency, ts, reference, group_ref, description"
# Year 1 to year 9999 in Unix seconds: what a date parser can produce and a sentence can show.
_MIN_TS, _MAX_TS = -62_135_596_800, 253_402_300_799
# Errors name a few offending lines; the count says how many more there are.
_SHOWN_LINES = 5
_REQUIRED = ("line_no", "record_id", "amount", "currency", "ts")


def check(duck: duckdb.DuckDBPyConnection) -> tuple[Side, ...]:
    """Check both sides (reading only); return the sides where some id repeats."""
    problems: list[str] = []
    dup_sides = tuple(side for side in SIDES if _check(duck, side, problems))
    if problems:
        raise InvalidRequestError(
            "The records cannot be matched: " + " ".join(problems),
            code="invalid_records",
            param=None,
        )
    return dup_sides


def split(duck: duckdb.DuckDBPyConnection, dup_sides: tuple[Side, ...]) -> None:
    """Split each side into its active records and its id duplicates."""
    for side in SIDES:
        _split(duck, side, side in dup_sides)


def _check(duck: duckdb.DuckDBPyConnection, side: Side, problems: list[str]) -> bool:
    """One scan of a side: required values present, amounts and dates in range. Returns
    whether some record id occurs more than once. Lines are trusted to be unique (a row's
    place in its source): checking would cost a third of the run."""
    row = duck.execute(
        f"""SELECT COUNT(*), COUNT(DISTINCT record_id), COUNT(*) - COUNT(line_no),
                   COUNT(*) - COUNT(record_id), COUNT(*) - COUNT(amount),
                   COUNT(*) - COUNT(currency), COUNT(*) - COUNT(ts),
                   COUNT(CASE WHEN amount > {AMOUNT_LIMIT_MINOR} OR amount < -{AMOUNT_LIMIT_MINOR}
                              THEN 1 END),
                   COUNT(CASE WHEN ts > {_MAX_TS} OR ts < {_MIN_TS} THEN 1 END)
            FROM {side}_records"""
    ).fetchone()
    assert row is not None
    total, ids, *nulls, too_large, out_of_range = (int(v) for v in row)
    for name, missing in zip(_REQUIRED, nulls, strict=True):
        if missing:
            problems.append(f"{missing} {side} record(s) have no {name}.")
    if too_large:
        problems.append(
            f"{side} amounts beyond {AMOUNT_LIMIT_MINOR} minor units on line(s) "
            f"{_lines(duck, side, f'ABS(amount) > {AMOUNT_LIMIT_MINOR}', too_large)}."
        )
    if out_of_range:
        problems.append(
            f"{side} dates outside years 1-9999 on line(s) "
            f"{_lines(duck, side, f'ts > {_MAX_TS} OR ts < {_MIN_TS}', out_of_range)}."
        )
    return ids < total - nulls[1]


def _lines(duck: duckdb.DuckDBPyConnection, side: Side, condition: str, found: int) -> str:
    rows = duck.execute(
        f"""SELECT line_no FROM {side}_records WHERE {condition}
        ORDER BY line_no LIMIT {_SHOWN_LINES}"""
    ).fetchall()
    shown = ", ".join(str(r[0]) for r in rows)
    return shown + (f" and {found - len(rows)} more" if found > len(rows) else "")


def _split(duck: duckdb.DuckDBPyConnection, side: Side, has_dups: bool) -> None:
    """``rx_<side>_dups``: later copies numbered from 2 in line order, with the first
    copy's line; ``rx_<side>_active``: everything else. Without duplicates the view is the
    records themselves, so a clean 10M-row side costs no copy."""
    source = f"{side}_records"
    if has_dups:
        duck.execute(
            f"""CREATE OR REPLACE TEMP TABLE rx_{side}_dups AS
            WITH repeated AS (
                SELECT record_id FROM {source} GROUP BY record_id HAVING COUNT(*) > 1
            ), copies AS (
                SELECT {", ".join("s." + f for f in RECORD_FIELDS.split(", "))},
                       ROW_NUMBER() OVER (PARTITION BY s.record_id ORDER BY s.line_no) AS copy_no,
                       MIN(s.line_no) OVER (PARTITION BY s.record_id) AS first_line
                FROM {source} s JOIN repeated d ON s.record_id = d.record_id
            )
            SELECT * FROM copies WHERE copy_no > 1"""
        )
        duck.execute(
            f"""CREATE OR REPLACE TEMP VIEW rx_{side}_active AS
            SELECT {RECORD_FIELDS} FROM {source}
            WHERE line_no NOT IN (SELECT line_no FROM rx_{side}_dups)"""
        )
        return
    duck.execute(
        f"""CREATE OR REPLACE TEMP TABLE rx_{side}_dups AS
        SELECT {RECORD_FIELDS}, 0 AS copy_no, line_no AS first_line FROM {source} WHERE FALSE"""
    )
    duck.execute(
        f"CREATE OR REPLACE TEMP VIEW rx_{side}_active AS SELECT {RECORD_FIELDS} FROM {source}"
    )
