"""Helpers for the subscription tests: a catalog, customers living on a test clock (so every
moment is known to the second), calls that must succeed, and "nothing written" checks."""

from __future__ import annotations

from functools import partial
from typing import Any

import httpx

from catalog import catalog_support
from catalog.catalog_support import events_of as events_of
from catalog.catalog_support import ok
from catalog.catalog_support import refused as refused
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


# The catalog tests' "nothing written" checks, over the tables named above.
snapshot = partial(catalog_support.snapshot, watched=WATCHED)
unchanged = partial(catalog_support.unchanged, watched=WATCHED)


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


def pending_items(api: httpx.Client, customer: str) -> list[dict[str, Any]]:
    found = ok(
        api.get("/v1/invoiceitems", params={"customer": customer, "pending": "true", "limit": 100})
    )["data"]
    return sorted(found, key=lambda item: item["amount"])
