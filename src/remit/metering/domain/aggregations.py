"""Aggregation formulas: how a meter turns events into one number per window.

An aggregation is a fold with an associative merge, so that any window can be answered
by merging pre-folded buckets (minute, hour, day rollups) with events folded on the
fly, in any grouping, and get exactly what folding every event in order would give:

    merge(fold(initial(), e1), fold(initial(), e2)) == fold(fold(initial(), e1), e2)

States are JSON values (text for decimals, never floats) because rollups store them.
``value_kind`` says what ``fold`` receives as ``value``: ``"decimal"`` an exact
``Decimal`` parsed from the payload, ``"text"`` the payload string itself, ``"none"``
nothing (the value key is not even required).

Plugins add formulas through the ``remit_meter_aggregations`` hook; the built-ins
``sum``, ``count`` and ``last`` are registered by metering through the same hook.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Literal, Protocol

from remit.metering.domain import values
from remit.metering.domain.buckets import floor

ValueKind = Literal["decimal", "text", "none"]
Value = Decimal | str | None
State = Any  # a JSON value


class Aggregation(Protocol):
    @property
    def formula(self) -> str: ...

    @property
    def value_kind(self) -> ValueKind: ...

    def initial(self) -> State: ...

    def fold(
        self, state: State, value: Value, timestamp_s: int, seq: int, payload: Mapping[str, str]
    ) -> State: ...

    def merge(self, a: State, b: State) -> State: ...

    def result(self, state: State) -> Decimal: ...


@dataclass(frozen=True)
class Sum:
    formula: str = "sum"
    value_kind: ValueKind = "decimal"

    def initial(self) -> State:
        return "0"

    def fold(
        self, state: State, value: Value, timestamp_s: int, seq: int, payload: Mapping[str, str]
    ) -> State:
        assert isinstance(value, Decimal)
        return values.decimal_text(values.add(Decimal(state), value))

    def merge(self, a: State, b: State) -> State:
        return values.decimal_text(values.add(Decimal(a), Decimal(b)))

    def result(self, state: State) -> Decimal:
        return Decimal(state)


@dataclass(frozen=True)
class Count:
    formula: str = "count"
    value_kind: ValueKind = "none"

    def initial(self) -> State:
        return 0

    def fold(
        self, state: State, value: Value, timestamp_s: int, seq: int, payload: Mapping[str, str]
    ) -> State:
        return int(state) + 1

    def merge(self, a: State, b: State) -> State:
        return int(a) + int(b)

    def result(self, state: State) -> Decimal:
        return Decimal(int(state))


@dataclass(frozen=True)
class Last:
    """The value of the latest event by timestamp; among equal timestamps, the one
    received last (highest ``seq``). State: ``None`` or ``[timestamp_s, seq, text]``."""

    formula: str = "last"
    value_kind: ValueKind = "decimal"

    def initial(self) -> State:
        return None

    def fold(
        self, state: State, value: Value, timestamp_s: int, seq: int, payload: Mapping[str, str]
    ) -> State:
        assert isinstance(value, Decimal)
        return self.merge(state, [timestamp_s, seq, values.decimal_text(value)])

    def merge(self, a: State, b: State) -> State:
        if a is None:
            return b
        if b is None:
            return a
        return b if (b[0], b[1]) > (a[0], a[1]) else a

    def result(self, state: State) -> Decimal:
        return Decimal(0) if state is None else Decimal(state[2])


BUILTINS: tuple[Aggregation, ...] = (Sum(), Count(), Last())


@dataclass(frozen=True)
class PreAggregated:
    """A meter of events pre-aggregated per hour or day (its ``event_time_window``): as
    on Stripe, only the last event received for a window counts, a newer one replacing
    it; the meter's formula then aggregates those windows' values.

    State: ``[[window_start_s, seq, value], ...]`` in window order, the last-received
    event of each window with its value as JSON (decimal text, text or null). A day
    bucket of an hourly meter holds at most 24 of them.
    """

    inner: Aggregation
    window_s: int

    @property
    def formula(self) -> str:
        return self.inner.formula

    @property
    def value_kind(self) -> ValueKind:
        return self.inner.value_kind

    def initial(self) -> State:
        return []

    def fold(
        self, state: State, value: Value, timestamp_s: int, seq: int, payload: Mapping[str, str]
    ) -> State:
        text = values.decimal_text(value) if isinstance(value, Decimal) else value
        return self.merge(state, [[floor(timestamp_s, self.window_s), seq, text]])

    def merge(self, a: State, b: State) -> State:
        latest: dict[int, list[Any]] = {}
        for entry in (*a, *b):
            found = latest.get(entry[0])
            if found is None or entry[1] > found[1]:
                latest[entry[0]] = entry
        return [latest[start_s] for start_s in sorted(latest)]

    def result(self, state: State) -> Decimal:
        decimal = self.inner.value_kind == "decimal"
        folded = self.inner.initial()
        for start_s, seq, text in state:
            value = Decimal(text) if decimal else text
            folded = self.inner.fold(folded, value, start_s, seq, {})
        return self.inner.result(folded)


def registry(groups: Iterable[Iterable[Aggregation]]) -> dict[str, Aggregation]:
    """Formula -> aggregation from the hook's answers; a formula named twice is a bug."""
    found: dict[str, Aggregation] = {}
    for group in groups:
        for aggregation in group:
            if aggregation.formula in found:
                raise ValueError(f"meter aggregation {aggregation.formula!r} registered twice")
            found[aggregation.formula] = aggregation
    return found


def fold_all(aggregation: Aggregation, events: Iterable[tuple[Value, int, int]]) -> State:
    """Fold ``(value, timestamp_s, seq)`` triples from the initial state (payload-free)."""
    state = aggregation.initial()
    for value, timestamp_s, seq in events:
        state = aggregation.fold(state, value, timestamp_s, seq, {})
    return state
