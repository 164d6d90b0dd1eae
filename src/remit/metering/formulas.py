"""The meter aggregation formulas a call may use: built-ins plus the loaded plugins'."""

from __future__ import annotations

import threading
import weakref
from typing import TYPE_CHECKING

from remit.metering.domain.aggregations import BUILTINS, Aggregation, PreAggregated, registry
from remit.metering.domain.buckets import WINDOWS_S
from remit.primitives.errors import InvalidRequestError

if TYPE_CHECKING:
    import pluggy

_BUILTIN_REGISTRY = registry([BUILTINS])
_CACHE: weakref.WeakKeyDictionary[pluggy.PluginManager, dict[str, Aggregation]] = (
    weakref.WeakKeyDictionary()
)
_LOCK = threading.Lock()


def available(pm: pluggy.PluginManager | None) -> dict[str, Aggregation]:
    """Formula -> aggregation. Without a plugin manager only the built-ins exist."""
    if pm is None:
        return _BUILTIN_REGISTRY
    found = _CACHE.get(pm)
    if found is None:
        found = registry(pm.hook.remit_meter_aggregations())
        with _LOCK:
            _CACHE[pm] = found
    return found


def require(pm: pluggy.PluginManager | None, formula: str) -> Aggregation:
    """The aggregation of a meter's formula; a meter made while a plugin was loaded
    cannot be aggregated once it is not."""
    found = available(pm).get(formula)
    if found is None:
        raise InvalidRequestError(
            f"The meter's aggregation formula {formula!r} is provided by a plugin that is "
            "not loaded (see REMIT_PLUGINS)."
        )
    return found


def for_meter(
    pm: pluggy.PluginManager | None, formula: str, event_time_window: str | None
) -> Aggregation:
    """How a meter's events aggregate: its formula, over the last event of each window
    when its events are pre-aggregated (``event_time_window``)."""
    aggregation = require(pm, formula)
    window_s = WINDOWS_S.get(event_time_window or "")
    return aggregation if window_s is None else PreAggregated(aggregation, window_s)
