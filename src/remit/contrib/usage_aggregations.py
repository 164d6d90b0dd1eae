"""More meter aggregation formulas: ``max`` and ``unique_count``.

An optional plugin (entry point ``usage_aggregations``, loaded only when allowed),
proving that a formula Stripe does not have plugs into meters, ingestion, rollups and
summaries through the ``remit_meter_aggregations`` hook alone.

- ``max``: the largest value in the window (decimal values, like ``sum``).
- ``unique_count``: how many distinct values the window saw, the value key's text
  taken as is (user ids, hostnames...; at most 100 characters). Exact: a state is the
  sorted list of distinct values, so it grows with the distinct values of its bucket.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal

from remit.metering.domain import values
from remit.metering.domain.aggregations import Aggregation, State, Value, ValueKind
from remit.plugins.hookspecs import hookimpl

__all__ = ["Max", "UniqueCount", "remit_meter_aggregations"]


@dataclass(frozen=True)
class Max:
    formula: str = "max"
    value_kind: ValueKind = "decimal"

    def initial(self) -> State:
        return None

    def fold(
        self, state: State, value: Value, timestamp_s: int, seq: int, payload: Mapping[str, str]
    ) -> State:
        assert isinstance(value, Decimal)
        return self.merge(state, values.decimal_text(value))

    def merge(self, a: State, b: State) -> State:
        if a is None or b is None:
            return b if a is None else a
        return a if Decimal(a) >= Decimal(b) else b

    def result(self, state: State) -> Decimal:
        return Decimal(0) if state is None else Decimal(state)


@dataclass(frozen=True)
class UniqueCount:
    formula: str = "unique_count"
    value_kind: ValueKind = "text"

    def initial(self) -> State:
        return []

    def fold(
        self, state: State, value: Value, timestamp_s: int, seq: int, payload: Mapping[str, str]
    ) -> State:
        assert isinstance(value, str)
        return self.merge(state, [value])

    def merge(self, a: State, b: State) -> State:
        return sorted(set(a) | set(b))

    def result(self, state: State) -> Decimal:
        return Decimal(len(state))


@hookimpl
def remit_meter_aggregations() -> list[Aggregation]:
    return [Max(), UniqueCount()]
