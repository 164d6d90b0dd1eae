"""Helpers for the renewal tests: a catalog, customers on test clocks, subscriptions made
through the API, clocks advanced through the API and caught up by the worker, and the
invoices read back."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import httpx
import sqlalchemy as sa

from catalog.catalog_support import ok
from remit.accounts.service import get_account
from remit.billing import customers
from remit.billing.invoices.tables import invoices
from remit.billing.subscriptions import create
from remit.context import CallContext
from remit.jobs.worker import Worker, background_tasks
from remit.metering.ingest import EventInput, ingest
from remit.plugins.manager import job_handlers
from remit.primitives.clock import WallClock

JAN_1 = 1_704_067_200  # 2024-01-01T00:00:00Z (a Monday; 2024 is a leap year)
DAY_S = 86_400
HOUR_S = 3_600


def new_clock(api: httpx.Client, frozen_time: int = JAN_1) -> str:
    return str(
        ok(api.post("/v1/test_helpers/test_clocks", data={"frozen_time": frozen_time}))["id"]
    )


def clocked_customer(api: httpx.Client, clock: str, **params: str) -> str:
    return str(
        ok(api.post("/v1/customers", data={"name": "Ann", "test_clock": clock, **params}))["id"]
    )


def new_price(api: httpx.Client, unit_amount: int | None = 2000, **params: str) -> str:
    """A monthly USD price of a new product (licensed unless params say otherwise)."""
    product = ok(api.post("/v1/products", data={"name": "Seats"}))["id"]
    data = {"product": product, "currency": "usd", "recurring[interval]": "month", **params}
    if unit_amount is not None:
        data["unit_amount"] = str(unit_amount)
    return str(ok(api.post("/v1/prices", data=data))["id"])


def new_meter(api: httpx.Client, event_name: str = "calls", formula: str = "sum") -> str:
    data = {
        "display_name": event_name.title(),
        "event_name": event_name,
        "default_aggregation[formula]": formula,
    }
    return str(ok(api.post("/v1/billing/meters", data=data))["id"])


def subscribe(api: httpx.Client, customer: str, *items: dict[str, str], **params: str) -> Any:
    data = {"customer": customer, **params}
    for index, item in enumerate(items):
        for key, value in item.items():
            data[f"items[{index}][{key}]"] = value
    return ok(api.post("/v1/subscriptions", data=data))


def advance(api: httpx.Client, store: Any, pm: Any, clock: str, to_ts: int) -> dict[str, Any]:
    """Advance the clock and let the worker catch it up; the clock must end ready."""
    ok(api.post(f"/v1/test_helpers/test_clocks/{clock}/advance", data={"frozen_time": to_ts}))
    worker = Worker(store, job_handlers(pm), WallClock(), tasks=background_tasks(pm))
    worker.drain()
    found = ok(api.get(f"/v1/test_helpers/test_clocks/{clock}"))
    assert found["status"] == "ready", found
    return dict(found)


def invoices_of(api: httpx.Client, subscription: str) -> list[dict[str, Any]]:
    """The subscription's invoices, oldest first."""
    found = ok(api.get("/v1/invoices", params={"subscription": subscription, "limit": 100}))
    return sorted(found["data"], key=lambda invoice: (invoice["created"], invoice["id"]))


def events_of(api: httpx.Client, event_type: str) -> list[dict[str, Any]]:
    found = ok(api.get("/v1/events", params={"type": event_type, "limit": 100}))["data"]
    return sorted(found, key=lambda event: (event["created"], event["id"]))


def invoice_count(store: Any, account_id: str) -> int:
    with store.read() as conn:
        return int(
            conn.execute(
                sa.select(sa.func.count())
                .select_from(invoices)
                .where(invoices.c.account_id == account_id)
            ).scalar_one()
        )


def service_ctx(store: Any, account: Any, now_ts: int, pm: Any) -> CallContext:
    """A service call's context at a fixed moment (objects on no test clock live on it)."""
    with store.read() as conn:
        found = get_account(conn, account.account.id)
    assert found is not None
    return CallContext(account=found, now=now_ts, pm=pm)


def wall_subscriptions(
    store: Any, ctx: CallContext, count: int, items: list[dict[str, Any]], **params: Any
) -> list[tuple[str, str]]:
    """``count`` customers on no test clock, each subscribed at ``ctx.now`` to ``items``:
    (subscription id, customer id) pairs."""
    made = []
    with store.write() as conn:
        for _ in range(count):
            customer = customers.create(conn, ctx, {})["id"]
            body = {"customer": customer, "items": [dict(item) for item in items], **params}
            made.append((str(create.create(conn, ctx, body)["id"]), str(customer)))
    return made


def send_usage(store: Any, ctx: CallContext, event_name: str, usage: list[tuple[str, int, str]]):
    """Meter events ``(customer, timestamp, value)``, each sent at its own moment."""
    with store.write() as conn:
        for n, (customer, at_ts, value) in enumerate(usage):
            event = EventInput(event_name, {"stripe_customer_id": customer, "value": value},
                               f"{customer}.{at_ts}.{n}", at_ts)  # fmt: skip
            ingest(conn, replace(ctx, now=at_ts), [event], source="test")


def cycle_invoices(store: Any, account_id: str) -> list[Any]:
    """Every renewal invoice of the account, by subscription then period."""
    i = invoices.c
    with store.read() as conn:
        return list(
            conn.execute(
                sa.select(invoices)
                .where(i.account_id == account_id, i.billing_reason == "subscription_cycle")
                .order_by(i.subscription, i.period_end)
            )
        )
