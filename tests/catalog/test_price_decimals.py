"""Property: a unit amount with up to 12 places goes in as the SDKs write it and comes back
exactly, on the wire and in the terms the billing engine rates."""

from __future__ import annotations

from decimal import Decimal

from catalog_support import new_product, ok
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from remit.catalog import prices

# Non-negative, at most 12 places, at most 10**20 (Stripe's bound, kept by the money primitive).
AMOUNTS = st.builds(
    lambda units, places: Decimal(units).scaleb(-places),
    st.integers(min_value=0, max_value=10**20),
    st.integers(min_value=0, max_value=12),
).filter(lambda amount: amount <= 10**20)


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(amount=AMOUNTS, spelled=st.sampled_from([str, lambda d: format(d, "f")]))
@example(amount=Decimal(10**20), spelled=str)  # whole, but beyond the wire's 64-bit unit_amount
@example(amount=Decimal("0.000000000001"), spelled=str)
def test_a_unit_amount_round_trips_exactly(api, amount, spelled):
    product = new_product(api)["id"]
    sent = spelled(amount)  # str() gives "1E-12" for tiny amounts, as the SDKs send them
    price = ok(
        api.post(
            "/v1/prices",
            data={"product": product, "currency": "usd", "unit_amount_decimal": sent},
        )
    )
    assert Decimal(price["unit_amount_decimal"]) == amount
    assert "E" not in price["unit_amount_decimal"]
    fits = amount == amount.to_integral_value() and amount < 2**63
    assert price["unit_amount"] == (int(amount) if fits else None)
    assert prices.terms(price, "usd").unit_amount == amount
