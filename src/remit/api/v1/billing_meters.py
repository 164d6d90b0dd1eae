"""/v1/billing_meters"""

from __future__ import annotations

from remit.api.routing import Route

ROUTES: list[Route] = []
