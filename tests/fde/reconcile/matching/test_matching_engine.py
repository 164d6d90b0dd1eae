"""The engine's contract with its callers: the shapes it leaves in DuckDB, repeated
references resolved one to one, reruns on one connection, empty sides, progress, and
amounts in sentences written exactly as the rest of remit writes them."""

from __future__ import annotations

import duckdb
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from matching_support import BY_AMOUNT_AND_DATE, BY_REFERENCE, R, breaks, duck_with, rules

from remit.fde.reconcile.matching import run_transactions
from remit.fde.reconcile.matching.detail import money, places
from remit.primitives.currency import supported_currencies
from remit.primitives.errors import InvalidRequestError
from remit.primitives.money import format_amount


def _matched(duck: duckdb.DuckDBPyConnection) -> list[tuple[object, ...]]:
    return duck.execute(
        "SELECT match_no, side, record_id, alternatives FROM matches"
        " ORDER BY match_no, side, record_id"
    ).fetchall()


def test_matches_and_breaks_have_the_agreed_columns() -> None:
    duck = duck_with([R("ch_1", 100, ref="a"), R("ch_2", 5)], [R("bt_1", 100, ref="a")])

    run_transactions(duck, rules(BY_REFERENCE))

    assert duck.execute("DESCRIBE matches").fetchall() == [
        (name, kind, "YES", None, None, None)
        for name, kind in (
            ("match_no", "BIGINT"),
            ("pass_name", "VARCHAR"),
            ("side", "VARCHAR"),
            ("record_id", "VARCHAR"),
            ("amount", "BIGINT"),
            ("currency", "VARCHAR"),
            ("alternatives", "BIGINT"),
        )
    ]
    assert [(row[0], row[1]) for row in duck.execute("DESCRIBE breaks").fetchall()] == [
        ("break_key", "VARCHAR"),
        ("type", "VARCHAR"),
        ("currency", "VARCHAR"),
        ("left_ids", "VARCHAR[]"),
        ("right_ids", "VARCHAR[]"),
        ("left_amount", "BIGINT"),
        ("right_amount", "BIGINT"),
        ("left_line", "BIGINT"),
        ("right_line", "BIGINT"),
        ("object_id", "VARCHAR"),
        ("field", "VARCHAR"),
        ("platform_value", "VARCHAR"),
        ("external_value", "VARCHAR"),
        ("detail", "VARCHAR"),
    ]
    leftovers = duck.execute(
        "SELECT table_name FROM duckdb_tables() WHERE table_name LIKE 'rx_open%'"
    ).fetchall()
    assert leftovers == []


def test_a_reference_repeated_at_the_bank_goes_to_the_closest_amount() -> None:
    duck = duck_with(
        [R("ch_1", 1000, ref="py_1"), R("ch_2", 400, ref="py_2")],
        [R("bt_1", 990, ref="py_1"), R("bt_2", 1000, ref="py_1"), R("bt_3", 400, ref="py_2")],
    )

    summary = run_transactions(duck, rules(BY_REFERENCE))

    assert _matched(duck) == [
        (2, "left", "ch_1", 0),
        (2, "right", "bt_2", 0),
        (3, "left", "ch_2", 0),
        (3, "right", "bt_3", 0),
    ]
    assert list(breaks(duck)) == ["missing_in_platform||bt_1|"]
    assert summary.ties == 0


def test_two_identical_platform_rows_for_one_bank_line_tie_and_the_lower_id_wins() -> None:
    duck = duck_with(
        [R("ch_8", 1000, ref="py_1"), R("ch_7", 1000, ref="py_1")], [R("bt_1", 1000, ref="py_1")]
    )

    summary = run_transactions(duck, rules(BY_REFERENCE))

    assert _matched(duck) == [(3, "left", "ch_7", 1), (3, "right", "bt_1", 1)]
    assert list(breaks(duck)) == ["duplicate|ch_8||"]
    assert summary.ties == 1


def test_a_second_run_on_the_same_connection_starts_clean() -> None:
    duck = duck_with([R("ch_1", 100, ref="a"), R("ch_2", 7)], [R("bt_1", 100, ref="a")])
    run_transactions(duck, rules(BY_REFERENCE, BY_AMOUNT_AND_DATE))
    first = (_matched(duck), breaks(duck))

    run_transactions(duck, rules(BY_AMOUNT_AND_DATE))
    run_transactions(duck, rules(BY_REFERENCE, BY_AMOUNT_AND_DATE))

    assert (_matched(duck), breaks(duck)) == first


def test_records_refused_leave_the_previous_run_s_results_alone() -> None:
    duck = duck_with([R("ch_1", 100, ref="a")], [R("bt_1", 100, ref="a")])
    run_transactions(duck, rules(BY_REFERENCE))
    before = (_matched(duck), breaks(duck))
    duck.execute("UPDATE left_records SET amount = NULL")

    with pytest.raises(InvalidRequestError):
        run_transactions(duck, rules(BY_REFERENCE))

    assert (_matched(duck), breaks(duck)) == before


def test_an_empty_side_leaves_every_record_of_the_other_missing() -> None:
    duck = duck_with([], [R("bt_1", 100), R("bt_2", 200)])

    summary = run_transactions(duck, rules(BY_REFERENCE, BY_AMOUNT_AND_DATE))

    assert _matched(duck) == []
    assert summary.breaks_by_type["missing_in_platform"] == 2
    assert (summary.records_left, summary.records_right, summary.match_rate_bp) == (0, 2, 0)
    assert summary.currencies[0].drift == -300


def test_two_empty_sides_make_an_empty_run() -> None:
    duck = duck_with([], [])

    summary = run_transactions(duck, rules(BY_REFERENCE))

    assert (summary.matched_pairs, summary.currencies, _matched(duck), breaks(duck)) == (
        0,
        (),
        [],
        {},
    )


def test_progress_names_each_stage_in_order() -> None:
    seen: list[tuple[str, int, int | None]] = []
    duck = duck_with([R("ch_1", 100, ref="a")], [R("bt_1", 100, ref="a")])

    run_transactions(
        duck,
        rules(BY_REFERENCE, BY_AMOUNT_AND_DATE),
        progress=lambda stage, done, total: seen.append((stage, done, total)),
    )

    assert seen == [
        ("checking records", 0, 5),
        ("pass by_reference", 1, 5),
        ("pass by_amount_and_date", 2, 5),
        ("classifying breaks", 3, 5),
        ("summarizing", 4, 5),
        ("done", 5, 5),
    ]


_ODD_DIGITS = [c for c in supported_currencies() if c in ("jpy", "kwd", "clf", "usd", "bhd")]


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(-(10**14), 10**14), st.sampled_from(_ODD_DIGITS)),
        min_size=1,
        max_size=20,
    )
)
def test_amounts_in_sentences_read_as_format_amount_writes_them(
    amounts: list[tuple[int, str]],
) -> None:
    duck = duckdb.connect()
    duck.execute("CREATE TABLE t (amount BIGINT, currency VARCHAR)")
    duck.executemany("INSERT INTO t VALUES (?, ?)", amounts)

    written = duck.execute(
        f"""SELECT {money("amount", "currency", "digits")}
        FROM (SELECT *, {places("currency")} AS digits FROM t) x"""
    ).fetchall()

    assert [row[0] for row in written] == [format_amount(a, c) for a, c in amounts]
