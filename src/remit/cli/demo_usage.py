"""The demo's usage chapter: a metered product, a day of usage on the v2 stream, the
summaries read back and the amounts the rating engine makes of them.

The roastery sells its ordering API by the call (graduated tiers) and stores green
beans by the started tonne (``transform_quantity``). Usage arrives the way a busy
integration sends it: a meter event session, then the stream, 100 events a request,
one batch retried after a lost answer, one event naming a customer nobody knows,
and one mistaken event canceled afterwards.
"""

from __future__ import annotations

import random
from decimal import Decimal
from typing import Any

import stripe

from remit.catalog import prices
from remit.catalog.domain.rating import rate
from remit.catalog.models import pricing_models
from remit.metering.domain.timestamps import rfc3339
from remit.primitives.clock import WallClock
from remit.primitives.money import RoundingMode, format_amount

STREAMED_EVENTS = 2_000
BATCH = 100
USAGE_CUSTOMERS = 8
HOUR_S = 3600
SUMMARY_WAIT_S = 10


def _catalog(client: stripe.StripeClient) -> tuple[stripe.billing.Meter, stripe.Price]:
    meter = client.v1.billing.meters.create(
        params={
            "display_name": "Ordering API calls",
            "event_name": "ordering_api_call",
            "default_aggregation": {"formula": "sum"},
        }
    )
    api = client.v1.products.create(params={"name": "Ordering API"})
    price = client.v1.prices.create(
        params={
            "product": api.id,
            "currency": "usd",
            "nickname": "calls, graduated",
            "billing_scheme": "tiered",
            "tiers_mode": "graduated",
            "tiers": [
                {"up_to": 100, "unit_amount": 0, "flat_amount": 900},
                {"up_to": 1000, "unit_amount_decimal": Decimal("1.5")},
                {"up_to": "inf", "unit_amount_decimal": Decimal("0.75")},
            ],
            "recurring": {"interval": "month", "usage_type": "metered", "meter": meter.id},
        }
    )
    beans = client.v1.products.create(params={"name": "Green-bean storage"})
    client.v1.prices.create(
        params={
            "product": beans.id,
            "currency": "usd",
            "unit_amount": 4500,
            "nickname": "per started tonne",
            "transform_quantity": {"divide_by": 1000, "round": "up"},
        }
    )
    return meter, price


def _events(customer_ids: list[str], start: int) -> list[Any]:
    draw = random.Random(4)  # the same day of usage on every run
    return [
        {
            "event_name": "ordering_api_call",
            "identifier": f"demo-call-{n:05d}",
            "timestamp": rfc3339(start + n * 20),
            "payload": {
                "stripe_customer_id": draw.choice(customer_ids),
                "value": str(draw.randint(1, 6)),
            },
        }
        for n in range(STREAMED_EVENTS)
    ]


def run_usage_chapter(
    client: stripe.StripeClient, server_url: str, customers: list[str]
) -> dict[str, Any]:
    facts: dict[str, Any] = {}
    meter, price = _catalog(client)
    customer_ids = customers[:USAGE_CUSTOMERS]
    now = WallClock().now()
    start = (now - 20 * HOUR_S) // HOUR_S * HOUR_S
    events = _events(customer_ids, start)
    session = client.v2.billing.meter_event_session.create()
    addresses: Any = {"api": server_url, "meter_events": server_url}
    stream = stripe.StripeClient(session.authentication_token, base_addresses=addresses)
    for first in range(0, len(events), BATCH):
        stream.v2.billing.meter_event_stream.create({"events": events[first : first + BATCH]})
    stream.v2.billing.meter_event_stream.create({"events": events[:BATCH]})  # a lost answer
    stranger: Any = {**events[0], "identifier": "demo-stranger"}
    stranger["payload"] = {"stripe_customer_id": "cus_unknown", "value": "3"}
    stream.v2.billing.meter_event_stream.create({"events": [stranger]})
    client.v1.billing.meter_event_adjustments.create(
        params={
            "event_name": "ordering_api_call",
            "type": "cancel",
            "cancel": {"identifier": "demo-call-00007"},
        }
    )
    facts["usage events streamed (v2, 100 a request)"] = len(events)
    expected = _hand_totals(events, canceled="demo-call-00007")
    read = _summaries(client, meter.id, customer_ids, start, now)
    facts["usage summaries equal the events sent (one retry, one cancel)"] = read == expected
    facts["unattributable events recorded as errors"] = _error_count(client, meter.id)
    shown = sorted(read.items(), key=lambda item: -item[1])[:3]
    full = client.v1.prices.retrieve(price.id, params={"expand": ["tiers"]})
    terms = prices.terms(full.to_dict(), "usd")
    for customer_id, calls in shown:
        rating = rate(terms, Decimal(calls), RoundingMode.HALF_UP, pricing_models(None))
        facts[f"usage of {customer_id}"] = (
            f"{calls} calls -> {format_amount(rating.amount_minor, 'usd')}"
        )
    return facts


def _hand_totals(events: list[Any], canceled: str) -> dict[str, int]:
    totals: dict[str, int] = {}
    for event in events:
        if event["identifier"] != canceled:
            customer = event["payload"]["stripe_customer_id"]
            totals[customer] = totals.get(customer, 0) + int(event["payload"]["value"])
    return totals


def _summaries(
    client: stripe.StripeClient, meter_id: str, customer_ids: list[str], start: int, now: int
) -> dict[str, int]:
    end = (now // 60 + 1) * 60
    totals: dict[str, int] = {}
    for customer_id in customer_ids:
        listed = client.v1.billing.meters.event_summaries.list(
            meter_id, params={"customer": customer_id, "start_time": start, "end_time": end}
        )
        totals[customer_id] = sum(int(s.aggregated_value) for s in listed.data)
    return totals


def _error_count(client: stripe.StripeClient, meter_id: str) -> int:
    response = client.raw_request("get", f"/v1/billing/meters/{meter_id}/error_report")
    report = client.deserialize(response, api_mode="V1")
    return int(report["reason"]["error_count"])
