"""Helpers for the subscription tests: a catalog, customers living on a test clock (so every
moment is known to the second), calls that must succeed, and "nothing written" checks."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import sqlalchemy as sa

from remit.billing.discounts.tables import discounts
from remit.billing.invoices.tables import invoice_items, invoice_lines, invoices
from remit.billing.subscriptions.tables import subscription_items, subscriptions
from remit.events.tables import events

JAN_1 = 1_704_067_200  # 2024-01-01T00:00:00Z
FEB_1 = 1_706_745_600  # 2024-02-01T00:00:00Z
JANUARY_S = FEB_1 - JAN_1  # 2,678,400 s
DAY_S = 86_400
WATCHED = (subscriptions, subscription_items, invoices, invoice_lines, invoice_items, discounts,
           events)  # fmt: skip


def ok(response: httpx.Response) -> Any:
    assert response.status_code == 200, response.text
    return response.json()


def refused(
    response: httpx.Response, param: str | None, code: str | None = "parameter_invalid",
    status: int = 400,
) -> dict[str, Any]:  # fmt: skip
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["type"] == "invalid_request_error", error
    assert error.get("param") == param, error
    assert error.get("code") == code, error
    return error


def snapshot(store) -> dict[str, list[tuple]]:  # type: ignore[no-untyped-def]
    with store.read() as conn:
        return {
            table.name: sorted(map(tuple, conn.execute(sa.select(table)).all()), key=repr)
            for table in WATCHED
        }


@contextmanager
def unchanged(store) -> Iterator[None]:  # type: ignore[no-untyped-def]
    """The block's requests are refused and write nothing at all."""
    before = snapshot(store)
    yield
    assert snapshot(store) == before, "a refused request wrote something"


def clocked_customer(api: httpx.Client, frozen_time: int = JAN_1, **params: str) -> str:
    """A customer on a new test clock frozen at ``frozen_time``."""
    clock = ok(api.post("/v1/test_helpers/test_clocks", data={"frozen_time": str(frozen_time)}))
    data = {"name": "Ann", "test_clock": clock["id"], **params}
    return str(ok(api.post("/v1/customers", data=data))["id"])


def new_price(api: httpx.Client, unit_amount: int = 2000, **params: str) -> str:
    """A monthly licensed USD price of a new product named Seats."""
    product = ok(api.post("/v1/products", data={"name": "Seats"}))["id"]
    data = {
        "product": product,
        "currency": "usd",
        "unit_amount": str(unit_amount),
        "recurring[interval]": "month",
        **params,
    }
    return str(ok(api.post("/v1/prices", data=data))["id"])


def metered_price(api: httpx.Client, event_name: str = "calls", **params: str) -> tuple[str, str]:
    """A monthly metered price (2 cents a call) on a new sum meter: (price id, meter id)."""
    meter_data = {
        "display_name": "API calls",
        "event_name": event_name,
        "default_aggregation[formula]": "sum",
    }
    meter = ok(api.post("/v1/billing/meters", data=meter_data))["id"]
    extra = {"recurring[usage_type]": "metered", "recurring[meter]": meter, **params}
    return new_price(api, 2, **extra), meter


def subscribe(api: httpx.Client, customer: str, *prices: str, **params: str) -> Any:
    data = {"customer": customer, **params}
    for index, price in enumerate(prices):
        data[f"items[{index}][price]"] = price
    return ok(api.post("/v1/subscriptions", data=data))


def invoice(api: httpx.Client, invoice_id: str) -> Any:
    return ok(api.get(f"/v1/invoices/{invoice_id}"))


def events_of(api: httpx.Client, event_type: str) -> list[dict[str, Any]]:
    return ok(api.get("/v1/events", params={"type": event_type, "limit": 100}))["data"]


def pending_items(api: httpx.Client, customer: str) -> list[dict[str, Any]]:
    found = ok(
        api.get("/v1/invoiceitems", params={"customer": customer, "pending": "true", "limit": 100})
    )["data"]
    return sorted(found, key=lambda item: item["amount"])
