"""Billing periods: a grid of boundaries through the anchor, month ends clamped, never drifting."""

from __future__ import annotations

import calendar
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from remit.billing.domain.periods import (
    INTERVALS,
    anchor_from_config,
    boundary,
    next_boundary,
    period_at,
)

EXAMPLES = settings(max_examples=300, deadline=None)


def ts(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0) -> int:
    return calendar.timegm((year, month, day, hour, minute, second))


def civil(at_ts: int) -> datetime:
    return datetime.fromtimestamp(at_ts, tz=UTC)


# 1970 .. 2100: Stripe's timestamps, with leap years and 2100 (not a leap year) inside.
timestamps = st.integers(min_value=0, max_value=ts(2100, 12, 31))
intervals = st.sampled_from(INTERVALS)
counts = st.integers(min_value=1, max_value=36)
steps = st.integers(min_value=-40, max_value=40)


def test_a_jan_31_anchor_clamps_to_each_month_end_and_comes_back_to_the_31st():
    anchor = ts(2024, 1, 31, 9, 30, 15)
    got = [boundary(anchor, "month", 1, n) for n in range(0, 14)]
    assert got == [
        ts(2024, 1, 31, 9, 30, 15),
        ts(2024, 2, 29, 9, 30, 15),  # leap year
        ts(2024, 3, 31, 9, 30, 15),  # back to the 31st: computed from the anchor
        ts(2024, 4, 30, 9, 30, 15),
        ts(2024, 5, 31, 9, 30, 15),
        ts(2024, 6, 30, 9, 30, 15),
        ts(2024, 7, 31, 9, 30, 15),
        ts(2024, 8, 31, 9, 30, 15),
        ts(2024, 9, 30, 9, 30, 15),
        ts(2024, 10, 31, 9, 30, 15),
        ts(2024, 11, 30, 9, 30, 15),
        ts(2024, 12, 31, 9, 30, 15),
        ts(2025, 1, 31, 9, 30, 15),
        ts(2025, 2, 28, 9, 30, 15),  # not a leap year
    ]


def test_negative_steps_walk_back_with_the_same_clamping():
    anchor = ts(2024, 3, 31)
    assert boundary(anchor, "month", 1, -1) == ts(2024, 2, 29)
    assert boundary(anchor, "month", 1, -2) == ts(2024, 1, 31)
    assert boundary(anchor, "month", 1, -13) == ts(2023, 2, 28)
    assert boundary(anchor, "week", 2, -1) == anchor - 14 * 86_400
    assert boundary(anchor, "day", 1, -1) == ts(2024, 3, 30)


def test_a_feb_29_yearly_anchor_lands_on_feb_28_between_leap_years():
    anchor = ts(2024, 2, 29, 12)
    assert boundary(anchor, "year", 1, 1) == ts(2025, 2, 28, 12)
    assert boundary(anchor, "year", 1, 3) == ts(2027, 2, 28, 12)
    assert boundary(anchor, "year", 1, 4) == ts(2028, 2, 29, 12)
    assert boundary(anchor, "year", 1, -1) == ts(2023, 2, 28, 12)
    # 2100 is divisible by 4 but not a leap year.
    assert boundary(anchor, "year", 4, 19) == ts(2100, 2, 28, 12)
    assert boundary(anchor, "year", 2, 2) == ts(2028, 2, 29, 12)


def test_interval_counts_multiply_the_step():
    anchor = ts(2025, 11, 30)
    assert boundary(anchor, "month", 3, 1) == ts(2026, 2, 28)
    assert boundary(anchor, "month", 3, 2) == ts(2026, 5, 30)
    assert boundary(anchor, "month", 6, 1) == ts(2026, 5, 30)
    assert boundary(anchor, "week", 2, 3) == anchor + 6 * 7 * 86_400
    assert boundary(anchor, "day", 10, 1) == ts(2025, 12, 10)
    assert boundary(anchor, "year", 2, 1) == ts(2027, 11, 30)


def test_period_at_finds_the_period_of_a_moment_on_either_side_of_the_anchor():
    anchor = ts(2024, 1, 31)
    assert period_at(anchor, "month", 1, ts(2024, 3, 15)) == (ts(2024, 2, 29), ts(2024, 3, 31))
    assert period_at(anchor, "month", 1, ts(2024, 3, 31)) == (ts(2024, 3, 31), ts(2024, 4, 30))
    assert period_at(anchor, "month", 1, ts(2024, 3, 31) - 1) == (ts(2024, 2, 29), ts(2024, 3, 31))
    assert period_at(anchor, "month", 1, ts(2023, 12, 1)) == (ts(2023, 11, 30), ts(2023, 12, 31))
    assert period_at(anchor, "year", 1, ts(2024, 1, 30)) == (ts(2023, 1, 31), anchor)


def test_next_boundary_is_strictly_after():
    anchor = ts(2024, 1, 31)
    assert next_boundary(anchor, "month", 1, anchor) == ts(2024, 2, 29)
    assert next_boundary(anchor, "month", 1, anchor - 1) == anchor
    assert next_boundary(anchor, "month", 1, ts(2024, 2, 29) - 1) == ts(2024, 2, 29)


def test_bad_grids_are_refused():
    with pytest.raises(ValueError):
        boundary(0, "fortnight", 1, 1)
    with pytest.raises(ValueError):
        boundary(0, "month", 0, 1)
    with pytest.raises(TypeError):
        boundary(0, "month", 1, True)
    with pytest.raises(TypeError):
        period_at(0, "day", 1, 1.5)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        boundary(ts(2024, 1, 1), "year", 1, 9000)


@EXAMPLES
@given(timestamps, intervals, counts, steps)
def test_boundaries_strictly_increase(anchor, interval, count, n):
    assert boundary(anchor, interval, count, n) < boundary(anchor, interval, count, n + 1)
    assert boundary(anchor, interval, count, 0) == anchor


@EXAMPLES
@given(timestamps, st.sampled_from(["month", "year"]), counts, steps)
def test_calendar_boundaries_keep_day_and_time_clamped_to_the_month(anchor, interval, count, n):
    start, got = civil(anchor), civil(boundary(anchor, interval, count, n))
    months = n * count * (12 if interval == "year" else 1)
    assert (got.year * 12 + got.month) - (start.year * 12 + start.month) == months
    assert got.day == min(start.day, calendar.monthrange(got.year, got.month)[1])
    assert got.time() == start.time()


@EXAMPLES
@given(timestamps, intervals, counts, timestamps)
def test_period_at_contains_the_moment_and_sits_on_the_grid(anchor, interval, count, at):
    start, end = period_at(anchor, interval, count, at)
    assert start <= at < end
    assert next_boundary(anchor, interval, count, at) == end
    # Both ends are consecutive boundaries: the period of `start` is this very period.
    assert period_at(anchor, interval, count, start) == (start, end)
    assert period_at(anchor, interval, count, end)[0] == end
    if anchor <= at < boundary(anchor, interval, count, 1):
        assert (start, end) == (anchor, boundary(anchor, interval, count, 1))


def test_anchor_config_picks_the_next_matching_day_this_month_or_the_next():
    start = ts(2025, 1, 10, 8, 15, 30)
    assert anchor_from_config(start, 15, None, None, None, None) == ts(2025, 1, 15, 8, 15, 30)
    assert anchor_from_config(start, 5, 0, 0, 0, None) == ts(2025, 2, 5)
    # Day 31 clamps to February's end, keeping the given time.
    assert anchor_from_config(ts(2025, 2, 1), 31, 12, None, None, None) == ts(2025, 2, 28, 12)
    # Strictly after: the very moment of the start is not its own anchor.
    assert anchor_from_config(start, 10, 8, 15, 30, None) == ts(2025, 2, 10, 8, 15, 30)
    assert anchor_from_config(start, 10, 8, 15, 31, None) == ts(2025, 1, 10, 8, 15, 31)


def test_anchor_config_with_a_month_picks_the_next_such_date_this_year_or_the_next():
    start = ts(2025, 3, 1)
    assert anchor_from_config(start, 29, 0, 0, 0, 2) == ts(2026, 2, 28)
    assert anchor_from_config(start, 15, 0, 0, 0, 6) == ts(2025, 6, 15)
    assert anchor_from_config(ts(2027, 3, 1), 29, 0, 0, 0, 2) == ts(2028, 2, 29)
    with pytest.raises(ValueError):
        anchor_from_config(start, 32, None, None, None, None)
    with pytest.raises(ValueError):
        anchor_from_config(start, 1, 24, None, None, None)
    with pytest.raises(ValueError):
        anchor_from_config(start, 1, None, None, None, 13)


@EXAMPLES
@given(
    timestamps,
    st.integers(1, 31),
    st.none() | st.integers(0, 23),
    st.none() | st.integers(0, 59),
    st.none() | st.integers(0, 59),
    st.none() | st.integers(1, 12),
)
def test_anchor_config_is_the_first_match_after_the_start(start, day, hour, minute, second, month):
    got = anchor_from_config(start, day, hour, minute, second, month)
    at, began = civil(got), civil(start)
    assert got > start
    assert at.day == min(day, calendar.monthrange(at.year, at.month)[1])
    assert at.hour == (began.hour if hour is None else hour)
    assert at.minute == (began.minute if minute is None else minute)
    assert at.second == (began.second if second is None else second)
    if month is not None:
        assert at.month == month
        assert got - start <= 366 * 86_400
    else:
        assert got - start <= 31 * 86_400 + 86_400
