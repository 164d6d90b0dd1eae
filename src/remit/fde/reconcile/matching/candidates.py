"""One SQL builder per pass kind: the candidate pairs a pass may accept, with their cost.

Every builder reads two relations of open records (``RECORD_FIELDS`` of the prelude) and
yields rows keyed by ``l_key`` / ``r_key`` (a record's line, or a group's first line),
ordered for tie-breaks by ``l_id`` / ``r_id`` (record ids, or a group's ``group_ref``), and
costs ``c1, c2, c3`` compared in that order: lower is better. Every join is an equi-join
on currency plus a key (amount, group reference, or buckets of time and amount) so DuckDB
runs it as a hash join; none is a cross join.
"""

from __future__ import annotations

from remit.fde.reconcile.matching.expr import (
    Dimension,
    bucketed,
    in_window,
    same_buckets,
    spread,
    within,
)
from remit.fde.reconcile.model import Pass

# What a 1:1 pass's candidates carry: enough to write the match without reading the
# records again (at 10M rows a second read costs as much as the join).
PAIR_COLUMNS = (
    "l_key",
    "r_key",
    "l_id",
    "r_id",
    "l_amount",
    "r_amount",
    "currency",
    "c1",
    "c2",
    "c3",
)
# A group pass's candidates pair a group (by currency and group_ref) with one record.
GROUP_COLUMNS = ("l_key", "r_key", "l_id", "r_id", "currency", "group_ref", "c1", "c2", "c3")

_PAIR_HEAD = """l.line_no AS l_key, r.line_no AS r_key, l.record_id AS l_id, r.record_id AS r_id,
    l.amount AS l_amount, r.amount AS r_amount, l.currency AS currency"""
# Passes that do not join on the reference still refuse two different references: two
# records naming different payments are not one payment, however alike their amounts.
_NO_CONFLICT = "(l.reference IS NULL OR r.reference IS NULL OR l.reference = r.reference)"
_AMOUNT_GAP = "ABS(l.amount - r.amount)"
_TIME_GAP = "ABS(l.ts - r.ts)"


def candidates_sql(p: Pass, left: str, right: str) -> str:
    """The candidates of pass ``p`` between open records ``left`` and ``right``. Reference
    passes are not built here: ``reference.run_reference`` joins, assigns and keeps their
    pairs in one go."""
    assert p.kind != "reference", "reference passes run in reference.py"
    if p.kind == "amount_date":
        return _amount_date(p, left, right)
    if p.kind == "tolerance":
        return _tolerance(p, left, right)
    if p.kind == "fuzzy":
        return _fuzzy(p, left, right)
    return _group(p, left, right)


def _amount_date(p: Pass, left: str, right: str) -> str:
    """Equal amount, dates within the window. With a window the join also takes the time
    bucket, so a common amount (10.00 every day for a year) does not pair every day with
    every other."""
    if p.date_window_s is None:
        return f"""SELECT {_PAIR_HEAD}, {_TIME_GAP} AS c1, 0 AS c2, 0 AS c3
        FROM {left} l JOIN {right} r ON l.currency = r.currency AND l.amount = r.amount
        WHERE {_NO_CONFLICT}"""
    window = p.date_window_s
    dims = [("ts", window)]
    return f"""SELECT {_PAIR_HEAD}, {_TIME_GAP} AS c1, 0 AS c2, 0 AS c3
    FROM ({bucketed(left, dims)}) l
    JOIN ({spread(right, dims)}) r
      ON l.currency = r.currency AND l.amount = r.amount AND {same_buckets(dims)}
    WHERE {in_window("l.ts", "r.ts", window)} AND {_NO_CONFLICT}"""


def _tolerance(p: Pass, left: str, right: str) -> str:
    """Amounts within tolerance and dates within the (required) window, joined on currency
    and the buckets of :func:`_near`."""
    window = _required_window(p)
    dims = _near(p)
    return f"""SELECT {_PAIR_HEAD}, {_AMOUNT_GAP} AS c1, {_TIME_GAP} AS c2, 0 AS c3
    FROM ({bucketed(left, dims)}) l
    JOIN ({spread(right, dims)}) r ON l.currency = r.currency AND {same_buckets(dims)}
    WHERE {in_window("l.ts", "r.ts", window)} AND {within("l.amount", "r.amount", p.tolerance)}
      AND {_NO_CONFLICT}"""


def _fuzzy(p: Pass, left: str, right: str) -> str:
    """Descriptions alike once lower-cased and stripped to letters and digits: the edit
    distance is at most (100 - min_similarity)% of the longer one. The distance is only
    computed for pairs already close in amount and date."""
    window = _required_window(p)
    dims = _near(p)
    similarity = int(p.min_similarity_pct or 100)
    words = "REGEXP_REPLACE(LOWER(description), '[^a-z0-9]', '', 'g')"
    # Normalised once per record into a materialized CTE: the right side is read once per
    # bucket shift (up to nine times), and the regular expression is the costly part.
    said = "SELECT *, {w} AS words FROM {rel} WHERE LENGTH({w}) > 0"
    return f"""WITH lw AS MATERIALIZED ({said.format(w=words, rel=left)}),
         rw AS MATERIALIZED ({said.format(w=words, rel=right)})
    SELECT l_key, r_key, l_id, r_id, l_amount, r_amount, currency,
        distance AS c1, amount_gap AS c2, time_gap AS c3
    FROM (
        SELECT {_PAIR_HEAD}, {_AMOUNT_GAP} AS amount_gap, {_TIME_GAP} AS time_gap,
               LEVENSHTEIN(l.words, r.words) AS distance,
               GREATEST(LENGTH(l.words), LENGTH(r.words)) AS longer
        FROM ({bucketed("lw", dims)}) l
        JOIN ({spread("rw", dims)}) r ON l.currency = r.currency AND {same_buckets(dims)}
        WHERE {in_window("l.ts", "r.ts", window)}
          AND {within("l.amount", "r.amount", p.tolerance)} AND {_NO_CONFLICT}
    ) near
    WHERE distance * 100 <= {100 - similarity} * longer"""


def _group(p: Pass, left: str, right: str) -> str:
    """The many side's open records summed per (currency, group_ref), each group a
    candidate for the record on the other side whose reference is that group_ref. Every
    member must lie within the window of that record."""
    many, one = (left, right) if p.many == "left" else (right, left)
    gap = "GREATEST(ABS(o.ts - g.first_ts), ABS(o.ts - g.last_ts))"
    window = "TRUE" if p.date_window_s is None else f"{gap} <= {int(p.date_window_s)}"
    if p.many == "left":
        keys = "g.g_key AS l_key, o.line_no AS r_key, g.group_ref AS l_id, o.record_id AS r_id"
    else:
        keys = "o.line_no AS l_key, g.g_key AS r_key, o.record_id AS l_id, g.group_ref AS r_id"
    return f"""SELECT {keys}, g.currency, g.group_ref,
        ABS(g.total - o.amount) AS c1, {gap} AS c2, 0 AS c3
    FROM (
        SELECT currency, group_ref, SUM(amount) AS total, MIN(ts) AS first_ts,
               MAX(ts) AS last_ts, MIN(line_no) AS g_key
        FROM {many} WHERE group_ref IS NOT NULL GROUP BY currency, group_ref
    ) g
    JOIN {one} o ON o.currency = g.currency AND o.reference = g.group_ref
    WHERE {within("g.total", "o.amount", p.tolerance)} AND {window}"""


def _near(p: Pass) -> list[Dimension]:
    """Blocking for passes that accept near amounts: the date window, and, when the
    tolerance is a fixed number of minor units, the amount too. Blocking on time alone
    would pair every open record with every other of a few days (a million open records
    at 10M make that billions of pairs); the amount bucket keeps it to near amounts.
    A tolerance in basis points grows with the amount, so it cannot bucket."""
    dims: list[Dimension] = [("ts", _required_window(p))]
    if p.tolerance.basis_points == 0:
        dims.append(("amount", p.tolerance.minor))
    return dims


def _required_window(p: Pass) -> int:
    # run_transactions refuses such rules before anything runs; this keeps mypy honest.
    assert p.date_window_s is not None, f"pass {p.name} needs a date window"
    return p.date_window_s
