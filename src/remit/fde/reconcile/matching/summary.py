"""The run's summary: per currency what matched, what did not, and each side's balance at
the cutoff, whose difference is the drift a finance team explains.

Three independent sums meet here: every record (``left_records`` / ``right_records``),
the matched members (``matches``) and the unmatched ones (``rx_found``, one break per
record). Matched plus unmatched equals every record, which tests check as a property;
the balances count every parsed record dated at or before the cutoff, matched or not
(rejected rows never became records).
"""

from __future__ import annotations

from collections import defaultdict

import duckdb

from remit.fde.reconcile.model import CurrencySummary, Summary

# The break types transaction mode can report, in the model's order: every summary lists
# them all, with zeros, so two runs' summaries line up column for column.
TRANSACTION_BREAK_TYPES = (
    "missing_in_platform",
    "missing_in_external",
    "amount_mismatch",
    "timing",
    "duplicate",
    "currency_mismatch",
)

_Totals = dict[tuple[str, str], tuple[int, int]]  # (side, currency) -> (count, amount)


def summarize(
    duck: duckdb.DuckDBPyConnection,
    *,
    cutoff_ts: int | None,
    matched_pairs: int,
    ties: int,
) -> Summary:
    """Build the Summary from ``left_records``, ``right_records``, ``matches`` and
    ``rx_found``; ``matched_pairs`` and ``ties`` come from the passes."""
    dated = "TRUE" if cutoff_ts is None else f"ts <= {int(cutoff_ts)}"
    records = _totals(
        duck,
        f"""SELECT 'left', currency, COUNT(*), SUM(CASE WHEN {dated} THEN amount ELSE 0 END)
        FROM left_records GROUP BY currency
        UNION ALL
        SELECT 'right', currency, COUNT(*), SUM(CASE WHEN {dated} THEN amount ELSE 0 END)
        FROM right_records GROUP BY currency""",
    )
    matched = _totals(
        duck, "SELECT side, currency, COUNT(*), SUM(amount) FROM matches GROUP BY side, currency"
    )
    unmatched = _totals(
        duck,
        """SELECT 'left', l_currency, COUNT(*), SUM(l_amount) FROM rx_found
        WHERE l_id IS NOT NULL GROUP BY l_currency
        UNION ALL
        SELECT 'right', r_currency, COUNT(*), SUM(r_amount) FROM rx_found
        WHERE r_id IS NOT NULL GROUP BY r_currency""",
    )
    currencies = tuple(
        _currency(code, records, matched, unmatched)
        for code in sorted({currency for _, currency in records})
    )
    by_type = dict.fromkeys(TRANSACTION_BREAK_TYPES, 0)
    for kind, found in duck.execute("SELECT type, COUNT(*) FROM rx_found GROUP BY type").fetchall():
        by_type[str(kind)] = int(found)

    def total(table: _Totals, side: str) -> int:
        return sum(n for (s, _), (n, _) in table.items() if s == side)

    return Summary(
        matched_pairs=matched_pairs,
        matched_left=total(matched, "left"),
        matched_right=total(matched, "right"),
        records_left=total(records, "left"),
        records_right=total(records, "right"),
        breaks_by_type=by_type,
        ties=ties,
        currencies=currencies,
        cutoff_ts=cutoff_ts,
    )


def _totals(duck: duckdb.DuckDBPyConnection, query: str) -> _Totals:
    """(side, currency) -> (count, amount) from a query yielding those four columns; one
    row per side and currency, so this stays small whatever the record count."""
    table: _Totals = defaultdict(lambda: (0, 0))
    for side, currency, n, amount in duck.execute(query).fetchall():
        table[(str(side), str(currency))] = (int(n), int(amount or 0))
    return table


def _currency(code: str, records: _Totals, matched: _Totals, unmatched: _Totals) -> CurrencySummary:
    left_total = records[("left", code)][1]
    right_total = records[("right", code)][1]
    return CurrencySummary(
        currency=code,
        left_records=records[("left", code)][0],
        right_records=records[("right", code)][0],
        left_matched=matched[("left", code)][0],
        right_matched=matched[("right", code)][0],
        value_matched=matched[("left", code)][1],
        value_unmatched_left=unmatched[("left", code)][1],
        value_unmatched_right=unmatched[("right", code)][1],
        left_total=left_total,
        right_total=right_total,
        drift=left_total - right_total,
    )
