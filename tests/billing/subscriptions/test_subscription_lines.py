"""The pure line builders the renewal engine calls: licensed in advance, metered in arrears,
trial lines at zero and a first period up to an anchor, to the second."""

from __future__ import annotations

from decimal import Decimal
from types import SimpleNamespace
from typing import Any

import pytest

from remit.billing.subscriptions import status
from remit.billing.subscriptions.lines import (
    ItemView,
    licensed_lines,
    metered_lines,
    stub_lines,
    trial_lines,
)
from remit.catalog.models import pricing_models
from remit.primitives.money import RoundingMode

MODELS = pricing_models(None)
HALF_UP = RoundingMode.HALF_UP
JAN_1, FEB_1 = 1_704_067_200, 1_706_745_600  # 2024-01-01 and 2024-02-01, 00:00 UTC


def price(price_id: str = "price_seat", **overrides: Any) -> SimpleNamespace:
    row: dict[str, Any] = {
        "id": price_id,
        "product": "prod_seat",
        "currency": "usd",
        "billing_scheme": "per_unit",
        "unit_amount_decimal": "2000",
        "tiers_mode": None,
        "tiers": None,
        "transform_quantity": None,
        "pricing_config": None,
        "custom_unit_amount": None,
        "tax_behavior": "unspecified",
        "currency_options": {"eur": {"unit_amount_decimal": "1800", "tiers": None,
                                     "custom_unit_amount": None, "tax_behavior": "unspecified"}},
        "recurring_interval": "month",
        "recurring_interval_count": 1,
        "recurring_usage_type": "licensed",
        "recurring_meter": None,
    }  # fmt: skip
    row.update(overrides)
    return SimpleNamespace(**row)


def item(item_id: str, price_row: SimpleNamespace, quantity: int | None) -> ItemView:
    return ItemView(
        id=item_id,
        price_row=price_row,
        quantity=quantity,
        tax_rates=("txr_vat",),
        discounts=("di_line",),
        product_name="Seats",
    )


SUB = SimpleNamespace(id="sub_1", currency="usd", metadata={"team": "blue"})
METERED = price(
    "price_calls",
    billing_scheme="tiered",
    tiers_mode="graduated",
    unit_amount_decimal=None,
    tiers=[
        {"up_to": 1000, "unit_amount_decimal": "0", "flat_amount_decimal": None},
        {"up_to": None, "unit_amount_decimal": "0.25", "flat_amount_decimal": None},
    ],
    currency_options={},
    recurring_usage_type="metered",
    recurring_meter="mtr_calls",
)


def test_licensed_lines_bill_each_seat_for_the_whole_period_in_advance():
    seats = item("si_seats", price(), 3)
    calls = ItemView("si_calls", METERED, None, (), ())
    [line] = licensed_lines(SUB, [seats, calls], JAN_1, FEB_1, rounding=HALF_UP, models=MODELS)
    assert (line.amount, line.quantity, line.currency) == (6000, 3, "usd")
    assert (line.period_start, line.period_end) == (JAN_1, FEB_1)
    assert line.description == "3 × Seats (at 20.00 USD / month)"
    assert (line.subscription, line.subscription_item, line.price) == (
        "sub_1",
        "si_seats",
        "price_seat",
    )
    assert (line.tax_rates, line.discounts, line.proration) == (("txr_vat",), ("di_line",), False)
    assert line.unit_amount_decimal == Decimal(2000)
    assert line.metadata == {"team": "blue"}
    assert line.explain["kind"] == "licensed_in_advance"
    assert line.explain["rating"]["amount_minor"] == 6000


def test_a_currency_option_prices_the_line_in_the_subscription_currency():
    euro_sub = SimpleNamespace(id="sub_2", currency="eur", metadata={})
    [line] = licensed_lines(
        euro_sub, [item("si", price(), 2)], JAN_1, FEB_1, rounding=HALF_UP, models=MODELS
    )
    assert (line.amount, line.currency, line.unit_amount_decimal) == (3600, "eur", Decimal(1800))


def test_metered_lines_rate_the_usage_of_the_ended_period_through_the_tiers():
    calls = ItemView("si_calls", METERED, None, (), (), meter_formula="sum")
    seats = item("si_seats", price(), 3)
    usage = {"si_calls": Decimal(1401)}
    [line] = metered_lines(SUB, [seats, calls], usage, JAN_1, FEB_1, HALF_UP, MODELS)
    # 1000 free, then 401 x 0.25 = 100.25 -> 100 (half up)
    assert (line.amount, line.quantity) == (100, 1401)
    source = line.explain["quantity_source"]
    assert source == {
        "meter": "mtr_calls",
        "aggregation": "sum",
        "window": {"start": JAN_1, "end": FEB_1},
        "measured": "1401",
        "billed": "1401",
    }
    assert [c["label"] for c in line.explain["rating"]["components"]] != []


def test_negative_or_missing_usage_bills_nothing():
    calls = ItemView("si_calls", METERED, None, (), ())
    [negative] = metered_lines(
        SUB, [calls], {"si_calls": Decimal(-5)}, JAN_1, FEB_1, HALF_UP, MODELS
    )
    [missing] = metered_lines(SUB, [calls], {}, JAN_1, FEB_1, HALF_UP, MODELS)
    assert (negative.amount, negative.quantity) == (0, 0)
    assert negative.explain["quantity_source"]["measured"] == "-5"
    assert missing.amount == 0


def test_trial_lines_are_zero_and_name_the_trial():
    [line] = trial_lines(SUB, [item("si", price(), 2)], JAN_1, FEB_1)
    assert (line.amount, line.quantity, line.description) == (0, 2, "Trial period for Seats")


def test_a_first_period_up_to_the_anchor_is_its_share_to_the_second():
    stub_start = JAN_1 + 10 * 86_400 + 7  # Jan 11, 00:00:07
    full_period = (JAN_1, FEB_1)  # the whole month that ends at the Feb 1 anchor: 2,678,400 s
    [line] = stub_lines(
        SUB, [item("si", price(), 3)], (stub_start, FEB_1), full_period,
        prorated=True, rounding=HALF_UP, models=MODELS,
    )  # fmt: skip
    # 6000 x (2,678,400 - 864,007) / 2,678,400 = 6000 x 1,814,393 / 2,678,400 = 4064.5004...
    assert line.amount == 4065
    assert line.proration is True
    assert line.explain["proration"]["fraction"] == "1814393/2678400"
    [free] = stub_lines(
        SUB, [item("si", price(), 3)], (stub_start, FEB_1), full_period,
        prorated=False, rounding=HALF_UP, models=MODELS,
    )  # fmt: skip
    assert (free.amount, free.proration, free.explain["kind"]) == (0, False, "free_until_anchor")


@pytest.mark.parametrize(
    ("row", "expected"),
    [
        ({"status": "active", "current_period_end": FEB_1}, FEB_1),
        ({"status": "active", "current_period_end": FEB_1, "cancel_at": FEB_1 - 5}, FEB_1 - 5),
        (
            {"status": "trialing", "current_period_end": FEB_1, "trial_end": FEB_1},
            FEB_1 - status.TRIAL_WILL_END_NOTICE_S,
        ),
        (
            {"status": "trialing", "current_period_end": FEB_1, "trial_end": FEB_1,
             "trial_will_end_sent": True},
            FEB_1,
        ),
        ({"status": "incomplete", "created": JAN_1, "current_period_end": FEB_1}, JAN_1 + 82_800),
        (
            {"status": "past_due", "current_period_end": FEB_1,
             "pause_collection": {"behavior": "void", "resumes_at": JAN_1 + 9}},
            JAN_1 + 9,
        ),
        ({"status": "canceled", "current_period_end": FEB_1}, None),
        ({"status": "incomplete_expired", "current_period_end": FEB_1}, None),
    ],
)  # fmt: skip
def test_next_action_at_is_the_earliest_thing_due(row, expected):
    assert status.next_action_at(row) == expected
