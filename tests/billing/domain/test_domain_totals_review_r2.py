"""Review: the totals invariants under harsher invoices than the main property tests draw:
many lines, zero and negative lines, 100% coupons, amounts off beyond the invoice, several
inclusive rates with 0% among them, and amounts at the scale of zero- and three-decimal
currencies (a yen invoice of a few units, a dinar one of millions of fils)."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction
from typing import Any

from domain_support import reference
from hypothesis import given, settings
from hypothesis import strategies as st

from remit.billing.domain.totals import DiscountTerms, LineInput, TaxTerms, compute
from remit.primitives.money import RoundingMode

EXAMPLES = settings(max_examples=200, deadline=None)
modes = st.sampled_from(list(RoundingMode))
# Amounts at the scale of a yen invoice (a few units) up to a dinar one (millions of fils).
amounts = st.one_of(
    st.just(0), st.integers(-3, 3), st.integers(-(10**4), 10**4), st.integers(-(10**9), 10**10)
)
percentages = st.one_of(
    st.sampled_from([Decimal(0), Decimal(100), Decimal("0.0001"), Decimal("99.9999")]),
    st.decimals(min_value=0, max_value=100, places=4, allow_nan=False, allow_infinity=False),
)


@st.composite
def rates(draw: Any, inclusive: bool, prefix: str) -> tuple[TaxTerms, ...]:
    count = draw(st.integers(0, 4))
    return tuple(
        TaxTerms(
            f"txr_{prefix}{i}", draw(percentages), inclusive, draw(st.none() | st.just("X")), "t"
        )
        for i in range(count)
    )


@st.composite
def discount(draw: Any, id_: str) -> DiscountTerms:
    kind = draw(st.sampled_from(["all", "pct", "off", "huge"]))
    if kind == "all":
        return DiscountTerms(id_, "co", Decimal(100), None, None)
    if kind == "pct":
        pct = draw(percentages.filter(lambda p: p > 0))
        return DiscountTerms(id_, "co", pct, None, None)
    off = draw(st.integers(0, 10**4)) if kind == "off" else draw(st.integers(10**10, 10**12))
    return DiscountTerms(id_, "co", None, off, None)


@st.composite
def invoices(draw: Any) -> tuple[list[LineInput], list[DiscountTerms]]:
    # Rates are shared between lines so sums per rate cover many lines.
    inclusive_pool = draw(rates(True, "in"))
    exclusive_pool = draw(rates(False, "ex"))
    lines = []
    for index in range(draw(st.integers(0, 60))):
        pool = inclusive_pool if draw(st.booleans()) else exclusive_pool
        chosen = draw(st.lists(st.sampled_from(pool), unique_by=lambda t: t.id)) if pool else []
        own = [draw(discount(f"di_l{index}_{j}")) for j in range(draw(st.integers(0, 2)))]
        lines.append(
            LineInput(
                f"il_{index}", draw(amounts), draw(st.booleans()), None, tuple(chosen), tuple(own)
            )
        )
    return lines, [draw(discount(f"di_i{j}")) for j in range(draw(st.integers(0, 3)))]


def off(line: Any) -> int:
    return sum(amount for _, amount in line.discount_amounts)


@EXAMPLES
@given(invoices(), modes)
def test_totals_reconcile_on_harsh_invoices(invoice, mode):
    lines, on_invoice = invoice
    got = compute(lines, on_invoice, mode)
    inclusive = sum(t.amount for t in got.total_taxes if t.inclusive)
    exclusive = sum(t.amount for t in got.total_taxes if not t.inclusive)
    discounted = sum(amount for _, amount in got.total_discount_amounts)
    assert got.total == got.subtotal - discounted + exclusive
    assert got.total_excluding_tax == got.total - exclusive - inclusive
    assert got.total == sum(line.net for line in got.lines) + inclusive + exclusive
    positive = sum(line.amount for line in lines if line.amount > 0 and line.discountable)
    assert 0 <= discounted <= positive
    for line, totals in zip(lines, got.lines, strict=True):
        taxable = line.amount - off(totals)
        if line.amount <= 0 or not line.discountable:
            assert totals.discount_amounts == ()
        assert 0 <= off(totals) <= max(line.amount, 0)
        if line.tax_rates and line.tax_rates[0].inclusive:
            combined = sum(Fraction(rate.percentage) for rate in line.tax_rates)
            extracted = reference(taxable * combined / (100 + combined), mode)
            assert sum(t.amount for t in totals.taxes) == extracted
            for terms, tax in zip(line.tax_rates, totals.taxes, strict=True):
                share = extracted * Fraction(terms.percentage) / combined if combined else 0
                assert abs(tax.amount - share) < 1
                if terms.percentage == 0:
                    assert tax.amount == 0
        else:
            for terms, tax in zip(line.tax_rates, totals.taxes, strict=True):
                assert tax.amount == reference(taxable * Fraction(terms.percentage) / 100, mode)


@EXAMPLES
@given(invoices(), modes)
def test_a_full_coupon_on_the_invoice_leaves_only_what_it_cannot_touch(invoice, mode):
    lines, _ = invoice
    got = compute(lines, [DiscountTerms("di_all", "co", Decimal(100), None, None)], mode)
    for line, totals in zip(lines, got.lines, strict=True):
        if line.amount > 0 and line.discountable:
            assert totals.net == 0 and all(t.amount == 0 for t in totals.taxes)
    untouched = [
        t
        for line, t in zip(lines, got.lines, strict=True)
        if line.amount <= 0 or not line.discountable
    ]
    assert got.total_excluding_tax == sum(t.net for t in untouched)


@EXAMPLES
@given(invoices(), st.integers(0, 10**12), modes)
def test_an_amount_off_beyond_the_invoice_takes_all_and_no_more(invoice, amount_off, mode):
    lines, _ = invoice
    lines = [
        LineInput(line.key, line.amount, line.discountable, None, line.tax_rates) for line in lines
    ]
    got = compute(lines, [DiscountTerms("di_off", "co", None, amount_off, None)], mode)
    eligible = sum(line.amount for line in lines if line.amount > 0 and line.discountable)
    assert got.total_discount_amounts == (("di_off", min(amount_off, eligible)),)
    untouchable = [line for line in lines if line.amount < 0 or not line.discountable]
    if not untouchable and amount_off >= eligible:
        assert got.total == 0
