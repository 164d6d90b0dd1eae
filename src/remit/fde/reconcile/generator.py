"""Realistic transaction-mode test sets with their ground truth, for tests and benchmarks.

The left side is the platform's export (charges ``ch_…`` and refunds ``re_…`` in minor
units, Unix seconds, references, payout ids); the right side is a bank's export of the
same money in the bank's own format (its own line ids, decimal-string amounts, local
``Europe/Paris`` times, upper-case currencies), made from the left with the cases of
``Mix``. The truth file lists every pair a perfect matcher finds (groups expanded to all
their pairs) and every break it reports, so a run can be scored (``score``).

Everything is generated set-based in DuckDB from ``range()`` and ``hash(seed, slot, salt)``
(stable for a given DuckDB version), then written with COPY: ten million rows take
seconds, and the same seed gives byte-identical files. Case counts are exact: case ``c``
gets ``n * mix.c // 10000`` consecutive slots and the plain case the rest.

Amounts are uniform within a decade and the decade uniform (1,000 .. 99,999,999 minor
units), so two unmatched records rarely share amount and currency within a date window:
the ambiguity a real feed has, at a rate a matcher can resolve. Generation may use
integer division (a processor's fee is rounded down, a split cuts an amount in parts);
no float touches an amount.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from pathlib import Path

import duckdb

from remit.fde.reconcile.generator_sql import (
    DAY_S,
    YEAR_START_TS,
    connect,
    copy_to,
    validate_shape,
)
from remit.fde.reconcile.generator_truth import Quality, score, truth_sql

__all__ = ["GeneratedSet", "Mix", "Quality", "generate_transactions", "score"]

_SPAN_S = 335 * DAY_S  # created dates: January .. November, so shifted lines stay in the year
_FEE_BP, _FEE_FIXED = 290, 30  # a card processor's 2.9% + 30
# Amounts: 10.00 .. 999,999.99 (decades 10**3 .. 10**7). Starting a decade lower made
# one in a hundred unmatched records share its amount, currency and window with another
# at 1M records: ambiguity no matcher can resolve, not a test of one.
_DECADES = "3, 7"
# Fee-netted charges start at 100.00, where 290 bp + 30 stays inside a 350 bp tolerance.
_FEE_DECADES = "4, 7"


@dataclass(frozen=True, slots=True)
class Mix:
    """The share of the platform's records (basis points) each case takes; the rest is
    ``plain``. ``missing_in_platform`` counts bank lines added on top (orphans)."""

    fee_netted: int = 600  # net of 290 bp + 30, matched by the reference pass's tolerance
    no_reference: int = 300  # the bank lost the reference: amount + date window
    batched: int = 400  # 2-4 records paid out as one line referencing the payout (po_…)
    split: int = 150  # one record settled as 2-3 lines grouped by its reference
    description_only: int = 100  # no reference, a few minor units off, a typo in the name
    duplicate: int = 30  # the bank lists the line twice
    missing_in_external: int = 40  # no bank line at all
    missing_in_platform: int = 40  # bank lines the platform never saw
    amount_mismatch: int = 30  # same reference, 10-50% off
    currency_mismatch: int = 20  # same reference and minor units, another currency
    timing: int = 40  # same reference, 10-20 days late (beyond the window)

    def counts(self, n: int) -> dict[str, int]:
        """Records per case for ``n`` platform records (orphans: extra bank lines)."""
        made = {f.name: n * getattr(self, f.name) // 10_000 for f in fields(self)}
        made["plain"] = n - sum(v for k, v in made.items() if k != "missing_in_platform")
        return made


# Slot order: cases take consecutive ranges of slots in this order, the rest is plain.
LEFT_CASES = (
    "fee_netted",
    "no_reference",
    "batched",
    "split",
    "description_only",
    "duplicate",
    "missing_in_external",
    "amount_mismatch",
    "currency_mismatch",
    "timing",
)
# Cases whose records are always charges: a fee is taken, or a payment is split.
_CHARGE_ONLY = ("fee_netted", "split")


@dataclass(frozen=True, slots=True)
class GeneratedSet:
    left_path: Path
    right_path: Path
    truth_path: Path  # always Parquet: it is read by tools, not by a source loader
    rules_text: str
    left_rows: int
    right_rows: int


RULES_TEXT = """\
name: generated-platform-vs-bank
version: 1
mode: transaction
left:
  label: platform
  columns: {id: id, amount: amount, currency: currency, date: created, reference: reference,
            group_ref: payout, description: description}
  amount_format: minor
  date_format: unix
right:
  label: bank
  columns: {id: line_id, amount: amount, currency: currency, date: booked_at,
            reference: reference, group_ref: group_ref, description: description}
  amount_format: decimal
  date_format: "%Y-%m-%d %H:%M:%S"
  timezone: Europe/Paris
passes:
  - {name: by_reference, match: reference, amount_tolerance: {minor: 30, basis_points: 350},
     date_window: 5d}
  - {name: payouts, match: group, many: left, amount_tolerance: {minor: 0}}
  - {name: splits, match: group, many: right, amount_tolerance: {minor: 0}}
  # A similar description within a few minor units says more than an equal amount alone:
  # at 10M records equal amounts meet within three days often enough to pair wrongly.
  - {name: by_description, match: fuzzy, min_similarity: 85, amount_tolerance: {minor: 10},
     date_window: 3d}
  - {name: by_amount_and_date, match: amount_date, date_window: 3d}
breaks:
  timing_window: 30d
"""


def generate_transactions(
    out_dir: Path, n: int, *, seed: int = 7, fmt: str = "parquet", mix: Mix = Mix()
) -> GeneratedSet:
    """Write ``left.<fmt>``, ``right.<fmt>`` and ``truth.parquet`` for ``n`` platform
    records into ``out_dir``."""
    validate_shape(n, seed, fmt, {f.name: getattr(mix, f.name) for f in fields(mix)})
    out_dir.mkdir(parents=True, exist_ok=True)
    ext = "ndjson" if fmt == "ndjson" else fmt
    paths = (out_dir / f"left.{ext}", out_dir / f"right.{ext}", out_dir / "truth.parquet")
    duck = connect(seed)
    try:
        _platform(duck, n, mix)
        _bank(duck, n, mix)
        copy_to(duck, _LEFT_EXPORT, paths[0], fmt)
        copy_to(duck, _RIGHT_EXPORT, paths[1], fmt)
        copy_to(duck, truth_sql(), paths[2], "parquet")
        left_rows = _count(duck, "platform")
        right_rows = _count(duck, "bank")
    finally:
        duck.close()
    return GeneratedSet(paths[0], paths[1], paths[2], RULES_TEXT, left_rows, right_rows)


def _count(duck: duckdb.DuckDBPyConnection, table: str) -> int:
    row = duck.execute(f"SELECT count(*) FROM {table}").fetchone()
    assert row is not None
    return int(row[0])


def _case_sql(n: int, mix: Mix) -> str:
    """Slot ranges per case: ``CASE WHEN i < 123 THEN 'fee_netted' ...``."""
    counts, bound, arms = mix.counts(n), 0, []
    for case in LEFT_CASES:
        bound += counts[case]
        arms.append(f"WHEN i < {bound} THEN '{case}'")
    return f"CASE {' '.join(arms)} ELSE 'plain' END"


def _platform(duck: duckdb.DuckDBPyConnection, n: int, mix: Mix) -> None:
    """Table ``platform``: one row per record, with the slot facts the bank side needs.

    Batched records share a payout: slots come in chunks of six, cut in two payouts of
    2-4 records created the same day in one currency (a payout never mixes currencies)."""
    counts = mix.counts(n)
    first = sum(counts[c] for c in LEFT_CASES[: LEFT_CASES.index("batched")])
    second = f"CASE WHEN (i - {first}) % 6 >= 2 + hx((i - {first}) // 6, 20) % 3 THEN 1 ELSE 0 END"
    charge_only = ", ".join(f"'{c}'" for c in _CHARGE_ONLY)
    duck.execute(f"""
        CREATE TABLE slots AS
        SELECT i, case_name,
               CASE WHEN case_name = 'batched' THEN (i - {first}) // 6 END AS chunk,
               CASE WHEN case_name = 'batched' THEN (i - {first}) // 6 * 2 + {second}
               END AS payout_no
        FROM (SELECT range AS i, {_case_sql(n, mix)} AS case_name FROM range({n}))
    """)
    duck.execute(f"""
        CREATE TABLE platform AS
        SELECT i, case_name, payout_no, kind,
               CASE kind WHEN 'refund' THEN 're_' ELSE 'ch_' END || rid(i) AS id,
               CASE kind WHEN 'refund' THEN -magnitude ELSE magnitude END AS amount,
               currency, created, customer,
               CASE kind WHEN 'refund' THEN 'Refund to ' ELSE 'Payment from ' END
                   || customer AS description,
               CASE WHEN payout_no IS NOT NULL THEN 'po_' || rid({n} + payout_no) END AS payout
        FROM (
            SELECT i, case_name, payout_no,
                   CASE WHEN case_name NOT IN ({charge_only}) AND hx(i, 2) % 10000 < 600
                        THEN 'refund' ELSE 'charge' END AS kind,
                   CASE WHEN case_name = 'fee_netted' THEN amount_of(i, 3, {_FEE_DECADES})
                        ELSE amount_of(i, 3, {_DECADES}) END AS magnitude,
                   CASE WHEN case_name = 'batched' THEN currency_of(payout_no, 5)
                        ELSE currency_of(i, 5) END AS currency,
                   CASE WHEN case_name = 'batched'
                        THEN {YEAR_START_TS} + hx(chunk, 21) % {_SPAN_S} + hx(i, 6) % {DAY_S}
                        ELSE {YEAR_START_TS} + hx(i, 6) % {_SPAN_S} END AS created,
                   name_of(i, 7) AS customer
            FROM slots)
    """)


def _bank(duck: duckdb.DuckDBPyConnection, n: int, mix: Mix) -> None:
    """Table ``bank``: the lines, numbered in booking order, each knowing the platform
    record (``left_id``) or payout (``payout_no``) it came from, for the truth."""
    orphans = mix.counts(n)["missing_in_platform"]
    fee = f"amount - (amount * {_FEE_BP} // 10000 + {_FEE_FIXED})"
    wrong = (
        "amount + CASE WHEN abs(amount) < 1000 OR hx(i, 31) % 2 = 0 THEN 1 ELSE -1 END"
        " * GREATEST(abs(amount) * (1000 + hx(i, 32) % 4000) // 10000, 100)"
    )
    typo_at = "2 + hx(i, 33) % (length(customer) - 2)"
    typo = f"substr(customer, 1, {typo_at} - 1) || substr(customer, {typo_at} + 1)"
    prefix = "CASE kind WHEN 'refund' THEN 'Refund to ' ELSE 'Payment from ' END"
    off = "CASE WHEN hx(i, 34) % 2 = 0 THEN 1 ELSE -1 END * (1 + hx(i, 35) % 5)"
    rotate = "CASE currency WHEN 'usd' THEN 'eur' WHEN 'eur' THEN 'gbp' ELSE 'usd' END"
    one = "i * 4 AS ord, NULL::BIGINT AS payout_no, id AS left_id"
    duck.execute(f"""
        CREATE TABLE lines AS
        SELECT case_name, created + hx(i, 30) % {3 * DAY_S} AS ts, id AS reference,
               NULL::VARCHAR AS group_ref,
               CASE case_name WHEN 'fee_netted' THEN {fee} WHEN 'amount_mismatch' THEN {wrong}
                    ELSE amount END AS amount,
               CASE case_name WHEN 'currency_mismatch' THEN {rotate} ELSE currency END
                   AS currency,
               description, {one}
        FROM platform
        WHERE case_name IN ('plain', 'fee_netted', 'amount_mismatch', 'currency_mismatch')
        UNION ALL
        SELECT case_name, created + hx(i, 30) % {2 * DAY_S}, NULL, NULL,
               CASE case_name WHEN 'description_only' THEN amount + {off} ELSE amount END,
               currency,
               CASE case_name WHEN 'description_only' THEN {prefix} || {typo}
                    ELSE description END, {one}
        FROM platform WHERE case_name IN ('no_reference', 'description_only')
        UNION ALL
        SELECT case_name, created + {10 * DAY_S} + hx(i, 30) % {10 * DAY_S}, id, NULL,
               amount, currency, description, {one}
        FROM platform WHERE case_name = 'timing'
        UNION ALL
        SELECT case_name, created + hx(i, 30) % {3 * DAY_S}, id, NULL, amount, currency,
               description, i * 4 + copy, NULL, id
        FROM platform, range(2) c(copy) WHERE case_name = 'duplicate'
    """)
    _grouped_lines(duck, n, orphans)
    # The bank's own ids: a scramble of the line's slot, so no sort is needed to number them.
    duck.execute(f"""
        CREATE TABLE bank AS
        SELECT 'BT' || to_hex(scramble({6 * n} + ord) + {10 << 40}) AS line_id, * FROM lines
    """)


def _grouped_lines(duck: duckdb.DuckDBPyConnection, n: int, orphans: int) -> None:
    """Lines that are not one per record: a split's 2-3 parts (grouped by the record's
    reference), one line per payout (the sum of its records), and the orphans."""
    cut0 = "amount * (2000 + hx(i, 36) % 2000) // 10000"
    cut1 = "amount * (2000 + hx(i, 37) % 2000) // 10000"
    duck.execute(f"""
        INSERT INTO lines
        SELECT case_name, created + hx(i, part + 40) % {3 * DAY_S}, NULL, id,
               CASE part WHEN 0 THEN {cut0}
                         WHEN 1 THEN CASE parts WHEN 2 THEN amount - {cut0} ELSE {cut1} END
                         ELSE amount - {cut0} - {cut1} END,
               currency, description, i * 4 + part, NULL, id
        FROM (SELECT *, 2 + hx(i, 38) % 2 AS parts FROM platform WHERE case_name = 'split'),
             range(3) p(part)
        WHERE part < parts
        UNION ALL
        SELECT 'batched', max(created) + {DAY_S} + hx(payout_no, 41) % 3600, min(payout),
               NULL, CAST(sum(amount) AS BIGINT), min(currency), 'STRIPE PAYOUT',
               {4 * n} + payout_no, payout_no, NULL
        FROM platform WHERE case_name = 'batched' GROUP BY payout_no
        UNION ALL
        SELECT 'missing_in_platform', {YEAR_START_TS} + hx(i, 42) % {_SPAN_S},
               CASE WHEN hx(i, 43) % 2 = 0 THEN 'ch_' || rid({2 * n} + i) END, NULL,
               amount_of(i, 44, {_DECADES}), currency_of(i, 45),
               'Payment from ' || name_of(i, 46), {5 * n} + i, NULL, NULL
        FROM (SELECT range AS i FROM range({orphans}))
    """)


_LEFT_EXPORT = """
    SELECT id, kind AS type, amount, currency, created, id AS reference, payout, description
    FROM platform
    ORDER BY created, i
"""

_RIGHT_EXPORT = """
    SELECT line_id,
           strftime(timezone('Europe/Paris', to_timestamp(ts)), '%Y-%m-%d %H:%M:%S')
               AS booked_at,
           CASE WHEN currency = 'jpy' THEN CAST(amount AS VARCHAR)
                ELSE CASE WHEN amount < 0 THEN '-' ELSE '' END
                     || CAST(abs(amount) // 100 AS VARCHAR) || '.'
                     || lpad(CAST(abs(amount) % 100 AS VARCHAR), 2, '0') END AS amount,
           upper(currency) AS currency, reference, group_ref, description
    FROM bank
    ORDER BY ts, ord
"""
