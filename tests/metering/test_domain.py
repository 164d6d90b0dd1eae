"""Pure metering: strict values, the aggregation laws every formula must keep, and how
windows are tiled by rollup buckets."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from remit.contrib.usage_aggregations import Max, UniqueCount
from remit.metering.domain.aggregations import BUILTINS, Count, Last, PreAggregated, Sum
from remit.metering.domain.buckets import DAY_S, HOUR_S, MINUTE_S, Span, cover
from remit.metering.domain.values import ValueProblem, decimal_text, parse_value

FORMULAS = (*BUILTINS, Max(), UniqueCount())
# Every formula, and every formula over events pre-aggregated in windows of 10 seconds.
ALL = (*FORMULAS, *(PreAggregated(aggregation, 10) for aggregation in FORMULAS))


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("12", Decimal(12)),
        ("-0.25", Decimal("-0.25")),
        ("007", Decimal(7)),
        ("-0", Decimal(0)),
        ("123456789012345", Decimal("123456789012345")),
        ("0.000000000000000000000000000001", Decimal("1E-30")),
        ("1.500000000000000000000", Decimal("1.5")),
    ],
)
def test_values_parse_exactly(text, value):
    assert parse_value(text) == value


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("1e3", "meter_event_invalid_value"),
        ("NaN", "meter_event_invalid_value"),
        ("Infinity", "meter_event_invalid_value"),
        (" 1", "meter_event_invalid_value"),
        ("+1", "meter_event_invalid_value"),
        (".5", "meter_event_invalid_value"),
        ("1.", "meter_event_invalid_value"),
        ("1,5", "meter_event_invalid_value"),
        ("", "meter_event_invalid_value"),
        ("1" * 41, "meter_event_invalid_value"),
        ("1234567890123456", "meter_event_value_too_many_digits"),
        ("1234567890.123456", "meter_event_value_too_many_digits"),
        ("0.1234567890123456", "meter_event_value_too_many_digits"),
    ],
)
def test_values_that_are_not_plain_decimals_are_refused(text, code):
    problem = parse_value(text)
    assert isinstance(problem, ValueProblem) and problem.code == code


@given(
    st.decimals(
        allow_nan=False, allow_infinity=False, places=6, min_value=-(10**8), max_value=10**8
    )
)
def test_decimal_text_round_trips(value):
    assert Decimal(decimal_text(value)) == value
    assert parse_value(decimal_text(value)) == value


def test_hand_folds():
    rows = [(Decimal("2.5"), 100, 1), (Decimal("-1"), 300, 2), (Decimal(4), 200, 3)]
    for aggregation, expected in [
        (Sum(), Decimal("5.5")),
        (Count(), Decimal(3)),
        (Last(), Decimal(-1)),  # latest timestamp, though not received last
        (Max(), Decimal(4)),
    ]:
        state = aggregation.initial()
        for value, timestamp_s, seq in rows:
            state = aggregation.fold(state, value, timestamp_s, seq, {})
        assert aggregation.result(state) == expected, aggregation.formula
    state = UniqueCount().initial()
    for text in ["u1", "u2", "u1"]:
        state = UniqueCount().fold(state, text, 1, 1, {})
    assert UniqueCount().result(state) == 2


def test_last_breaks_timestamp_ties_by_arrival():
    last = Last()
    first = last.fold(last.initial(), Decimal(1), 100, 1, {})
    second = last.fold(last.initial(), Decimal(2), 100, 2, {})
    assert last.result(last.merge(first, second)) == last.result(last.merge(second, first)) == 2


EVENTS = st.lists(
    st.tuples(
        st.decimals(
            allow_nan=False, allow_infinity=False, places=3, min_value=-1000, max_value=1000
        ),
        st.integers(0, 50),
    ),
    max_size=12,
)


@given(EVENTS, st.integers(0, 12), st.integers(0, 12))
def test_folding_in_any_split_and_merging_equals_folding_everything(events, cut_a, cut_b):
    """The law rollups rely on: fold parts separately, merge in any grouping and order."""
    cut_a, cut_b = sorted((min(cut_a, len(events)), min(cut_b, len(events))))
    for aggregation in ALL:
        rows = [
            (str(v) if aggregation.value_kind == "text" else v, t, seq)
            for seq, (v, t) in enumerate(events)
        ]

        def fold(part, aggregation=aggregation):
            state = aggregation.initial()
            for value, timestamp_s, seq in part:
                state = aggregation.fold(state, value, timestamp_s, seq, {})
            return state

        whole = fold(rows)
        a, b, c = fold(rows[:cut_a]), fold(rows[cut_a:cut_b]), fold(rows[cut_b:])
        left = aggregation.merge(aggregation.merge(a, b), c)
        right = aggregation.merge(c, aggregation.merge(b, a))
        assert left == right == whole, aggregation.formula


def test_a_month_is_tiled_by_days_inside_and_hours_and_minutes_at_the_edges():
    day0 = 1_767_225_600
    start, end = day0 + 5 * HOUR_S + 7 * MINUTE_S, day0 + 30 * DAY_S + 2 * HOUR_S + 3 * MINUTE_S
    spans = cover(start, end)
    assert spans == [
        Span(MINUTE_S, start, day0 + 6 * HOUR_S),
        Span(HOUR_S, day0 + 6 * HOUR_S, day0 + DAY_S),
        Span(DAY_S, day0 + DAY_S, day0 + 30 * DAY_S),
        Span(HOUR_S, day0 + 30 * DAY_S, day0 + 30 * DAY_S + 2 * HOUR_S),
        Span(MINUTE_S, day0 + 30 * DAY_S + 2 * HOUR_S, end),
    ]


@given(st.integers(0, 3 * 24 * 60), st.integers(0, 3 * 24 * 60))
def test_cover_tiles_exactly_once(a, b):
    start, end = sorted((1_767_225_600 + a * MINUTE_S, 1_767_225_600 + b * MINUTE_S))
    minutes: list[int] = []
    for span in cover(start, end):
        for bucket in range(span.start_s, span.end_s, span.grain_s):
            minutes += range(bucket, bucket + span.grain_s, MINUTE_S)
    assert sorted(minutes) == list(range(start, end, MINUTE_S))
    assert len(cover(start, end)) <= 5
