"""The v1 API's built-in routes, registered like any plugin's."""

from __future__ import annotations

from typing import Any

import pluggy

from remit.api import idempotency
from remit.api.routing import Route
from remit.api.v1 import (
    billing_meters,
    coupons,
    credit_notes,
    customer_balance,
    customers,
    events,
    invoice_items,
    invoices,
    ledger_reports,
    meter_events,
    prices,
    products,
    promotion_codes,
    reconciliation,
    subscription_items,
    subscriptions,
    tax_rates,
    test_clocks,
    webhook_endpoints,
)
from remit.plugins.hookspecs import hookimpl


@hookimpl
def remit_api_routes() -> list[Route]:
    return [
        *billing_meters.ROUTES,
        *coupons.ROUTES,
        *credit_notes.ROUTES,
        *customer_balance.ROUTES,
        *customers.ROUTES,
        *events.ROUTES,
        *invoice_items.ROUTES,
        *invoices.ROUTES,
        *ledger_reports.ROUTES,
        *meter_events.ROUTES,
        *prices.ROUTES,
        *products.ROUTES,
        *promotion_codes.ROUTES,
        *reconciliation.ROUTES,
        *subscription_items.ROUTES,
        *subscriptions.ROUTES,
        *tax_rates.ROUTES,
        *test_clocks.ROUTES,
        *webhook_endpoints.ROUTES,
    ]


@hookimpl
def remit_background_tasks(pm: pluggy.PluginManager) -> list[Any]:
    """Saved answers past their retention are deleted as the worker goes."""
    return [idempotency.purge_task]
