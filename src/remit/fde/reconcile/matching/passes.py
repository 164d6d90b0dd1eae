"""One matching pass: its candidates, their one-to-one assignment, the matches it writes
and the open records it leaves to the next pass.

A match's ``match_no`` is the line of its first left record. Every match has at least one
left record and no left record is in two matches, so the number is unique within a run,
the same in every run over the same files, and costs no sort of a 10M-row table.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb

from remit.fde.reconcile.matching.assign import assign
from remit.fde.reconcile.matching.candidates import GROUP_COLUMNS, PAIR_COLUMNS, candidates_sql
from remit.fde.reconcile.matching.expr import drop, lit
from remit.fde.reconcile.matching.prelude import SIDES
from remit.fde.reconcile.matching.reference import pair_members_sql, run_reference
from remit.fde.reconcile.model import Pass, Side

MATCH_COLUMNS = (
    ("match_no", "BIGINT"),
    ("pass_name", "VARCHAR"),
    ("side", "VARCHAR"),
    ("record_id", "VARCHAR"),
    ("amount", "BIGINT"),
    ("currency", "VARCHAR"),
    ("alternatives", "BIGINT"),
)


@dataclass(frozen=True, slots=True)
class PassOutcome:
    """What one pass accepted: matches, and how many of them were chosen among ties."""

    matches: int
    ties: int


def create_matches(duck: duckdb.DuckDBPyConnection) -> None:
    """The long-form ``matches`` table, one row per member record, empty."""
    columns = ", ".join(f"{name} {kind}" for name, kind in MATCH_COLUMNS)
    duck.execute(f"CREATE OR REPLACE TABLE matches ({columns})")


def run_pass(
    duck: duckdb.DuckDBPyConnection, pass_no: int, p: Pass, left: str, right: str
) -> tuple[str, str, PassOutcome]:
    """Run pass ``p`` over open records ``left`` and ``right``; return the relations of
    the records still open afterwards, and what was matched."""
    if p.kind == "reference":
        new_left, new_right, matched, ties = run_reference(duck, pass_no, p, left, right)
        return new_left, new_right, PassOutcome(matches=matched, ties=ties)
    columns = GROUP_COLUMNS if p.kind == "group" else PAIR_COLUMNS
    duck.execute(f"CREATE OR REPLACE TEMP TABLE rx_cand AS {candidates_sql(p, left, right)}")
    assign(duck, "rx_cand", columns, "rx_accepted")
    drop(duck, "rx_cand")
    found = duck.execute(
        "SELECT COUNT(*), COUNT(CASE WHEN alternatives > 0 THEN 1 END) FROM rx_accepted"
    ).fetchone()
    assert found is not None
    outcome = PassOutcome(matches=int(found[0]), ties=int(found[1]))
    if outcome.matches == 0:
        drop(duck, "rx_accepted")
        return left, right, outcome
    duck.execute(
        f"""INSERT INTO matches
        SELECT match_no, {lit(p.name)}, side, record_id, amount, currency, alternatives
        FROM ({_members_sql(p, left, right)}) m"""
    )
    still_open = []
    for side, relation in zip(SIDES, (left, right), strict=True):
        name = f"rx_open_{side}_{pass_no}"
        duck.execute(
            f"""CREATE OR REPLACE TEMP TABLE {name} AS SELECT * FROM {relation}
            WHERE line_no NOT IN ({_matched_lines_sql(p, side, left, right)})"""
        )
        still_open.append(name)
    drop(duck, "rx_accepted")
    return still_open[0], still_open[1], outcome


def _members_sql(p: Pass, left: str, right: str) -> str:
    """Every member record of the accepted matches: (match_no, side, line_no, record_id,
    amount, currency, alternatives)."""
    if p.kind != "group":
        return pair_members_sql("rx_accepted")
    return " UNION ALL ".join(
        f"""SELECT a.l_key AS match_no, '{side}' AS side, m.line_no, m.record_id, m.amount,
                   m.currency, a.alternatives
            FROM rx_accepted a JOIN {relation} m ON {_member_join(p, side)}"""
        for side, relation in zip(SIDES, (left, right), strict=True)
    )


def _matched_lines_sql(p: Pass, side: Side, left: str, right: str) -> str:
    """The lines of ``side`` this pass matched."""
    key = "l_key" if side == "left" else "r_key"
    if p.kind != "group" or p.many != side:
        return f"SELECT {key} FROM rx_accepted"
    relation = left if side == "left" else right
    return f"SELECT m.line_no FROM rx_accepted a JOIN {relation} m ON {_member_join(p, side)}"


def _member_join(p: Pass, side: Side) -> str:
    """How a group pass's accepted row finds its records on ``side``: the many side by
    (currency, group_ref), the one side by its line."""
    if p.many == side:
        return "m.currency = a.currency AND m.group_ref = a.group_ref"
    return f"m.line_no = a.{'l_key' if side == 'left' else 'r_key'}"
