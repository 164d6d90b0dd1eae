"""Café Lumen's March: the card platform's payments (left) against the bank statement
(right), one pass kind at a time, then the cases where choosing well matters: ties and
records competing for the same partner."""

from __future__ import annotations

from matching_support import (
    ALL_PASSES,
    BY_AMOUNT_AND_DATE,
    BY_DESCRIPTION,
    BY_REFERENCE,
    DAY,
    HOUR,
    PAYOUTS,
    R,
    breaks,
    duck_with,
    matches,
    rules,
)

from remit.fde.reconcile.matching import run_transactions
from remit.fde.reconcile.model import AmountTolerance, Pass


def test_each_pass_kind_matches_what_it_is_for() -> None:
    platform = [
        R("ch_1", 1250, day=1, ref="py_1"),  # the bank took a 36-cent fee: within 350 bp
        R("ch_2", 900, day=3),  # no reference on either side
        R("ch_3", 1000, day=5, group="po_1"),  # three payments paid out together
        R("ch_4", 2000, day=5, group="po_1"),
        R("ch_5", 3000, day=6, group="po_1"),
        R("ch_6", 5000, day=8, ref="ch_6"),  # settled in two bank lines
        R("ch_7", 10000, day=10),  # 0.5% short: a conversion
        R("ch_8", 4321, day=12, desc="Table 12 - Lunch"),  # 71 off, only the words agree
    ]
    bank = [
        R("bt_1", 1214, day=2, ref="py_1"),
        R("bt_2", 900, day=4),
        R("bt_3", 6000, day=7, ref="po_1"),
        R("bt_6a", 2500, day=9, group="ch_6"),
        R("bt_6b", 2500, day=9, group="ch_6"),
        R("bt_7", 9950, day=11),
        R("bt_8", 4250, day=13, desc="TABLE 12 LUNCH."),
    ]
    duck = duck_with(platform, bank)

    summary = run_transactions(duck, rules(*ALL_PASSES))

    assert matches(duck) == {
        ("by_reference", ("ch_1",), ("bt_1",)),
        ("by_amount_and_date", ("ch_2",), ("bt_2",)),
        ("payouts", ("ch_3", "ch_4", "ch_5"), ("bt_3",)),
        ("splits", ("ch_6",), ("bt_6a", "bt_6b")),
        ("near_amount", ("ch_7",), ("bt_7",)),
        ("by_description", ("ch_8",), ("bt_8",)),
    }
    assert duck.execute("SELECT COUNT(*) FROM breaks").fetchone() == (0,)
    assert (summary.matched_pairs, summary.matched_left, summary.matched_right) == (6, 8, 7)
    assert summary.match_rate_bp == 10_000


def test_match_numbers_are_the_first_left_line_and_rows_carry_amounts() -> None:
    duck = duck_with(
        [R("ch_3", 1000, group="po_1"), R("ch_4", 2000, group="po_1"), R("ch_1", 700, ref="a")],
        [R("bt_1", 700, ref="a"), R("bt_3", 3000, ref="po_1")],
    )

    run_transactions(duck, rules(BY_REFERENCE, PAYOUTS))

    assert duck.execute("SELECT * FROM matches ORDER BY match_no, side, record_id").fetchall() == [
        (2, "payouts", "left", "ch_3", 1000, "usd", 0),
        (2, "payouts", "left", "ch_4", 2000, "usd", 0),
        (2, "payouts", "right", "bt_3", 3000, "usd", 0),
        (4, "by_reference", "left", "ch_1", 700, "usd", 0),
        (4, "by_reference", "right", "bt_1", 700, "usd", 0),
    ]


def test_a_reference_pass_refuses_amounts_beyond_its_tolerance_and_dates_beyond_its_window() -> (
    None
):
    duck = duck_with(
        [R("ch_1", 10000, day=1, ref="a"), R("ch_2", 10000, day=1, ref="b")],
        [R("bt_1", 9600, day=1, ref="a"), R("bt_2", 10000, day=7, ref="b")],  # 400 bp; 6 days
    )

    summary = run_transactions(duck, rules(BY_REFERENCE))

    assert matches(duck) == set()
    assert summary.breaks_by_type["amount_mismatch"] == 1
    assert summary.breaks_by_type["timing"] == 1


def test_group_sums_within_tolerance_match_and_a_group_outside_does_not() -> None:
    payouts = Pass("payouts", "group", many="left", tolerance=AmountTolerance(minor=25))
    duck = duck_with(
        [
            R("ch_1", 1000, group="po_1"),
            R("ch_2", 1000, group="po_1"),
            R("ch_3", 1000, group="po_2"),
            R("ch_4", 1000, group="po_2"),
        ],
        [R("bt_1", 1980, ref="po_1"), R("bt_2", 1970, ref="po_2")],  # fees of 20 and 30
    )

    run_transactions(duck, rules(payouts))

    assert matches(duck) == {("payouts", ("ch_1", "ch_2"), ("bt_1",))}


def test_each_group_takes_one_record_and_each_record_one_group() -> None:
    """Two payouts with the same sum both name ``po_1`` in different currencies: the bank
    line in euros only sees the euro group."""
    duck = duck_with(
        [
            R("ch_1", 500, group="po_1"),
            R("ch_2", 500, group="po_1"),
            R("ch_3", 500, group="po_1", currency="eur"),
            R("ch_4", 500, group="po_1", currency="eur"),
        ],
        [R("bt_1", 1000, ref="po_1", currency="eur"), R("bt_2", 1000, ref="po_1")],
    )

    run_transactions(duck, rules(PAYOUTS))

    assert matches(duck) == {
        ("payouts", ("ch_1", "ch_2"), ("bt_2",)),
        ("payouts", ("ch_3", "ch_4"), ("bt_1",)),
    }


def test_a_tie_goes_to_the_lower_id_and_is_reported() -> None:
    duck = duck_with([R("ch_9", 700, day=15)], [R("bt_9b", 700, day=16), R("bt_9a", 700, day=16)])

    summary = run_transactions(duck, rules(BY_AMOUNT_AND_DATE))

    assert duck.execute(
        "SELECT record_id, alternatives FROM matches ORDER BY side, record_id"
    ).fetchall() == [("ch_9", 1), ("bt_9a", 1)]
    assert summary.ties == 1
    assert summary.breaks_by_type["duplicate"] == 1  # bt_9b repeats the matched bt_9a


def test_mutual_best_pairs_where_first_match_would_strand_a_payment() -> None:
    """A1 comes first and B1 is its first candidate; taking it would leave A2 with only
    B2, which is out of A2's window. Mutual best pairs each with its nearest."""
    window = Pass("by_amount_and_date", "amount_date", date_window_s=2 * DAY)
    platform = [R("A1", 100, day=2, at=0), R("A2", 100, day=4, at=12 * HOUR)]
    bank = [R("B1", 100, day=3, at=12 * HOUR), R("B2", 100, day=1, at=19 * HOUR)]
    duck = duck_with(platform, bank)

    summary = run_transactions(duck, rules(window))

    assert matches(duck) == {
        ("by_amount_and_date", ("A1",), ("B2",)),
        ("by_amount_and_date", ("A2",), ("B1",)),
    }
    assert summary.ties == 0


def test_rounds_accept_the_closest_pairs_first_until_nothing_is_contested() -> None:
    """Payments every other day, bank lines a day and a few hours later. The closest
    pairs (ch_4-bt_3 at 22 hours, ch_3-bt_2 at 23, ch_0-bt_0 at 24) go in the first
    round; ch_2-bt_1 in the second; ch_1 and bt_4 have nobody left within the window, so
    the two are reported as one payment booked late (timing)."""
    window = Pass("by_amount_and_date", "amount_date", date_window_s=3 * DAY)
    platform = [R(f"ch_{i}", 100, day=1 + 2 * i, at=i * HOUR) for i in range(5)]
    bank = [R(f"bt_{i}", 100, day=2 + 2 * i, at=2 * i * HOUR) for i in range(5)]
    duck = duck_with(platform, bank)

    run_transactions(duck, rules(window))

    assert matches(duck) == {
        ("by_amount_and_date", ("ch_0",), ("bt_0",)),
        ("by_amount_and_date", ("ch_2",), ("bt_1",)),
        ("by_amount_and_date", ("ch_3",), ("bt_2",)),
        ("by_amount_and_date", ("ch_4",), ("bt_3",)),
    }
    assert list(breaks(duck)) == ["timing|ch_1|bt_4|"]


def test_later_passes_only_see_what_earlier_passes_left() -> None:
    """ch_1's bank line is matched by reference; the amount pass must not take it again
    for ch_2, which has the same amount and date."""
    duck = duck_with(
        [R("ch_1", 500, ref="py_1"), R("ch_2", 500)],
        [R("bt_1", 500, ref="py_1")],
    )

    run_transactions(duck, rules(BY_REFERENCE, BY_AMOUNT_AND_DATE))

    assert matches(duck) == {("by_reference", ("ch_1",), ("bt_1",))}
    assert duck.execute("SELECT type, left_ids FROM breaks").fetchall() == [
        ("missing_in_external", ["ch_2"])
    ]


def test_fuzzy_needs_both_descriptions_and_enough_similarity() -> None:
    duck = duck_with(
        [R("ch_1", 1000, desc="Espresso bar"), R("ch_2", 2000, desc=None)],
        [R("bt_1", 1000, desc="Croissant shop"), R("bt_2", 2000, desc="anything")],
    )

    run_transactions(duck, rules(BY_DESCRIPTION))

    assert matches(duck) == set()
