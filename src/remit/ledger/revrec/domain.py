"""Revenue recognition as values: service days, straight-line schedules, and reductions.

Pure: no I/O, no clock. Every split of money goes through ``Money.allocate`` (largest
remainder), so a schedule sums exactly to what it spreads and a split to what it splits.

Days are whole UTC days counted from 1970-01-01. A line's service period covers the
day its start falls in up to, not including, the day its end falls in: a period from
Jan 15 00:00 to Feb 15 00:00 is the 31 days Jan 15..Feb 14, and one from Jun 15 12:00
to Oct 13 12:00 is Jun 15..Oct 12 (Stripe's "amortize by day": a started day counts
whole, the day the period ends in does not). A period inside a single day is that day.

A schedule is straight-line: the amount split evenly over the days, the few leftover
minor units going to the earliest days. A refund or credit note re-plans what is left
from its own day on (or from the first day not yet recognized) as a new *segment*; the
days before keep their amounts.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass, replace
from datetime import date, timedelta
from functools import lru_cache

from remit.primitives.money import MAX_ALLOCATION_SHARES, Money

SECONDS_PER_DAY = 86_400
MAX_SERVICE_DAYS = MAX_ALLOCATION_SHARES
_EPOCH = date(1970, 1, 1)
_ISO_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", re.ASCII)


def day_of(ts: int) -> int:
    """The UTC day a Unix timestamp falls in."""
    if type(ts) is not int or ts < 0:
        raise ValueError(f"timestamps are non-negative int Unix seconds, not {ts!r}")
    return ts // SECONDS_PER_DAY


def day_end_ts(day: int) -> int:
    """The last second of ``day``: when that day's revenue has been earned in full."""
    return (day + 1) * SECONDS_PER_DAY - 1


def iso_day(day: int) -> str:
    return (_EPOCH + timedelta(days=day)).isoformat()


def parse_day(text: str) -> int:
    """``"2026-01-31"`` -> its day number; only that exact form is accepted."""
    if not _ISO_DAY.fullmatch(text):
        raise ValueError(f"a day is written YYYY-MM-DD, not {text!r}")
    return (date.fromisoformat(text) - _EPOCH).days


@dataclass(frozen=True, slots=True)
class ServiceDays:
    """Days ``first`` up to, not including, ``end``."""

    first: int
    end: int

    def __post_init__(self) -> None:
        if not 0 < self.end - self.first <= MAX_SERVICE_DAYS:
            raise ValueError(f"a service period spans 1 to {MAX_SERVICE_DAYS} days")

    @property
    def last(self) -> int:
        return self.end - 1

    @property
    def count(self) -> int:
        return self.end - self.first


def service_days(period_start_ts: int, period_end_ts: int) -> ServiceDays:
    if period_end_ts < period_start_ts:
        raise ValueError("a service period ends at or after its start")
    first = day_of(period_start_ts)
    return ServiceDays(first, max(day_of(period_end_ts), first + 1))


def point_in_time(day: int) -> ServiceDays:
    """A line without a service period is earned on one day: the day it is booked."""
    return ServiceDays(day, day + 1)


@dataclass(frozen=True, slots=True)
class Segment:
    """From ``start_day`` on, the schedule spreads ``total - anchor`` evenly over the days
    left; ``anchor`` is what the days before ``start_day`` recognize, ``total`` the end."""

    start_day: int
    anchor: int
    total: int


@lru_cache(maxsize=4096)
def _prefix_sums(amount: int, currency: str, days: int) -> tuple[int, ...]:
    # Many obligations share (amount, length): a month of one price is one allocation.
    shares = Money(amount, currency).allocate([1] * days)
    sums = [0]
    for share in shares:
        sums.append(sums[-1] + share.amount_minor)
    return tuple(sums)


@dataclass(frozen=True, slots=True)
class Schedule:
    """What an obligation recognizes by each day: cumulative, exact, monotone."""

    currency: str
    days: ServiceDays
    segments: tuple[Segment, ...]

    def __post_init__(self) -> None:
        base = self.segments[0]
        if base.start_day != self.days.first or base.anchor != 0:
            raise ValueError("a schedule starts on its first day with nothing recognized")
        for before, after in zip(self.segments, self.segments[1:], strict=False):
            if after.start_day < before.start_day:
                raise ValueError("segments are in day order")
        for segment in self.segments:
            ahead = segment.total - segment.anchor
            if ahead * self.sign < 0 or (segment.start_day >= self.days.end and ahead != 0):
                raise ValueError(f"segment {segment} cannot be reached from its anchor")

    @classmethod
    def straight_line(cls, amount: int, currency: str, days: ServiceDays) -> Schedule:
        return cls(currency, days, (Segment(days.first, 0, amount),))

    @property
    def amount(self) -> int:
        return self.segments[0].total

    @property
    def final(self) -> int:
        """What the schedule recognizes in all, after every reduction."""
        return self.segments[-1].total

    @property
    def sign(self) -> int:
        return (self.amount > 0) - (self.amount < 0)

    def with_segment(self, segment: Segment) -> Schedule:
        return replace(self, segments=(*self.segments, segment))

    def cumulative(self, day: int) -> int:
        """Recognized by the end of ``day``."""
        if day < self.days.first:
            return 0
        starts = [s.start_day for s in self.segments]
        segment = self.segments[bisect.bisect_right(starts, day) - 1]
        remaining_days = self.days.end - segment.start_day
        if remaining_days <= 0:
            return segment.anchor
        sums = _prefix_sums(segment.total - segment.anchor, self.currency, remaining_days)
        return segment.anchor + sums[min(day, self.days.last) - segment.start_day + 1]

    def daily(self) -> list[int]:
        """Each service day's amount, first to last."""
        cumulative = [self.cumulative(d) for d in range(self.days.first, self.days.end)]
        return [b - a for a, b in zip([0, *cumulative], cumulative, strict=False)]


def allocate(amount: int, weights: list[int], currency: str) -> list[int]:
    """``amount`` split pro rata to non-negative ``weights``; all-zero weights take nothing."""
    if not any(weights):
        if amount != 0:
            raise ValueError(f"cannot spread {amount} over nothing")
        return [0] * len(weights)
    return [share.amount_minor for share in Money(amount, currency).allocate(weights)]


@dataclass(frozen=True, slots=True)
class Due:
    """What a run recognizes for one obligation: days the watermark already closed
    (``catch_up``, posted on the run's first day), then each day's amount."""

    catch_up: int
    days: tuple[tuple[int, int], ...]

    @property
    def total(self) -> int:
        return self.catch_up + sum(amount for _, amount in self.days)


def due(
    schedule: Schedule, posted: int, booked_day: int, watermark: int | None, through_day: int
) -> Due:
    """What is recognized for days after ``watermark`` through ``through_day``, given
    ``posted`` so far; what days up to the watermark still owe (a late booking, a
    re-plan of days already run) is the catch-up. Days before the booking are earned on
    the booking day: revenue is never recognized before the invoice that defers it."""
    sign, reached, catch_up = schedule.sign, posted, 0
    first = max(schedule.days.first, booked_day)
    if watermark is not None:
        if watermark >= first:
            behind = schedule.cumulative(watermark) - reached
            if behind * sign > 0:
                catch_up, reached = behind, reached + behind
        first = max(first, watermark + 1)
    # A re-plan made after the service ended (a reduction undone) is earned on its day.
    last = min(through_day, max(schedule.days.last, booked_day, schedule.segments[-1].start_day))
    steps: list[tuple[int, int]] = []
    for day in range(first, last + 1):
        step = schedule.cumulative(day) - reached
        if step * sign > 0:
            steps.append((day, step))
            reached += step
    result = Due(catch_up, tuple(steps))
    assert (posted + result.total - schedule.final) * sign <= 0, (posted, result, schedule)
    return result


@dataclass(frozen=True, slots=True)
class Standing:
    """Where an obligation stands: its schedule and what the ledger holds for it."""

    schedule: Schedule
    booked_day: int
    recognized: int  # posted to revenue so far
    contra: int = 0
    released: int = 0

    @property
    def reducible(self) -> int:
        """What a refund or credit note can still take from it."""
        return self.schedule.amount - self.contra - self.released


@dataclass(frozen=True, slots=True)
class Reduction:
    """A refund's or credit note's share of one obligation: ``contra`` offsets revenue
    already recognized, ``release`` takes back deferred revenue that never will be."""

    share: int
    contra: int
    release: int
    segment: Segment


def reduce(standing: Standing, share: int, day: int, watermark: int | None) -> Reduction:
    """Split ``share`` between what was earned before ``day`` and what is still deferred.

    The days before the reduction's day are earned, its own day is not (a refund on the
    day service starts takes nothing from revenue). The split is as of the latest of
    that, the last recognized day (``watermark``: revenue posted is undone by contra,
    never by un-recognizing) and the last re-plan. Each part takes its pro rata share,
    so repeated reductions never overdraw either.
    """
    schedule = standing.schedule
    if schedule.sign <= 0:
        raise ValueError("only an obligation with a positive amount is reduced")
    if not 0 < share <= standing.reducible:
        raise ValueError(f"share {share} is not within 1..{standing.reducible}")
    if day < standing.booked_day:
        raise ValueError("an obligation is not reduced before it is booked")
    last_segment = schedule.segments[-1]
    as_of = max(day - 1, last_segment.start_day - 1, -1 if watermark is None else watermark)
    earned = max(standing.recognized, schedule.cumulative(as_of))
    deferred = schedule.final - earned
    contra, release = allocate(share, [earned - standing.contra, deferred], schedule.currency)
    assert 0 <= release <= deferred and 0 <= contra <= earned - standing.contra
    return Reduction(share, contra, release, Segment(as_of + 1, earned, schedule.final - release))


def restore(standing: Standing, undone: Reduction, day: int, watermark: int | None) -> Reduction:
    """Take back ``undone`` (a reduction of this obligation): its contra and its release
    return, and the schedule goes on from ``day`` as if it had never been made.

    Revenue posted stays posted. What the release would have recognized from the
    reduction's re-plan on through the day before ``day`` (or the watermark) is earned
    already, so it is part of the new segment's anchor and the next recognition catches
    it up; the rest spreads over the days left. A reduction undone after the service
    ended is earned whole on the re-plan's day. Returns the undoing as a reduction of
    negative amounts.
    """
    schedule = standing.schedule
    if not (0 <= undone.contra <= standing.contra and 0 <= undone.release <= standing.released):
        raise ValueError(f"{undone} was not taken from this obligation")
    if day < standing.booked_day:
        raise ValueError("an obligation is not restored before it is booked")
    last_segment = schedule.segments[-1]
    as_of = max(day - 1, last_segment.start_day - 1, -1 if watermark is None else watermark)
    earned = max(standing.recognized, schedule.cumulative(as_of))
    elapsed = _elapsed(undone, schedule, as_of)
    total = schedule.final + undone.release
    assert earned + elapsed <= total, (standing, undone)
    return Reduction(
        -undone.share,
        -undone.contra,
        -undone.release,
        Segment(as_of + 1, earned + elapsed, total),
    )


def _elapsed(undone: Reduction, schedule: Schedule, as_of: int) -> int:
    """What the reduction's release would have recognized from its re-plan's first day
    through ``as_of``: the re-plan spread with the release, less the re-plan spread
    without it, so the two round alike and add up to an unreduced re-plan exactly."""
    if undone.release == 0:
        return 0
    segment = undone.segment
    days = schedule.days.end - segment.start_day
    if days <= 0:
        raise ValueError("nothing is released from a schedule whose days are over")
    passed = min(max(as_of - segment.start_day + 1, 0), days)
    ahead = segment.total - segment.anchor
    with_release = _prefix_sums(ahead + undone.release, schedule.currency, days)[passed]
    return with_release - _prefix_sums(ahead, schedule.currency, days)[passed]
