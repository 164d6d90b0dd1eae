"""The reference pass, shaped for the bulk of a run: at 10M records a side it must cost
about one hash join, so it reads each side once and writes each pair once.

One FULL JOIN yields the candidate pairs and, in the same rows, every record without a
candidate, so the records left open are read back by their (few) lines instead of
subtracting millions of matched ones. A pair whose two lines occur in no other pair is
alone at both ends and accepted as it stands; only pairs sharing a line (a reference
repeated on a side) go through the assignment rounds. Which lines repeat is found on the
join's integer lines by comparing each with its neighbours in line order (LAG/LEAD):
one sort of integers costs less than grouping ten million keys, and far less than
grouping the sides by their long reference strings.
What remains of the join's table, its lone pairs plus the contested pairs that won, is
the pass's kept table ``rx_m<n>``: the pairs are never copied.
"""

from __future__ import annotations

import duckdb

from remit.fde.reconcile.matching.assign import resolve
from remit.fde.reconcile.matching.candidates import PAIR_COLUMNS
from remit.fde.reconcile.matching.expr import drop, in_window, within
from remit.fde.reconcile.matching.output import PassOutcome, pair_members_sql
from remit.fde.reconcile.model import Pass

_PAIRED = "l_key IS NOT NULL AND r_key IS NOT NULL"
_CONTESTED = """(l_key IN (SELECT l_key FROM rx_multi_l)
    OR r_key IN (SELECT r_key FROM rx_multi_r))"""


def run_reference(
    duck: duckdb.DuckDBPyConnection, pass_no: int, p: Pass, left: str, right: str
) -> PassOutcome:
    """Run reference pass ``p`` over open records ``left`` and ``right``."""
    kept = f"rx_m{pass_no}"
    duck.execute(
        f"""CREATE OR REPLACE TABLE {kept} AS
        SELECT l.line_no AS l_key, r.line_no AS r_key, l.record_id AS l_id,
               r.record_id AS r_id, l.amount AS l_amount, r.amount AS r_amount,
               l.currency AS currency, CAST(0 AS BIGINT) AS alternatives,
               ABS(l.ts - r.ts) AS time_gap
        FROM {left} l
        FULL JOIN {right} r
          ON l.currency = r.currency AND l.reference = r.reference
         AND {within("l.amount", "r.amount", p.tolerance)}
         AND {in_window("l.ts", "r.ts", p.date_window_s)}"""
    )
    for key, side in (("l_key", "l"), ("r_key", "r")):
        duck.execute(
            f"""CREATE OR REPLACE TEMP TABLE rx_multi_{side} AS
            SELECT {key} FROM (
                SELECT {key}, LAG({key}) OVER w AS before, LEAD({key}) OVER w AS after
                FROM {kept} WHERE {_PAIRED} WINDOW w AS (ORDER BY {key})
            ) lines WHERE {key} = before OR {key} = after"""
        )
    _contest(duck, kept)
    opened = (
        _still_open(duck, kept, pass_no, "left", left),
        _still_open(duck, kept, pass_no, "right", right),
    )
    duck.execute(f"DELETE FROM {kept} WHERE NOT ({_PAIRED}) OR {_CONTESTED}")
    pair = "l_key, r_key, l_id, r_id, l_amount, r_amount, currency, alternatives"
    duck.execute(f"INSERT INTO {kept} ({pair}) SELECT {pair} FROM rx_ref_won")
    found = duck.execute(
        f"SELECT COUNT(*), COUNT(CASE WHEN alternatives > 0 THEN 1 END) FROM {kept}"
    ).fetchone()
    assert found is not None
    drop(duck, "rx_multi_l", "rx_multi_r", "rx_ref_won", "rx_ref_lines")
    return PassOutcome(
        opened[0], opened[1], int(found[0]), int(found[1]), pair_members_sql(kept, p.name)
    )


def _contest(duck: duckdb.DuckDBPyConnection, kept: str) -> None:
    """Resolve the pairs that share a line: ``rx_ref_won`` holds the winners and
    ``rx_ref_lines`` every contested (l_key, r_key), for finding the losers."""
    duck.execute(
        f"""CREATE OR REPLACE TEMP TABLE rx_ref_contested AS
        SELECT l_key, r_key, l_id, r_id, l_amount, r_amount, currency,
               ABS(l_amount - r_amount) AS c1, time_gap AS c2, 0 AS c3
        FROM {kept} WHERE {_PAIRED} AND {_CONTESTED}"""
    )
    duck.execute(
        "CREATE OR REPLACE TEMP TABLE rx_ref_lines AS SELECT l_key, r_key FROM rx_ref_contested"
    )
    duck.execute(
        f"""CREATE OR REPLACE TEMP TABLE rx_ref_won AS
        SELECT {", ".join(PAIR_COLUMNS)}, CAST(0 AS BIGINT) AS alternatives
        FROM rx_ref_contested WHERE FALSE"""
    )
    resolve(duck, "rx_ref_contested", PAIR_COLUMNS, "rx_ref_won")


def _still_open(
    duck: duckdb.DuckDBPyConnection, kept: str, pass_no: int, side: str, relation: str
) -> str:
    """The side's records this pass left open: those the join found no candidate for,
    and those whose candidates were all contested and lost."""
    key, other = ("l_key", "r_key") if side == "left" else ("r_key", "l_key")
    name = f"rx_open_{side}_{pass_no}"
    duck.execute(
        f"""CREATE OR REPLACE TEMP TABLE {name} AS SELECT * FROM {relation}
        WHERE line_no IN (
            SELECT {key} FROM {kept} WHERE {other} IS NULL
            UNION ALL
            SELECT {key} FROM rx_ref_lines WHERE {key} NOT IN (SELECT {key} FROM rx_ref_won))"""
    )
    return name
