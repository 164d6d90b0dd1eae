"""A usage-priced business driven end to end with the official SDK.

Acme AI sells seats, API calls, storage and bulk credits. Its catalog is built with
``stripe.StripeClient``; usage arrives through v1 meter events and the v2 meter event
stream (``base_addresses["meter_events"]`` pointing at remit); the summaries it reads
back, and the amounts the rating engine makes of them, equal sums done by hand here.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
import stripe

from remit.catalog import prices
from remit.catalog.domain.rating import rate
from remit.catalog.models import pricing_models
from remit.primitives.money import RoundingMode

HOUR_S, DAY_S = 3600, 86400


@pytest.fixture
def client(server, account) -> stripe.StripeClient:
    addresses = {"api": server.url, "meter_events": server.url}
    return stripe.StripeClient(account.secret_key, base_addresses=addresses, max_network_retries=0)


def _iso(ts: int) -> str:
    return datetime.fromtimestamp(ts, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def _catalog(client: stripe.StripeClient) -> dict[str, stripe.Price]:
    """One price of every model the catalog rates."""
    meters = _meters(client)
    api = client.v1.products.create(params={"name": "API"})
    storage = client.v1.products.create(params={"name": "Storage"})
    seats = client.v1.products.create(
        params={
            "name": "Seats",
            "default_price_data": {
                "currency": "usd",
                "unit_amount": 1200,
                "recurring": {"interval": "month"},
            },
        }
    )
    created = {
        "seat": client.v1.prices.retrieve(seats.default_price),
        **_metered_api_prices(client, api.id, meters),
        "storage_packages": client.v1.prices.create(
            params={
                "product": storage.id,
                "currency": "usd",
                "unit_amount": 300,
                "transform_quantity": {"divide_by": 1000, "round": "up"},
            }
        ),
        "storage_tiered_packages": client.v1.prices.create(
            params={
                "product": storage.id,
                "currency": "usd",
                "billing_scheme": "tiered",
                "tiers_mode": "graduated",
                "tiers": [{"up_to": 2, "unit_amount": 500}, {"up_to": "inf", "unit_amount": 250}],
                "transform_quantity": {"divide_by": 1000, "round": "up"},
            }
        ),
        "seat_fraction": client.v1.prices.create(
            params={
                "product": seats.id,
                "currency": "usd",
                "unit_amount_decimal": "0.123456789012",
                "recurring": {
                    "interval": "month",
                    "meter": meters["seats_in_use"].id,
                    "usage_type": "metered",
                },
            }
        ),  # fmt: skip
    }
    return {"meters": meters, **created}  # type: ignore[dict-item]


def _meters(client: stripe.StripeClient) -> dict[str, stripe.billing.Meter]:
    return {
        name: client.v1.billing.meters.create(
            params={
                "display_name": name.replace("_", " ").title(),
                "event_name": name,
                "default_aggregation": {"formula": formula},
            }
        )
        for name, formula in (("api_calls", "sum"), ("logins", "count"), ("seats_in_use", "last"))
    }


def _metered_api_prices(
    client: stripe.StripeClient, product_id: str, meters: dict[str, stripe.billing.Meter]
) -> dict[str, stripe.Price]:
    monthly_metered = {"interval": "month", "usage_type": "metered"}
    return {
        "api_graduated": client.v1.prices.create(
            params={
                "product": product_id,
                "currency": "usd",
                "billing_scheme": "tiered",
                "tiers_mode": "graduated",
                "tiers": [
                    {"up_to": 100, "unit_amount_decimal": "2.5", "flat_amount": 500},
                    {"up_to": "inf", "unit_amount": 1},
                ],
                "recurring": {**monthly_metered, "meter": meters["api_calls"].id},
                "currency_options": {
                    "eur": {
                        "tiers": [
                            {"up_to": 100, "unit_amount_decimal": "2.2", "flat_amount": 450},
                            {"up_to": "inf", "unit_amount_decimal": "0.9"},
                        ]
                    }
                },
            }
        ),
        "logins_volume": client.v1.prices.create(
            params={
                "product": product_id,
                "currency": "usd",
                "billing_scheme": "tiered",
                "tiers_mode": "volume",
                "tiers": [{"up_to": 5, "unit_amount": 40}, {"up_to": "inf", "unit_amount": 30}],
                "recurring": {**monthly_metered, "meter": meters["logins"].id},
            }
        ),
    }


def _send_usage(client, server, ann, bob, day: int) -> dict[int, int]:
    """Usage through v1 and the v2 stream; returns the hourly api_calls of Ann's v2 events."""
    # v1: one call at a time.
    for n, customer in enumerate((ann, ann, bob)):
        client.v1.billing.meter_events.create(
            params={
                "event_name": "api_calls",
                "identifier": f"v1-{n}",
                "timestamp": day + 9 * HOUR_S + n,
                "payload": {"stripe_customer_id": customer.id, "value": "10"},
            }
        )
    # v2: a session, then the stream, 100 events per request.
    session = client.v2.billing.meter_event_session.create()
    streamer = stripe.StripeClient(
        session.authentication_token,
        base_addresses={"api": server.url, "meter_events": server.url},
        max_network_retries=0,
    )
    expected_hours: dict[int, int] = {}
    for batch in range(3):
        events = []
        for n in range(100):
            at = day + (10 + batch) * HOUR_S + n * 30
            events.append(
                {
                    "event_name": "api_calls",
                    "identifier": f"v2-{batch}-{n}",
                    "timestamp": _iso(at),
                    "payload": {"stripe_customer_id": ann.id, "value": str(n % 7)},
                }
            )
            hour = at // HOUR_S * HOUR_S
            expected_hours[hour] = expected_hours.get(hour, 0) + n % 7
        streamer.v2.billing.meter_event_stream.create({"events": events})
    logins = [{"event_name": "logins", "identifier": f"login-{n}", "timestamp": _iso(day + n),
               "payload": {"stripe_customer_id": ann.id}} for n in range(7)]  # fmt: skip
    seats = [{"event_name": "seats_in_use", "identifier": f"seats-{n}",
              "timestamp": _iso(day + HOUR_S * n),
              "payload": {"stripe_customer_id": ann.id, "value": str(value)}}
             for n, value in enumerate((3, 8, 5))]  # fmt: skip
    streamer.v2.billing.meter_event_stream.create({"events": logins + seats})
    return expected_hours


def test_a_usage_priced_business_through_the_official_sdk(client, server):
    catalog = _catalog(client)
    meters = catalog["meters"]
    ann = client.v1.customers.create(params={"name": "Ann"})
    bob = client.v1.customers.create(params={"name": "Bob"})
    now = int(datetime.now(tz=UTC).timestamp())
    day = now // DAY_S * DAY_S - DAY_S  # yesterday, 00:00 UTC: inside the 35-day window
    expected_hours = _send_usage(client, server, ann, bob, day)

    def summaries(meter: str, customer: str, **params: object) -> list:
        listed = client.v1.billing.meters.event_summaries.list(
            meters[meter].id,
            params={"customer": customer, "start_time": day, "end_time": day + DAY_S, **params},
        )
        return list(listed.auto_paging_iter())

    # Ann: 20 through v1, then 3 x sum(n % 7 for n < 100) = 3 x (14 x 21 + 1) through v2.
    (ann_total,) = summaries("api_calls", ann.id)
    assert ann_total.aggregated_value == 20 + 3 * 295
    assert (ann_total.start_time, ann_total.end_time) == (day, day + DAY_S)
    (bob_total,) = summaries("api_calls", bob.id)
    assert bob_total.aggregated_value == 10
    hourly = summaries("api_calls", ann.id, value_grouping_window="hour", limit=2)
    assert {s.start_time: s.aggregated_value for s in hourly} == {
        day + 9 * HOUR_S: 20,
        **expected_hours,
    }
    assert [s.start_time for s in hourly] == sorted((s.start_time for s in hourly), reverse=True)
    assert [s.aggregated_value for s in summaries("logins", ann.id)] == [7]
    assert [s.aggregated_value for s in summaries("seats_in_use", ann.id)] == [5]

    # Rating what was metered, with the prices as the API returns them.
    def amount(name: str, quantity: int | Decimal, currency: str = "usd") -> int:
        price = client.v1.prices.retrieve(catalog[name].id, params={"expand": ["tiers"]})
        if currency != "usd":
            price = client.v1.prices.retrieve(
                catalog[name].id, params={"expand": ["currency_options"]}
            )
        terms = prices.terms(price.to_dict(), currency)
        models = pricing_models(None)
        return rate(terms, Decimal(quantity), RoundingMode.HALF_UP, models).amount_minor

    usage = Decimal(ann_total.aggregated_value)  # 905 calls
    assert amount("api_graduated", usage) == 500 + 250 + 805  # flat + 100 x 2.5 + 805 x 1
    # 450 + 100 x 2.2 + 805 x 0.9 = 1394.5, rounded once (half up)
    assert amount("api_graduated", usage, "eur") == 1395
    assert amount("logins_volume", 7) == 7 * 30
    assert amount("storage_packages", 2001) == 3 * 300
    assert amount("storage_tiered_packages", 5500) == 2 * 500 + 4 * 250
    assert amount("seat", 4) == 4800
    assert amount("seat_fraction", 1000) == 123  # 123.456789012 rounds half up to 123


def test_refusals_reach_the_sdk_as_stripe_errors(client):
    meter = client.v1.billing.meters.create(
        params={"display_name": "Calls", "event_name": "calls",
                "default_aggregation": {"formula": "sum"}}
    )  # fmt: skip
    customer = client.v1.customers.create(params={"name": "Ann"})
    now = int(datetime.now(tz=UTC).timestamp())
    payload = {"stripe_customer_id": customer.id, "value": "1"}
    sent = {"event_name": "calls", "identifier": "once", "payload": payload}
    client.v1.billing.meter_events.create(params=sent)
    refusals = [
        (lambda: client.v1.billing.meter_events.create(params=sent), "identifier", None),
        (
            lambda: client.v1.billing.meter_events.create(
                params={**sent, "identifier": "old", "timestamp": now - 36 * DAY_S}
            ),
            "timestamp",
            "timestamp_too_far_in_past",
        ),
        (
            lambda: client.v1.billing.meter_events.create(
                params={**sent, "identifier": "long", "payload": {**payload, "value": "1" * 16}}
            ),
            "payload",
            "meter_event_value_too_many_digits",
        ),
        (
            lambda: client.v1.billing.meter_event_adjustments.create(
                params={"event_name": "calls", "type": "cancel", "cancel": {"identifier": "x"}}
            ),
            "cancel[identifier]",
            "resource_missing",
        ),
        (
            lambda: client.v1.billing.meters.event_summaries.list(
                meter.id,
                params={"customer": customer.id, "start_time": now - now % 60, "end_time": now},
            ),
            "end_time",
            None,
        ),
    ]
    for call, param, code in refusals:
        with pytest.raises(stripe.InvalidRequestError) as refused:
            call()
        assert refused.value.param == param
        if code is not None:
            assert refused.value.code == code
