"""The reference pass, shaped for the bulk of a run: at 10M records a side it must cost
about one hash join, so it reads each side once and writes each pair once.

One FULL JOIN yields the candidate pairs and, in the same rows, every record without a
candidate, so the records left open are read back by their (few) lines instead of
subtracting millions of matched ones. A pair whose two lines occur in no other pair is
alone at both ends and accepted as it stands; only pairs sharing a line (a reference
repeated on a side) go through the assignment rounds. Which lines repeat is found on the
join's integer lines, cheaper than grouping the sides by their (long) reference strings.
"""

from __future__ import annotations

import duckdb

from remit.fde.reconcile.matching.assign import resolve
from remit.fde.reconcile.matching.candidates import PAIR_COLUMNS
from remit.fde.reconcile.matching.expr import drop, in_window, lit, within
from remit.fde.reconcile.model import Pass

_PAIRED = "l_key IS NOT NULL AND r_key IS NOT NULL"


def pair_members_sql(accepted: str) -> str:
    """Both records of each accepted 1:1 row of ``accepted`` (PAIR_COLUMNS plus
    ``alternatives``) as (match_no, side, line_no, record_id, amount, currency,
    alternatives): the match's number is its left record's line."""
    return f"""SELECT l_key AS match_no, 'left' AS side, l_key AS line_no, l_id AS record_id,
               l_amount AS amount, currency, alternatives FROM {accepted}
        UNION ALL
        SELECT l_key, 'right', r_key, r_id, r_amount, currency, alternatives FROM {accepted}"""


def run_reference(
    duck: duckdb.DuckDBPyConnection, pass_no: int, p: Pass, left: str, right: str
) -> tuple[str, str, int, int]:
    """Run reference pass ``p``; return the open relations left and (matches, ties)."""
    duck.execute(
        f"""CREATE OR REPLACE TEMP TABLE rx_join AS
        SELECT l.line_no AS l_key, r.line_no AS r_key, l.record_id AS l_id,
               r.record_id AS r_id, l.amount AS l_amount, r.amount AS r_amount,
               l.currency AS currency, ABS(l.ts - r.ts) AS time_gap
        FROM {left} l
        FULL JOIN {right} r
          ON l.currency = r.currency AND l.reference = r.reference
         AND {within("l.amount", "r.amount", p.tolerance)}
         AND {in_window("l.ts", "r.ts", p.date_window_s)}"""
    )
    for key in ("l_key", "r_key"):
        duck.execute(
            f"""CREATE OR REPLACE TEMP TABLE rx_multi_{key} AS
            SELECT {key} FROM rx_join WHERE {_PAIRED} GROUP BY {key} HAVING COUNT(*) > 1"""
        )
    contested = """(l_key IN (SELECT l_key FROM rx_multi_l_key)
        OR r_key IN (SELECT r_key FROM rx_multi_r_key))"""
    cols = ", ".join(PAIR_COLUMNS)
    duck.execute(
        f"""CREATE OR REPLACE TEMP TABLE rx_ref_contested AS
        SELECT l_key, r_key, l_id, r_id, l_amount, r_amount, currency,
               ABS(l_amount - r_amount) AS c1, time_gap AS c2, 0 AS c3
        FROM rx_join WHERE {_PAIRED} AND {contested}"""
    )
    duck.execute(
        """CREATE OR REPLACE TEMP TABLE rx_ref_contested_keys AS
        SELECT DISTINCT l_key, r_key FROM rx_ref_contested"""
    )
    duck.execute(
        f"""CREATE OR REPLACE TEMP TABLE rx_ref_won AS
        SELECT {cols}, CAST(0 AS BIGINT) AS alternatives FROM rx_ref_contested WHERE FALSE"""
    )
    resolve(duck, "rx_ref_contested", PAIR_COLUMNS, "rx_ref_won")
    alone = f"{_PAIRED} AND NOT {contested}"
    accepted = f"""(SELECT l_key, r_key, l_id, r_id, l_amount, r_amount, currency,
               CAST(0 AS BIGINT) AS alternatives FROM rx_join WHERE {alone}
        UNION ALL
        SELECT l_key, r_key, l_id, r_id, l_amount, r_amount, currency, alternatives
        FROM rx_ref_won)"""
    duck.execute(
        f"""INSERT INTO matches
        SELECT match_no, {lit(p.name)}, side, record_id, amount, currency, alternatives
        FROM ({pair_members_sql(accepted)}) m"""
    )
    found = duck.execute(
        f"""SELECT (SELECT COUNT(*) FROM rx_join WHERE {alone})
                   + (SELECT COUNT(*) FROM rx_ref_won),
                   (SELECT COUNT(*) FROM rx_ref_won WHERE alternatives > 0)"""
    ).fetchone()
    assert found is not None
    opened = (_still_open(duck, pass_no, "left", left), _still_open(duck, pass_no, "right", right))
    drop(
        duck,
        "rx_join",
        "rx_multi_l_key",
        "rx_multi_r_key",
        "rx_ref_won",
        "rx_ref_contested_keys",
    )
    return opened[0], opened[1], int(found[0]), int(found[1])


def _still_open(duck: duckdb.DuckDBPyConnection, pass_no: int, side: str, relation: str) -> str:
    """The side's records this pass left open: those the join found no candidate for,
    and those whose candidates were all contested and lost."""
    key, other = ("l_key", "r_key") if side == "left" else ("r_key", "l_key")
    name = f"rx_open_{side}_{pass_no}"
    duck.execute(
        f"""CREATE OR REPLACE TEMP TABLE {name} AS SELECT * FROM {relation}
        WHERE line_no IN (
            SELECT {key} FROM rx_join WHERE {other} IS NULL
            UNION ALL
            SELECT {key} FROM rx_ref_contested_keys
            WHERE {key} NOT IN (SELECT {key} FROM rx_ref_won))"""
    )
    return name
