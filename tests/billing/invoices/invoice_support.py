"""Helpers for the invoice tests: a small catalog, calls that must succeed, refusals that
must write nothing, and the ledger verified with billing's receivables check."""

from __future__ import annotations

from functools import partial
from typing import Any

import httpx

from catalog import catalog_support
from catalog.catalog_support import ok
from catalog.catalog_support import refused as refused
from remit.billing.balance.tables import customer_balance_transactions
from remit.billing.invoices.tables import invoice_items, invoice_lines, invoices
from remit.billing.tables import customers
from remit.cli.ledger_verify import hook_checks
from remit.events.tables import events
from remit.ledger.tables import journal_entries
from remit.ledger.verify import VerifyReport, verify

WATCHED = (
    invoices,
    invoice_lines,
    invoice_items,
    customers,
    customer_balance_transactions,
    events,
    journal_entries,
)


# The catalog tests' "nothing written" checks, over the tables named above.
snapshot = partial(catalog_support.snapshot, watched=WATCHED)
unchanged = partial(catalog_support.unchanged, watched=WATCHED)


def ledger_report(store, pm, account_id: str) -> VerifyReport:  # type: ignore[no-untyped-def]
    return verify(store, account_id, extra_checks=hook_checks(pm))


def assert_ledger_clean(store, pm, account_id: str) -> None:  # type: ignore[no-untyped-def]
    report = ledger_report(store, pm, account_id)
    assert report.clean, report.findings


def new_customer(api: httpx.Client, **params: str) -> Any:
    return ok(api.post("/v1/customers", data={"email": "ann@example.com", **params}))


def new_price(api: httpx.Client, **params: str) -> Any:
    """A one-time price of a new product (unit_amount 1500 unless given)."""
    product = ok(api.post("/v1/products", data={"name": "Widget"}))
    amount = {} if "unit_amount_decimal" in params else {"unit_amount": "1500"}
    data = {"currency": "usd", "product": product["id"], **amount, **params}
    return ok(api.post("/v1/prices", data=data))


def new_tax_rate(
    api: httpx.Client, percentage: str, inclusive: bool = False, jurisdiction: str = "NY"
) -> Any:
    data = {
        "display_name": "Tax",
        "percentage": percentage,
        "inclusive": "true" if inclusive else "false",
        "jurisdiction": jurisdiction,
    }
    return ok(api.post("/v1/tax_rates", data=data))


def new_coupon(api: httpx.Client, **params: str) -> Any:
    return ok(api.post("/v1/coupons", data={"duration": "once", **params}))


def new_item(api: httpx.Client, customer: str, **params: str) -> Any:
    data = {"customer": customer, "currency": "usd", **params}
    return ok(api.post("/v1/invoiceitems", data=data))


def new_invoice(api: httpx.Client, customer: str, **params: str) -> Any:
    data = {"customer": customer, "pending_invoice_items_behavior": "include", **params}
    return ok(api.post("/v1/invoices", data=data))


def events_of(api: httpx.Client, event_type: str) -> list[dict[str, Any]]:
    return ok(api.get("/v1/events", params={"type": event_type, "limit": 100}))["data"]
