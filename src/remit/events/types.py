"""The event types the platform can emit; capabilities declare theirs here at import."""

from __future__ import annotations

_TYPES: set[str] = set()


def register(*event_types: str) -> None:
    _TYPES.update(event_types)


def known() -> frozenset[str]:
    return frozenset(_TYPES)


register(
    "customer.created",
    "customer.updated",
    "customer.deleted",
    "test_helpers.test_clock.created",
    "test_helpers.test_clock.advancing",
    "test_helpers.test_clock.ready",
    "test_helpers.test_clock.deleted",
    "test_helpers.test_clock.internal_failure",
)
