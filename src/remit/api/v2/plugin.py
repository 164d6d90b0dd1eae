"""The v2 API's built-in routes, registered like any plugin's."""

from __future__ import annotations

from remit.api.routing import Route
from remit.api.v2 import billing
from remit.plugins.hookspecs import hookimpl


@hookimpl
def remit_api_routes() -> list[Route]:
    return [*billing.ROUTES]
