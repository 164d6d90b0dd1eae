"""Café Lumen's problem month: every kind of break the bank statement can show, each with
its key and a sentence a bookkeeper can act on; and input the engine refuses."""

from __future__ import annotations

import pytest
from matching_support import (
    BY_AMOUNT_AND_DATE,
    BY_REFERENCE,
    DAY,
    R,
    breaks,
    duck_with,
    rules,
)

from remit.fde.reconcile.matching import run_transactions
from remit.fde.reconcile.model import Pass
from remit.primitives.errors import InvalidRequestError

PLATFORM = [
    R("ch_20", 1500, day=2, ref="py_20"),  # the bank never saw it
    R("ch_22", 2000, day=4, ref="py_22"),  # the bank got 15.00
    R("ch_23", 1000, day=5, ref="py_23"),  # the bank booked it in euros
    R("ch_24", 3000, day=1, ref="py_24"),  # arrived two weeks later
    R("ch_25", 4000, day=1, ref="py_25"),  # arrived 49 days later: too late to tell
    R("ch_27", 650, day=6, ref="py_27"),
    R("ch_27", 650, day=6, ref="py_27"),  # the export repeated the row
    R("ch_28", 1100, day=7, ref="py_28"),
]
BANK = [
    R("bt_21", 800, day=3, ref="xx_21"),  # nobody at the café knows this one
    R("bt_22", 1500, day=4, ref="py_22"),
    R("bt_23", 1000, day=5, ref="py_23", currency="eur"),
    R("bt_24", 3000, day=15, ref="py_24"),
    R("bt_25", 4000, day=50, ref="py_25"),
    R("bt_26a", 990, day=8),  # listed twice, and the café has no such payment
    R("bt_26b", 990, day=8),
    R("bt_27", 650, day=6, ref="py_27"),
    R("bt_28", 1100, day=7, ref="py_28"),
    R("bt_28x", 1100, day=7, ref="py_28"),  # the bank listed a matched line twice
]


@pytest.fixture(scope="module")
def found() -> dict[str, dict[str, object]]:
    duck = duck_with(PLATFORM, BANK)
    run_transactions(duck, rules(BY_REFERENCE, BY_AMOUNT_AND_DATE))
    return breaks(duck)


def test_every_break_type_is_found_with_a_stable_key(found: dict[str, dict[str, object]]) -> None:
    assert sorted(found) == [
        "amount_mismatch|ch_22|bt_22|",
        "currency_mismatch|ch_23|bt_23|",
        "duplicate|ch_27||record_id#2",
        "duplicate||bt_26b|",
        "duplicate||bt_28x|",
        "missing_in_external|ch_20||",
        "missing_in_external|ch_25||",
        "missing_in_platform||bt_21|",
        "missing_in_platform||bt_25|",
        "missing_in_platform||bt_26a|",
        "timing|ch_24|bt_24|",
    ]


def test_an_amount_mismatch_shows_both_amounts(found: dict[str, dict[str, object]]) -> None:
    brk = found["amount_mismatch|ch_22|bt_22|"]
    assert (brk["left_ids"], brk["right_ids"]) == (["ch_22"], ["bt_22"])
    assert (brk["left_amount"], brk["right_amount"], brk["currency"]) == (2000, 1500, "usd")
    assert (brk["left_line"], brk["right_line"]) == (3, 3)
    assert brk["detail"] == (
        "bank line 3 (bt_22, ref py_22) shows 15.00 USD; platform line 3 (ch_22, ref py_22)"
        " booked 20.00 USD, a difference of 5.00 USD."
    )


def test_sentences_name_lines_amounts_and_dates(found: dict[str, dict[str, object]]) -> None:
    assert found["currency_mismatch|ch_23|bt_23|"]["detail"] == (
        "bank line 4 (bt_23, ref py_23) shows 10.00 EUR; platform line 4 (ch_23, ref py_23)"
        " booked 10.00 USD under the same reference."
    )
    assert found["timing|ch_24|bt_24|"]["detail"] == (
        "bank line 5 (bt_24, ref py_24) shows 30.00 USD on 2024-03-15; platform line 5"
        " (ch_24, ref py_24) booked 30.00 USD on 2024-03-01, 14 days apart:"
        " beyond the matching window."
    )
    assert found["missing_in_external|ch_20||"]["detail"] == (
        "platform line 2 (ch_20, ref py_20) booked 15.00 USD on 2024-03-02;"
        " bank has no matching record."
    )
    assert found["missing_in_platform||bt_21|"]["detail"] == (
        "bank line 2 (bt_21, ref xx_21) shows 8.00 USD on 2024-03-03;"
        " platform has no matching record."
    )


def test_duplicates_say_which_copy_stands(found: dict[str, dict[str, object]]) -> None:
    assert found["duplicate|ch_27||record_id#2"]["detail"] == (
        "platform line 8 repeats the id ch_27 of line 7; only line 7 takes part in matching."
    )
    assert found["duplicate||bt_28x|"]["detail"] == (
        "bank line 11 (bt_28x) repeats line 10 (bt_28): same 11.00 USD, date 2024-03-07"
        " and reference py_28; line 10 is matched."
    )
    assert found["duplicate||bt_26b|"]["detail"] == (
        "bank line 8 (bt_26b) repeats line 7 (bt_26a): same 9.90 USD, date 2024-03-08"
        " and no reference; line 7 is reported on its own."
    )


def test_each_record_is_in_one_match_or_one_break() -> None:
    duck = duck_with(PLATFORM, BANK)
    run_transactions(duck, rules(BY_REFERENCE, BY_AMOUNT_AND_DATE))

    for side, records in (("left", PLATFORM), ("right", BANK)):
        seen = duck.execute(
            f"""SELECT record_id FROM matches WHERE side = '{side}'
            UNION ALL SELECT UNNEST({side}_ids) FROM breaks ORDER BY 1"""
        ).fetchall()
        assert [row[0] for row in seen] == sorted(r.id for r in records)


def test_different_references_never_pair_on_amount_alone() -> None:
    duck = duck_with([R("ch_1", 1500, ref="py_1")], [R("bt_1", 1500, ref="py_2")])

    run_transactions(duck, rules(BY_AMOUNT_AND_DATE))

    assert sorted(breaks(duck)) == ["missing_in_external|ch_1||", "missing_in_platform||bt_1|"]


def test_a_pair_beyond_the_timing_window_is_two_missing_records() -> None:
    duck = duck_with([R("ch_1", 500, day=1, ref="a")], [R("bt_1", 500, day=20, ref="a")])

    run_transactions(duck, rules(BY_REFERENCE, timing_window_s=10 * DAY))

    assert sorted(breaks(duck)) == ["missing_in_external|ch_1||", "missing_in_platform||bt_1|"]


def test_without_a_reference_pass_any_difference_under_one_reference_is_a_mismatch() -> None:
    duck = duck_with([R("ch_1", 500, ref="a")], [R("bt_1", 499, ref="a")])

    run_transactions(duck, rules(BY_AMOUNT_AND_DATE))

    assert list(breaks(duck)) == ["amount_mismatch|ch_1|bt_1|"]


def test_amounts_read_in_each_currency_s_own_digits() -> None:
    duck = duck_with(
        [R("ch_1", 1500, currency="jpy"), R("ch_2", -1234, currency="kwd"), R("ch_3", 5)],
        [],
    )

    run_transactions(duck, rules())

    details = [str(b["detail"]) for b in breaks(duck).values()]
    assert [d.split(" booked ")[1].split(" on ")[0] for d in details] == [
        "1500 JPY",
        "-1.234 KWD",
        "0.05 USD",
    ]


def test_rules_a_hash_join_cannot_serve_are_refused_before_anything_is_written() -> None:
    duck = duck_with([R("ch_1", 1)], [R("bt_1", 1)])
    loose = Pass("near", "tolerance")
    fuzzy = Pass("words", "fuzzy", date_window_s=DAY)

    with pytest.raises(InvalidRequestError) as caught:
        run_transactions(duck, rules(loose, fuzzy))

    assert caught.value.code == "invalid_reconciliation_rules"
    assert caught.value.param == "passes[0].date_window"
    assert "needs a date_window" in caught.value.message
    assert "min_similarity" in caught.value.message
    assert not duck.execute("SELECT * FROM duckdb_tables() WHERE table_name = 'matches'").fetchall()


def test_records_matching_cannot_trust_are_refused_with_every_problem() -> None:
    duck = duck_with([R("ch_1", 1), R("ch_2", 10**15)], [R("bt_1", 1)])
    duck.execute("UPDATE left_records SET currency = NULL WHERE record_id = 'ch_1'")
    duck.execute("UPDATE right_records SET ts = 10000000000000")

    with pytest.raises(InvalidRequestError) as caught:
        run_transactions(duck, rules(BY_REFERENCE))

    assert caught.value.code == "invalid_records"
    message = caught.value.message
    assert "1 left record(s) have no currency." in message
    assert "left amounts beyond 100000000000000 minor units on line(s) 3." in message
    assert "right dates outside years 1-9999 on line(s) 2." in message
    assert not duck.execute("SELECT * FROM duckdb_tables() WHERE table_name = 'breaks'").fetchall()
