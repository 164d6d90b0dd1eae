"""Metering as a built-in plugin: the built-in formulas, the rollup applier, meter loaders."""

from __future__ import annotations

from typing import Any

import pluggy

from remit.metering import meters, rollups
from remit.metering.domain.aggregations import BUILTINS, Aggregation
from remit.plugins.hookspecs import hookimpl
from remit.primitives.clock import Clock
from remit.store.engine import Store


@hookimpl
def remit_meter_aggregations() -> list[Aggregation]:
    return list(BUILTINS)


@hookimpl
def remit_background_tasks(pm: pluggy.PluginManager) -> list[Any]:
    def apply_rollups(store: Store, clock: Clock) -> int:
        return rollups.apply_pending(store, clock, pm)

    return [apply_rollups]


@hookimpl
def remit_object_loaders() -> dict[str, Any]:
    return {meters.PREFIX: meters.retrieve}
