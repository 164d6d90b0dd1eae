"""The run's summary: per currency what matched, what did not, and each side's balance at
the cutoff, whose difference is the drift a finance team explains.

Every record is in exactly one match or one break, so what matched is every record less
what the breaks hold: one scan of each side and a read of the (small) breaks, instead of
a second pass over ten million match rows. The tests check that partition against the
``matches`` table itself. Balances count every parsed record dated at or before the
cutoff, matched or not (rejected rows never became records).
"""

from __future__ import annotations

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

_Totals = dict[tuple[str, str], tuple[int, ...]]  # (side, currency) -> counts and sums


def summarize(
    duck: duckdb.DuckDBPyConnection,
    *,
    cutoff_ts: int | None,
    matched_pairs: int,
    ties: int,
) -> Summary:
    """Build the Summary from ``left_records``, ``right_records`` and ``rx_found``;
    ``matched_pairs`` and ``ties`` come from the passes."""
    dated = "TRUE" if cutoff_ts is None else f"ts <= {int(cutoff_ts)}"
    records = _totals(
        duck,
        " UNION ALL ".join(
            f"""SELECT '{side}', currency, COUNT(*), SUM(amount),
                   SUM(CASE WHEN {dated} THEN amount ELSE 0 END)
            FROM {side}_records GROUP BY currency"""
            for side in ("left", "right")
        ),
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
        _currency(code, records, unmatched) for code in sorted({c for _, c in records})
    )
    by_type = dict.fromkeys(TRANSACTION_BREAK_TYPES, 0)
    for kind, found in duck.execute("SELECT type, COUNT(*) FROM rx_found GROUP BY type").fetchall():
        by_type[str(kind)] = int(found)
    return Summary(
        matched_pairs=matched_pairs,
        matched_left=sum(c.left_matched for c in currencies),
        matched_right=sum(c.right_matched for c in currencies),
        records_left=sum(c.left_records for c in currencies),
        records_right=sum(c.right_records for c in currencies),
        breaks_by_type=by_type,
        ties=ties,
        currencies=currencies,
        cutoff_ts=cutoff_ts,
    )


def _totals(duck: duckdb.DuckDBPyConnection, query: str) -> _Totals:
    """(side, currency) -> its counts and sums, from a query yielding side, currency and
    then integers; one row per side and currency, so this stays small."""
    table: _Totals = {}
    for side, currency, *values in duck.execute(query).fetchall():
        table[(str(side), str(currency))] = tuple(int(v or 0) for v in values)
    return table


def _currency(code: str, records: _Totals, unmatched: _Totals) -> CurrencySummary:
    left_n, left_all, left_total = records.get(("left", code), (0, 0, 0))
    right_n, right_all, right_total = records.get(("right", code), (0, 0, 0))
    left_open_n, left_open = unmatched.get(("left", code), (0, 0))
    right_open_n, right_open = unmatched.get(("right", code), (0, 0))
    return CurrencySummary(
        currency=code,
        left_records=left_n,
        right_records=right_n,
        left_matched=left_n - left_open_n,
        right_matched=right_n - right_open_n,
        value_matched=left_all - left_open,
        value_unmatched_left=left_open,
        value_unmatched_right=right_open,
        left_total=left_total,
        right_total=right_total,
        drift=left_total - right_total,
    )
