"""Routes: a method, a path template, a params schema and a handler."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from remit.api.params import Schema
from remit.primitives.errors import InvalidRequestError

# handler(conn, ctx, params, **path_params) -> rendered object
Handler = Callable[..., dict[str, Any]]
_PARAM = re.compile(r"\{(\w+)\}")
AUTH_KINDS = ("secret_key", "meter_event_session")


@dataclass(frozen=True)
class Route:
    method: str
    path: str
    handler: Handler
    schema: Schema
    writes: bool = False
    # A read that may scan much data (reports): never run inline on the event loop.
    slow: bool = False
    # Who may call: "secret_key" (the account's API keys) or "meter_event_session"
    # (a short-lived v2 session token, the only credential the meter event stream takes).
    auth: str = "secret_key"
    # Whether an Idempotency-Key saves and replays the answer. The meter event stream
    # dedups by event identifier instead, which costs no stored answer per request.
    replays: bool = True
    pattern: re.Pattern[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        assert self.auth in AUTH_KINDS, f"unknown auth kind {self.auth!r}"
        # Paths are plain ASCII segments; only dots need escaping before templating.
        regex = _PARAM.sub(lambda m: f"(?P<{m.group(1)}>[^/]+)", self.path.replace(".", r"\."))
        object.__setattr__(self, "pattern", re.compile(f"^{regex}$"))


class Router:
    def __init__(self, routes: Iterable[Route]) -> None:
        self._static: dict[tuple[str, str], Route] = {}
        self._dynamic: list[Route] = []
        for route in routes:
            if "{" in route.path:
                self._dynamic.append(route)
            elif self._static.setdefault((route.method, route.path), route) is not route:
                raise ValueError(f"two routes for {route.method} {route.path}")

    def match(self, method: str, path: str) -> tuple[Route, dict[str, str]]:
        route = self._static.get((method, path))
        if route is not None:
            return route, {}
        for route in self._dynamic:
            if route.method == method:
                found = route.pattern.match(path)
                if found:
                    return route, found.groupdict()
        raise InvalidRequestError(
            f"Unrecognized request URL ({method}: {path}). Please see https://stripe.com/docs "
            "or we can help at https://support.stripe.com/.",
            code="resource_missing",
            http_status=404,
        )
