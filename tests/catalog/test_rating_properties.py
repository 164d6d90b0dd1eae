"""Properties of the rating engine over random tiers, amounts (0-12 decimal places),
quantities (whole and fractional) and rounding modes, each checked against a reference
written here independently of the engine.

References run with 100 digits of precision: the default 28 would round a sum of
12-decimal subtotals, and the engine is exact.
"""

from __future__ import annotations

from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal, localcontext
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from remit.catalog.domain.models import BUILTIN_MODELS
from remit.catalog.domain.rating import rate
from remit.catalog.domain.terms import PriceTerms, Tier, TransformQuantity
from remit.primitives.money import RoundingMode, to_minor_units

MODELS = {model.name: model for model in BUILTIN_MODELS}
PRECISION = 100
EXAMPLES = settings(max_examples=300, deadline=None)

modes = st.sampled_from(list(RoundingMode))
amounts = st.builds(
    lambda digits, places: Decimal(digits).scaleb(-places),
    st.integers(0, 10**9),
    st.integers(0, 12),
)
quantities = st.one_of(
    st.integers(0, 5000).map(Decimal),
    st.builds(
        lambda digits, places: Decimal(digits).scaleb(-places),
        st.integers(0, 10**7),
        st.integers(0, 6),
    ),
)


@st.composite
def tier_lists(draw: Any) -> tuple[Tier, ...]:
    bounds = sorted(draw(st.sets(st.integers(1, 3000), min_size=0, max_size=5)))
    tiers = []
    for up_to in [*bounds, None]:
        unit = draw(st.none() | amounts)
        flat = draw(amounts if unit is None else st.none() | amounts)
        tiers.append(Tier(up_to, unit, flat))
    return tuple(tiers)


@st.composite
def tiers_and_quantity(draw: Any) -> tuple[tuple[Tier, ...], Decimal]:
    """Tiers, and a quantity that is often exactly on a boundary or just either side."""
    tiers = draw(tier_lists())
    bounds = [Decimal(tier.up_to) for tier in tiers if tier.up_to is not None]
    if not bounds or draw(st.booleans()):
        return tiers, draw(quantities)
    nudge = draw(st.sampled_from([Decimal(0), Decimal(1), Decimal("0.001"), Decimal(-1)]))
    return tiers, max(draw(st.sampled_from(bounds)) + nudge, Decimal(0))


def reference_graduated(tiers: tuple[Tier, ...], quantity: Decimal) -> Decimal:
    """Tier by tier: the part of the quantity in (lower, upper] at the tier's unit price,
    plus its flat amount once reached (the first tier always is)."""
    with localcontext(prec=PRECISION):
        total = Decimal(0)
        lower = Decimal(0)
        for index, tier in enumerate(tiers):
            reached = index == 0 or quantity > lower
            if reached:
                upper = quantity if tier.up_to is None else min(quantity, Decimal(tier.up_to))
                total += max(upper - lower, Decimal(0)) * (tier.unit_amount or 0)
                total += tier.flat_amount or 0
            if tier.up_to is not None:
                lower = Decimal(tier.up_to)
        return total


@EXAMPLES
@given(priced=tiers_and_quantity(), mode=modes)
def test_graduated_total_is_the_sum_of_tiers_and_the_piecewise_reference(
    priced: tuple[tuple[Tier, ...], Decimal], mode: RoundingMode
) -> None:
    tiers, quantity = priced
    with localcontext(prec=PRECISION):
        terms = PriceTerms("usd", "tiered", tiers_mode="graduated", tiers=tiers)
        rating = rate(terms, quantity, mode, MODELS)
        assert rating.exact_amount == sum((c.subtotal for c in rating.components), Decimal(0))
        assert rating.exact_amount == reference_graduated(tiers, quantity)
        assert sum((c.quantity for c in rating.components), Decimal(0)) == quantity
        for component in rating.components:
            assert component.subtotal == (
                component.quantity * component.unit_amount + component.flat_amount
            )


@EXAMPLES
@given(priced=tiers_and_quantity(), mode=modes)
def test_volume_picks_exactly_the_one_tier_containing_the_quantity(
    priced: tuple[tuple[Tier, ...], Decimal], mode: RoundingMode
) -> None:
    tiers, quantity = priced
    with localcontext(prec=PRECISION):
        terms = PriceTerms("usd", "tiered", tiers_mode="volume", tiers=tiers)
        rating = rate(terms, quantity, mode, MODELS)
        containing = [
            index
            for index, tier in enumerate(tiers)
            if (tier.up_to is None or quantity <= tier.up_to)
            and (index == 0 or quantity > (tiers[index - 1].up_to or 0))
        ]
        assert len(containing) == 1
        (component,) = rating.components
        tier = tiers[containing[0]]
        assert component.label == f"tier {containing[0] + 1}"
        assert component.quantity == quantity
        assert rating.exact_amount == quantity * (tier.unit_amount or 0) + (tier.flat_amount or 0)


@EXAMPLES
@given(priced=tiers_and_quantity(), unit=amounts, mode=modes)
def test_amount_is_the_exact_total_rounded_once(
    priced: tuple[tuple[Tier, ...], Decimal], unit: Decimal, mode: RoundingMode
) -> None:
    tiers, quantity = priced
    with localcontext(prec=PRECISION):
        for terms in (
            PriceTerms("usd", "per_unit", unit_amount=unit),
            PriceTerms("usd", "tiered", tiers_mode="graduated", tiers=tiers),
            PriceTerms("usd", "tiered", tiers_mode="volume", tiers=tiers),
        ):
            rating = rate(terms, quantity, mode, MODELS)
            assert rating.amount_minor == to_minor_units(rating.exact_amount, mode)
            assert abs(rating.amount_minor - rating.exact_amount) < 1
            if mode in (RoundingMode.HALF_UP, RoundingMode.HALF_EVEN):
                assert abs(rating.amount_minor - rating.exact_amount) <= Decimal("0.5")


@EXAMPLES
@given(tiers=tier_lists(), unit=amounts, a=quantities, b=quantities, mode=modes)
def test_graduated_and_per_unit_never_decrease_as_quantity_grows(
    tiers: tuple[Tier, ...], unit: Decimal, a: Decimal, b: Decimal, mode: RoundingMode
) -> None:
    with localcontext(prec=PRECISION):
        # Volume pricing is left out on purpose: Stripe documents that its total may decrease.
        low, high = sorted((a, b))
        for terms in (
            PriceTerms("usd", "per_unit", unit_amount=unit),
            PriceTerms("usd", "tiered", tiers_mode="graduated", tiers=tiers),
        ):
            cheap, dear = (rate(terms, q, mode, MODELS) for q in (low, high))
            assert cheap.exact_amount <= dear.exact_amount
            assert cheap.amount_minor <= dear.amount_minor


@EXAMPLES
@given(
    tiers=tier_lists(),
    unit=amounts,
    quantity=quantities,
    divide_by=st.integers(1, 1000),
    round_=st.sampled_from(["up", "down"]),
    mode=modes,
)
def test_transform_then_rate_equals_rating_the_transformed_quantity(
    tiers: tuple[Tier, ...],
    unit: Decimal,
    quantity: Decimal,
    divide_by: int,
    round_: str,
    mode: RoundingMode,
) -> None:
    with localcontext(prec=PRECISION):
        transform = TransformQuantity(divide_by, round_)
        expected_quantity = (quantity / divide_by).to_integral_value(
            rounding=ROUND_CEILING if round_ == "up" else ROUND_FLOOR
        )
        for plain in (
            PriceTerms("usd", "per_unit", unit_amount=unit),
            PriceTerms("usd", "tiered", tiers_mode="graduated", tiers=tiers),
            PriceTerms("usd", "tiered", tiers_mode="volume", tiers=tiers),
        ):
            transformed = PriceTerms(
                plain.currency,
                plain.billing_scheme,
                unit_amount=plain.unit_amount,
                tiers_mode=plain.tiers_mode,
                tiers=plain.tiers,
                transform_quantity=transform,
            )
            rating = rate(transformed, quantity, mode, MODELS)
            assert rating.quantity == quantity
            assert rating.rated_quantity == expected_quantity
            direct = rate(plain, expected_quantity, mode, MODELS)
            assert rating.components == direct.components
            assert rating.amount_minor == direct.amount_minor
