"""The month's totals: drift at a cutoff, the partition of every record into matches and
breaks, the same answer whatever order the rows arrive in, and on random ledgers."""

from __future__ import annotations

import random

import duckdb
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from matching_support import (
    ALL_PASSES,
    BY_AMOUNT_AND_DATE,
    BY_REFERENCE,
    DAY,
    MARCH_1,
    R,
    duck_with,
    load,
    ordered_output,
    rules,
)

from remit.analytics.engine import connect
from remit.fde.reconcile.matching import run_transactions
from remit.fde.reconcile.model import CurrencySummary

PLATFORM = [
    R("ch_1", 1000, day=1, ref="a"),
    R("ch_2", 2500, day=10, ref="b"),
    R("ch_3", 700, day=20, ref="c"),  # never reached the bank
    R("ch_4", 9000, day=2, currency="eur", ref="d"),
]
BANK = [
    R("bt_1", 1000, day=1, ref="a"),
    R("bt_2", 2500, day=12, ref="b"),  # after the cutoff
    R("bt_9", 300, day=3),  # a bank charge nobody booked
    R("bt_4", 9000, day=2, currency="eur", ref="d"),
]


def test_drift_at_a_cutoff_counts_what_each_side_had_booked_by_then() -> None:
    duck = duck_with(PLATFORM, BANK)
    cutoff = MARCH_1 + 11 * DAY  # the end of March 11th

    summary = run_transactions(duck, rules(BY_REFERENCE), cutoff_ts=cutoff)

    assert summary.cutoff_ts == cutoff
    assert summary.currencies == (
        CurrencySummary("eur", 1, 1, 1, 1, 9000, 0, 0, 9000, 9000, 0),
        CurrencySummary(
            currency="usd",
            left_records=3,
            right_records=3,
            left_matched=2,
            right_matched=2,
            value_matched=3500,
            value_unmatched_left=700,
            value_unmatched_right=300,
            left_total=3500,  # ch_3 on the 20th is after the cutoff
            right_total=1300,  # bt_2 on the 12th is too
            drift=2200,
        ),
    )
    assert (summary.records_left, summary.records_right) == (4, 4)
    assert summary.match_rate_bp == 7500
    assert summary.breaks_by_type == {
        "missing_in_platform": 1,
        "missing_in_external": 1,
        "amount_mismatch": 0,
        "timing": 0,
        "duplicate": 0,
        "currency_mismatch": 0,
    }


def test_without_a_cutoff_the_balances_are_the_whole_month() -> None:
    summary = run_transactions(duck_with(PLATFORM, BANK), rules(BY_REFERENCE))

    usd = summary.currencies[1]
    assert (usd.left_total, usd.right_total, usd.drift) == (4200, 3800, 400)


def test_same_input_same_output_whatever_the_row_order() -> None:
    first = duck_with(PLATFORM, BANK)
    run_transactions(first, rules(*ALL_PASSES))
    again = duck_with(PLATFORM, BANK)
    run_transactions(again, rules(*ALL_PASSES))
    shuffled = connect()
    for side, records in (("left", PLATFORM), ("right", BANK)):
        lines = list(enumerate(records, start=2))
        random.Random(7).shuffle(lines)
        load(shuffled, side, lines)
    run_transactions(shuffled, rules(*ALL_PASSES))

    assert ordered_output(first) == ordered_output(again) == ordered_output(shuffled)


_record = st.builds(
    lambda n, amount, day, ref, group, desc, currency: R(
        f"x{n}", amount, day, ref, group, desc, currency
    ),
    st.integers(0, 30),
    st.sampled_from([-500, 100, 101, 250, 1000, 1010]),
    st.integers(1, 40),
    st.sampled_from([None, "r1", "r2", "r3", "g1"]),
    st.sampled_from([None, "g1", "g2"]),
    st.sampled_from([None, "coffee", "Coffee!", "tea"]),
    st.sampled_from(["usd", "eur"]),
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_record, max_size=12), st.lists(_record, max_size=12))
def test_every_record_lands_in_exactly_one_match_or_break(platform: list[R], bank: list[R]) -> None:
    duck = duck_with(platform, bank)

    summary = run_transactions(duck, rules(*ALL_PASSES, BY_AMOUNT_AND_DATE))

    for side, records in (("left", platform), ("right", bank)):
        matched = duck.execute(
            f"SELECT record_id FROM matches WHERE side = '{side}' ORDER BY 1"
        ).fetchall()
        unmatched = duck.execute(f"SELECT UNNEST({side}_ids) FROM breaks").fetchall()
        assert len(matched) == len({row[0] for row in matched})  # never in two matches
        assert sorted(row[0] for row in matched + unmatched) == sorted(r.id for r in records)
    for cur in summary.currencies:
        for side, records, unmatched_value in (
            ("left", platform, cur.value_unmatched_left),
            ("right", bank, cur.value_unmatched_right),
        ):
            found = duck.execute(
                "SELECT COUNT(*), COALESCE(SUM(amount), 0) FROM matches"
                " WHERE side = ? AND currency = ?",
                [side, cur.currency],
            ).fetchone()
            assert found is not None
            assert found[0] == (cur.left_matched if side == "left" else cur.right_matched)
            if side == "left":
                assert found[1] == cur.value_matched
            assert found[1] + unmatched_value == sum(
                r.amount for r in records if r.currency == cur.currency
            )
    assert summary.matched_left + sum(len(b) for b in _ids(duck, "left")) == len(platform)


def _ids(duck: duckdb.DuckDBPyConnection, side: str) -> list[list[str]]:
    return [row[0] for row in duck.execute(f"SELECT {side}_ids FROM breaks").fetchall()]
