"""The official Stripe SDK runs a subscription's life against remit unchanged."""

from __future__ import annotations

import pytest
import stripe
from subscription_support import DAY_S, FEB_1, JAN_1


@pytest.fixture
def client(server, account) -> stripe.StripeClient:
    return stripe.StripeClient(
        account.secret_key, base_addresses={"api": server.url}, max_network_retries=0
    )


def _catalog(client: stripe.StripeClient) -> tuple[str, str]:
    """A customer on a clock frozen at Jan 1 2024, and a 20.00 USD monthly seat price."""
    clock = client.v1.test_helpers.test_clocks.create(params={"frozen_time": JAN_1})
    customer = client.v1.customers.create(params={"name": "Ann", "test_clock": clock.id})
    price = client.v1.prices.create(
        params={
            "currency": "usd",
            "unit_amount": 2000,
            "recurring": {"interval": "month"},
            "product_data": {"name": "Seats"},
        }
    )
    return customer.id, price.id


def test_a_subscription_life_through_the_sdk(client):
    customer, price = _catalog(client)
    sub = client.v1.subscriptions.create(
        params={
            "customer": customer,
            "items": [{"price": price, "quantity": 3}],
            "collection_method": "send_invoice",
            "days_until_due": 30,
            "metadata": {"team": "blue"},
            "expand": ["latest_invoice"],
        }
    )
    assert isinstance(sub, stripe.Subscription)
    assert (sub.status, sub.metadata["team"]) == ("active", "blue")
    assert isinstance(sub.latest_invoice, stripe.Invoice)
    assert sub.latest_invoice.amount_due == 6000
    item = sub["items"].data[0]
    assert isinstance(item, stripe.SubscriptionItem)
    assert (item.current_period_start, item.current_period_end) == (JAN_1, FEB_1)

    # Five seats from Jan 21 12:00, when 10 days 12 hours (907,200 s) of January's
    # 2,678,400 s are left. Credit: 6000 x 907,200 / 2,678,400 = 2032.258... -> -2032;
    # charge: 10000 x 907,200 / 2,678,400 = 3387.096... -> 3387.
    upgrade_ts = JAN_1 + 20 * DAY_S + 12 * 3600
    assert FEB_1 - upgrade_ts == 907_200
    updated = client.v1.subscriptions.update(
        sub.id,
        params={
            "items": [{"id": item.id, "quantity": 5}],
            "proration_date": upgrade_ts,
            "proration_behavior": "always_invoice",
        },
    )
    assert updated["items"].data[0].quantity == 5
    bill = client.v1.invoices.retrieve(str(updated.latest_invoice))
    assert sorted(line.amount for line in bill.lines.data) == [-2032, 3387]
    assert bill.total == 3387 - 2032

    extra = client.v1.subscription_items.create(
        params={
            "subscription": sub.id,
            "price": _another_price(client),
            "proration_behavior": "none",
        }
    )
    listed = client.v1.subscription_items.list(params={"subscription": sub.id})
    assert {i.id for i in listed.data} == {item.id, extra.id}
    client.v1.subscription_items.update(
        extra.id, params={"quantity": 2, "proration_behavior": "none"}
    )
    deleted = client.v1.subscription_items.delete(extra.id, params={"proration_behavior": "none"})
    assert deleted.deleted is True

    canceled = client.v1.subscriptions.cancel(sub.id, params={"prorate": True})
    assert (canceled.status, canceled.ended_at) == ("canceled", JAN_1)
    with pytest.raises(stripe.InvalidRequestError) as refused:
        client.v1.subscriptions.update(sub.id, params={"metadata": {"again": "no"}})
    assert "canceled" in str(refused.value.user_message)


def _another_price(client: stripe.StripeClient) -> str:
    return client.v1.prices.create(
        params={
            "currency": "usd",
            "unit_amount": 700,
            "recurring": {"interval": "month"},
            "product_data": {"name": "Support"},
        }
    ).id


def test_sdk_errors_carry_stripes_param_and_code(client):
    customer, price = _catalog(client)
    euro = client.v1.prices.create(
        params={"currency": "eur", "unit_amount": 100, "recurring": {"interval": "month"},
                "product_data": {"name": "Euro seats"}}
    )  # fmt: skip
    with pytest.raises(stripe.InvalidRequestError) as mixed:
        client.v1.subscriptions.create(
            params={"customer": customer, "items": [{"price": price}, {"price": euro.id}]}
        )
    assert mixed.value.param == "items[1][price]"
    assert mixed.value.code == "parameter_invalid"
    assert list(client.v1.subscriptions.list(params={"customer": customer}).data) == []
