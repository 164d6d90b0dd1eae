"""SQL fragments every matching stage shares: literals, the amount tolerance, the date
window and the buckets (of time, of amount) that keep window joins hash joins.

Everything here returns SQL text in the portable subset (``ABS``, ``GREATEST``, ``CASE``,
integer arithmetic): the same predicates can run on a distributed SQL engine later.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import product

import duckdb

from remit.fde.reconcile.model import AmountTolerance

# The prelude refuses amounts beyond this (a trillion in a currency's major unit, far past
# any real transaction) so that ``|a - b| * 10000`` and ``bp * max(|a|, |b|)`` stay inside
# a signed 64-bit integer without casts to wider types.
AMOUNT_LIMIT_MINOR = 10**14
# |a - b| never exceeds 2 * max(|a|, |b|), so a tolerance of 20,000 basis points already
# accepts every pair; capping there keeps the product inside 64 bits too.
_MAX_USEFUL_BP = 20_000


def lit(text: str) -> str:
    """A SQL string literal: labels and pass names come from user-written YAML."""
    return "'" + text.replace("'", "''") + "'"


def within(a: str, b: str, tolerance: AmountTolerance) -> str:
    """``a`` and ``b`` differ by at most the tolerance: either bound admits the pair,
    compared in integers only (no division on money)."""
    terms = [f"ABS({a} - {b}) <= {int(tolerance.minor)}"]
    bp = min(int(tolerance.basis_points), _MAX_USEFUL_BP)
    if bp > 0:
        terms.append(f"ABS({a} - {b}) * 10000 <= {bp} * GREATEST(ABS({a}), ABS({b}))")
    return "(" + " OR ".join(terms) + ")"


def in_window(ts_a: str, ts_b: str, window_s: int | None) -> str:
    """The two dates lie within the window (always true without one)."""
    if window_s is None:
        return "TRUE"
    return f"ABS({ts_a} - {ts_b}) <= {int(window_s)}"


# A blocking dimension: (column, reach). Two values at most ``reach`` apart must meet.
Dimension = tuple[str, int]


def bucket(value: str, reach: int) -> str:
    """A bucket at least ``reach`` wide. Buckets grow with the value, so two values at most
    ``reach`` apart sit in the same or adjacent buckets: joining one side's bucket with the
    other's bucket - 1, + 0 and + 1 finds every such pair without a cross join."""
    return f"({value} // {max(int(reach), 1)})"


def bucketed(relation: str, dims: Sequence[Dimension]) -> str:
    """``relation`` with its buckets ``b0, b1, ...``: the side that is built on."""
    cols = ", ".join(f"{bucket(col, reach)} AS b{i}" for i, (col, reach) in enumerate(dims))
    return f"SELECT *, {cols} FROM {relation}"


def spread(relation: str, dims: Sequence[Dimension]) -> str:
    """``relation`` once per combination of shifts -1, 0, +1 of its buckets (3 copies per
    dimension): the side that probes the other's plain buckets."""
    combos = product((-1, 0, 1), repeat=len(dims))
    return " UNION ALL ".join(
        "SELECT *, "
        + ", ".join(
            f"{bucket(col, reach)} + ({shift}) AS b{i}"
            for i, ((col, reach), shift) in enumerate(zip(dims, shifts, strict=True))
        )
        + f" FROM {relation}"
        for shifts in combos
    )


def same_buckets(dims: Sequence[Dimension]) -> str:
    """The join condition pairing ``l``'s buckets with ``r``'s shifted ones."""
    return " AND ".join(f"l.b{i} = r.b{i}" for i in range(len(dims)))


def drop(duck: duckdb.DuckDBPyConnection, *tables: str) -> None:
    """Forget intermediates as soon as they are used: a 10M-row run cannot keep them all."""
    for name in tables:
        duck.execute(f"DROP TABLE IF EXISTS {name}")


def count(duck: duckdb.DuckDBPyConnection, relation: str) -> int:
    found = duck.execute(f"SELECT COUNT(*) FROM {relation}").fetchone()
    assert found is not None
    return int(found[0])
