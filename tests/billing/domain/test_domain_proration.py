"""Proration to the second: one rounding of an exact fraction, credits mirroring charges."""

from __future__ import annotations

import calendar
from decimal import Decimal
from fractions import Fraction

import pytest
from domain_support import reference
from hypothesis import given, settings
from hypothesis import strategies as st

from remit.billing.domain.proration import prorate
from remit.primitives.money import RoundingMode

EXAMPLES = settings(max_examples=400, deadline=None)
APR_1 = calendar.timegm((2025, 4, 1, 0, 0, 0))
MAY_1 = calendar.timegm((2025, 5, 1, 0, 0, 0))

modes = st.sampled_from(list(RoundingMode))
full_amounts = st.builds(
    lambda digits, places: Decimal(digits).scaleb(-places),
    st.integers(0, 10**12),
    st.integers(0, 12),
)


@st.composite
def windows(draw: st.DrawFn) -> tuple[int, int, int, int, int]:
    """A period and three ordered moments inside it: from <= middle <= to."""
    start = draw(st.integers(0, 4 * 10**9))
    length = draw(st.integers(1, 3 * 366 * 86_400))
    inside = sorted(draw(st.lists(st.integers(start, start + length), min_size=3, max_size=3)))
    return start, start + length, inside[0], inside[1], inside[2]


def test_a_mid_cycle_seat_upgrade_in_a_30_day_month():
    # April 2025 has 30 days: 30 * 86,400 = 2,592,000 seconds.
    # On Apr 16 at 10:00:00 five $10.00 seats become eight. Time left until May 1 00:00:
    # 14 days 14 hours = 1,209,600 + 50,400 = 1,260,000 seconds, i.e. 1,260,000/2,592,000 = 35/72.
    upgrade = calendar.timegm((2025, 4, 16, 10, 0, 0))
    assert MAY_1 - APR_1 == 2_592_000
    assert MAY_1 - upgrade == 1_260_000
    mode = RoundingMode.HALF_UP
    unused = prorate(Decimal(5 * 1000), APR_1, MAY_1, upgrade, MAY_1, mode, credit=True)
    remaining = prorate(Decimal(8 * 1000), APR_1, MAY_1, upgrade, MAY_1, mode, credit=False)
    # 5000 * 35/72 = 2430.555... -> credit -2431; 8000 * 35/72 = 3888.888... -> 3889.
    assert (unused.amount, remaining.amount) == (-2431, 3889)
    assert unused.amount + remaining.amount == 1458
    assert (unused.seconds, unused.period_seconds) == (1_260_000, 2_592_000)
    assert unused.explain() == {
        "kind": "credit",
        "window": {"start": upgrade, "end": MAY_1},
        "period": {"start": APR_1, "end": MAY_1},
        "fraction": "1260000/2592000",
        "full_amount": "5000",
        "exact": "-2430.555555555556",
        "rounding": "half_up",
        "rounded": -2431,
    }
    # One second later there is one second less to pay for: 8000 * 1,259,999/2,592,000
    # = 3888.885802... still rounds to 3889; truncating gives 3888.
    later = prorate(
        Decimal(8000), APR_1, MAY_1, upgrade + 1, MAY_1, RoundingMode.DOWN, credit=False
    )
    assert later.amount == 3888
    assert later.exact < remaining.exact


def test_ties_follow_the_mode_and_credits_mirror_charges():
    half = APR_1 + 1_296_000  # exactly half of April: one cent prorates to 0.5
    expected = {
        RoundingMode.HALF_UP: 1,
        RoundingMode.HALF_EVEN: 0,
        RoundingMode.DOWN: 0,
        RoundingMode.UP: 1,
    }
    for mode, cents in expected.items():
        assert prorate(Decimal(1), APR_1, MAY_1, APR_1, half, mode, credit=False).amount == cents
        assert prorate(Decimal(1), APR_1, MAY_1, APR_1, half, mode, credit=True).amount == -cents


def test_sub_cent_unit_prices_prorate_before_rounding():
    # 0.0125 cents a seat, 10,000 seats, the last third of a 3-second period: 125 * 1/3.
    got = prorate(Decimal("125.0000"), 0, 3, 2, 3, RoundingMode.HALF_EVEN, credit=False)
    assert got.amount == 42
    assert got.explain()["exact"] == "41.666666666667"


def test_windows_outside_the_period_and_non_decimal_amounts_are_refused():
    with pytest.raises(ValueError):
        prorate(Decimal(100), APR_1, MAY_1, APR_1 - 1, MAY_1, RoundingMode.HALF_UP, credit=False)
    with pytest.raises(ValueError):
        prorate(Decimal(100), APR_1, MAY_1, MAY_1, APR_1, RoundingMode.HALF_UP, credit=False)
    with pytest.raises(ValueError):
        prorate(Decimal(100), APR_1, APR_1, APR_1, APR_1, RoundingMode.HALF_UP, credit=False)
    with pytest.raises(TypeError):
        prorate(100, APR_1, MAY_1, APR_1, MAY_1, RoundingMode.HALF_UP, credit=False)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        prorate(Decimal(1), APR_1, MAY_1, APR_1, True, RoundingMode.HALF_UP, credit=False)


@EXAMPLES
@given(full_amounts, windows(), modes)
def test_rounds_the_exact_fraction_once(full, window, mode):
    start, end, first, _, last = window
    for credit in (False, True):
        got = prorate(full, start, end, first, last, mode, credit=credit)
        exact = Fraction(full) * (last - first) / (end - start) * (-1 if credit else 1)
        assert got.amount == reference(exact, mode)
        assert abs(Fraction(got.exact) - exact) <= abs(exact) / 10**99


@EXAMPLES
@given(full_amounts, windows(), modes)
def test_a_credit_and_a_charge_for_the_same_window_cancel(full, window, mode):
    start, end, first, _, last = window
    charge = prorate(full, start, end, first, last, mode, credit=False)
    credit = prorate(full, start, end, first, last, mode, credit=True)
    assert charge.amount + credit.amount == 0
    assert charge.exact + credit.exact == 0


@EXAMPLES
@given(full_amounts, windows(), modes)
def test_a_split_window_sums_to_the_whole_within_its_rounding(full, window, mode):
    start, end, first, middle, last = window
    whole = prorate(full, start, end, first, last, mode, credit=False).amount
    parts = [
        prorate(full, start, end, first, middle, mode, credit=False).amount,
        prorate(full, start, end, middle, last, mode, credit=False).amount,
    ]
    assert abs(sum(parts) - whole) <= 1


@EXAMPLES
@given(full_amounts, windows(), modes)
def test_the_whole_period_is_the_full_amount_rounded(full, window, mode):
    start, end, *_ = window
    got = prorate(full, start, end, start, end, mode, credit=False)
    assert got.amount == reference(Fraction(full), mode)
    assert prorate(full, start, end, start, start, mode, credit=True).amount == 0
