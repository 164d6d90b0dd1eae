"""The currency table: ISO 4217 exponents with Stripe's overrides on top."""

from __future__ import annotations

import pytest
from iso4217 import Currency

from remit.primitives import currency
from remit.primitives.errors import InvalidRequestError

# Restated from Stripe's documentation on purpose: the test pins the spec, not the module.
ZERO_DECIMAL = {
    "bif", "clp", "djf", "gnf", "jpy", "kmf", "krw", "mga",
    "pyg", "rwf", "ugx", "vnd", "vuv", "xaf", "xof", "xpf",
}  # fmt: skip
THREE_DECIMAL = {"bhd", "jod", "kwd", "omr", "tnd"}
STRIPE_TWO_DECIMAL = {"isk", "huf", "twd"}
OVERRIDDEN = ZERO_DECIMAL | THREE_DECIMAL | STRIPE_TWO_DECIMAL


def test_override_lists_are_exactly_stripes() -> None:
    assert currency.STRIPE_ZERO_DECIMAL_CURRENCIES == ZERO_DECIMAL
    assert currency.STRIPE_THREE_DECIMAL_CURRENCIES == THREE_DECIMAL
    assert currency.STRIPE_TWO_DECIMAL_CURRENCIES == STRIPE_TWO_DECIMAL


@pytest.mark.parametrize("code", sorted(ZERO_DECIMAL))
def test_zero_decimal_currencies_have_exponent_0(code: str) -> None:
    assert currency.exponent(code) == 0
    assert currency.exponent(code.upper()) == 0


@pytest.mark.parametrize("code", sorted(THREE_DECIMAL))
def test_three_decimal_currencies_have_exponent_3(code: str) -> None:
    assert currency.exponent(code) == 3


@pytest.mark.parametrize("code", sorted(STRIPE_TWO_DECIMAL))
def test_stripe_two_decimal_currencies_have_exponent_2(code: str) -> None:
    assert currency.exponent(code) == 2


def test_isk_follows_stripe_not_iso() -> None:
    assert Currency("ISK").exponent == 0  # the disagreement the override exists for
    assert currency.exponent("isk") == 2


def test_mga_follows_stripe_not_iso() -> None:
    assert Currency("MGA").exponent == 2
    assert currency.exponent("mga") == 0


def test_every_other_iso_currency_keeps_its_iso_exponent() -> None:
    checked = 0
    for iso in Currency:
        code = iso.code.lower()
        if iso.exponent is None or code in OVERRIDDEN:
            continue
        assert currency.exponent(code) == iso.exponent, code
        checked += 1
    assert checked > 100


@pytest.mark.parametrize("code", ["xau", "xag", "xdr", "xts", "xxx"])
def test_iso_codes_without_exponent_are_not_payable(code: str) -> None:
    assert Currency(code.upper()).exponent is None
    assert not currency.is_supported(code)
    with pytest.raises(InvalidRequestError):
        currency.exponent(code)


def test_common_currencies() -> None:
    assert currency.exponent("usd") == 2
    assert currency.exponent("EUR") == 2
    assert currency.exponent("Gbp") == 2


def test_supported_currencies_are_sorted_lower_case_and_complete() -> None:
    codes = currency.supported_currencies()
    assert list(codes) == sorted(codes)
    assert all(code == code.lower() and len(code) == 3 for code in codes)
    assert set(codes) >= OVERRIDDEN
    assert len(codes) == len(set(codes))


def test_table_is_immutable() -> None:
    with pytest.raises(TypeError):
        currency._EXPONENTS["usd"] = 3  # type: ignore[index]
    assert currency.exponent("usd") == 2


@pytest.mark.parametrize(
    ("given", "expected"), [("usd", "usd"), ("USD", "usd"), ("uSd", "usd"), ("JPY", "jpy")]
)
def test_normalize_returns_lower_case_wire_form(given: str, expected: str) -> None:
    assert currency.normalize(given) == expected


@pytest.mark.parametrize("code", ["usd", "USD", "kwd", "XOF"])
def test_is_supported_accepts_known_codes_in_any_case(code: str) -> None:
    assert currency.is_supported(code)


@pytest.mark.parametrize("code", ["", "xyz", "us", "usdd", " usd", "usd ", "ＵＳＤ"])
def test_is_supported_rejects_unknown_codes(code: str) -> None:
    assert not currency.is_supported(code)


def test_unknown_currency_error_has_stripes_shape() -> None:
    with pytest.raises(InvalidRequestError) as raised:
        currency.normalize("xyz", param="items[0][currency]")
    error = raised.value
    assert error.param == "items[0][currency]"
    assert error.code == "parameter_invalid"
    assert error.http_status == 400
    assert error.message.startswith(
        "Invalid currency: xyz. Stripe currently supports these currencies: aed, "
    )
    body = error.to_dict()["error"]
    assert body["type"] == "invalid_request_error"
    assert body["param"] == "items[0][currency]"


def test_unknown_currency_message_is_bounded() -> None:
    with pytest.raises(InvalidRequestError) as raised:
        currency.normalize("q" * 10_000)
    message = raised.value.message
    assert len(message) < 400
    assert "more." in message
    assert raised.value.param == "currency"


def test_exponent_of_unknown_currency_is_parameter_invalid() -> None:
    with pytest.raises(InvalidRequestError) as raised:
        currency.exponent("abc")
    assert (raised.value.code, raised.value.param) == ("parameter_invalid", "currency")


def test_non_string_currency_is_parameter_invalid() -> None:
    with pytest.raises(InvalidRequestError) as raised:
        currency.normalize(840)  # type: ignore[arg-type]
    assert raised.value.message.startswith("Invalid currency: int.")
    assert not currency.is_supported(840)  # type: ignore[arg-type]
