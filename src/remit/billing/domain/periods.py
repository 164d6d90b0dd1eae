"""Billing periods as a grid of boundaries through an anchor, in UTC Unix seconds.

Pure: no I/O, no clock. Day and week steps are fixed lengths. Month and year steps keep the
anchor's day of month and time of day, clamped to the last day of a shorter month, and every
boundary is computed from the anchor itself, never from the boundary before it: an anchor on
Jan 31 gives Feb 28 (Feb 29 in a leap year) and then Mar 31 again, and an anchor on Feb 29
gives Feb 28 in the years between leap years. Clamping keeps each boundary inside its own
month, so boundaries are strictly increasing in ``n``.
"""

from __future__ import annotations

import calendar
from datetime import date

__all__ = [
    "INTERVALS",
    "MAX_INTERVAL_COUNT",
    "anchor_from_config",
    "boundary",
    "next_boundary",
    "period_at",
]

INTERVALS = ("day", "week", "month", "year")
# Stripe allows at most three years per period; a bound keeps month arithmetic far from the
# calendar's limits for any realistic n.
MAX_INTERVAL_COUNT = 1095
_DAY_S = 86_400
_FIXED_S = {"day": _DAY_S, "week": 7 * _DAY_S}
_MONTHS = {"month": 1, "year": 12}
_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()


def boundary(anchor_ts: int, interval: str, interval_count: int, n: int) -> int:
    """The ``n``-th period boundary after ``anchor_ts`` (``n`` may be negative; 0 is the anchor)."""
    _check_grid(anchor_ts, interval, interval_count)
    _require_int(n, "n")
    if interval in _FIXED_S:
        return anchor_ts + n * interval_count * _FIXED_S[interval]
    return _shift_months(anchor_ts, n * interval_count * _MONTHS[interval])


def period_at(anchor_ts: int, interval: str, interval_count: int, at_ts: int) -> tuple[int, int]:
    """The period ``[start, end)`` on the grid through ``anchor_ts`` that contains ``at_ts``."""
    _check_grid(anchor_ts, interval, interval_count)
    _require_int(at_ts, "at_ts")
    n = _estimate(anchor_ts, interval, interval_count, at_ts)
    # The estimate is exact for fixed steps and off by at most one for clamped months.
    while boundary(anchor_ts, interval, interval_count, n) > at_ts:
        n -= 1
    while boundary(anchor_ts, interval, interval_count, n + 1) <= at_ts:
        n += 1
    start_ts = boundary(anchor_ts, interval, interval_count, n)
    end_ts = boundary(anchor_ts, interval, interval_count, n + 1)
    assert start_ts <= at_ts < end_ts, (anchor_ts, interval, interval_count, at_ts)
    return start_ts, end_ts


def next_boundary(anchor_ts: int, interval: str, interval_count: int, after_ts: int) -> int:
    """The first boundary strictly after ``after_ts``."""
    return period_at(anchor_ts, interval, interval_count, after_ts)[1]


def anchor_from_config(
    start_ts: int,
    day_of_month: int,
    hour: int | None,
    minute: int | None,
    second: int | None,
    month: int | None,
) -> int:
    """Stripe's ``billing_cycle_anchor_config``: the first matching moment strictly after
    ``start_ts``. The day of month is clamped to the month's last day; an unspecified hour,
    minute or second takes ``start_ts``'s; without ``month`` any month matches.
    """
    _require_int(start_ts, "start_ts")
    _require_range(day_of_month, "day_of_month", 1, 31)
    start = _civil(start_ts)
    clock = (
        start[3] if hour is None else _require_range(hour, "hour", 0, 23),
        start[4] if minute is None else _require_range(minute, "minute", 0, 59),
        start[5] if second is None else _require_range(second, "second", 0, 59),
    )
    if month is None:
        # This month's moment, else next month's: the latter is always after start_ts.
        candidates = [(start[0], start[1]), _add_months(start[0], start[1], 1)]
    else:
        _require_range(month, "month", 1, 12)
        candidates = [(start[0], month), (start[0] + 1, month)]
    for year, month_number in candidates:
        day = min(day_of_month, calendar.monthrange(year, month_number)[1])
        moment_ts = _timestamp(year, month_number, day, *clock)
        if moment_ts > start_ts:
            return moment_ts
    raise AssertionError((start_ts, day_of_month, month))  # the last candidate is always later


def _estimate(anchor_ts: int, interval: str, interval_count: int, at_ts: int) -> int:
    if interval in _FIXED_S:
        return (at_ts - anchor_ts) // (interval_count * _FIXED_S[interval])
    anchor, at = _civil(anchor_ts), _civil(at_ts)
    months = (at[0] - anchor[0]) * 12 + (at[1] - anchor[1])
    return months // (interval_count * _MONTHS[interval])


def _shift_months(anchor_ts: int, months: int) -> int:
    year, month, day, hour, minute, second = _civil(anchor_ts)
    year, month = _add_months(year, month, months)
    if not 1 <= year <= 9999:
        raise ValueError(f"a boundary {months} months from {anchor_ts} is out of range")
    day = min(day, calendar.monthrange(year, month)[1])
    return _timestamp(year, month, day, hour, minute, second)


def _add_months(year: int, month: int, months: int) -> tuple[int, int]:
    index = year * 12 + (month - 1) + months
    return index // 12, index % 12 + 1


def _civil(ts: int) -> tuple[int, int, int, int, int, int]:
    days, seconds = divmod(ts, _DAY_S)
    day = date.fromordinal(_EPOCH_ORDINAL + days)
    hour, rest = divmod(seconds, 3600)
    return day.year, day.month, day.day, hour, rest // 60, rest % 60


def _timestamp(year: int, month: int, day: int, hour: int, minute: int, second: int) -> int:
    days = date(year, month, day).toordinal() - _EPOCH_ORDINAL
    return days * _DAY_S + hour * 3600 + minute * 60 + second


def _check_grid(anchor_ts: int, interval: str, interval_count: int) -> None:
    _require_int(anchor_ts, "anchor_ts")
    if interval not in INTERVALS:
        raise ValueError(f"interval must be one of {INTERVALS}, not {interval!r}")
    _require_range(interval_count, "interval_count", 1, MAX_INTERVAL_COUNT)


def _require_range(value: int, name: str, low: int, high: int) -> int:
    _require_int(value, name)
    if not low <= value <= high:
        raise ValueError(f"{name} must be {low} to {high}, not {value}")
    return value


def _require_int(value: object, name: str) -> None:
    # bool is an int subclass; a True timestamp is always a bug.
    if type(value) is not int:
        raise TypeError(f"{name} must be an int, not {type(value).__name__}")
