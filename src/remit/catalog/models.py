"""The pricing models a plugin manager provides, by name, loaded once per manager.

Built-ins (``per_unit``, ``tiered``) arrive through the same ``remit_pricing_models`` hook
as plugin models, so the catalog never special-cases them. Without a manager (pure code
paths, scripts) only the built-ins exist.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Mapping
from types import MappingProxyType

import pluggy

from remit.catalog.domain.models import BUILTIN_MODELS, PricingModel

__all__ = ["PricingModelConflict", "pricing_models"]


class PricingModelConflict(RuntimeError):
    """Two registered models share one name, or a hook returned something that is not one.

    Raised at load: letting the last registration win would make which model rates a price
    depend on plugin load order.
    """


_BUILTINS: Mapping[str, PricingModel] = MappingProxyType(
    {model.name: model for model in BUILTIN_MODELS}
)
_cache: weakref.WeakKeyDictionary[pluggy.PluginManager, Mapping[str, PricingModel]] = (
    weakref.WeakKeyDictionary()
)
_lock = threading.Lock()


def pricing_models(pm: pluggy.PluginManager | None) -> Mapping[str, PricingModel]:
    """Model name -> model, from every plugin registered on ``pm`` (read-only, cached)."""
    if pm is None:
        return _BUILTINS
    with _lock:
        cached = _cache.get(pm)
        if cached is None:
            cached = _load(pm)
            _cache[pm] = cached
        return cached


def _load(pm: pluggy.PluginManager) -> Mapping[str, PricingModel]:
    models: dict[str, PricingModel] = {}
    for group in pm.hook.remit_pricing_models():
        for model in group:
            if not isinstance(model, PricingModel) or not isinstance(model.name, str):
                raise PricingModelConflict(
                    f"remit_pricing_models returned {model!r}, which is not a PricingModel"
                )
            if model.name in models:
                raise PricingModelConflict(
                    f"two pricing models are named {model.name!r}: "
                    f"{models[model.name]!r} and {model!r}"
                )
            models[model.name] = model
    return MappingProxyType(models)
