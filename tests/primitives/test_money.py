"""Money math: one rounding function, exact allocation, strict parsing. Mostly properties."""

from __future__ import annotations

import dataclasses
import decimal
from decimal import Decimal

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from remit.primitives.errors import InvalidRequestError
from remit.primitives.money import (
    DEFAULT_ROUNDING,
    MAX_AMOUNT_MINOR,
    MAX_UNIT_DECIMALS,
    Money,
    RoundingMode,
    decimal_string,
    format_amount,
    major_to_minor,
    parse_unit_amount_decimal,
    to_minor_units,
)

# Comparisons in these tests must themselves be exact at 30+ digits.
EXACT = decimal.Context(prec=200, traps=[decimal.Inexact, decimal.InvalidOperation])
HALF = Decimal("0.5")

modes = st.sampled_from(list(RoundingMode))
# Any finite Decimal with up to 15 places and up to ~30 integer digits, plus exact ties.
plain_decimals = st.builds(
    lambda n, places: Decimal(f"{n}e-{places}"),
    st.integers(-(10**30), 10**30),
    st.integers(0, 15),
)
ties = st.integers(-(10**20), 10**20).map(lambda n: EXACT.add(Decimal(n), HALF))
amounts = st.one_of(plain_decimals, ties)
currencies = st.sampled_from(["usd", "jpy", "kwd", "eur", "isk", "clp"])


def diff(a: Decimal | int, b: Decimal | int) -> Decimal:
    return EXACT.subtract(Decimal(a), Decimal(b))


def is_tie(amount: Decimal) -> bool:
    return abs(EXACT.remainder(amount, Decimal(1))) == HALF


# --- RoundingMode and constants -------------------------------------------------------------


def test_rounding_modes_map_to_decimal_constants() -> None:
    assert {mode.value: mode.decimal_rounding for mode in RoundingMode} == {
        "half_up": decimal.ROUND_HALF_UP,
        "half_even": decimal.ROUND_HALF_EVEN,
        "down": decimal.ROUND_DOWN,
        "up": decimal.ROUND_UP,
    }


def test_defaults() -> None:
    assert DEFAULT_ROUNDING is RoundingMode.HALF_UP
    assert MAX_UNIT_DECIMALS == 12
    assert RoundingMode("half_even") is RoundingMode.HALF_EVEN
    assert str(RoundingMode.DOWN) == "down"
    # Accounts store the mode's string; it must work without conversion at the call site.
    assert to_minor_units(Decimal("2.5"), "half_even") == 2  # type: ignore[arg-type]


# --- to_minor_units -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("amount", "mode", "expected"),
    [
        ("12.5", RoundingMode.HALF_UP, 13),
        ("12.5", RoundingMode.HALF_EVEN, 12),
        ("13.5", RoundingMode.HALF_EVEN, 14),
        ("12.9", RoundingMode.DOWN, 12),
        ("12.1", RoundingMode.UP, 13),
        ("-12.5", RoundingMode.HALF_UP, -13),
        ("-12.5", RoundingMode.HALF_EVEN, -12),
        ("-12.9", RoundingMode.DOWN, -12),
        ("-12.1", RoundingMode.UP, -13),
        ("0.000000000001", RoundingMode.UP, 1),
        ("0.499999999999", RoundingMode.HALF_UP, 0),
    ],
)
def test_to_minor_units_examples(amount: str, mode: RoundingMode, expected: int) -> None:
    assert to_minor_units(Decimal(amount), mode) == expected


def test_to_minor_units_rejects_floats_and_non_finite() -> None:
    with pytest.raises(TypeError):
        to_minor_units(12.5, RoundingMode.HALF_UP)  # type: ignore[arg-type]
    for bad in ("NaN", "Infinity", "-Infinity"):
        with pytest.raises(ValueError):
            to_minor_units(Decimal(bad), RoundingMode.HALF_UP)


def test_to_minor_units_is_exact_beyond_default_decimal_precision() -> None:
    big = Decimal("123456789012345678901234567890123.5")
    assert to_minor_units(big, RoundingMode.HALF_UP) == 123456789012345678901234567890124
    assert to_minor_units(big, RoundingMode.DOWN) == 123456789012345678901234567890123


@given(st.integers(-(10**40), 10**40), st.integers(0, 6), modes)
def test_integral_amounts_are_identity(n: int, zeros: int, mode: RoundingMode) -> None:
    written = Decimal(f"{n}.{'0' * zeros}") if zeros else Decimal(n)
    assert to_minor_units(written, mode) == n


@given(amounts, modes)
def test_result_is_within_one_of_exact(amount: Decimal, mode: RoundingMode) -> None:
    result = to_minor_units(amount, mode)
    assert abs(diff(result, amount)) < 1
    if mode in (RoundingMode.HALF_UP, RoundingMode.HALF_EVEN):
        assert abs(diff(result, amount)) <= HALF


@given(amounts)
def test_down_is_toward_zero_and_up_is_away(amount: Decimal) -> None:
    down = to_minor_units(amount, RoundingMode.DOWN)
    up = to_minor_units(amount, RoundingMode.UP)
    assert abs(down) <= EXACT.abs(amount) <= abs(up)
    assert down == 0 or (down > 0) == (amount > 0)
    assert (up > 0) == (amount > 0) or up == 0 == amount
    assert up - down == (0 if amount == amount.to_integral_value() else (1 if amount > 0 else -1))


@given(amounts)
def test_half_even_and_half_up_differ_only_on_exact_ties(amount: Decimal) -> None:
    half_up = to_minor_units(amount, RoundingMode.HALF_UP)
    half_even = to_minor_units(amount, RoundingMode.HALF_EVEN)
    if not is_tie(amount):
        assert half_up == half_even
    else:
        assert abs(half_up) > EXACT.abs(amount)  # ties go away from zero
        assert half_even % 2 == 0
        assert (half_up == half_even) == (half_up % 2 == 0)


@given(ties)
def test_ties_are_generated_and_detected(amount: Decimal) -> None:
    assert is_tie(amount)
    assert to_minor_units(amount, RoundingMode.HALF_UP) != to_minor_units(amount, RoundingMode.DOWN)


@given(amounts, modes)
def test_rounding_is_symmetric_under_negation(amount: Decimal, mode: RoundingMode) -> None:
    assert to_minor_units(EXACT.minus(amount), mode) == -to_minor_units(amount, mode)


# --- major_to_minor and format_amount -------------------------------------------------------


@pytest.mark.parametrize(
    ("amount", "code", "mode", "expected"),
    [
        ("10.005", "usd", RoundingMode.HALF_UP, 1001),
        ("10.005", "usd", RoundingMode.HALF_EVEN, 1000),
        ("10.005", "usd", RoundingMode.DOWN, 1000),
        ("1.5", "JPY", RoundingMode.HALF_UP, 2),
        ("1.2345", "kwd", RoundingMode.HALF_EVEN, 1234),
        ("1.5", "isk", RoundingMode.HALF_UP, 150),
        ("-0.015", "eur", RoundingMode.HALF_UP, -2),
        ("99999999999999999999999999999.99", "usd", RoundingMode.DOWN, 10**31 - 1),
    ],
)  # fmt: skip
def test_major_to_minor_examples(amount: str, code: str, mode: RoundingMode, expected: int) -> None:
    assert major_to_minor(Decimal(amount), code, mode) == expected


def test_major_to_minor_rejects_floats_and_unknown_currencies() -> None:
    with pytest.raises(TypeError):
        major_to_minor(10.0, "usd", RoundingMode.HALF_UP)  # type: ignore[arg-type]
    with pytest.raises(InvalidRequestError):
        major_to_minor(Decimal(10), "xyz", RoundingMode.HALF_UP)


@pytest.mark.parametrize(
    ("amount_minor", "code", "expected"),
    [
        (123456, "usd", "1234.56 USD"),
        (-5, "usd", "-0.05 USD"),
        (0, "eur", "0.00 EUR"),
        (1000, "jpy", "1000 JPY"),
        (-1000, "JPY", "-1000 JPY"),
        (1, "kwd", "0.001 KWD"),
        (100, "isk", "1.00 ISK"),
    ],
)
def test_format_amount_examples(amount_minor: int, code: str, expected: str) -> None:
    assert format_amount(amount_minor, code) == expected


@given(st.integers(-(10**30), 10**30), currencies)
def test_format_amount_reads_back_exactly(amount_minor: int, code: str) -> None:
    number, shown_code = format_amount(amount_minor, code).split(" ")
    assert shown_code == code.upper()
    assert major_to_minor(Decimal(number), code, RoundingMode.DOWN) == amount_minor


def test_format_amount_rejects_bool() -> None:
    with pytest.raises(TypeError):
        format_amount(True, "usd")


# --- parse_unit_amount_decimal --------------------------------------------------------------

valid_unit_amounts = st.builds(
    lambda n, places: Decimal(f"{n}e-{places}"),
    st.integers(0, 10**32),
    st.integers(0, MAX_UNIT_DECIMALS),
).filter(lambda d: d <= 10**20)


@given(valid_unit_amounts)
def test_parse_round_trips_str_of_decimal(value: Decimal) -> None:
    parsed = parse_unit_amount_decimal(str(value), "unit_amount_decimal")
    assert parsed == value
    assert parse_unit_amount_decimal(str(parsed), "unit_amount_decimal") == parsed
    assert str(parse_unit_amount_decimal(str(parsed), "p")) == str(parsed)
    assert parse_unit_amount_decimal(value, "p") == value
    assert parse_unit_amount_decimal(format(value, "f"), "p") == value


@given(st.integers(1, 10**20), st.integers(MAX_UNIT_DECIMALS + 1, 30))
def test_parse_rejects_more_than_12_places(n: int, places: int) -> None:
    assume(n % 10 != 0)  # a trailing zero would make the written places a lie
    text = format(Decimal(f"{n}e-{places}"), "f")
    with pytest.raises(InvalidRequestError) as raised:
        parse_unit_amount_decimal(text, "unit_amount_decimal")
    assert raised.value.param == "unit_amount_decimal"
    assert raised.value.code == "parameter_invalid"


@pytest.mark.parametrize(
    "text",
    [
        "abc", "", " 1", "1 ", "+1", "-1", "-0.5", "1.", ".5", "1e", "0x10", "1_000", "1,5",
        "NaN", "nan", "Infinity", "-Infinity", "sNaN", "１", "١",
        "1.0000000000001", "1E-13", "1.00E-11", "100000000000000000000.000000000001",
        "100000000000000000001", "1E+21", "1" * 65,
    ],
)  # fmt: skip
def test_parse_rejects_bad_strings_with_stripe_error(text: str) -> None:
    with pytest.raises(InvalidRequestError) as raised:
        parse_unit_amount_decimal(text, "items[0][price_data][unit_amount_decimal]")
    error = raised.value
    assert error.param == "items[0][price_data][unit_amount_decimal]"
    assert error.code == "parameter_invalid"
    assert len(error.message) < 200


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("0", "0"),
        ("-0", "0"),
        ("0.000", "0"),
        ("12.50", "12.5"),
        ("007", "7"),
        ("1E+2", "100"),
        ("1e5", "100000"),
        ("1E-7", "1E-7"),
        ("0.000000000001", "1E-12"),
        ("1.0E-11", "1E-11"),
        ("100000000000000000000", "100000000000000000000"),
        ("99999999999999999999.999999999999", "99999999999999999999.999999999999"),
    ],
)
def test_parse_canonical_form(text: str, expected: str) -> None:
    assert str(parse_unit_amount_decimal(text, "p")) == expected


def test_parse_accepts_ints_and_decimals() -> None:
    assert parse_unit_amount_decimal(250, "p") == 250
    assert str(parse_unit_amount_decimal(Decimal("2.500"), "p")) == "2.5"


@pytest.mark.parametrize("value", [1.5, 0.1, float("nan"), True, None, [1]])
def test_parse_rejects_floats_and_other_types(value: object) -> None:
    with pytest.raises(TypeError):
        parse_unit_amount_decimal(value, "p")  # type: ignore[arg-type]


@pytest.mark.parametrize("value", [Decimal("NaN"), Decimal("-Infinity"), Decimal("-1"), -1])
def test_parse_rejects_non_finite_and_negative_numbers(value: Decimal | int) -> None:
    with pytest.raises(InvalidRequestError) as raised:
        parse_unit_amount_decimal(value, "unit_amount_decimal")
    assert raised.value.param == "unit_amount_decimal"


# --- Money ----------------------------------------------------------------------------------

minor_amounts = st.integers(-(10**15), 10**15)


@given(minor_amounts, minor_amounts, minor_amounts, currencies)
def test_money_add_and_sub_are_associative(a: int, b: int, c: int, code: str) -> None:
    x, y, z = Money(a, code), Money(b, code), Money(c, code)
    assert (x + y) + z == x + (y + z) == Money(a + b + c, code)
    assert (x - y) - z == x - (y + z) == Money(a - b - c, code)
    assert x + (-x) == Money.zero(code)
    negated = -x
    assert -negated == x != negated or x.amount_minor == 0


@given(minor_amounts, minor_amounts)
def test_money_refuses_to_mix_currencies(a: int, b: int) -> None:
    with pytest.raises(ValueError, match="currency mismatch"):
        Money(a, "usd") + Money(b, "eur")
    with pytest.raises(ValueError, match="currency mismatch"):
        Money(a, "usd") - Money(b, "jpy")


def test_money_normalizes_currency() -> None:
    money = Money(100, "USD")
    assert money.currency == "usd"
    assert money == Money(100, "usd")
    assert Money.zero("JPY") == Money(0, "jpy")


@pytest.mark.parametrize("amount", [True, 1.0, Decimal(1), "1"])
def test_money_requires_an_int_amount(amount: object) -> None:
    with pytest.raises(TypeError):
        Money(amount, "usd")  # type: ignore[arg-type]


def test_money_rejects_unknown_currency_and_unstorable_amounts() -> None:
    with pytest.raises(InvalidRequestError):
        Money(1, "xyz")
    with pytest.raises(ValueError):
        Money(MAX_AMOUNT_MINOR + 1, "usd")
    with pytest.raises(ValueError):
        Money(-MAX_AMOUNT_MINOR - 1, "usd")
    with pytest.raises(ValueError):
        Money(MAX_AMOUNT_MINOR, "usd") + Money(1, "usd")
    assert Money(-MAX_AMOUNT_MINOR, "usd").amount_minor == -MAX_AMOUNT_MINOR


def test_money_is_frozen_and_does_not_add_plain_ints() -> None:
    money = Money(1, "usd")
    with pytest.raises(dataclasses.FrozenInstanceError):
        money.amount_minor = 2  # type: ignore[misc]
    with pytest.raises(TypeError):
        money + 1  # type: ignore[operator]


# --- Money.allocate -------------------------------------------------------------------------

weight_lists = st.lists(st.integers(0, 10**6), min_size=1, max_size=30).filter(
    lambda ws: sum(ws) > 0
)


@given(st.integers(-(10**15), 10**15), weight_lists)
def test_allocate_sums_exactly_and_each_share_is_within_one(total: int, weights: list[int]) -> None:
    shares = Money(total, "usd").allocate(weights)
    assert len(shares) == len(weights)
    assert sum(share.amount_minor for share in shares) == total
    assert all(share.currency == "usd" for share in shares)
    weight_sum = sum(weights)
    for share, weight in zip(shares, weights, strict=True):
        # |share - total*weight/weight_sum| < 1, kept in integers to stay exact.
        assert abs(share.amount_minor * weight_sum - total * weight) < weight_sum
        if weight == 0:
            assert share.amount_minor == 0


@given(st.integers(0, 10**15), weight_lists)
def test_allocating_a_credit_mirrors_the_charge(total: int, weights: list[int]) -> None:
    charge = Money(total, "eur").allocate(weights)
    credit = Money(-total, "eur").allocate(weights)
    assert credit == [-share for share in charge]


@pytest.mark.parametrize(
    ("total", "weights", "expected"),
    [
        (100, [1, 1, 1], [34, 33, 33]),
        (1, [1, 1, 1], [1, 0, 0]),
        (2, [1, 1, 1], [1, 1, 0]),
        (5, [1, 3], [1, 4]),
        (100, [0, 1, 2], [0, 33, 67]),
        (-100, [1, 1, 1], [-34, -33, -33]),
        (0, [5, 7], [0, 0]),
    ],
)
def test_allocate_examples(total: int, weights: list[int], expected: list[int]) -> None:
    shares = Money(total, "usd").allocate(weights)
    assert [share.amount_minor for share in shares] == expected


@pytest.mark.parametrize("weights", [[], [0, 0], [1, -1], [2, -1], [True, 1], [1.5]])
def test_allocate_rejects_bad_weights(weights: list[int]) -> None:
    with pytest.raises((ValueError, TypeError)):
        Money(100, "usd").allocate(weights)


@given(st.integers(-(10**30), 10**30), currencies)
def test_decimal_string_is_the_number_format_amount_shows(amount_minor: int, code: str) -> None:
    text = decimal_string(amount_minor, code)
    assert format_amount(amount_minor, code) == f"{text} {code.upper()}"
    assert major_to_minor(Decimal(text), code, RoundingMode.DOWN) == amount_minor
