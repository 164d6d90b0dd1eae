"""Helpers for the catalog API tests: calls that must succeed, errors that must write nothing."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import httpx
import sqlalchemy as sa

from remit.api.app import RemitApp
from remit.catalog.tables import prices, products
from remit.events.tables import events
from remit.plugins.manager import make_manager
from remit.primitives.clock import WallClock
from remit.serving import ServerThread

WATCHED = (products, prices, events)
MONTHLY = {"recurring[interval]": "month"}
GRADUATED = {
    "billing_scheme": "tiered",
    "tiers_mode": "graduated",
    "tiers[0][up_to]": "5",
    "tiers[0][unit_amount]": "500",
    "tiers[0][flat_amount]": "100",
    "tiers[1][up_to]": "10",
    "tiers[1][unit_amount_decimal]": "400.5",
    "tiers[2][up_to]": "inf",
    "tiers[2][unit_amount]": "300",
    "tiers[2][flat_amount_decimal]": "50",
}
# Graduated, with a sub-cent tier and a flat fee: what the billing engine rates most.
TIERED = {
    "billing_scheme": "tiered",
    "tiers_mode": "graduated",
    "tiers[0][up_to]": "10",
    "tiers[0][unit_amount]": "100",
    "tiers[1][up_to]": "inf",
    "tiers[1][unit_amount_decimal]": "0.000000000001",
    "tiers[1][flat_amount]": "7",
}
# A price of the matrix plugin model (remit.contrib.matrix_pricing): one cell, a default.
MATRIX = {
    "billing_scheme": "matrix",
    "pricing_config[dimensions][0]": "region",
    "pricing_config[cells][0][match][region]": "eu",
    "pricing_config[cells][0][unit_amount_decimal]": "12.5",
    "pricing_config[default_unit_amount_decimal]": "20",
    **MONTHLY,
}


def ok(response: httpx.Response) -> Any:
    assert response.status_code == 200, response.text
    return response.json()


def snapshot(store, watched: Sequence[sa.Table] = WATCHED) -> dict[str, list[tuple]]:  # type: ignore[no-untyped-def]
    with store.read() as conn:
        return {
            table.name: sorted(map(tuple, conn.execute(sa.select(table)).all()), key=repr)
            for table in watched
        }


@contextmanager
def unchanged(store, watched: Sequence[sa.Table] = WATCHED) -> Iterator[None]:  # type: ignore[no-untyped-def]
    """The block's requests are refused and leave the ``watched`` tables (by default
    products, prices and events) as they were."""
    before = snapshot(store, watched)
    yield
    assert snapshot(store, watched) == before, "a refused request wrote something"


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


def new_product(api: httpx.Client, **params: str) -> Any:
    return ok(api.post("/v1/products", data={"name": "Widget", **params}))


def new_price(api: httpx.Client, product: str | None = None, **params: str) -> Any:
    if product is None and not any(key.startswith("product_data") for key in params):
        product = new_product(api)["id"]
    data = {"currency": "usd", **params}
    if product is not None:
        data["product"] = product
    return ok(api.post("/v1/prices", data=data))


def events_of(api: httpx.Client, event_type: str) -> list[dict[str, Any]]:
    return ok(api.get("/v1/events", params={"type": event_type, "limit": 100}))["data"]


@contextmanager
def client_with_plugins(store, account, plugins: frozenset[str]) -> Iterator[httpx.Client]:  # type: ignore[no-untyped-def]
    """A client of a server that also loads the optional ``plugins`` (the session's does not)."""
    app = RemitApp(store, make_manager(plugins), WallClock())
    headers = {"Authorization": f"Bearer {account.secret_key}"}
    with (
        ServerThread(app) as running,
        httpx.Client(base_url=running.url, headers=headers) as client,
    ):
        yield client
