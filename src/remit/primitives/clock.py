"""Where time comes from. Domain code never reads the wall; it is handed ``now``.

Timestamps are UTC Unix seconds, as on Stripe's wire. A customer attached to a
test clock lives at that clock's ``frozen_time``; everything else at the wall.
"""

from __future__ import annotations

import time
from typing import Protocol


class Clock(Protocol):
    def now(self) -> int: ...


class WallClock:
    """The real clock: the only place in the product that reads the wall."""

    def now(self) -> int:
        return int(time.time())


class FixedClock:
    """A clock that moves only when told to: for test clocks, simulations and tests."""

    def __init__(self, now_ts: int) -> None:
        if now_ts < 0:
            raise ValueError("timestamps are non-negative Unix seconds")
        self._now_ts = now_ts

    def now(self) -> int:
        return self._now_ts

    def advance(self, seconds: int) -> None:
        if seconds < 0:
            raise ValueError("clocks never move backwards")
        self._now_ts += seconds

    def set(self, now_ts: int) -> None:
        if now_ts < self._now_ts:
            raise ValueError("clocks never move backwards")
        self._now_ts = now_ts
