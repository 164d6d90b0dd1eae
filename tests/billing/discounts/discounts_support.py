"""Helpers for the discount and tax tests: calls that must succeed, refusals that must
write nothing to the tables these capabilities own."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import sqlalchemy as sa

from remit.billing.discounts.tables import coupons, discounts, promotion_codes
from remit.billing.taxes.tables import tax_rates
from remit.events.tables import events

WATCHED = (coupons, promotion_codes, discounts, tax_rates, events)


def ok(response: httpx.Response) -> Any:
    assert response.status_code == 200, response.text
    return response.json()


def snapshot(store) -> dict[str, list[tuple]]:  # type: ignore[no-untyped-def]
    with store.read() as conn:
        return {
            table.name: sorted(map(tuple, conn.execute(sa.select(table)).all()), key=repr)
            for table in WATCHED
        }


@contextmanager
def unchanged(store) -> Iterator[None]:  # type: ignore[no-untyped-def]
    """The block's requests are refused and leave every watched table as it was."""
    before = snapshot(store)
    yield
    assert snapshot(store) == before, "a refused request wrote something"


def refused(
    response: httpx.Response, param: str | None, code: str = "parameter_invalid", status: int = 400
) -> dict[str, Any]:
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["type"] == "invalid_request_error", error
    assert error.get("param") == param, error
    assert error.get("code") == code, error
    return error


def events_of(api: httpx.Client, event_type: str) -> list[dict[str, Any]]:
    return ok(api.get("/v1/events", params={"type": event_type, "limit": 100}))["data"]


def new_coupon(api: httpx.Client, **params: str) -> Any:
    data = params or {"percent_off": "25.5", "duration": "forever"}
    return ok(api.post("/v1/coupons", data=data))


def new_customer(api: httpx.Client) -> Any:
    return ok(api.post("/v1/customers", data={"email": "ann@example.com"}))
