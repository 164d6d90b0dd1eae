"""Time buckets (UTC): the grains rollups are kept at, and how a window is tiled by them.

Grains are in seconds: minute, hour and day. Unix time has no leap seconds, so a UTC
day is always 86,400 of them and floor division finds every bucket.
"""

from __future__ import annotations

from dataclasses import dataclass

MINUTE_S, HOUR_S, DAY_S = 60, 3600, 86400
GRAINS_S = (MINUTE_S, HOUR_S, DAY_S)
COARSEST_FIRST = (DAY_S, HOUR_S, MINUTE_S)
# A meter's ``event_time_window`` and a summary's ``value_grouping_window``, in seconds.
WINDOWS_S = {"hour": HOUR_S, "day": DAY_S}


def floor(timestamp_s: int, grain_s: int) -> int:
    return timestamp_s - timestamp_s % grain_s


def ceil(timestamp_s: int, grain_s: int) -> int:
    return -floor(-timestamp_s, grain_s)


def aligned(timestamp_s: int, grain_s: int) -> bool:
    return timestamp_s % grain_s == 0


@dataclass(frozen=True, slots=True)
class Span:
    """The buckets of one grain whose starts lie in ``[start_s, end_s)``."""

    grain_s: int
    start_s: int
    end_s: int


def cover(start_s: int, end_s: int, grains_s: tuple[int, ...] = COARSEST_FIRST) -> list[Span]:
    """Tile ``[start_s, end_s)`` with as few buckets as possible, coarsest grains inside
    and finer ones at the edges: a month is ~30 day buckets, at most 46 hour buckets
    and 118 minute buckets, whatever its length.

    ``start_s`` and ``end_s`` must be aligned to the finest grain.
    """
    assert start_s <= end_s
    grain_s, finer = grains_s[0], grains_s[1:]
    if not finer:
        assert aligned(start_s, grain_s) and aligned(end_s, grain_s), "edges must be aligned"
        return [Span(grain_s, start_s, end_s)] if start_s < end_s else []
    inner_start, inner_end = ceil(start_s, grain_s), floor(end_s, grain_s)
    if inner_start >= inner_end:
        return cover(start_s, end_s, finer)
    return [
        *cover(start_s, inner_start, finer),
        Span(grain_s, inner_start, inner_end),
        *cover(inner_end, end_s, finer),
    ]
