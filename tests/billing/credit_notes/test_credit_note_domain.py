"""Credit note money: shares of a line, custom lines, credits of a whole invoice, settlement."""

from __future__ import annotations

from decimal import Decimal
from itertools import pairwise

import pytest
from hypothesis import given
from hypothesis import strategies as st

from remit.billing.credit_notes.domain import (
    Credited,
    Figures,
    amount_credit,
    custom_credit,
    line_credit,
    note_totals,
    settle,
)
from remit.billing.domain.totals import TaxAmount, TaxTerms
from remit.primitives.money import RoundingMode

HALF_UP = RoundingMode.HALF_UP
VAT = TaxAmount("txr_vat", 190, 1000, False, "DE")
# 1000 before a 10% discount (100), 19% exclusive VAT on the 900 left.
LINE = Figures(1000, (("di_ten", 100),), (TaxAmount("txr_vat", 171, 900, False, "DE"),))


def test_half_a_line_takes_half_of_its_discount_and_tax():
    half = line_credit(LINE, 0, 500, 1000, HALF_UP)
    assert half == Credited(500, (("di_ten", 50),), (TaxAmount("txr_vat", 86, 450, False, "DE"),))
    assert half.total == 500 - 50 + 86


def test_the_credit_completing_a_line_takes_exactly_what_is_left():
    first = line_credit(LINE, 0, 500, 1000, HALF_UP)
    second = line_credit(LINE, 500, 1000, 1000, HALF_UP)
    # 171 / 2 rounds up on the first half; the second takes what is left, not 86 again.
    assert second.taxes[0].amount == 85
    assert first.total + second.total == 1000 - 100 + 171


def test_a_credit_by_quantity_takes_that_share_of_the_line():
    three_of_seven = line_credit(Figures(700, (), (VAT,)), 2, 5, 7, HALF_UP)
    assert three_of_seven.amount == 300
    assert three_of_seven.taxes[0].amount == 82  # 190 * 5/7 = 135.7 -> 136, less 190 * 2/7 -> 54


def test_the_tenants_rounding_mode_decides_the_share():
    line = Figures(3, (), (TaxAmount("txr_vat", 1, 3, False, None),))
    assert line_credit(line, 0, 1, 2, RoundingMode.UP).amount == 2
    assert line_credit(line, 0, 1, 2, RoundingMode.DOWN).amount == 1


def test_a_share_must_grow_within_the_line():
    with pytest.raises(ValueError):
        line_credit(LINE, 600, 500, 1000, HALF_UP)
    with pytest.raises(ValueError):
        line_credit(LINE, 0, 1001, 1000, HALF_UP)


@given(
    amount=st.integers(1, 10**9),
    discount_pct=st.integers(0, 100),
    tax_pct=st.integers(0, 30),
    steps=st.lists(st.integers(1, 10**9), min_size=1, max_size=6),
    mode=st.sampled_from(list(RoundingMode)),
)
def test_credits_of_a_line_add_up_to_it_exactly(amount, discount_pct, tax_pct, steps, mode):
    off = amount * discount_pct // 100
    tax = (amount - off) * tax_pct // 100
    line = Figures(amount, (("di", off),), (TaxAmount("txr", tax, amount - off, False, None),))
    cuts = sorted({min(step, amount) for step in steps} | {amount})
    credits = [line_credit(line, a, b, amount, mode) for a, b in pairwise([0, *cuts])]
    assert all(min(c.amount, c.discount, c.exclusive_tax) >= 0 for c in credits)
    assert sum(c.amount for c in credits) == amount
    assert sum(c.discount for c in credits) == off
    assert sum(c.exclusive_tax for c in credits) == tax
    assert sum(c.total for c in credits) == amount - off + tax


def test_a_custom_line_is_taxed_like_an_invoice_line():
    rate = TaxTerms("txr_vat", Decimal("19"), False, "DE", "VAT")
    custom = custom_credit("custom", 500, (rate,), HALF_UP)
    assert custom.taxes == (TaxAmount("txr_vat", 95, 500, False, "DE"),)
    inclusive = TaxTerms("txr_incl", Decimal("19"), True, "DE", "VAT")
    extracted = custom_credit("custom", 119, (inclusive,), HALF_UP)
    assert extracted.total == 119 and extracted.inclusive_tax == 19


def test_a_credit_of_the_whole_invoice_splits_revenue_and_tax_in_proportion():
    credited = amount_credit(595, 1000, (VAT,), HALF_UP)
    assert credited.taxes == (TaxAmount("txr_vat", 95, 500, False, "DE"),)
    assert credited.total == 595 and credited.amount == 500
    with pytest.raises(ValueError):
        amount_credit(1191, 1000, (VAT,), HALF_UP)


@given(total=st.integers(0, 2000), revenue=st.integers(0, 1000), tax=st.integers(0, 300))
def test_a_credit_of_the_whole_invoice_is_exact(total, revenue, tax):
    if total > revenue + tax:
        return
    left = (TaxAmount("txr", tax, revenue, True, None),) if tax else ()
    credited = amount_credit(total, revenue, left, HALF_UP)
    assert credited.total == total
    assert credited.inclusive_tax <= tax


def test_note_totals_sum_their_lines_per_discount_and_tax_rate():
    first = line_credit(LINE, 0, 500, 1000, HALF_UP)
    custom = Credited(200, (), (TaxAmount("txr_incl", 32, 168, True, None),))
    totals = note_totals([first, custom, first])
    assert totals.subtotal == 1200
    assert totals.discount_amounts == (("di_ten", 100),)
    assert [(t.tax_rate, t.amount) for t in totals.total_taxes] == [
        ("txr_vat", 172),
        ("txr_incl", 32),
    ]
    assert totals.total == 1200 - 100 + 172
    assert totals.total_excluding_tax == 1200 - 100 - 32
    assert totals.subtotal_excluding_tax == 1200 - 32


def test_a_credit_lowers_what_is_owed_first_and_the_rest_is_after_payment():
    assert settle(300, 1000) == (300, 0)
    assert settle(1000, 700) == (700, 300)
    assert settle(500, 0) == (0, 500)
