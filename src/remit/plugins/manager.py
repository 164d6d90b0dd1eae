"""Builds the plugin manager: built-ins always, installed plugins only when allowed."""

from __future__ import annotations

import importlib
from importlib.metadata import entry_points
from typing import Any

import pluggy

from remit.plugins.hookspecs import RemitSpec

ENTRY_POINT_GROUP = "remit.plugins"
BUILTINS = (
    "remit.events.plugin",
    "remit.catalog.plugin",
    "remit.metering.plugin",
    "remit.billing.plugin",
    "remit.billing.delinquency",
    "remit.billing.subscriptions.plugin",
    "remit.billing.subscriptions.renewals_plugin",
    "remit.ledger.plugin",
    "remit.fde.reconcile.plugin",
    "remit.api.v1.plugin",
    "remit.api.v2.plugin",
)


class PluginNotInstalled(LookupError):
    pass


def make_manager(allowed: frozenset[str] = frozenset()) -> pluggy.PluginManager:
    pm = pluggy.PluginManager("remit")
    pm.add_hookspecs(RemitSpec)
    for module in BUILTINS:
        pm.register(importlib.import_module(module), name=module)
    installed = {ep.name: ep for ep in entry_points(group=ENTRY_POINT_GROUP)}
    missing = allowed - installed.keys()
    if missing:
        raise PluginNotInstalled(
            f"REMIT_PLUGINS names plugins that are not installed: {sorted(missing)}"
        )
    for name in sorted(allowed):
        pm.register(installed[name].load(), name=name)
    return pm


def job_handlers(pm: pluggy.PluginManager) -> dict[str, Any]:
    """Job kind -> handler, from every registered plugin."""
    handlers: dict[str, Any] = {}
    for group in pm.hook.remit_job_handlers(pm=pm):
        handlers.update(group)
    return handlers
