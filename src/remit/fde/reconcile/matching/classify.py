"""After the passes: every record no pass matched becomes exactly one typed break.

In order, each step taking only what the previous ones left:

1. ``duplicate`` - a later copy of a record id (set aside by the prelude), or a record
   whose twin on its own side (same currency, amount, date and reference) was matched or
   is an earlier open record: the later copy is the duplicate.
2. Pairs across the sides, one-to-one by the same assignment as the passes, preferring
   ``timing`` (same reference - or no reference on either side and the very same
   amount - amount within the reference pass's tolerance, dates within ``timing_window``),
   then ``amount_mismatch`` (same reference and currency, amount outside that tolerance),
   then ``currency_mismatch`` (same reference, other currency).
3. ``missing_in_external`` for a left record still alone, ``missing_in_platform`` for a
   right one.

Breaks gather first in ``rx_found`` (one row per break, the left and right record side by
side), which the summary also reads, then become the ``breaks`` table.
"""

from __future__ import annotations

import duckdb

from remit.fde.reconcile.matching import detail
from remit.fde.reconcile.matching.assign import assign
from remit.fde.reconcile.matching.expr import (
    bucketed,
    drop,
    lit,
    same_buckets,
    spread,
    within,
)
from remit.fde.reconcile.matching.prelude import SIDES
from remit.fde.reconcile.model import AmountTolerance, Side, TransactionRules

FOUND_COLUMNS = """type VARCHAR, field VARCHAR,
    l_line BIGINT, l_id VARCHAR, l_amount BIGINT, l_currency VARCHAR,
    r_line BIGINT, r_id VARCHAR, r_amount BIGINT, r_currency VARCHAR, detail VARCHAR"""
_PAIR_COLUMNS = ("l_key", "r_key", "l_id", "r_id", "c1", "c2", "c3")
_PAIR_TYPES = ("timing", "amount_mismatch", "currency_mismatch")  # preference order = c1


def classify(
    duck: duckdb.DuckDBPyConnection, rules: TransactionRules, left_open: str, right_open: str
) -> None:
    """Fill ``rx_found`` with one break per unmatched record and write ``breaks``."""
    labels = {"left": lit(rules.left.label), "right": lit(rules.right.label)}
    duck.execute(f"CREATE OR REPLACE TEMP TABLE rx_found ({FOUND_COLUMNS})")
    for side, open_records in zip(SIDES, (left_open, right_open), strict=True):
        _id_duplicates(duck, side, labels[side])
        _twins(duck, side, open_records, labels[side])
    _pairs(duck, rules, labels)
    for side in SIDES:
        _missing(duck, side, labels)
    drop(duck, "rx_rest_left", "rx_rest_right")
    _write_breaks(duck)


def reference_tolerance(rules: TransactionRules) -> AmountTolerance:
    """The tolerance of the first reference pass: what separates an amount mismatch from
    a fee the rules accept. Without a reference pass any difference is a mismatch."""
    for p in rules.passes:
        if p.kind == "reference":
            return p.tolerance
    return AmountTolerance()


def _values(side: Side, alias: str) -> str:
    """A record's columns in ``rx_found`` order, NULLs on the other side."""
    mine = f"{alias}.line_no, {alias}.record_id, {alias}.amount, {alias}.currency"
    nothing = "NULL, NULL, NULL, NULL"
    return f"{mine}, {nothing}" if side == "left" else f"{nothing}, {mine}"


def _id_duplicates(duck: duckdb.DuckDBPyConnection, side: Side, label: str) -> None:
    sentence = (
        f"{label} || ' line ' || CAST(d.line_no AS VARCHAR) || ' repeats the id ' || d.record_id"
        " || ' of line ' || CAST(d.first_line AS VARCHAR) || '; only line '"
        " || CAST(d.first_line AS VARCHAR) || ' takes part in matching.'"
    )
    duck.execute(
        f"""INSERT INTO rx_found
        SELECT 'duplicate', 'record_id#' || CAST(d.copy_no AS VARCHAR), {_values(side, "d")},
               {sentence}
        FROM rx_{side}_dups d"""
    )


def _twins(duck: duckdb.DuckDBPyConnection, side: Side, open_records: str, label: str) -> None:
    """Open records with an identical twin that was matched or opens earlier; the rest of
    the side's open records go on as ``rx_rest_<side>``. The twin shown is a matched one
    if any, else the earliest."""
    duck.execute(
        f"""CREATE OR REPLACE TEMP TABLE rx_twins AS
        SELECT * FROM (
            SELECT x.line_no, x.record_id, x.amount, x.currency, x.ts, x.reference,
                   {detail.places("x.currency")} AS places,
                   t.line_no AS twin_line, t.record_id AS twin_id,
                   still.line_no IS NULL AS twin_matched,
                   ROW_NUMBER() OVER (PARTITION BY x.line_no ORDER BY
                       CASE WHEN still.line_no IS NULL THEN 0 ELSE 1 END, t.line_no) AS pick
            FROM {open_records} x
            JOIN rx_{side}_active t
              ON t.currency = x.currency AND t.amount = x.amount AND t.ts = x.ts
             AND t.reference IS NOT DISTINCT FROM x.reference AND t.line_no <> x.line_no
            LEFT JOIN {open_records} still ON still.line_no = t.line_no
            WHERE still.line_no IS NULL OR t.line_no < x.line_no
        ) twins WHERE pick = 1"""
    )
    reference = "COALESCE('reference ' || x.reference, 'no reference')"
    sentence = (
        f"{detail.record(label, 'x.line_no', 'x.record_id', 'NULL')}"
        " || ' repeats line ' || CAST(x.twin_line AS VARCHAR) || ' (' || x.twin_id || '): same '"
        f" || {detail.money('x.amount', 'x.currency', 'x.places')}"
        f" || ', date ' || {detail.day('x.ts')}"
        f" || ' and ' || {reference} || '; line ' || CAST(x.twin_line AS VARCHAR)"
        " || CASE WHEN x.twin_matched THEN ' is matched.' ELSE ' is reported on its own.' END"
    )
    duck.execute(
        f"""INSERT INTO rx_found
        SELECT 'duplicate', NULL, {_values(side, "x")}, {sentence} FROM rx_twins x"""
    )
    duck.execute(
        f"""CREATE OR REPLACE TEMP TABLE rx_rest_{side} AS
        SELECT *, {detail.places("currency")} AS places FROM {open_records}
        WHERE line_no NOT IN (SELECT line_no FROM rx_twins)"""
    )
    drop(duck, "rx_twins")


def _pairs(
    duck: duckdb.DuckDBPyConnection, rules: TransactionRules, labels: dict[str, str]
) -> None:
    """Pair breaks: one candidate per (left, right, type), c1 the type's preference."""
    near = within("l.amount", "r.amount", reference_tolerance(rules))
    window = int(rules.timing_window_s)
    dims = [("ts", window)]
    head = "l.line_no AS l_key, r.line_no AS r_key, l.record_id AS l_id, r.record_id AS r_id"
    by_reference = "FROM rx_rest_left l JOIN rx_rest_right r ON l.reference = r.reference"
    candidates = f"""
        SELECT {head}, 0 AS c1, ABS(l.ts - r.ts) AS c2, ABS(l.amount - r.amount) AS c3
        {by_reference} AND l.currency = r.currency
        WHERE {near} AND ABS(l.ts - r.ts) <= {window}
        UNION ALL
        SELECT {head}, 0, ABS(l.ts - r.ts), 0
        FROM ({bucketed("rx_rest_left", dims)}) l
        JOIN ({spread("rx_rest_right", dims)}) r
          ON l.currency = r.currency AND l.amount = r.amount AND {same_buckets(dims)}
        WHERE l.reference IS NULL AND r.reference IS NULL AND ABS(l.ts - r.ts) <= {window}
        UNION ALL
        SELECT {head}, 1, ABS(l.amount - r.amount), ABS(l.ts - r.ts)
        {by_reference} AND l.currency = r.currency WHERE NOT {near}
        UNION ALL
        SELECT {head}, 2, ABS(l.ts - r.ts), ABS(l.amount - r.amount)
        {by_reference} AND l.currency <> r.currency"""
    duck.execute(f"CREATE OR REPLACE TEMP TABLE rx_pair_cand AS {candidates}")
    assign(duck, "rx_pair_cand", _PAIR_COLUMNS, "rx_pair_accepted")
    kind = " ".join(f"WHEN {rank} THEN '{name}'" for rank, name in enumerate(_PAIR_TYPES))
    duck.execute(
        f"""INSERT INTO rx_found
        SELECT CASE a.c1 {kind} END, NULL, l.line_no, l.record_id, l.amount, l.currency,
               r.line_no, r.record_id, r.amount, r.currency, {_pair_sentence(labels)}
        FROM rx_pair_accepted a
        JOIN rx_rest_left l ON l.line_no = a.l_key JOIN rx_rest_right r ON r.line_no = a.r_key"""
    )
    for side, key in (("left", "l_key"), ("right", "r_key")):
        duck.execute(
            f"DELETE FROM rx_rest_{side} WHERE line_no IN (SELECT {key} FROM rx_pair_accepted)"
        )
    drop(duck, "rx_pair_cand", "rx_pair_accepted")


def _pair_sentence(labels: dict[str, str]) -> str:
    """What the external side shows, then what the platform booked, then why it is this
    type of break (``a.c1`` is the type's rank)."""
    bank = (
        f"{detail.record(labels['right'], 'r.line_no', 'r.record_id', 'r.reference')}"
        f" || ' shows ' || {detail.money('r.amount', 'r.currency', 'r.places')}"
    )
    book = (
        f"{detail.record(labels['left'], 'l.line_no', 'l.record_id', 'l.reference')}"
        f" || ' booked ' || {detail.money('l.amount', 'l.currency', 'l.places')}"
    )
    timing = (
        f"{bank} || ' on ' || {detail.day('r.ts')} || '; ' || {book} || ' on ' || "
        f"{detail.day('l.ts')} || ', ' || {detail.days_apart('l.ts', 'r.ts')}"
        " || ': beyond the matching window.'"
    )
    amount = (
        f"{bank} || '; ' || {book} || ', a difference of ' || "
        f"{detail.money('ABS(l.amount - r.amount)', 'l.currency', 'l.places')} || '.'"
    )
    currency = f"{bank} || '; ' || {book} || ' under the same reference.'"
    return f"CASE a.c1 WHEN 0 THEN {timing} WHEN 1 THEN {amount} ELSE {currency} END"


def _missing(duck: duckdb.DuckDBPyConnection, side: Side, labels: dict[str, str]) -> None:
    other = labels["right" if side == "left" else "left"]
    verb = "booked" if side == "left" else "shows"
    kind = "missing_in_external" if side == "left" else "missing_in_platform"
    sentence = (
        f"{detail.record(labels[side], 'x.line_no', 'x.record_id', 'x.reference')}"
        f" || ' {verb} ' || {detail.money('x.amount', 'x.currency', 'x.places')} || ' on ' || "
        f"{detail.day('x.ts')} || '; ' || {other} || ' has no matching record.'"
    )
    duck.execute(
        f"""INSERT INTO rx_found
        SELECT '{kind}', NULL, {_values(side, "x")}, {sentence} FROM rx_rest_{side} x"""
    )


def _write_breaks(duck: duckdb.DuckDBPyConnection) -> None:
    """``breaks`` in break_key order (small: only what did not match)."""
    duck.execute(
        """CREATE OR REPLACE TABLE breaks AS
        SELECT type || '|' || COALESCE(l_id, '') || '|' || COALESCE(r_id, '') || '|'
                   || COALESCE(field, '') AS break_key,
               type, COALESCE(l_currency, r_currency) AS currency,
               CASE WHEN l_id IS NULL THEN CAST([] AS VARCHAR[]) ELSE [l_id] END AS left_ids,
               CASE WHEN r_id IS NULL THEN CAST([] AS VARCHAR[]) ELSE [r_id] END AS right_ids,
               l_amount AS left_amount, r_amount AS right_amount,
               l_line AS left_line, r_line AS right_line,
               CAST(NULL AS VARCHAR) AS object_id, field,
               CAST(NULL AS VARCHAR) AS platform_value, CAST(NULL AS VARCHAR) AS external_value,
               detail
        FROM rx_found ORDER BY break_key"""
    )
