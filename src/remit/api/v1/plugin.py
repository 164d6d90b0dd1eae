"""The v1 API's built-in routes, registered like any plugin's."""

from __future__ import annotations

from remit.api.routing import Route
from remit.api.v1 import customers, events, ledger_reports, test_clocks, webhook_endpoints
from remit.plugins.hookspecs import hookimpl


@hookimpl
def remit_api_routes() -> list[Route]:
    return [
        *customers.ROUTES,
        *events.ROUTES,
        *ledger_reports.ROUTES,
        *test_clocks.ROUTES,
        *webhook_endpoints.ROUTES,
    ]
