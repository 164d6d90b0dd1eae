"""Hand-made ledgers for the matching tests: records written as a person would list them
(id, amount in minor units, day of March 2024, reference), loaded straight into the
DuckDB tables the engine reads, and the engine's output read back as plain values."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import duckdb

from remit.analytics.engine import connect
from remit.fde.reconcile.model import (
    RECORD_COLUMNS,
    AmountTolerance,
    Pass,
    SideMapping,
    TransactionRules,
)

DAY = 86_400
HOUR = 3_600
MARCH_1 = 1_709_251_200  # 2024-03-01 00:00 UTC

# The café's rules, strict to loose, as its YAML would list them.
BY_REFERENCE = Pass(
    "by_reference", "reference", AmountTolerance(minor=30, basis_points=350), 5 * DAY
)
BY_AMOUNT_AND_DATE = Pass("by_amount_and_date", "amount_date", date_window_s=3 * DAY)
PAYOUTS = Pass("payouts", "group", many="left")
SPLITS = Pass("splits", "group", many="right")
NEAR_AMOUNT = Pass("near_amount", "tolerance", AmountTolerance(basis_points=100), 2 * DAY)
BY_DESCRIPTION = Pass(
    "by_description", "fuzzy", AmountTolerance(minor=100), 7 * DAY, min_similarity_pct=85
)
ALL_PASSES = (BY_REFERENCE, BY_AMOUNT_AND_DATE, PAYOUTS, SPLITS, NEAR_AMOUNT, BY_DESCRIPTION)


@dataclass(frozen=True)
class R:
    """One record: ``day`` is the day of March (1 = the 1st), ``at`` seconds into it."""

    id: str
    amount: int
    day: int = 1
    ref: str | None = None
    group: str | None = None
    desc: str | None = None
    currency: str = "usd"
    at: int = 12 * HOUR

    @property
    def ts(self) -> int:
        return MARCH_1 + (self.day - 1) * DAY + self.at


def duck_with(left: Sequence[R], right: Sequence[R]) -> duckdb.DuckDBPyConnection:
    """A DuckDB holding ``left_records`` and ``right_records``; each record's line is its
    position in its list plus 2, as in a CSV with a header."""
    duck = connect()
    load(duck, "left", list(enumerate(left, start=2)))
    load(duck, "right", list(enumerate(right, start=2)))
    return duck


def load(duck: duckdb.DuckDBPyConnection, side: str, lines: Sequence[tuple[int, R]]) -> None:
    """(line, record) pairs into ``<side>_records``, inserted in the order given."""
    columns = ", ".join(f"{name} {kind}" for name, kind in RECORD_COLUMNS)
    duck.execute(f"CREATE OR REPLACE TABLE {side}_records ({columns})")
    if lines:
        duck.executemany(
            f"INSERT INTO {side}_records VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [[line, r.id, r.amount, r.currency, r.ts, r.ref, r.group, r.desc] for line, r in lines],
        )


def rules(*passes: Pass, timing_window_s: int = 30 * DAY) -> TransactionRules:
    return TransactionRules(
        name="cafe-vs-bank",
        version=1,
        digest="0" * 64,
        left=SideMapping(label="platform", amount="amount", date="created"),
        right=SideMapping(label="bank", amount="amount", date="booked"),
        passes=passes,
        timing_window_s=timing_window_s,
    )


def matches(duck: duckdb.DuckDBPyConnection) -> set[tuple[str, tuple[str, ...], tuple[str, ...]]]:
    """Each match as (pass, left ids, right ids), ids sorted."""
    rows = duck.execute(
        """SELECT pass_name,
                  list_sort(list(record_id) FILTER (WHERE side = 'left')),
                  list_sort(list(record_id) FILTER (WHERE side = 'right'))
        FROM matches GROUP BY match_no, pass_name"""
    ).fetchall()
    return {(p, tuple(left or ()), tuple(right or ())) for p, left, right in rows}


def breaks(duck: duckdb.DuckDBPyConnection) -> dict[str, dict[str, object]]:
    """Every break by its key, as a dict of the ``breaks`` columns."""
    cursor = duck.execute("SELECT * FROM breaks ORDER BY break_key")
    names = [d[0] for d in cursor.description or ()]
    return {row[0]: dict(zip(names, row, strict=True)) for row in cursor.fetchall()}


def ordered_output(duck: duckdb.DuckDBPyConnection) -> tuple[list[tuple], list[tuple]]:
    """``matches`` and ``breaks`` in the order a digest reads them."""
    return (
        duck.execute("SELECT * FROM matches ORDER BY match_no, side, record_id").fetchall(),
        duck.execute("SELECT * FROM breaks ORDER BY break_key").fetchall(),
    )
