"""The official Stripe SDK manages tax rates, coupons and promotion codes against remit."""

from __future__ import annotations

import time

import pytest
import stripe
from discounts_support import unchanged


@pytest.fixture
def client(server, account) -> stripe.StripeClient:
    return stripe.StripeClient(
        account.secret_key, base_addresses={"api": server.url}, max_network_retries=0
    )


def test_tax_rates_through_the_sdk(client, store):
    vat = client.v1.tax_rates.create(
        params={
            "display_name": "VAT",
            "percentage": 19.0,
            "inclusive": True,
            "country": "DE",
            "jurisdiction": "DE",
            "tax_type": "vat",
        }
    )
    assert isinstance(vat, stripe.TaxRate)
    assert (vat.percentage, vat.inclusive, vat.tax_type) == (19, True, "vat")
    sales = client.v1.tax_rates.create(
        params={"display_name": "Sales tax", "percentage": 8.875, "inclusive": False}
    )
    assert sales.percentage == 8.875
    archived = client.v1.tax_rates.update(sales.id, params={"active": False, "state": "NY"})
    assert (archived.active, archived.state) == (False, "NY")
    assert client.v1.tax_rates.retrieve(sales.id).active is False
    listed = client.v1.tax_rates.list(params={"active": True})
    assert [rate.id for rate in listed.data] == [vat.id]
    with unchanged(store), pytest.raises(stripe.InvalidRequestError) as refused:
        client.v1.tax_rates.create(
            params={"display_name": "Too much", "percentage": 101.0, "inclusive": False}
        )
    assert refused.value.param == "percentage"


def test_coupons_through_the_sdk(client, store):
    coupon = client.v1.coupons.create(
        params={
            "id": "WELCOME",
            "percent_off": 25.5,
            "duration": "repeating",
            "duration_in_months": 3,
            "max_redemptions": 100,
            "redeem_by": int(time.time()) + 86400,
            "metadata": {"campaign": "spring"},
        }
    )
    assert isinstance(coupon, stripe.Coupon)
    assert (coupon.id, coupon.percent_off, coupon.valid) == ("WELCOME", 25.5, True)
    flat = client.v1.coupons.create(
        params={
            "amount_off": 500,
            "currency": "usd",
            "currency_options": {"eur": {"amount_off": 450}},
            "expand": ["currency_options"],
        }
    )
    assert flat.currency_options is not None
    assert flat.currency_options["eur"].amount_off == 450
    renamed = client.v1.coupons.update("WELCOME", params={"name": "Welcome"})
    assert renamed.name == "Welcome"
    assert [c.id for c in client.v1.coupons.list().data] == [flat.id, "WELCOME"]
    deleted = client.v1.coupons.delete(flat.id)
    assert deleted.deleted is True
    with pytest.raises(stripe.InvalidRequestError) as missing:
        client.v1.coupons.retrieve(flat.id)
    assert missing.value.code == "resource_missing"
    with unchanged(store), pytest.raises(stripe.InvalidRequestError) as refused:
        client.v1.coupons.create(params={"percent_off": 10, "duration": "repeating"})
    assert (refused.value.param, refused.value.code) == ("duration_in_months", "parameter_missing")


def test_promotion_codes_through_the_sdk(client, store):
    client.v1.coupons.create(params={"id": "FALL", "percent_off": 20})
    customer = client.v1.customers.create(params={"email": "ann@example.com"})
    promo = client.v1.promotion_codes.create(
        params={
            "promotion": {"type": "coupon", "coupon": "FALL"},
            "code": "FALL20",
            "customer": customer.id,
            "restrictions": {"minimum_amount": 1000, "minimum_amount_currency": "usd"},
            "expand": ["promotion.coupon"],
        }
    )
    assert isinstance(promo, stripe.PromotionCode)
    assert promo.code == "FALL20" and promo.customer == customer.id
    assert isinstance(promo.promotion.coupon, stripe.Coupon)
    assert promo.promotion.coupon.id == "FALL"
    assert promo.restrictions.minimum_amount == 1000
    off = client.v1.promotion_codes.update(promo.id, params={"active": False})
    assert off.active is False
    other = client.v1.promotion_codes.create(
        params={"promotion": {"type": "coupon", "coupon": "FALL"}}
    )
    assert [p.id for p in client.v1.promotion_codes.list(params={"active": True}).data] == [
        other.id
    ]
    assert [p.id for p in client.v1.promotion_codes.list(params={"code": "fall20"}).data] == [
        promo.id
    ]
    with unchanged(store), pytest.raises(stripe.InvalidRequestError) as refused:
        client.v1.promotion_codes.create(
            params={"promotion": {"type": "coupon", "coupon": "FALL"}, "code": "no spaces"}
        )
    assert refused.value.param == "code"
