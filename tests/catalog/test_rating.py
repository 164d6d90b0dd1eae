"""Rating golden tests, hand-computed. Amounts are minor units (cents unless said otherwise).

Stripe's documented examples come first (docs.stripe.com "Set up tiered pricing" for the
Typographic tiers 1-5 at 7 USD, 6-10 at 6.50 USD, 11+ at 6 USD; "Transform quantities"
and the older "Quantity transformation" page for divide_by; "Model usage-based pricing" for
the fixed fee and overage shape), then the edges: quantity 0, tier boundaries, fractional
usage, 12 decimal places, a zero-decimal currency, each rounding mode on a half cent.
"""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from remit.catalog.domain.models import BUILTIN_MODELS
from remit.catalog.domain.rating import (
    RatingError,
    billable_usage,
    check_terms,
    decimal_text,
    rate,
)
from remit.catalog.domain.terms import PriceTerms, Tier, TransformQuantity
from remit.primitives.money import RoundingMode

MODELS = {model.name: model for model in BUILTIN_MODELS}
HALF_UP = RoundingMode.HALF_UP
D = Decimal

TYPOGRAPHIC = (Tier(5, D(700), None), Tier(10, D(650), None), Tier(None, D(600), None))


def tiered(mode: str, *tiers: Tier, **extra: object) -> PriceTerms:
    return PriceTerms("usd", "tiered", tiers_mode=mode, tiers=tiers, **extra)


def per_unit(unit_amount: str, currency: str = "usd", **extra: object) -> PriceTerms:
    return PriceTerms(currency, "per_unit", unit_amount=D(unit_amount), **extra)


def amount(terms: PriceTerms, quantity: int | str, rounding: RoundingMode = HALF_UP) -> int:
    return rate(terms, D(quantity), rounding, MODELS).amount_minor


# -- Stripe's documented examples ------------------------------------------------------------


@pytest.mark.parametrize(
    ("quantity", "expected"), [(1, 700), (5, 3500), (6, 3900), (20, 12000), (25, 15000)]
)
def test_stripe_volume_example(quantity: int, expected: int) -> None:
    assert amount(tiered("volume", *TYPOGRAPHIC), quantity) == expected


@pytest.mark.parametrize(
    ("quantity", "expected"),
    # 6 = 5 x 7 + 1 x 6.50; 20 = 35 + 5 x 6.50 + 10 x 6; 25 = 35 + 32.50 + 15 x 6
    [(1, 700), (5, 3500), (6, 4150), (20, 12750), (25, 15750)],
)
def test_stripe_graduated_example(quantity: int, expected: int) -> None:
    assert amount(tiered("graduated", *TYPOGRAPHIC), quantity) == expected


def test_graduated_breakdown_names_each_tier_reached() -> None:
    rating = rate(tiered("graduated", *TYPOGRAPHIC), D(20), HALF_UP, MODELS)
    rows = [(c.label, c.quantity, c.unit_amount, c.subtotal, c.up_to) for c in rating.components]
    assert rows == [
        ("tier 1", 5, 700, 3500, 5),
        ("tier 2", 5, 650, 3250, 10),
        ("tier 3", 10, 600, 6000, None),
    ]
    assert rating.exact_amount == 12750


@pytest.mark.parametrize(
    ("users", "expected"), [(1, 1000), (3, 1000), (5, 1000), (6, 2000), (7, 2000)]
)
def test_stripe_transform_example_ten_dollars_per_five_users(users: int, expected: int) -> None:
    terms = per_unit("1000", transform_quantity=TransformQuantity(5, "up"))
    assert amount(terms, users) == expected


def test_stripe_transform_example_car_rental_rounds_150_minutes_up_to_3_hours() -> None:
    terms = per_unit("1000", transform_quantity=TransformQuantity(60, "up"))
    rating = rate(terms, D(150), HALF_UP, MODELS)
    assert (rating.quantity, rating.rated_quantity, rating.amount_minor) == (150, 3, 3000)


@pytest.mark.parametrize(("megabytes", "gigabytes"), [(0, 0), (999, 0), (1000, 1), (2999, 2)])
def test_transform_round_down_bills_only_full_packages(megabytes: int, gigabytes: int) -> None:
    terms = per_unit("500", transform_quantity=TransformQuantity(1000, "down"))
    assert amount(terms, megabytes) == 500 * gigabytes


def test_transform_of_fractional_usage_rounds_the_quotient() -> None:
    up = per_unit("100", transform_quantity=TransformQuantity(2, "up"))
    down = per_unit("100", transform_quantity=TransformQuantity(2, "down"))
    assert rate(up, D("4.02"), HALF_UP, MODELS).rated_quantity == 3
    assert rate(down, D("4.02"), HALF_UP, MODELS).rated_quantity == 2
    assert rate(up, D("4"), HALF_UP, MODELS).rated_quantity == 2


@pytest.mark.parametrize(
    ("tokens", "expected"), [(0, 20000), (100_000, 20000), (100_070, 20007), (200_000, 30000)]
)
def test_flat_fee_and_overage_in_graduated_tiers(tokens: int, expected: int) -> None:
    # Stripe's fixed fee and overage shape: 200 USD covers the first 100,000 tokens, then
    # 0.001 USD (0.1 cent) per token. The first tier's flat fee is due even at 0 tokens.
    terms = tiered("graduated", Tier(100_000, D(0), D(20000)), Tier(None, D("0.1"), None))
    assert amount(terms, tokens) == expected


def test_sub_cent_overage_is_summed_exactly_then_rounded_once() -> None:
    # 4 USD for the first 100,000 tokens, 0.000065 USD per token after: 100,070 tokens are
    # 400 + 70 x 0.0065 = 400.455 cents.
    terms = tiered("graduated", Tier(100_000, None, D(400)), Tier(None, D("0.0065"), None))
    rating = rate(terms, D(100_070), HALF_UP, MODELS)
    assert rating.exact_amount == D("400.455")
    assert rating.amount_minor == 400
    assert rate(terms, D(100_070), RoundingMode.UP, MODELS).amount_minor == 401


def test_volume_with_flat_amounts() -> None:
    terms = tiered("volume", Tier(10, D(0), D(1000)), Tier(None, D(50), D(500)))
    assert [amount(terms, q) for q in (0, 1, 10, 11, 20)] == [1000, 1000, 1000, 1050, 1500]


def test_volume_total_may_decrease_as_quantity_grows() -> None:
    # Stripe: "the total might decrease" when a larger quantity reaches a cheaper tier.
    terms = tiered("volume", Tier(10, D(1000), None), Tier(None, D(500), None))
    assert amount(terms, 10) == 10000
    assert amount(terms, 11) == 5500


# -- quantity 0, boundaries, fractional usage ------------------------------------------------


def test_graduated_at_quantity_zero_charges_only_the_first_tiers_flat_amount() -> None:
    terms = tiered("graduated", Tier(5, D(100), D(900)), Tier(None, D(50), D(300)))
    rating = rate(terms, D(0), HALF_UP, MODELS)
    assert [(c.label, c.quantity, c.subtotal) for c in rating.components] == [("tier 1", 0, 900)]
    assert rating.amount_minor == 900


def test_volume_at_quantity_zero_prices_in_the_first_tier() -> None:
    terms = tiered("volume", Tier(5, D(100), D(900)), Tier(None, D(50), D(300)))
    rating = rate(terms, D(0), HALF_UP, MODELS)
    assert [(c.label, c.quantity, c.subtotal) for c in rating.components] == [("tier 1", 0, 900)]


def test_tier_boundary_is_inclusive_and_the_next_tier_starts_just_above() -> None:
    terms = tiered("graduated", Tier(5, D(100), None), Tier(None, D(10), D(1000)))
    assert amount(terms, 5) == 500  # up_to 5 includes 5: the next tier is not reached
    assert amount(terms, "5.5") == 500 + 5 + 1000  # half a unit above reaches it, flat and all
    assert amount(tiered("volume", Tier(5, D(100), None), Tier(None, D(10), None)), 5) == 500
    assert amount(tiered("volume", Tier(5, D(100), None), Tier(None, D(10), None)), "5.5") == 55


def test_fractional_usage_in_graduated_tiers() -> None:
    rating = rate(tiered("graduated", *TYPOGRAPHIC), D("10.25"), HALF_UP, MODELS)
    assert [c.quantity for c in rating.components] == [5, 5, D("0.25")]
    assert rating.exact_amount == 3500 + 3250 + 150


def test_single_inf_tier_is_a_valid_tiered_price() -> None:
    terms = tiered("graduated", Tier(None, D(25), D(100)))
    assert check_terms(terms, MODELS) == []
    assert amount(terms, 4) == 200


def test_tiers_combined_with_transform_quantity_transform_first() -> None:
    # Beyond Stripe: 1,000-call packages, graduated 0-2 packages at 5 USD, then 3 USD.
    tq = TransformQuantity(1000, "up")
    terms = tiered(
        "graduated", Tier(2, D(500), None), Tier(None, D(300), None), transform_quantity=tq
    )
    rating = rate(terms, D(2500), HALF_UP, MODELS)
    assert rating.rated_quantity == 3
    assert rating.amount_minor == 2 * 500 + 300
    assert rating.explain()["transform_quantity"] == {"divide_by": 1000, "round": "up"}


# -- decimals, currencies, rounding ----------------------------------------------------------


def test_twelve_decimal_places_are_exact() -> None:
    assert rate(per_unit("0.000000000001"), D(10**12), HALF_UP, MODELS).exact_amount == 1
    rating = rate(per_unit("0.123456789012"), D(3), HALF_UP, MODELS)
    assert rating.exact_amount == D("0.370370367036")
    assert rating.amount_minor == 0


def test_large_quantity_times_twelve_place_price_is_exact() -> None:
    # 20 significant digits: a float (about 16) could not even hold the result.
    rating = rate(per_unit("99999999.999999999999"), D(10**9), HALF_UP, MODELS)
    assert rating.exact_amount == D("99999999999999999.999")
    assert rating.amount_minor == 10**17


def test_zero_decimal_currency_rates_in_whole_yen() -> None:
    terms = per_unit("0.5", currency="jpy")
    assert rate(terms, D(3), HALF_UP, MODELS).amount_minor == 2  # 1.5 yen
    assert rate(terms, D(5), RoundingMode.HALF_EVEN, MODELS).amount_minor == 2  # 2.5 yen
    assert rate(per_unit("1500", currency="jpy"), D(2), HALF_UP, MODELS).amount_minor == 3000


@pytest.mark.parametrize(
    ("exact", "half_up", "half_even", "down", "up"),
    [("0.5", 1, 0, 0, 1), ("1.5", 2, 2, 1, 2), ("2.5", 3, 2, 2, 3), ("2.51", 3, 3, 2, 3)],
)
def test_each_rounding_mode_on_a_half_cent(
    exact: str, half_up: int, half_even: int, down: int, up: int
) -> None:
    terms = per_unit(exact)
    got = {mode: amount(terms, 1, mode) for mode in RoundingMode}
    assert got == {
        RoundingMode.HALF_UP: half_up,
        RoundingMode.HALF_EVEN: half_even,
        RoundingMode.DOWN: down,
        RoundingMode.UP: up,
    }


@pytest.mark.parametrize("mode", list(RoundingMode))
def test_rounded_once_not_per_tier(mode: RoundingMode) -> None:
    # Two tiers of half a cent each: rounding per tier would give 0 (down, half_even) or
    # 2 (up, half_up); the exact total is one cent in every mode.
    terms = tiered("graduated", Tier(1, D("0.5"), None), Tier(None, D("0.5"), None))
    rating = rate(terms, D(2), mode, MODELS)
    assert [c.subtotal for c in rating.components] == [D("0.5"), D("0.5")]
    assert rating.amount_minor == 1


# -- explain ---------------------------------------------------------------------------------


def test_explain_is_json_with_plain_decimal_strings() -> None:
    terms = per_unit("0.000000000001", transform_quantity=TransformQuantity(10, "down"))
    rating = rate(terms, D("1000000000000"), RoundingMode.HALF_EVEN, MODELS)
    tree = rating.explain()
    assert json.loads(json.dumps(tree)) == tree
    assert tree == {
        "model": "per_unit",
        "currency": "usd",
        "tiers_mode": None,
        "quantity": "1000000000000",
        "transform_quantity": {"divide_by": 10, "round": "down"},
        "rated_quantity": "100000000000",
        "dimensions": {},
        "components": [
            {
                "label": "per unit",
                "quantity": "100000000000",
                "unit_amount": "0.000000000001",
                "flat_amount": "0",
                "subtotal": "0.1",
                "up_to": None,
            }
        ],
        "exact_amount": "0.1",
        "rounding": "half_even",
        "amount_minor": 0,
    }


@pytest.mark.parametrize(
    ("value", "text"),
    [("1E+2", "100"), ("0E-12", "0"), ("-0", "0"), ("1.500", "1.5"), ("1E-12", "0.000000000001")],
)
def test_decimal_text_is_plain_and_canonical(value: str, text: str) -> None:
    assert decimal_text(D(value)) == text


# -- findings and errors ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("terms", "params"),
    [
        (PriceTerms("usd", "package"), ["billing_scheme"]),
        (per_unit("1", currency="usdollar"), ["currency"]),
        (PriceTerms("usd", "per_unit"), ["unit_amount"]),
        (per_unit("-1"), ["unit_amount"]),
        (per_unit("0.0000000000001"), ["unit_amount"]),
        (per_unit("1E+21"), ["unit_amount"]),
        (per_unit("1", tiers_mode="volume"), ["tiers_mode"]),
        (per_unit("1", tiers=TYPOGRAPHIC), ["tiers"]),
        (per_unit("1", config={"dimensions": ["x"]}), ["pricing_config"]),
        (PriceTerms("usd", "tiered", tiers=TYPOGRAPHIC), ["tiers_mode"]),
        (tiered("stairs", *TYPOGRAPHIC), ["tiers_mode"]),
        (tiered("volume", *TYPOGRAPHIC, unit_amount=D(5)), ["unit_amount"]),
        (tiered("volume"), ["tiers"]),
        (tiered("volume", Tier(5, D(1), None)), ["tiers[0][up_to]"]),
        (tiered("volume", Tier(None, D(1), None), Tier(None, D(1), None)), ["tiers[0][up_to]"]),
        (tiered("volume", Tier(0, D(1), None), Tier(None, D(1), None)), ["tiers[0][up_to]"]),
        (
            tiered("volume", Tier(5, D(1), None), Tier(5, D(1), None), Tier(None, D(1), None)),
            ["tiers[1][up_to]"],
        ),
        (tiered("volume", Tier(5, None, None), Tier(None, D(1), None)), ["tiers[0]"]),
        (
            tiered("volume", Tier(5, D(-1), D("0.0000000000001")), Tier(None, D(1), None)),
            ["tiers[0][unit_amount]", "tiers[0][flat_amount]"],
        ),
        (
            per_unit("1", transform_quantity=TransformQuantity(0, "up")),
            ["transform_quantity[divide_by]"],
        ),
        (
            per_unit("1", transform_quantity=TransformQuantity(2, "half")),
            ["transform_quantity[round]"],
        ),
    ],
)
def test_check_terms_findings(terms: PriceTerms, params: list[str]) -> None:
    assert [finding.param for finding in check_terms(terms, MODELS)] == params


def test_check_terms_reports_every_problem_at_once() -> None:
    terms = PriceTerms(
        "usd",
        "tiered",
        unit_amount=D(1),
        tiers=(Tier(10, None, None), Tier(3, D(-1), None), Tier(20, D(1), None)),
        transform_quantity=TransformQuantity(0, "sideways"),
    )
    assert [finding.param for finding in check_terms(terms, MODELS)] == [
        "transform_quantity[divide_by]",
        "transform_quantity[round]",
        "tiers_mode",
        "unit_amount",
        "tiers[0]",
        "tiers[1][up_to]",
        "tiers[1][unit_amount]",
        "tiers[2][up_to]",
    ]


def test_valid_terms_have_no_findings() -> None:
    for terms in (per_unit("0"), tiered("graduated", *TYPOGRAPHIC), tiered("volume", *TYPOGRAPHIC)):
        assert check_terms(terms, MODELS) == []


def test_rating_invalid_terms_raises_with_every_finding() -> None:
    with pytest.raises(RatingError) as raised:
        rate(tiered("volume"), D(1), HALF_UP, MODELS)
    assert raised.value.param == "tiers"
    assert raised.value.http_status == 400
    assert [f.param for f in raised.value.findings] == ["tiers"]


@pytest.mark.parametrize("quantity", [D(-1), D("-0.5"), D("NaN"), D("Infinity"), D(10**21)])
def test_rating_refuses_negative_and_non_finite_quantities(quantity: Decimal) -> None:
    with pytest.raises(RatingError) as raised:
        rate(per_unit("100"), quantity, HALF_UP, MODELS)
    assert raised.value.param == "quantity"


def test_rating_refuses_a_float_quantity() -> None:
    with pytest.raises(RatingError, match="not a Decimal"):
        rate(per_unit("100"), 1.5, HALF_UP, MODELS)


def test_an_amount_beyond_int64_minor_units_is_refused() -> None:
    with pytest.raises(RatingError, match="exceeds"):
        rate(per_unit("100000000000000000000"), D(10**20), HALF_UP, MODELS)


def test_unknown_model_names_the_registered_ones() -> None:
    with pytest.raises(RatingError, match="registered: per_unit, tiered") as raised:
        rate(PriceTerms("usd", "matrix"), D(1), HALF_UP, MODELS)
    assert raised.value.param == "billing_scheme"


@pytest.mark.parametrize("model", BUILTIN_MODELS, ids=lambda m: m.name)
def test_builtin_models_take_no_config(model: object) -> None:
    assert model.parse_config({}, "pricing_config") == {}
    with pytest.raises(Exception, match="takes no pricing configuration") as raised:
        model.parse_config({"dimensions": ["x"]}, "pricing_config")
    assert raised.value.param == "pricing_config"


@pytest.mark.parametrize(("total", "billed"), [("-3", "0"), ("0", "0"), ("2.5", "2.5")])
def test_billable_usage_bills_a_negative_period_as_zero(total: str, billed: str) -> None:
    assert billable_usage(D(total)) == D(billed)
