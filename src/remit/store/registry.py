"""Imports every capability's tables so the whole schema is on ``metadata``."""

from __future__ import annotations

import importlib

from remit.store.schema import metadata

TABLE_MODULES = (
    "remit.accounts.tables",
    "remit.api.tables",
    "remit.events.tables",
    "remit.jobs.tables",
    "remit.catalog.tables",
    "remit.metering.tables",
    "remit.billing.tables",
    "remit.billing.discounts.tables",
    "remit.billing.taxes.tables",
    "remit.billing.balance.tables",
    "remit.billing.invoices.tables",
    "remit.billing.subscriptions.tables",
    "remit.billing.credit_notes.tables",
    "remit.ledger.tables",
    "remit.ledger.revrec.tables",
    "remit.fde.reconcile.tables",
)


def load_all() -> None:
    for module in TABLE_MODULES:
        importlib.import_module(module)


__all__ = ["TABLE_MODULES", "load_all", "metadata"]
