"""Revenue recognition's pure core: schedules and splits are exact, whatever the numbers."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from remit.ledger.revrec.domain import (
    SECONDS_PER_DAY,
    Schedule,
    ServiceDays,
    Standing,
    day_of,
    due,
    iso_day,
    parse_day,
    reduce,
    service_days,
)

JAN_15 = parse_day("2026-01-15")
amounts = st.integers(min_value=0, max_value=10**12)
lengths = st.integers(min_value=1, max_value=800)


def ts(day: int, hour: int = 0) -> int:
    return day * SECONDS_PER_DAY + hour * 3600


def test_days_are_utc_days_and_read_back():
    assert iso_day(JAN_15) == "2026-01-15"
    assert day_of(ts(JAN_15, 23) + 3599) == JAN_15
    assert day_of(ts(JAN_15 + 1)) == JAN_15 + 1
    for bad in ("2026-1-15", "20260115", "2026-01-15T00:00"):
        with pytest.raises(ValueError):
            parse_day(bad)


def test_a_started_day_counts_whole_and_the_day_a_period_ends_in_does_not():
    # Stripe's "amortize by day": Jun 15 12:00 -> Oct 13 12:00 is Jun 15..Oct 12.
    days = service_days(ts(parse_day("2026-06-15"), 12), ts(parse_day("2026-10-13"), 12))
    assert (days.first, days.last, days.count) == (
        parse_day("2026-06-15"),
        parse_day("2026-10-12"),
        120,
    )
    daily = Schedule.straight_line(12000, "usd", days).daily()
    june = sum(daily[:16])
    october = sum(daily[-12:])
    assert (june, october) == (1600, 1200)
    # A period inside one day is that day; a period that ends before it starts is no period.
    assert service_days(ts(JAN_15, 9), ts(JAN_15, 17)) == ServiceDays(JAN_15, JAN_15 + 1)
    with pytest.raises(ValueError):
        service_days(ts(JAN_15, 1), ts(JAN_15))


def test_stripes_monthly_example_recognizes_17_in_january_and_14_in_february():
    days = service_days(ts(JAN_15), ts(parse_day("2026-02-15")))
    schedule = Schedule.straight_line(3100, "usd", days)
    assert schedule.cumulative(parse_day("2026-01-31")) == 1700
    assert schedule.cumulative(parse_day("2026-02-14")) == 3100
    assert set(schedule.daily()) == {100}


def test_stripes_annual_example_recognizes_each_month_by_its_days():
    year = service_days(ts(parse_day("2026-01-01")), ts(parse_day("2027-01-01")))
    schedule = Schedule.straight_line(36500, "usd", year)
    month_ends = [parse_day(d) for d in ("2026-01-31", "2026-02-28", "2026-03-31")]
    cumulative = [schedule.cumulative(d) for d in month_ends]
    assert [b - a for a, b in zip([0, *cumulative], cumulative, strict=False)] == [3100, 2800, 3100]


@given(amounts, lengths, st.integers(min_value=0, max_value=20000))
def test_a_daily_schedule_sums_exactly_never_negative_and_cumulates_monotonically(
    amount, length, first
):
    schedule = Schedule.straight_line(amount, "usd", ServiceDays(first, first + length))
    daily = schedule.daily()
    assert len(daily) == length
    assert sum(daily) == amount
    assert min(daily) >= 0
    # Straight line: no two days differ by more than one minor unit.
    assert max(daily) - min(daily) <= 1
    cumulative = [schedule.cumulative(d) for d in range(first - 1, first + length + 1)]
    assert cumulative == sorted(cumulative)
    assert (cumulative[0], cumulative[-1]) == (0, amount)


@given(st.integers(min_value=-(10**9), max_value=-1), lengths)
def test_a_credit_line_spreads_its_negative_amount_the_same_way(amount, length):
    schedule = Schedule.straight_line(amount, "usd", ServiceDays(100, 100 + length))
    daily = schedule.daily()
    assert sum(daily) == amount and max(daily) <= 0
    assert [-d for d in daily] == Schedule.straight_line(-amount, "usd", schedule.days).daily()


@st.composite
def reduced_obligations(draw):
    """An obligation, some runs and some reductions in time order, as they may happen."""
    amount = draw(st.integers(min_value=1, max_value=10**9))
    length = draw(st.integers(min_value=1, max_value=400))
    first = 1000
    standing = Standing(
        Schedule.straight_line(amount, "usd", ServiceDays(first, first + length)), first, 0
    )
    watermark = None
    day = first
    for _ in range(draw(st.integers(min_value=1, max_value=6))):
        day += draw(st.integers(min_value=0, max_value=length // 2 + 1))
        if draw(st.booleans()):
            owed = due(standing.schedule, standing.recognized, first, watermark, day)
            standing = Standing(
                standing.schedule,
                first,
                standing.recognized + owed.total,
                standing.contra,
                standing.released,
            )
            watermark = day
        elif standing.reducible:
            share = draw(st.integers(min_value=1, max_value=standing.reducible))
            part = reduce(standing, share, day, watermark)
            assert part.contra + part.release == share
            standing = Standing(
                standing.schedule.with_segment(part.segment),
                first,
                standing.recognized,
                standing.contra + part.contra,
                standing.released + part.release,
            )
    return standing, watermark


@given(reduced_obligations())
def test_reductions_split_exactly_and_recognition_ends_at_what_is_left(case):
    standing, watermark = case
    schedule = standing.schedule
    # Recognize everything that remains, far past the end.
    rest = due(schedule, standing.recognized, schedule.days.first, watermark, 10**6)
    assert all(amount > 0 for _, amount in rest.days) and rest.catch_up >= 0
    recognized = standing.recognized + rest.total
    assert recognized == schedule.final == schedule.amount - standing.released
    # What was deferred is either recognized or released; what was earned, net of contra,
    # plus what was given back is the whole amount.
    assert recognized + standing.released == schedule.amount
    assert (recognized - standing.contra) + (standing.contra + standing.released) == (
        schedule.amount
    )
    cumulative = [schedule.cumulative(d) for d in range(schedule.days.first, schedule.days.end)]
    assert cumulative == sorted(cumulative)


def test_a_refund_after_half_the_period_offsets_half_and_releases_half():
    standing = Standing(Schedule.straight_line(3000, "usd", ServiceDays(0, 30)), 0, 1500)
    part = reduce(standing, 3000, 15, watermark=14)
    assert (part.contra, part.release) == (1500, 1500)
    assert part.segment.total == 1500  # nothing more to recognize after day 14
    later = due(standing.schedule.with_segment(part.segment), 1500, 0, 14, 40)
    assert later.total == 0


def test_a_refund_while_recognition_lags_counts_the_days_already_earned():
    # Nothing posted yet, but the 10 days before day 10 have been earned.
    standing = Standing(Schedule.straight_line(3000, "usd", ServiceDays(0, 30)), 0, 0)
    part = reduce(standing, 1500, 10, watermark=None)
    assert (part.contra, part.release) == (500, 1000)
    schedule = standing.schedule.with_segment(part.segment)
    # The lagging days keep their amounts; the rest is spread over the 20 days left.
    assert schedule.cumulative(9) == 1000
    assert schedule.final == 2000
    assert schedule.daily()[10:] == [50] * 20


def test_reductions_refuse_what_they_cannot_take():
    standing = Standing(Schedule.straight_line(100, "usd", ServiceDays(0, 10)), 5, 0)
    with pytest.raises(ValueError):
        reduce(standing, 101, 5, None)
    with pytest.raises(ValueError):
        reduce(standing, 10, 4, None)  # before the booking
    # Booked late, the days before the booking were earned all the same.
    assert reduce(standing, 100, 5, None).contra == 50
    # On the day service starts nothing is earned yet: all of it is released.
    fresh = Standing(standing.schedule, 0, 0)
    assert reduce(fresh, 100, 0, None).release == 100
    credit = Standing(Schedule.straight_line(-100, "usd", ServiceDays(0, 10)), 0, 0)
    with pytest.raises(ValueError):
        reduce(credit, 10, 5, None)
