"""Transaction matching alone (``run_transactions``), on two sides made in DuckDB with
``range()``, next to a bare DuckDB hash join of the same two tables in the same process.

Run with remit's venv python:

    .venv/bin/python benchmarks/reconcile_matching.py                     # 1M and 10M
    .venv/bin/python benchmarks/reconcile_matching.py --scales 1000000 --threads 2

Per scale, not timed: ``left_records`` (n platform records, Stripe-length ids and
references, 10% in euros, 0.5% paid out in groups of five) and ``right_records`` (the
bank: the same money shuffled, dates up to two days later, 1% without a reference,
0.1% short by a fee, 0.5% missing, 0.1% listed twice). Timed: the bare join
``SELECT count(*) FROM left_records l JOIN right_records r USING (currency, reference)``
(best of three), then ``run_transactions`` with five passes (reference, amount and date,
payout groups, near amount, description), each stage timed by its progress reports.
Loading files is not part of this figure: ``benchmarks/reconcile.py`` measures the
whole run from the generator's files.
"""

from __future__ import annotations

import argparse
import time

import duckdb

from remit.analytics import engine
from remit.fde.reconcile.matching import run_transactions
from remit.fde.reconcile.model import AmountTolerance, Pass, SideMapping, TransactionRules

BEST_OF = 3
DAY_S = 86_400
RULES = TransactionRules(
    name="range-platform-vs-bank",
    version=1,
    digest="0" * 64,
    left=SideMapping(label="platform", amount="amount", date="created"),
    right=SideMapping(label="bank", amount="amount", date="booked"),
    passes=(
        Pass("by_reference", "reference", AmountTolerance(30, 350), 5 * DAY_S),
        Pass("payouts", "group", many="left"),
        Pass("by_description", "fuzzy", AmountTolerance(100), 3 * DAY_S, min_similarity_pct=85),
        Pass("by_amount_and_date", "amount_date", date_window_s=3 * DAY_S),
        Pass("near_amount", "tolerance", AmountTolerance(basis_points=100), 2 * DAY_S),
    ),
)
_ID = "substr(md5(CAST({i} AS VARCHAR)), 1, 24)"  # 24 hex digits: a Stripe id's length
_AMOUNT = "(CAST(hash({i}) % 1000000 AS BIGINT) + 100)"
# Ten records in a row share a currency, so a payout's five records share one.
_CURRENCY = "CASE WHEN hash({i} // 10) % 10 = 0 THEN 'eur' ELSE 'usd' END"


def make_sides(duck: duckdb.DuckDBPyConnection, n: int) -> None:
    """Both record tables, set-based from ``range(n)``; dates spread over a year."""
    step = max(30_000_000 // n, 1)
    duck.execute(f"""
        CREATE OR REPLACE TABLE left_records AS
        SELECT i + 2 AS line_no, 'ch_' || {_ID.format(i="i")} AS record_id,
               {_AMOUNT.format(i="i")} AS amount, {_CURRENCY.format(i="i")} AS currency,
               1700000000 + i * {step} AS ts, 'py_' || {_ID.format(i="i")} AS reference,
               CASE WHEN i % 1000 < 5 THEN 'po_' || CAST(i // 1000 AS VARCHAR) END AS group_ref,
               'Payment from customer ' || CAST(i AS VARCHAR) AS description
        FROM range({n}) t(i)""")
    duck.execute(f"""
        CREATE OR REPLACE TABLE right_records AS
        SELECT ROW_NUMBER() OVER (ORDER BY hash(k)) + 1 AS line_no,
               record_id, amount, currency, ts, reference, group_ref, description
        FROM (
            SELECT i * 2 + copy AS k,
                   'bt_' || {_ID.format(i="i")} || CAST(copy AS VARCHAR) AS record_id,
                   {_AMOUNT.format(i="i")} - CASE WHEN i % 1000 = 7 THEN 25 ELSE 0 END AS amount,
                   {_CURRENCY.format(i="i")} AS currency,
                   1700000000 + i * {step} + CAST(hash(i * 7) % 172800 AS BIGINT) AS ts,
                   CASE WHEN i % 100 = 3 THEN NULL ELSE 'py_' || {_ID.format(i="i")} END
                       AS reference,
                   CAST(NULL AS VARCHAR) AS group_ref,
                   'PAYMENT FROM CUSTOMER ' || CAST(i AS VARCHAR) AS description
            FROM range({n}) t(i), (VALUES (0), (1)) c(copy)
            WHERE i % 200 <> 11 AND i % 1000 >= 5 AND (copy = 0 OR i % 1000 = 9)
            UNION ALL
            SELECT 2 * {n} + g, 'bt_po' || CAST(g AS VARCHAR), SUM({_AMOUNT.format(i="j")}),
                   {_CURRENCY.format(i="g * 1000")}, 1700000000 + g * 1000 * {step} + {DAY_S},
                   'po_' || CAST(g AS VARCHAR), NULL, 'PAYOUT'
            FROM (SELECT i // 1000 AS g, i AS j FROM range({n}) t(i) WHERE i % 1000 < 5) members
            GROUP BY g
        ) lines""")


def bare_join_s(duck: duckdb.DuckDBPyConnection) -> float:
    """The floor: one hash join of the two tables on (currency, reference), counted."""
    best = float("inf")
    for _ in range(BEST_OF):
        started = time.perf_counter()
        duck.execute(
            "SELECT count(*) FROM left_records l JOIN right_records r USING (currency, reference)"
        ).fetchall()
        best = min(best, time.perf_counter() - started)
    return best


def measure(n: int, threads: int, memory_limit: str | None) -> None:
    duck = engine.connect(threads=threads, memory_limit=memory_limit)
    make_sides(duck, n)
    bare = bare_join_s(duck)
    marks: list[tuple[float, str]] = []
    started = time.perf_counter()
    summary = run_transactions(
        duck, RULES, progress=lambda stage, done, total: marks.append((time.perf_counter(), stage))
    )
    elapsed = time.perf_counter() - started
    print(f"\n{n:,} x {n:,} records, {threads} threads")
    for (at, stage), (until, _) in zip(marks, [*marks[1:], (started + elapsed, "")], strict=True):
        if stage != "done":
            print(f"  {stage:<28} {until - at:7.2f} s")
    print(f"  {'run_transactions':<28} {elapsed:7.2f} s")
    print(f"  {f'bare hash join, best of {BEST_OF}':<28} {bare:7.2f} s")
    print(f"  ratio                        {elapsed / bare:7.1f} x")
    print(
        f"  matched {summary.matched_left:,} left / {summary.matched_right:,} right in"
        f" {summary.matched_pairs:,} matches ({summary.ties:,} ties);"
        f" breaks {dict(summary.breaks_by_type)}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scales", type=int, nargs="+", default=[1_000_000, 10_000_000])
    parser.add_argument("--threads", type=int, default=engine.DEFAULT_THREADS)
    parser.add_argument("--memory-limit", default=None)
    args = parser.parse_args()
    for n in args.scales:
        measure(n, args.threads, args.memory_limit)


if __name__ == "__main__":
    main()
