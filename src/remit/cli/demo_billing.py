"""The demo's billing chapter: a year of a small SaaS business on a test clock.

The roastery sells "Roastery Cloud", its ordering software, to cafés: seats by the
month and ordering-API calls by graduated tiers, billed in arrears from the meter.
Cafés in France pay 20 % VAT on top; cafés in Germany have 19 % VAT inside the price.
Early cafés got a launch coupon (25 % off for three months), two start with a trial.
Everything runs through the official Stripe SDK on one test clock that starts a year
ago and is advanced month by month: usage streams in, renewals invoice, cafés pay
(out of band: payments are not part of the platform yet), one upgrades mid-cycle,
one leaves, one gets a goodwill credit, one gets a credit note, one never pays.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import stripe

from remit.metering.domain.timestamps import rfc3339

DAY_S = 86_400
CAFES = 12
MONTHS = 12
EVENTS_PER_CAFE_PER_MONTH = 20
BATCH = 100
CLOCK_WAIT_S = 60
LATE_PAYER = CAFES - 1


@dataclass
class Catalog:
    seat_price: str
    calls_price: str
    meter_event: str
    vat: dict[str, str]  # country -> tax rate id
    promotion_code: str


@dataclass
class Year:
    """What the chapter did, for the report."""

    clock: str
    customers: list[str]
    subscriptions: list[str]
    events_sent: int = 0
    paid: int = 0
    facts: dict[str, Any] = field(default_factory=dict)


def _catalog(client: stripe.StripeClient) -> Catalog:
    meter = client.v1.billing.meters.create(
        params={
            "display_name": "Roastery Cloud ordering calls",
            "event_name": "cloud_order_call",
            "default_aggregation": {"formula": "sum"},
        }
    )
    cloud = client.v1.products.create(params={"name": "Roastery Cloud"})
    seat = client.v1.prices.create(
        params={
            "product": cloud.id,
            "currency": "usd",
            "unit_amount": 2900,
            "nickname": "seat, monthly",
            "recurring": {"interval": "month"},
        }
    )
    calls = client.v1.prices.create(
        params={
            "product": cloud.id,
            "currency": "usd",
            "nickname": "ordering calls, graduated",
            "billing_scheme": "tiered",
            "tiers_mode": "graduated",
            "tiers": [
                {"up_to": 50, "unit_amount": 0},
                {"up_to": 200, "unit_amount": 10},
                {"up_to": "inf", "unit_amount_decimal": Decimal("4.5")},
            ],
            "recurring": {"interval": "month", "usage_type": "metered", "meter": meter.id},
        }
    )
    fr = client.v1.tax_rates.create(
        params={"display_name": "TVA", "percentage": 20, "inclusive": False,
                "country": "FR", "jurisdiction": "FR"}
    )  # fmt: skip
    de = client.v1.tax_rates.create(
        params={"display_name": "MwSt", "percentage": 19, "inclusive": True,
                "country": "DE", "jurisdiction": "DE"}
    )  # fmt: skip
    coupon = client.v1.coupons.create(
        params={"percent_off": 25, "duration": "repeating", "duration_in_months": 3,
                "name": "Launch"}
    )  # fmt: skip
    promo = client.v1.promotion_codes.create(
        params={"promotion": {"type": "coupon", "coupon": coupon.id}, "code": "LAUNCH25"}
    )
    return Catalog(seat.id, calls.id, "cloud_order_call", {"FR": fr.id, "DE": de.id}, promo.id)


def _sign_up(client: stripe.StripeClient, catalog: Catalog, start: int) -> Year:
    clock = client.v1.test_helpers.test_clocks.create(
        params={"frozen_time": start, "name": "Roastery Cloud, year one"}
    )
    year = Year(clock.id, [], [])
    for n in range(CAFES):
        country = ("FR", "DE")[n % 2]
        customer = client.v1.customers.create(
            params={"name": f"Café {n:02d}", "email": f"cafe{n:02d}@example.com",
                    "address": {"country": country}, "test_clock": clock.id}
        )  # fmt: skip
        params: Any = {
            "customer": customer.id,
            "items": [{"price": catalog.seat_price, "quantity": 1 + n % 4},
                      {"price": catalog.calls_price}],
            "default_tax_rates": [catalog.vat[country]],
            "collection_method": "send_invoice",
            "days_until_due": 14,
        }  # fmt: skip
        if n < 4:
            params["discounts"] = [{"promotion_code": catalog.promotion_code}]
        if n in (4, 5):
            params["trial_period_days"] = 14
        subscription = client.v1.subscriptions.create(params=params)
        year.customers.append(customer.id)
        year.subscriptions.append(subscription.id)
    return year


def _stream_month(
    client: stripe.StripeClient, addresses: Any, catalog: Catalog, year: Year,
    month_start: int, draw: random.Random,
) -> None:  # fmt: skip
    """A month of ordering calls, sent on the v2 stream 100 events a request."""
    events: list[Any] = []
    for n, customer in enumerate(year.customers):
        for k in range(EVENTS_PER_CAFE_PER_MONTH):
            at = month_start + DAY_S + k * 26 * DAY_S // EVENTS_PER_CAFE_PER_MONTH
            events.append({
                "event_name": catalog.meter_event,
                "identifier": f"cloud-{n:02d}-{month_start}-{k:02d}",
                "timestamp": rfc3339(at + draw.randint(0, 3600)),
                "payload": {"stripe_customer_id": customer, "value": str(draw.randint(1, 25))},
            })  # fmt: skip
    session = client.v2.billing.meter_event_session.create()
    stream = stripe.StripeClient(session.authentication_token, base_addresses=addresses)
    for first in range(0, len(events), BATCH):
        stream.v2.billing.meter_event_stream.create({"events": events[first : first + BATCH]})
    year.events_sent += len(events)


def _advance(client: stripe.StripeClient, clock_id: str, to: int) -> None:
    client.v1.test_helpers.test_clocks.advance(clock_id, params={"frozen_time": to})
    deadline = time.monotonic() + CLOCK_WAIT_S
    while time.monotonic() < deadline:
        status = client.v1.test_helpers.test_clocks.retrieve(clock_id).status
        if status == "ready":
            return
        if status != "advancing":
            raise RuntimeError(f"test clock {clock_id} ended {status}")
        time.sleep(0.05)
    raise RuntimeError(f"test clock {clock_id} did not finish advancing")


def _collect(client: stripe.StripeClient, year: Year) -> None:
    """Every café but the late payer settles its open invoices (by bank transfer)."""
    for n, customer in enumerate(year.customers):
        if n == LATE_PAYER:
            continue
        listed = client.v1.invoices.list(params={"customer": customer, "status": "open"})
        for invoice in listed.auto_paging_iter():
            client.v1.invoices.pay(invoice.id, params={"paid_out_of_band": True})
            year.paid += 1


def _month_events(client: stripe.StripeClient, catalog: Catalog, year: Year, month: int) -> None:
    """The month's one-off business: an upgrade, a departure, a goodwill credit, a refund."""
    if month == 3:  # café 0 grows from 1 to 6 seats mid-cycle: prorated to the second
        subscription = client.v1.subscriptions.retrieve(year.subscriptions[0])
        seat = next(i for i in subscription["items"].data if i.price.id == catalog.seat_price)
        client.v1.subscriptions.update(
            subscription.id, params={"items": [{"id": seat.id, "quantity": 6}],
                                     "proration_behavior": "create_prorations"}
        )  # fmt: skip
        year.facts["café 00 upgraded mid-cycle (prorated)"] = True
    if month == 5:  # café 1 leaves at the end of its period
        client.v1.subscriptions.update(year.subscriptions[1], params={"cancel_at_period_end": True})
    if month == 7:  # café 2 gets a goodwill credit, applied to its next invoice
        client.v1.customers.balance_transactions.create(
            year.customers[2], params={"amount": -5000, "currency": "usd",
                                       "description": "Goodwill credit"}
        )  # fmt: skip
    if month == 8:  # café 3 is credited 10 USD on its latest paid invoice, to its balance
        paid = client.v1.invoices.list(params={"customer": year.customers[3], "status": "paid"})
        invoice = paid.data[0]
        credit = min(1000, invoice.total)
        client.v1.credit_notes.create(
            params={"invoice": invoice.id, "amount": credit, "credit_amount": credit,
                    "reason": "product_unsatisfactory"}
        )  # fmt: skip
        year.facts["credit note after payment (to the balance)"] = True


def run_billing_chapter(client: stripe.StripeClient, server_url: str, start: int) -> Year:
    """Run the year; ``start`` is the clock's first moment (a year before today)."""
    catalog = _catalog(client)
    year = _sign_up(client, catalog, start)
    addresses: Any = {"api": server_url, "meter_events": server_url}
    draw = random.Random(7)  # the same year on every run
    month_start = start
    for month in range(1, MONTHS + 1):
        _month_events(client, catalog, year, month)
        period_end = _period_end(client, year)
        # Usage is reported as the month is lived: the clock goes to the month's last
        # hour, the month's calls arrive, then the clock passes the renewal (plus two
        # hours: renewal drafts finalize an hour after they are made).
        _advance(client, year.clock, period_end - 3600)
        _stream_month(client, addresses, catalog, year, month_start, draw)
        _advance(client, year.clock, period_end + 2 * 3600)
        _collect(client, year)
        month_start = period_end
    return year


def _period_end(client: stripe.StripeClient, year: Year) -> int:
    subscription = client.v1.subscriptions.retrieve(year.subscriptions[-1])
    return int(subscription["items"].data[0].current_period_end)
