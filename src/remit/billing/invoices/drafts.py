"""What an invoice is made of before it is written: line and invoice drafts.

Subscriptions (renewals, prorations), the invoices API and previews all describe the
invoices they want as these values; ``build.create_many`` writes them in batches and
``preview`` renders them without writing anything.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from types import MappingProxyType
from typing import Any

_EMPTY: Mapping[str, Any] = MappingProxyType({})


@dataclass(frozen=True)
class LineDraft:
    """One invoice line. ``amount`` is before discounts and taxes (Stripe's line amount).

    ``tax_rates`` are the line's own rates (empty: the invoice's ``default_tax_rates``
    apply); ``discounts`` are line-level ``di_`` ids, applied before the invoice's own.
    ``explain`` is the line's derivation (price, quantity source, rating, proration
    window); the invoice adds its discounts, taxes and rounding when it prices the line.
    """

    amount: int
    currency: str
    description: str | None
    period_start: int
    period_end: int
    quantity: int | None = None
    price: str | None = None
    product: str | None = None
    unit_amount_decimal: Decimal | None = None
    proration: bool = False
    discountable: bool = True
    tax_rates: tuple[str, ...] = ()
    discounts: tuple[str, ...] = ()
    parent_type: str = "subscription_item_details"  # or "invoice_item_details"
    subscription: str | None = None
    subscription_item: str | None = None
    invoice_item: str | None = None
    metadata: Mapping[str, str] = field(default_factory=lambda: _EMPTY)
    explain: Mapping[str, Any] = field(default_factory=lambda: _EMPTY)


@dataclass(frozen=True)
class InvoiceDraft:
    """One invoice to create. ``discounts`` are invoice-level ``di_`` ids.

    ``pending_items`` sweeps the customer's pending invoice items in the invoice's
    currency into it: those of ``subscription`` when one is given, else the ones that
    belong to no subscription. ``cycle_key`` names a subscription's cycle: a second draft
    with a taken key creates nothing (a bill run rerun after a crash).
    """

    customer: str
    currency: str
    created: int
    period_start: int
    period_end: int
    billing_reason: str
    collection_method: str = "charge_automatically"
    days_until_due: int | None = None
    subscription: str | None = None
    test_clock: str | None = None
    default_tax_rates: tuple[str, ...] = ()
    discounts: tuple[str, ...] = ()
    lines: tuple[LineDraft, ...] = ()
    auto_advance: bool = True
    cycle_key: str | None = None
    description: str | None = None
    metadata: Mapping[str, str] = field(default_factory=lambda: _EMPTY)
    pending_items: bool = True
    # Additions beyond the shared interface, used by the invoices API: an id chosen before
    # writing (coupons are redeemed onto the invoice first), a fixed due date, a footer.
    invoice_id: str | None = None
    due_date: int | None = None
    footer: str | None = None
