"""The ground truth of a generated transaction set, and a run's score against it.

Truth rows (``truth.parquet``): ``kind`` 'pair' (a left and a right record a perfect
matcher pairs; a group expands to all its pairs) or 'break' (one row per record a break
names: ``break_type``, ``side`` and that side's id). A bank line listed twice is the same
line twice: either copy may be the one matched, so both rows carry the other copy as
``twin_id`` and scoring treats the two copies as one record. ``field`` names the field a
state-mode break is about (NULL: any, or none).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

PAIR_CASES = ("plain", "fee_netted", "no_reference", "description_only", "split")
PAIR_BREAK_CASES = ("amount_mismatch", "currency_mismatch", "timing")


def truth_sql() -> str:
    """The truth as one query over the generator's ``platform`` and ``bank`` tables."""
    pair_cases = ", ".join(f"'{c}'" for c in PAIR_CASES)
    pair_breaks = ", ".join(f"'{c}'" for c in PAIR_BREAK_CASES)
    # lkey/rkey (slot, line order) give the file a total order without sorting strings.
    return f"""
        WITH dups AS (
            SELECT a.left_id, a.line_id, b.line_id AS twin_id, a.ord, a.ord % 4 AS copy
            FROM bank a JOIN bank b ON a.left_id = b.left_id AND a.line_id <> b.line_id
            WHERE a.case_name = 'duplicate' AND b.case_name = 'duplicate'
        ), rows AS (
            SELECT 'pair' AS kind, case_name, NULL AS break_type, NULL AS side, left_id,
                   line_id AS right_id, NULL AS twin_id, ord // 4 AS lkey, ord AS rkey
            FROM bank WHERE case_name IN ({pair_cases})
            UNION ALL
            SELECT 'pair', 'batched', NULL, NULL, p.id, b.line_id, NULL, p.i, b.ord
            FROM platform p JOIN bank b ON b.payout_no = p.payout_no
            WHERE p.case_name = 'batched' AND b.case_name = 'batched'
            UNION ALL
            SELECT 'pair', 'duplicate', NULL, NULL, left_id, line_id, twin_id, ord // 4, ord
            FROM dups WHERE copy = 0
            UNION ALL
            SELECT 'break', 'duplicate', 'duplicate', 'right', NULL, line_id, twin_id, NULL, ord
            FROM dups WHERE copy = 1
            UNION ALL
            SELECT 'break', case_name, case_name, 'left', id, NULL, NULL, i, NULL
            FROM platform WHERE case_name = 'missing_in_external'
            UNION ALL
            SELECT 'break', case_name, case_name, 'right', NULL, line_id, NULL, NULL, ord
            FROM bank WHERE case_name = 'missing_in_platform'
            UNION ALL
            SELECT 'break', case_name, case_name, 'left', left_id, NULL, NULL, ord // 4, NULL
            FROM bank WHERE case_name IN ({pair_breaks})
            UNION ALL
            SELECT 'break', case_name, case_name, 'right', NULL, line_id, NULL, NULL, ord
            FROM bank WHERE case_name IN ({pair_breaks})
        )
        SELECT kind, case_name, break_type, side, left_id, right_id, twin_id,
               CAST(NULL AS VARCHAR) AS field
        FROM rows
        ORDER BY kind, case_name, break_type, side, lkey, rkey
    """


@dataclass(frozen=True, slots=True)
class Quality:
    """How a run's ``matches`` and ``breaks`` compare with the truth. Rates are parts per
    million, integers, rounded down: 999_000 is 99.9%."""

    true_pairs: int
    found_pairs: int  # every (left, right) pair the run's matches expand to
    correct_pairs: int  # distinct found pairs that are true pairs
    precision_ppm: int
    recall_ppm: int
    breaks_expected: int  # truth rows: one per record a break names
    breaks_typed_right: int  # of those, named by a found break of the same type and side
    breaks_found: int
    breaks_unexpected: int  # found breaks naming no expected (type, side, record)
    pairs_missed: Mapping[str, int] = field(default_factory=dict)  # per case
    breaks_missed: Mapping[str, int] = field(default_factory=dict)  # per case


def _reader(path: Path) -> str:
    return "read_parquet('" + str(path).replace("'", "''") + "')"


# A found break f names the expected break e: same type, side and record (and field,
# when the truth names one).
_SAME = (
    "f.type = e.break_type AND f.side = e.side AND f.record_id = e.record_id"
    " AND (e.field IS NULL OR f.field = e.field)"
)


def score(duck: duckdb.DuckDBPyConnection, truth_path: Path) -> Quality:
    """Score the ``matches`` and ``breaks`` tables a run wrote in ``duck`` against a
    truth file (transaction or state: both have the same columns)."""
    _stage(duck, truth_path)
    true_pairs, found, correct = _one(duck, _PAIRS)
    expected, typed_right, found_breaks, unexpected = _one(duck, _BREAKS)
    return Quality(
        true_pairs=true_pairs,
        found_pairs=found,
        correct_pairs=correct,
        precision_ppm=correct * 1_000_000 // found if found else 1_000_000 * (true_pairs == 0),
        recall_ppm=correct * 1_000_000 // true_pairs if true_pairs else 1_000_000,
        breaks_expected=expected,
        breaks_typed_right=typed_right,
        breaks_found=found_breaks,
        breaks_unexpected=unexpected,
        pairs_missed=_by_case(duck, _PAIRS_MISSED),
        breaks_missed=_by_case(duck, _BREAKS_MISSED),
    )


def _stage(duck: duckdb.DuckDBPyConnection, truth_path: Path) -> None:
    """Temp tables the counts read: the truth, duplicate twins mapped to one id, the found
    pairs, the expected breaks, and every (break, side, record) the found breaks name."""
    duck.execute(f"CREATE OR REPLACE TEMP VIEW gen_truth AS SELECT * FROM {_reader(truth_path)}")
    duck.execute("""
        CREATE OR REPLACE TEMP TABLE gen_canon AS
        SELECT right_id AS id, LEAST(right_id, twin_id) AS canon
        FROM gen_truth WHERE twin_id IS NOT NULL
    """)
    duck.execute("""
        CREATE OR REPLACE TEMP TABLE gen_found AS
        SELECT l.record_id AS left_id, COALESCE(c.canon, r.record_id) AS right_id
        FROM matches l
        JOIN matches r ON r.match_no = l.match_no AND r.side = 'right'
        LEFT JOIN gen_canon c ON c.id = r.record_id
        WHERE l.side = 'left'
    """)
    duck.execute("""
        CREATE OR REPLACE TEMP TABLE gen_expected AS
        SELECT t.case_name, t.break_type, t.side, t.field,
               COALESCE(t.left_id, c.canon, t.right_id) AS record_id
        FROM gen_truth t LEFT JOIN gen_canon c ON c.id = t.right_id
        WHERE t.kind = 'break'
    """)
    duck.execute("""
        CREATE OR REPLACE TEMP TABLE gen_named AS
        SELECT bno, type, side, field, COALESCE(c.canon, n.record_id) AS record_id
        FROM (SELECT rowid AS bno, type, 'left' AS side, field, unnest(left_ids) AS record_id
              FROM breaks
              UNION ALL
              SELECT rowid, type, 'right', field, unnest(right_ids) FROM breaks) n
        LEFT JOIN gen_canon c ON c.id = n.record_id
    """)


_PAIRS = """
    WITH truth AS (
        SELECT DISTINCT t.left_id, COALESCE(c.canon, t.right_id) AS right_id
        FROM gen_truth t LEFT JOIN gen_canon c ON c.id = t.right_id WHERE t.kind = 'pair'
    ), hit AS (SELECT DISTINCT left_id, right_id FROM gen_found)
    SELECT (SELECT count(*) FROM truth), (SELECT count(*) FROM gen_found),
           (SELECT count(*) FROM hit JOIN truth USING (left_id, right_id))
"""
# A break that names no expected (type, side, record), or no record at all, is unexpected.
_BREAKS = f"""
    SELECT (SELECT count(*) FROM gen_expected),
           (SELECT count(*) FROM gen_expected e WHERE EXISTS (
                SELECT 1 FROM gen_named f WHERE {_SAME})),
           (SELECT count(*) FROM breaks),
           (SELECT count(*) FROM breaks b WHERE NOT EXISTS (
                SELECT 1 FROM gen_named f JOIN gen_expected e ON {_SAME}
                WHERE f.bno = b.rowid))
"""
_PAIRS_MISSED = """
    SELECT t.case_name, count(*) FROM gen_truth t LEFT JOIN gen_canon c ON c.id = t.right_id
    WHERE t.kind = 'pair' AND NOT EXISTS (
        SELECT 1 FROM gen_found f
        WHERE f.left_id = t.left_id AND f.right_id = COALESCE(c.canon, t.right_id))
    GROUP BY t.case_name ORDER BY t.case_name
"""
_BREAKS_MISSED = f"""
    SELECT e.case_name, count(*) FROM gen_expected e
    WHERE NOT EXISTS (SELECT 1 FROM gen_named f WHERE {_SAME})
    GROUP BY e.case_name ORDER BY e.case_name
"""


def _one(duck: duckdb.DuckDBPyConnection, sql: str) -> tuple[int, ...]:
    row = duck.execute(sql).fetchone()
    assert row is not None
    return tuple(int(v) for v in row)


def _by_case(duck: duckdb.DuckDBPyConnection, sql: str) -> dict[str, int]:
    return {str(case): int(count) for case, count in duck.execute(sql).fetchall()}
