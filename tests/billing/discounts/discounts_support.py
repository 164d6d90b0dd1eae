"""Helpers for the discount and tax tests: calls that must succeed, refusals that must
write nothing to the tables these capabilities own."""

from __future__ import annotations

from functools import partial
from typing import Any

import httpx

from catalog import catalog_support
from catalog.catalog_support import events_of as events_of
from catalog.catalog_support import ok
from catalog.catalog_support import refused as refused
from remit.billing.discounts.tables import coupons, discounts, promotion_codes
from remit.billing.taxes.tables import tax_rates
from remit.events.tables import events

WATCHED = (coupons, promotion_codes, discounts, tax_rates, events)


# The catalog tests' "nothing written" checks, over the tables named above.
snapshot = partial(catalog_support.snapshot, watched=WATCHED)
unchanged = partial(catalog_support.unchanged, watched=WATCHED)


def new_coupon(api: httpx.Client, **params: str) -> Any:
    data = params or {"percent_off": "25.5", "duration": "forever"}
    return ok(api.post("/v1/coupons", data=data))


def new_customer(api: httpx.Client) -> Any:
    return ok(api.post("/v1/customers", data={"email": "ann@example.com"}))
