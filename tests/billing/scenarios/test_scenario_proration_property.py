"""Property: any series of seat and price changes inside one month, each at its own second
(``proration_date``), is prorated line by line exactly as worked by hand (unused time of
what was there credited, remaining time of what is there charged, each its own exact share
rounded half up once), and the next renewal sweeps every proration: it asks for the new
month in advance plus their sum. So what January cost adds up, within half a cent per line,
to the time-weighted price of what the subscription held second by second.
"""

from __future__ import annotations

from fractions import Fraction

import stripe
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scenario_support import (
    HOUR_S,
    advance,
    assert_books_clean,
    fresh_account,
    half_up,
    sdk,
    ts,
)

JAN_1, FEB_1 = ts(2024, 1, 1), ts(2024, 2, 1)
JANUARY_S = FEB_1 - JAN_1
# Two prices a seat: whole cents, and a unit price with a fraction of a cent.
PRICES = {"basic": ("1999", Fraction(1999)), "pro": ("3333.375", Fraction(3333375, 1000))}
CHANGE = st.tuples(
    st.integers(1, JANUARY_S - 1),  # seconds into January
    st.integers(1, 12),  # seats
    st.sampled_from(sorted(PRICES)),
)


def _prices(client: stripe.StripeClient) -> dict[str, str]:
    product = client.v1.products.create(params={"name": "Seat"}).id
    return {
        name: client.v1.prices.create(
            params={"product": product, "currency": "usd", "unit_amount_decimal": unit,
                    "recurring": {"interval": "month"}}
        ).id
        for name, (unit, _) in PRICES.items()
    }  # fmt: skip


def _share(seats: int, plan: str, from_ts: int) -> Fraction:
    """The exact cost of ``seats`` on ``plan`` from ``from_ts`` to the end of January."""
    return seats * PRICES[plan][1] * Fraction(FEB_1 - from_ts, JANUARY_S)


@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    start=st.tuples(st.integers(1, 12), st.sampled_from(sorted(PRICES))),
    changes=st.lists(CHANGE, min_size=1, max_size=4, unique_by=lambda change: change[0]),
)
def test_changes_in_a_month_prorate_as_worked_by_hand(server, store, pm, start, changes):
    account = fresh_account(store)  # each example its own tenant, so its own books
    client = sdk(server, account)
    clock = client.v1.test_helpers.test_clocks.create(params={"frozen_time": JAN_1}).id
    customer = client.v1.customers.create(params={"name": "Seats", "test_clock": clock}).id
    price_ids = _prices(client)
    seats, plan = start
    sub = client.v1.subscriptions.create(
        params={"customer": customer, "collection_method": "send_invoice", "days_until_due": 7,
                "items": [{"price": price_ids[plan], "quantity": seats}]}
    )  # fmt: skip
    item = sub["items"].data[0].id
    january = half_up(_share(seats, plan, JAN_1))
    expected: list[int] = []
    exact = Fraction(0)  # what January cost, second by second
    held_from = JAN_1
    for offset, new_seats, new_plan in sorted(changes):
        at_ts = JAN_1 + offset
        exact += _share(seats, plan, held_from) - _share(seats, plan, at_ts)
        if (new_seats, new_plan) != (seats, plan):
            expected += [-half_up(_share(seats, plan, at_ts)),
                         half_up(_share(new_seats, new_plan, at_ts))]  # fmt: skip
        client.v1.subscriptions.update(
            sub.id, params={"items": [{"id": item, "price": price_ids[new_plan],
                                       "quantity": new_seats}], "proration_date": at_ts}
        )  # fmt: skip
        seats, plan, held_from = new_seats, new_plan, at_ts
    exact += _share(seats, plan, held_from)

    pending = client.v1.invoice_items.list(params={"customer": customer, "pending": True})
    assert sorted(i.amount for i in pending.data) == sorted(expected)
    assert abs(january + sum(expected) - exact) <= Fraction(1 + len(expected), 2)

    advance(client, store, pm, clock, FEB_1 + 2 * HOUR_S)
    renewal = client.v1.invoices.retrieve(
        str(client.v1.subscriptions.retrieve(sub.id).latest_invoice)
    )
    february = half_up(seats * PRICES[plan][1])
    assert renewal.total == february + sum(expected)
    assert sorted(line.amount for line in renewal.lines.data) == sorted([february, *expected])
    assert_books_clean(store, pm, account.account.id, open_amount=january + renewal.amount_due)
