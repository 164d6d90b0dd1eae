"""Undoing a reduction, as values: whatever was recognized around it, the obligation ends
at its full amount and stands where it would have stood without the reduction."""

from __future__ import annotations

from dataclasses import replace

from hypothesis import given, settings
from hypothesis import strategies as st

from remit.ledger.revrec.domain import Schedule, ServiceDays, Standing, due, reduce, restore

END_OF_TIME = 10_000


@st.composite
def histories(draw: st.DrawFn) -> tuple[int, int, int, int, int, int, int]:
    days = draw(st.integers(1, 120))
    amount = draw(st.integers(1, 1_000_000))
    share = draw(st.integers(1, amount))
    first_run = draw(st.integers(-1, days + 5))
    note_day = draw(st.integers(0, days + 5))
    second_run = draw(st.integers(first_run, days + 10))
    void_day = draw(st.integers(note_day, days + 15))
    return days, amount, share, first_run, note_day, second_run, void_day


def recognized_by(schedule: Schedule, posted: int, watermark: int, through: int) -> int:
    """What is posted once recognition has run from ``watermark`` through ``through``."""
    if through < 0 or (watermark >= 0 and through <= watermark):
        return posted
    mark = None if watermark < 0 else watermark
    return posted + due(schedule, posted, 0, mark, through).total


@settings(max_examples=300, deadline=None)
@given(histories())
def test_a_reduction_undone_leaves_the_obligation_as_if_it_never_was(history):
    days, amount, share, first_run, note_day, second_run, void_day = history
    original = Schedule.straight_line(amount, "usd", ServiceDays(0, days))
    posted = recognized_by(original, 0, -1, first_run)
    first_mark = None if first_run < 0 else first_run
    cut = reduce(Standing(original, 0, posted), share, note_day, first_mark)
    reduced = original.with_segment(cut.segment)
    posted = recognized_by(reduced, posted, first_run, second_run)
    standing = Standing(reduced, 0, posted, cut.contra, cut.release)
    second_mark = None if second_run < 0 else second_run
    back = restore(standing, cut, void_day, second_mark)
    assert (back.share, back.contra, back.release) == (-share, -cut.contra, -cut.release)
    restored = reduced.with_segment(back.segment)  # a valid schedule, or this raises
    assert restored.final == amount
    assert back.segment.anchor >= posted
    # Up to the void the restored plan has earned exactly what the original would have,
    # had the reduction re-planned it without reducing anything.
    as_of = back.segment.start_day - 1
    unreduced = original.with_segment(replace(cut.segment, total=amount))
    assert back.segment.anchor == unreduced.cumulative(as_of)
    assert recognized_by(restored, posted, second_run, END_OF_TIME) == amount
