"""/v1/products"""

from __future__ import annotations

from remit.api.routing import Route

ROUTES: list[Route] = []
