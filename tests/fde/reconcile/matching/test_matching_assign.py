"""The one-to-one assignment: rounds of mutual bests must end in exactly the greedy
choice along the one total order (cost, left id, right id), whatever the candidates."""

from __future__ import annotations

import duckdb
from hypothesis import given, settings
from hypothesis import strategies as st

from remit.fde.reconcile.matching.assign import assign

COLUMNS = ("l_key", "r_key", "l_id", "r_id", "c1", "c2", "c3")

_candidates = st.lists(
    st.tuples(st.integers(0, 6), st.integers(0, 6), st.integers(0, 2), st.integers(0, 2)),
    max_size=30,
    unique_by=lambda c: (c[0], c[1]),
)


def _greedy(rows: list[tuple[int, int, int, int]]) -> set[tuple[int, int]]:
    """Take candidates best first; skip one whose left or right is already taken."""
    taken_l: set[int] = set()
    taken_r: set[int] = set()
    chosen = set()
    for left, right, _, _ in sorted(rows, key=lambda c: (c[2], c[3], f"L{c[0]}", f"R{c[1]}")):
        if left not in taken_l and right not in taken_r:
            chosen.add((left, right))
            taken_l.add(left)
            taken_r.add(right)
    return chosen


@settings(max_examples=60, deadline=None)
@given(_candidates)
def test_rounds_of_mutual_bests_are_the_greedy_assignment(
    rows: list[tuple[int, int, int, int]],
) -> None:
    duck = duckdb.connect()
    duck.execute(
        """CREATE TABLE cand (l_key BIGINT, r_key BIGINT, l_id VARCHAR, r_id VARCHAR,
        c1 BIGINT, c2 BIGINT, c3 BIGINT)"""
    )
    if rows:
        duck.executemany(
            "INSERT INTO cand VALUES (?, ?, ?, ?, ?, ?, 0)",
            [[left, right, f"L{left}", f"R{right}", c1, c2] for left, right, c1, c2 in rows],
        )

    assign(duck, "cand", COLUMNS, "won")

    chosen = duck.execute("SELECT l_key, r_key, alternatives FROM won").fetchall()
    assert {(left, right) for left, right, _ in chosen} == _greedy(rows)
    assert len({left for left, _, _ in chosen}) == len(chosen)
    assert len({right for _, right, _ in chosen}) == len(chosen)
    assert all(alternatives >= 0 for _, _, alternatives in chosen)


def test_a_match_chosen_among_equals_counts_the_equals_it_passed_over() -> None:
    duck = duckdb.connect()
    duck.execute(
        """CREATE TABLE cand AS SELECT * FROM (VALUES
            (1, 1, 'A', 'X', 5, 0, 0), (1, 2, 'A', 'Y', 5, 0, 0), (1, 3, 'A', 'Z', 9, 0, 0),
            (2, 4, 'B', 'W', 1, 0, 0)
        ) t(l_key, r_key, l_id, r_id, c1, c2, c3)"""
    )

    assign(duck, "cand", COLUMNS, "won")

    assert duck.execute("SELECT l_id, r_id, alternatives FROM won ORDER BY 1").fetchall() == [
        ("A", "X", 1),  # Y cost the same; Z cost more and is no alternative
        ("B", "W", 0),  # alone at both ends: accepted at once
    ]
