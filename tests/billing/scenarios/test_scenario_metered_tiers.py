"""An API company charges a 49.00 USD platform fee a month in advance, and its API calls in
arrears on graduated tiers: the first 1,000 calls at 2 cents, up to 10,000 at 0.8 cents
plus a 5.00 flat fee for entering that tier, beyond at 0.25 cents. January's calls reach
the meter through the SDK's v1 meter events, stamped inside the period (one at its very
first second, one at its last, one at the next period's first second, sent two minutes
early); the clock then passes Feb 1 and Mar 1.
"""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import stripe
from scenario_support import (
    HOUR_S,
    advance,
    assert_books_clean,
    half_up,
    invoices_of,
    pay_out_of_band,
    sdk,
    ts,
)

PLATFORM_MINOR = 4900
TIERS = [
    {"up_to": 1000, "unit_amount": 2},
    {"up_to": 10000, "unit_amount_decimal": "0.8", "flat_amount": 500},
    {"up_to": "inf", "unit_amount_decimal": "0.25"},
]


def _graduated(calls: int) -> int:
    """The tiers above by hand, summed exactly and rounded once."""
    first = min(calls, 1000) * 2
    second = (min(calls, 10000) - 1000) * Fraction(8, 10) + 500 if calls > 1000 else 0
    third = (calls - 10000) * Fraction(25, 100) if calls > 10000 else 0
    return half_up(first + second + third)


def _catalog(client: stripe.StripeClient) -> tuple[str, str, str, str]:
    clock = client.v1.test_helpers.test_clocks.create(params={"frozen_time": ts(2024, 1, 1)})
    customer = client.v1.customers.create(params={"name": "Callr", "test_clock": clock.id})
    meter = client.v1.billing.meters.create(
        params={"display_name": "API calls", "event_name": "api_call",
                "default_aggregation": {"formula": "sum"}}
    )  # fmt: skip
    platform = client.v1.prices.create(
        params={"currency": "usd", "unit_amount": PLATFORM_MINOR,
                "recurring": {"interval": "month"}, "product_data": {"name": "Platform"}}
    )  # fmt: skip
    calls = client.v1.prices.create(
        params={
            "currency": "usd",
            "recurring": {"interval": "month", "usage_type": "metered", "meter": meter.id},
            "billing_scheme": "tiered",
            "tiers_mode": "graduated",
            "tiers": TIERS,
            "product_data": {"name": "API calls"},
        }
    )
    return clock.id, customer.id, platform.id, calls.id


def _send(client: stripe.StripeClient, customer: str, at_ts: int, calls: int) -> None:
    client.v1.billing.meter_events.create(
        params={
            "event_name": "api_call",
            "payload": {"stripe_customer_id": customer, "value": str(calls)},
            "timestamp": at_ts,
            "identifier": f"calls-{at_ts}",
        }
    )


def test_tiered_usage_billed_at_the_period_end(server, account, store, pm):
    client = sdk(server, account)
    clock, customer, platform, calls = _catalog(client)
    sub = client.v1.subscriptions.create(
        params={"customer": customer, "items": [{"price": platform}, {"price": calls}],
                "collection_method": "send_invoice", "days_until_due": 30}
    )  # fmt: skip
    metered_item = next(i.id for i in sub["items"].data if i.price.id == calls)
    [first] = invoices_of(client, subscription=sub.id)
    assert first.total == PLATFORM_MINOR, "usage is billed in arrears, nothing up front"
    pay_out_of_band(client, first.id)

    advance(client, store, pm, clock, ts(2024, 1, 31, 23, 58))
    january = [
        (ts(2024, 1, 1), 1000),  # the period's first second counts
        (ts(2024, 1, 9, 14, 22, 5), 4000),
        (ts(2024, 1, 20, 3), 7000),
        (ts(2024, 2, 1) - 1, 345),  # its last second too
    ]
    for at_ts, used in january:
        _send(client, customer, at_ts, used)
    _send(client, customer, ts(2024, 2, 1), 7)  # February's first second: not January's
    used_in_january = 1000 + 4000 + 7000 + 345
    assert used_in_january == 12_345
    # 1,000 x 2 = 2,000; 9,000 x 0.8 + 500 = 7,700; 2,345 x 0.25 = 586.25;
    # 10,286.25 in all, rounded once: 10,286.
    metered = 2_000 + 7_700 + 586
    assert metered == _graduated(used_in_january) == 10_286
    upcoming = client.v1.invoices.create_preview(params={"subscription": sub.id})
    assert sorted(line.amount for line in upcoming.lines.data) == [PLATFORM_MINOR, metered]

    advance(client, store, pm, clock, ts(2024, 2, 1) + 2 * HOUR_S)
    _, february = invoices_of(client, subscription=sub.id)
    assert (february.billing_reason, february.created) == ("subscription_cycle", ts(2024, 2, 1))
    usage_line, platform_line = _split(february, metered_item)
    assert usage_line.amount == metered
    assert Decimal(usage_line.quantity_decimal or usage_line.quantity) == used_in_january
    assert (usage_line.period.start, usage_line.period.end) == (ts(2024, 1, 1), ts(2024, 2, 1))
    assert (platform_line.amount, platform_line.period.start) == (PLATFORM_MINOR, ts(2024, 2, 1))
    assert february.total == metered + PLATFORM_MINOR == 15_186

    # March bills February's usage: the 7 calls stamped at Feb 1 00:00:00, at 2 cents.
    advance(client, store, pm, clock, ts(2024, 3, 1) + 2 * HOUR_S)
    march = invoices_of(client, subscription=sub.id)[-1]
    usage_line, _ = _split(march, metered_item)
    assert usage_line.amount == 7 * 2 == _graduated(7)
    assert march.total == 14 + PLATFORM_MINOR
    assert_books_clean(store, pm, account.account.id, open_amount=15_186 + 4_914)


def _split(invoice: stripe.Invoice, metered_item: str) -> tuple[stripe.InvoiceLineItem, ...]:
    """The invoice's (usage line, platform line), told apart by their subscription item."""
    usage = [line for line in invoice.lines.data if _item_of(line) == metered_item]
    other = [line for line in invoice.lines.data if _item_of(line) != metered_item]
    assert (len(usage), len(other)) == (1, 1), invoice.lines.data
    return usage[0], other[0]


def _item_of(line: stripe.InvoiceLineItem) -> str | None:
    details = line.parent.subscription_item_details
    return None if details is None else str(details.subscription_item)


def test_usage_reported_in_the_grace_hour_is_billed(server, account, store, pm):
    """January's last calls reach the meter at 00:30 on Feb 1, stamped 23:59:30 on Jan 31:
    the renewal invoice is still a draft (it finalizes at 01:00), and Stripe updates a draft's
    usage at finalization, so they are billed with January's."""
    client = sdk(server, account)
    clock, customer, platform, calls = _catalog(client)
    sub = client.v1.subscriptions.create(
        params={"customer": customer, "items": [{"price": platform}, {"price": calls}],
                "collection_method": "send_invoice", "days_until_due": 30}
    )  # fmt: skip
    advance(client, store, pm, clock, ts(2024, 1, 31, 23))
    _send(client, customer, ts(2024, 1, 20), 900)
    advance(client, store, pm, clock, ts(2024, 2, 1, 0, 30))
    draft = invoices_of(client, subscription=sub.id)[-1]
    assert (draft.status, draft.total) == ("draft", 900 * 2 + PLATFORM_MINOR)
    _send(client, customer, ts(2024, 2, 1) - 30, 300)  # reported in the grace hour
    advance(client, store, pm, clock, ts(2024, 2, 1, 2))
    final = client.v1.invoices.retrieve(draft.id)
    # 1,200 calls: 1,000 x 2 = 2,000; 200 x 0.8 + 500 = 660.
    assert _graduated(1200) == 2_000 + 660
    assert (final.status, final.total) == ("open", 2_660 + PLATFORM_MINOR)
    assert_books_clean(store, pm, account.account.id, open_amount=PLATFORM_MINOR + final.total)
