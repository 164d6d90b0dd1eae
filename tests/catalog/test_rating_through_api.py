"""A price read back through the API rates exactly as the terms it was created with.

Random tier tables (graduated and volume, whole and 12-place amounts, flat fees, a transform,
a second currency) go in through ``POST /v1/prices`` as the SDKs encode them, come back with
``expand[]=tiers`` and ``expand[]=currency_options``, and ``prices.terms`` of the answer must
rate every quantity to the same amount and the same breakdown as the original terms.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
import stripe
from catalog_support import new_product, ok
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from remit.catalog import prices
from remit.catalog.domain.rating import RatingError, rate
from remit.catalog.domain.terms import PriceTerms, Tier, TransformQuantity
from remit.catalog.models import pricing_models
from remit.primitives.money import RoundingMode

MODELS = pricing_models(None)
EXAMPLES = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

# An amount is sent as unit_amount (whole) or unit_amount_decimal (up to 12 places, in
# plain or exponent notation, as str(Decimal) writes it).
whole = st.integers(min_value=0, max_value=10**9).map(Decimal)
fractional = st.decimals(
    min_value=0, max_value=10**6, places=12, allow_nan=False, allow_infinity=False
)
# Past 64 bits only unit_amount_decimal carries a whole amount (unit_amount renders null).
huge = st.integers(min_value=2**63, max_value=10**20).map(Decimal)
amounts = st.one_of(st.none(), whole, fractional, huge)
quantities = st.one_of(
    st.integers(min_value=0, max_value=10**7).map(Decimal),
    st.decimals(min_value=0, max_value=10**5, places=3, allow_nan=False, allow_infinity=False),
)
transforms = st.one_of(
    st.none(),
    st.builds(
        TransformQuantity,
        divide_by=st.integers(min_value=1, max_value=1000),
        round=st.sampled_from(("up", "down")),
    ),
)


@st.composite
def tier_tables(draw: st.DrawFn) -> tuple[Tier, ...]:
    bounds = draw(st.lists(st.integers(1, 10**6), min_size=0, max_size=4, unique=True))
    tiers = []
    for up_to in [*sorted(bounds), None]:
        unit, flat = draw(amounts), draw(amounts)
        if unit is None and flat is None:
            unit = draw(st.one_of(whole, fractional))
        tiers.append(Tier(up_to=up_to, unit_amount=unit, flat_amount=flat))
    return tuple(tiers)


def _amount(at: str, name: str, value: Decimal | None) -> dict[str, str]:
    """``at[name]`` for a whole amount, ``at[name_decimal]`` for any other (``at`` empty:
    the top level)."""
    if value is None:
        return {}
    is_int64 = value.as_tuple().exponent == 0 and value < 2**63
    key = name if is_int64 else f"{name}_decimal"
    return {f"{at}[{key}]" if at else key: str(value)}


def _tiers_form(at: str, tiers: tuple[Tier, ...]) -> dict[str, str]:
    form: dict[str, str] = {}
    for index, tier in enumerate(tiers):
        form[f"{at}[{index}][up_to]"] = "inf" if tier.up_to is None else str(tier.up_to)
        form |= _amount(f"{at}[{index}]", "unit_amount", tier.unit_amount)
        form |= _amount(f"{at}[{index}]", "flat_amount", tier.flat_amount)
    return form


def _form(terms: PriceTerms, eur_tiers: tuple[Tier, ...] | None) -> dict[str, str]:
    form = {"currency": terms.currency, "billing_scheme": terms.billing_scheme}
    if terms.tiers_mode is not None:
        form["tiers_mode"] = terms.tiers_mode
        form |= _tiers_form("tiers", terms.tiers)
    else:
        form |= _amount("", "unit_amount", terms.unit_amount)
    if terms.transform_quantity is not None:
        form["transform_quantity[divide_by]"] = str(terms.transform_quantity.divide_by)
        form["transform_quantity[round]"] = terms.transform_quantity.round
    if eur_tiers is not None:
        form |= _tiers_form("currency_options[eur][tiers]", eur_tiers)
    return form


def _read_back(api: Any, form: dict[str, str]) -> dict[str, Any]:
    form = {"product": new_product(api)["id"], **form}
    created = ok(api.post("/v1/prices", data=form))
    query = {"expand[]": ["tiers", "currency_options"]}
    return dict(ok(api.get(f"/v1/prices/{created['id']}", params=query)))


def _assert_same_rating(sent: PriceTerms, read: PriceTerms, quantity: Decimal) -> None:
    assert read == sent
    for mode in RoundingMode:
        try:
            expected = rate(sent, quantity, mode, MODELS)
        except RatingError as error:  # past 64-bit minor units: refused alike
            with pytest.raises(RatingError) as refused:
                rate(read, quantity, mode, MODELS)
            assert refused.value.findings == error.findings
            continue
        actual = rate(read, quantity, mode, MODELS)
        assert actual.amount_minor == expected.amount_minor
        assert actual.explain() == expected.explain()


@EXAMPLES
@given(
    tiers=tier_tables(),
    eur_tiers=st.one_of(st.none(), tier_tables()),
    mode=st.sampled_from(("graduated", "volume")),
    transform=transforms,
    currency=st.sampled_from(("usd", "jpy")),
    quantity_list=st.lists(quantities, min_size=1, max_size=5),
)
def test_a_tiered_price_read_back_rates_as_created(
    api, tiers, eur_tiers, mode, transform, currency, quantity_list
):
    sent = PriceTerms(currency, "tiered", None, mode, tiers, transform)
    price = _read_back(api, _form(sent, eur_tiers))
    for quantity in quantity_list:
        _assert_same_rating(sent, prices.terms(price, currency), quantity)
        if eur_tiers is not None:
            eur = PriceTerms("eur", "tiered", None, mode, eur_tiers, transform)
            _assert_same_rating(eur, prices.terms(price, "eur"), quantity)


@EXAMPLES
@given(
    unit=st.one_of(whole, fractional, huge),
    transform=transforms,
    quantity_list=st.lists(quantities, min_size=1, max_size=5),
)
def test_a_per_unit_price_read_back_rates_as_created(api, unit, transform, quantity_list):
    sent = PriceTerms("usd", "per_unit", unit, None, (), transform)
    price = _read_back(api, _form(sent, None))
    read = prices.terms(price, "usd")
    assert read == sent
    for quantity in quantity_list:
        _assert_same_rating(sent, read, quantity)


def test_a_price_made_with_the_sdk_rates_as_its_terms(server, account):
    client = stripe.StripeClient(
        account.secret_key, base_addresses={"api": server.url}, max_network_retries=0
    )
    tiers = (
        Tier(1000, Decimal("0.000000000001"), Decimal(250)),
        Tier(5000, Decimal("1E-7"), None),
        Tier(None, None, Decimal("99.5")),
    )
    created = client.v1.prices.create(
        params={
            "currency": "usd",
            "product_data": {"name": "Compute"},
            "billing_scheme": "tiered",
            "tiers_mode": "graduated",
            "tiers": [
                {"up_to": 1000, "unit_amount_decimal": "0.000000000001", "flat_amount": 250},
                # The SDK sends a Decimal as str(Decimal): "1E-7".
                {"up_to": 5000, "unit_amount_decimal": str(Decimal("0.0000001"))},
                {"up_to": "inf", "flat_amount_decimal": "99.5"},
            ],
            "transform_quantity": {"divide_by": 3, "round": "up"},
            "expand": ["tiers"],
        }
    )
    read = prices.terms(created.to_dict(), "usd")
    sent = PriceTerms("usd", "tiered", None, "graduated", tiers, TransformQuantity(3, "up"))
    for quantity in (Decimal(0), Decimal(2999), Decimal(3001), Decimal("15000.5")):
        _assert_same_rating(sent, read, quantity)
