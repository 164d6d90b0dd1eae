"""Invoice totals: hand-computed invoices, then the invariants over random lines, rates and
discounts, each checked against exact rational arithmetic written here."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal
from fractions import Fraction
from typing import Any

import pytest
from domain_support import reference
from hypothesis import given, settings
from hypothesis import strategies as st

from remit.billing.domain.totals import (
    BalanceApplied,
    DiscountTerms,
    LineInput,
    TaxAmount,
    TaxTerms,
    Totals,
    apply_balance,
    compute,
)
from remit.primitives.money import RoundingMode

EXAMPLES = settings(max_examples=300, deadline=None)
HALF_UP = RoundingMode.HALF_UP


def rate(id_: str, pct: str, inclusive: bool = False, jurisdiction: str | None = None) -> TaxTerms:
    return TaxTerms(id_, Decimal(pct), inclusive, jurisdiction, id_.upper())


def percent(id_: str, pct: str, products: frozenset[str] | None = None) -> DiscountTerms:
    return DiscountTerms(id_, "co_" + id_, Decimal(pct), None, products)


def amount_off(id_: str, amount: int, products: frozenset[str] | None = None) -> DiscountTerms:
    return DiscountTerms(id_, "co_" + id_, None, amount, products)


def test_an_invoice_discount_then_exclusive_taxes_per_line():
    lines = [
        LineInput("a", 1000, tax_rates=(rate("txr_vat", "10", jurisdiction="FR"),)),
        LineInput("b", 500, tax_rates=(rate("txr_low", "5"),)),
    ]
    got = compute(lines, [percent("di_20", "20")], HALF_UP)
    # 20% of 1000 and of 500; then 10% of 800 and 5% of 400.
    assert [line.discount_amounts for line in got.lines] == [(("di_20", 200),), (("di_20", 100),)]
    assert got.total_taxes == (
        TaxAmount("txr_vat", 80, 800, False, "FR"),
        TaxAmount("txr_low", 20, 400, False, None),
    )
    assert (got.subtotal, got.subtotal_excluding_tax) == (1500, 1500)
    assert got.total_discount_amounts == (("di_20", 300),)
    assert (got.total, got.total_excluding_tax) == (1300, 1200)  # 1500 - 300 + 100
    assert [line.net for line in got.lines] == [800, 400]


def test_inclusive_rates_are_extracted_once_and_shared():
    one = compute([LineInput("a", 1000, tax_rates=(rate("txr_10", "10", True),))], [], HALF_UP)
    # 1000 * 10/110 = 90.909... -> 91 of tax inside; 909 is the net.
    assert one.total_taxes == (TaxAmount("txr_10", 91, 909, True, None),)
    assert (one.lines[0].net, one.total, one.total_excluding_tax) == (909, 1000, 909)
    assert one.subtotal_excluding_tax == 909
    two = compute(
        [LineInput("a", 1000, tax_rates=(rate("txr_a", "5", True), rate("txr_b", "7.5", True)))],
        [],
        HALF_UP,
    )
    # Combined 12.5%: 1000 * 12.5/112.5 = 111.11 -> 111, split 5 : 7.5 = 44.4 : 66.6 -> 44 : 67.
    assert [tax.amount for tax in two.total_taxes] == [44, 67]
    assert two.lines[0].net == 889
    assert two.total == 1000


def test_amount_off_is_spread_by_largest_remainder_and_capped():
    lines = [LineInput("a", 300), LineInput("b", 700)]
    got = compute(lines, [amount_off("di_off", 101)], HALF_UP)
    # 101 * 3/10 = 30.3 and 101 * 7/10 = 70.7: floors 30 + 70, the last unit to the .7.
    assert [line.discount_amounts for line in got.lines] == [(("di_off", 30),), (("di_off", 71),)]
    capped = compute(lines, [amount_off("di_big", 5000)], HALF_UP)
    assert capped.total_discount_amounts == (("di_big", 1000),)
    assert capped.total == 0


def test_line_discounts_come_first_and_invoice_discounts_take_what_is_left():
    lines = [
        LineInput("a", 1000, discounts=(percent("di_line", "10"),)),
        LineInput("b", 900),
    ]
    got = compute(lines, [amount_off("di_inv", 450), percent("di_half", "50")], HALF_UP)
    # a: 1000 - 100 = 900 left; 450 spread over 900 and 900 -> 225 each; then half of 675.
    assert got.lines[0].discount_amounts == (("di_line", 100), ("di_inv", 225), ("di_half", 338))
    assert got.lines[1].discount_amounts == (("di_inv", 225), ("di_half", 338))
    assert got.total_discount_amounts == (("di_line", 100), ("di_inv", 450), ("di_half", 676))
    assert got.total == 1900 - 1226


def test_credits_non_discountable_lines_and_other_products_get_no_discount():
    lines = [
        LineInput("credit", -500, tax_rates=(rate("txr_10", "10"),)),
        LineInput("fee", 300, discountable=False),
        LineInput("other", 400, product="prod_other"),
        LineInput("seat", 600, product="prod_seat", tax_rates=(rate("txr_10", "10"),)),
    ]
    got = compute(lines, [percent("di_seat", "50", frozenset({"prod_seat"}))], HALF_UP)
    assert [line.discount_amounts for line in got.lines] == [(), (), (), (("di_seat", 300),)]
    # The credit is taxed too: -50 on -500, +30 on the discounted 300.
    assert got.total_taxes == (TaxAmount("txr_10", -20, -200, False, None),)
    assert got.total == 800 - 300 - 20


def test_refusals():
    with pytest.raises(ValueError):
        LineInput("a", 100, tax_rates=(rate("txr_in", "5", True), rate("txr_ex", "5")))
    with pytest.raises(ValueError):
        compute([LineInput("a", 1), LineInput("a", 2)], [], HALF_UP)
    with pytest.raises(ValueError):
        compute([LineInput("a", 1)], [percent("di_x", "5"), percent("di_x", "5")], HALF_UP)
    with pytest.raises(ValueError):
        compute(
            [LineInput("a", 1, discounts=(percent("di_x", "5"),))], [percent("di_x", "5")], HALF_UP
        )
    with pytest.raises(ValueError):
        compute(
            [
                LineInput("a", 1, tax_rates=(rate("txr_x", "5", True),)),
                LineInput("b", 1, tax_rates=(rate("txr_x", "5", False),)),
            ],
            [],
            HALF_UP,
        )
    with pytest.raises(ValueError):
        DiscountTerms("di_x", "co_x", Decimal(5), 100, None)
    with pytest.raises(ValueError):
        DiscountTerms("di_x", "co_x", Decimal(0), None, None)
    with pytest.raises(ValueError):
        rate("txr_x", "100.5")


def test_balance_credit_covers_at_most_the_total_and_debt_is_added():
    assert apply_balance(1000, -300) == BalanceApplied(-300, 0, 700, 300)
    assert apply_balance(1000, -1500) == BalanceApplied(-1500, -500, 0, 1000)
    assert apply_balance(1000, 250) == BalanceApplied(250, 0, 1250, -250)
    assert apply_balance(0, 0) == BalanceApplied(0, 0, 0, 0)
    # A negative total (more credited than charged) becomes credit on the balance.
    assert apply_balance(-400, 100) == BalanceApplied(100, -300, 0, -400)


@given(st.integers(-(10**9), 10**9), st.integers(-(10**9), 10**9))
def test_balance_conserves_what_is_owed(total, balance):
    got = apply_balance(total, balance)
    assert got.amount_due >= 0
    assert got.ending_balance == got.starting_balance + got.applied == balance + got.applied
    assert got.amount_due + got.ending_balance == total + balance
    if balance <= 0 and total >= 0:
        assert 0 <= got.applied <= total


# Random invoices ---------------------------------------------------------------------------

modes = st.sampled_from(list(RoundingMode))
percentages = st.builds(
    lambda digits, places: Decimal(digits).scaleb(-places),
    st.integers(0, 1_000_000),
    st.integers(0, 4),
).filter(lambda p: p <= 100)
PRODUCTS = ["prod_a", "prod_b", "prod_c"]


@st.composite
def tax_pool(draw: Any) -> list[TaxTerms]:
    count = draw(st.integers(1, 5))
    return [
        TaxTerms(
            f"txr_{i}", draw(percentages), draw(st.booleans()), draw(st.none() | st.just("CA")), "t"
        )
        for i in range(count)
    ]


@st.composite
def discount(draw: Any, id_: str) -> DiscountTerms:
    products = draw(st.none() | st.frozensets(st.sampled_from(PRODUCTS), min_size=1))
    if draw(st.booleans()):
        return DiscountTerms(id_, "co", None, draw(st.integers(0, 10**7)), products)
    return DiscountTerms(id_, "co", draw(percentages.filter(lambda p: p > 0)), None, products)


@st.composite
def invoices(draw: Any) -> tuple[list[LineInput], list[DiscountTerms]]:
    pool = draw(tax_pool())
    lines = []
    for index in range(draw(st.integers(0, 8))):
        inclusive = draw(st.booleans())
        candidates = [t for t in pool if t.inclusive == inclusive]
        rates = (
            draw(st.lists(st.sampled_from(candidates), unique_by=lambda t: t.id, max_size=3))
            if candidates
            else []
        )
        own = [draw(discount(f"di_l{index}_{j}")) for j in range(draw(st.integers(0, 2)))]
        lines.append(
            LineInput(
                key=f"il_{index}",
                amount=draw(st.integers(-(10**6), 10**8)),
                discountable=draw(st.booleans()),
                product=draw(st.none() | st.sampled_from(PRODUCTS)),
                tax_rates=tuple(rates),
                discounts=tuple(own),
            )
        )
    invoice_level = [draw(discount(f"di_i{j}")) for j in range(draw(st.integers(0, 3)))]
    return lines, invoice_level


def discount_of(line: Any) -> int:
    return sum(off for _, off in line.discount_amounts)


@EXAMPLES
@given(invoices(), modes)
def test_totals_reconcile_with_their_lines(invoice, mode):
    lines, invoice_discounts = invoice
    got: Totals = compute(lines, invoice_discounts, mode)
    inclusive = sum(t.amount for t in got.total_taxes if t.inclusive)
    exclusive = sum(t.amount for t in got.total_taxes if not t.inclusive)
    discounted = sum(amount for _, amount in got.total_discount_amounts)
    assert got.subtotal == sum(line.amount for line in lines)
    assert got.total == got.subtotal - discounted + exclusive
    assert got.total_excluding_tax == got.subtotal - discounted - inclusive
    assert got.subtotal_excluding_tax == got.subtotal - inclusive
    for line, totals in zip(lines, got.lines, strict=True):
        line_inclusive = sum(t.amount for t in totals.taxes if t.inclusive)
        assert totals.net + line_inclusive + discount_of(totals) == line.amount
        assert 0 <= discount_of(totals) <= max(line.amount, 0)
        assert all(off >= 0 for _, off in totals.discount_amounts)
    for discount_id, amount in got.total_discount_amounts:
        assert amount == sum(
            off for each in got.lines for d, off in each.discount_amounts if d == discount_id
        )
    for tax in got.total_taxes:
        parts = [t for each in got.lines for t in each.taxes if t.tax_rate == tax.tax_rate]
        assert tax.amount == sum(t.amount for t in parts)
        assert tax.taxable_amount == sum(t.taxable_amount for t in parts)


@EXAMPLES
@given(invoices(), modes)
def test_taxes_round_once_per_line_on_the_discounted_amount(invoice, mode):
    lines, invoice_discounts = invoice
    got = compute(lines, invoice_discounts, mode)
    for line, totals in zip(lines, got.lines, strict=True):
        taxable = line.amount - discount_of(totals)
        if line.tax_rates and line.tax_rates[0].inclusive:
            combined = sum(Fraction(r.percentage) for r in line.tax_rates)
            extracted = reference(taxable * combined / (100 + combined), mode)
            assert sum(t.amount for t in totals.taxes) == extracted
            assert totals.net == taxable - extracted
            for terms, tax in zip(line.tax_rates, totals.taxes, strict=True):
                share = extracted * Fraction(terms.percentage) / combined if combined else 0
                assert abs(tax.amount - share) < 1
                assert tax.taxable_amount == totals.net
        else:
            for terms, tax in zip(line.tax_rates, totals.taxes, strict=True):
                assert tax.amount == reference(taxable * Fraction(terms.percentage) / 100, mode)
                assert tax.taxable_amount == taxable == totals.net


@EXAMPLES
@given(invoices(), st.integers(0, 10**8), modes)
def test_an_amount_off_is_spread_exactly_over_what_it_applies_to(invoice, off, mode):
    lines, _ = invoice
    lines = [replace(line, discounts=()) for line in lines]
    got = compute(lines, [DiscountTerms("di_off", "co", None, off, None)], mode)
    eligible = [line.amount for line in lines if line.discountable and line.amount > 0]
    applied = min(off, sum(eligible))
    assert got.total_discount_amounts == (("di_off", applied),)
    shares = [
        discount_of(totals)
        for line, totals in zip(lines, got.lines, strict=True)
        if line.discountable and line.amount > 0
    ]
    assert sum(shares) == applied
    for amount, share in zip(eligible, shares, strict=True):
        assert share <= amount
        assert abs(share - Fraction(applied * amount, sum(eligible))) < 1


@EXAMPLES
@given(invoices(), percentages.filter(lambda p: p > 0), modes)
def test_a_percent_off_rounds_once_per_line(invoice, pct, mode):
    lines, _ = invoice
    lines = [replace(line, discounts=(), tax_rates=()) for line in lines]
    got = compute(lines, [DiscountTerms("di_pct", "co", pct, None, None)], mode)
    for line, totals in zip(lines, got.lines, strict=True):
        if line.discountable and line.amount > 0:
            expected = reference(line.amount * Fraction(pct) / 100, mode)
            assert totals.discount_amounts == (("di_pct", expected),)
        else:
            assert totals.discount_amounts == ()
