"""One matching pass: its candidates, their one-to-one assignment, the matches it keeps
and the open records it leaves to the next pass.

A match's ``match_no`` is the line of its first left record. Every match has at least one
left record and no left record is in two matches, so the number is unique within a run,
the same in every run over the same files, and costs no sort of a 10M-row table.
"""

from __future__ import annotations

import duckdb

from remit.fde.reconcile.matching.assign import assign
from remit.fde.reconcile.matching.candidates import GROUP_COLUMNS, PAIR_COLUMNS, candidates_sql
from remit.fde.reconcile.matching.expr import drop
from remit.fde.reconcile.matching.output import (
    PassOutcome,
    group_members_sql,
    pair_members_sql,
)
from remit.fde.reconcile.matching.prelude import SIDES
from remit.fde.reconcile.matching.reference import run_reference
from remit.fde.reconcile.model import Pass, Side


def run_pass(
    duck: duckdb.DuckDBPyConnection, pass_no: int, p: Pass, left: str, right: str
) -> PassOutcome:
    """Run pass ``p`` over open records ``left`` and ``right``."""
    if p.kind == "reference":
        return run_reference(duck, pass_no, p, left, right)
    if p.kind == "group":
        candidates = candidates_sql(p, left, right)
    else:
        candidates = candidates_sql(p, _unclaimed(left, right), _unclaimed(right, left))
    duck.execute(f"CREATE OR REPLACE TEMP TABLE rx_cand AS {candidates}")
    if p.kind == "group":
        kept = f"rx_g{pass_no}"
        assign(duck, "rx_cand", GROUP_COLUMNS, "rx_accepted")
        duck.execute(f"CREATE OR REPLACE TABLE {kept} AS {_group_members(p, left, right)}")
        members = group_members_sql(kept, p.name)
        accepted = "rx_accepted"
    else:
        kept = accepted = f"rx_m{pass_no}"
        assign(duck, "rx_cand", PAIR_COLUMNS, accepted)
        members = pair_members_sql(kept, p.name)
    drop(duck, "rx_cand")
    found = duck.execute(
        f"SELECT COUNT(*), COUNT(CASE WHEN alternatives > 0 THEN 1 END) FROM {accepted}"
    ).fetchone()
    assert found is not None
    drop(duck, "rx_accepted")
    matched, ties = int(found[0]), int(found[1])
    if matched == 0:
        drop(duck, kept)
        return PassOutcome(left, right, 0, 0, None)
    still_open = []
    for side, relation in zip(SIDES, (left, right), strict=True):
        name = f"rx_open_{side}_{pass_no}"
        duck.execute(
            f"""CREATE OR REPLACE TEMP TABLE {name} AS SELECT * FROM {relation}
            WHERE line_no NOT IN ({_matched_lines_sql(p, side, kept)})"""
        )
        still_open.append(name)
    return PassOutcome(still_open[0], still_open[1], matched, ties, members)


def _unclaimed(relation: str, other: str) -> str:
    """The open records of ``relation`` whose reference names no open record of
    ``other``. A record whose reference is still open on the other side is that record's
    counterpart (a late line, a wrong amount, another currency): pairing it by amount
    with some stranger would hide that break behind a false match."""
    return f"""(SELECT * FROM {relation} x WHERE NOT EXISTS (
        SELECT 1 FROM {other} o WHERE o.reference = x.reference))"""


def _group_members(p: Pass, left: str, right: str) -> str:
    """Every member record of the accepted groups and their partners: (match_no, side,
    line_no, record_id, amount, currency, alternatives)."""
    return " UNION ALL ".join(
        f"""SELECT a.l_key AS match_no, '{side}' AS side, m.line_no, m.record_id, m.amount,
                   m.currency, a.alternatives
            FROM rx_accepted a JOIN {relation} m ON {_member_join(p, side)}"""
        for side, relation in zip(SIDES, (left, right), strict=True)
    )


def _matched_lines_sql(p: Pass, side: Side, kept: str) -> str:
    """The lines of ``side`` this pass matched, from its kept table."""
    if p.kind == "group":
        return f"SELECT line_no FROM {kept} WHERE side = '{side}'"
    return f"SELECT {'l_key' if side == 'left' else 'r_key'} FROM {kept}"


def _member_join(p: Pass, side: Side) -> str:
    """How a group pass's accepted row finds its records on ``side``: the many side by
    (currency, group_ref), the one side by its line."""
    if p.many == side:
        return "m.currency = a.currency AND m.group_ref = a.group_ref"
    return f"m.line_no = a.{'l_key' if side == 'left' else 'r_key'}"
