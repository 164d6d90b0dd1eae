"""/v2/billing: meter event sessions and the meter event stream."""

from __future__ import annotations

from remit.api.routing import Route

ROUTES: list[Route] = []
