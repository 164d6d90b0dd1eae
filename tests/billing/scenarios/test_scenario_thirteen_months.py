"""A print shop subscribes on Jan 31 2024 at 10:30 to three plans of a design tool, all
invoiced (send_invoice): 3 seats monthly at 20.00 with 10% tax on top, a yearly licence at
1,200.00, and a quarterly support pack at 150.00. Its test clock is then advanced once, 13
months, to Feb 28 2025 at noon. Every renewal happens at its own boundary, the month-end
anchor clamped to short months (Feb 29, Apr 30, ... Feb 28) and never drifting, and each
invoice finalizes an hour after it is drafted.
"""

from __future__ import annotations

import stripe
from scenario_support import HOUR_S, advance, assert_books_clean, invoices_of, sdk, ts

START = ts(2024, 1, 31, 10, 30)
END = ts(2025, 2, 28, 12)
# The monthly anchor's boundaries: the 31st, or the month's last day when it is shorter.
MONTH_ENDS = [(2024, 2, 29), (2024, 3, 31), (2024, 4, 30), (2024, 5, 31), (2024, 6, 30),
              (2024, 7, 31), (2024, 8, 31), (2024, 9, 30), (2024, 10, 31), (2024, 11, 30),
              (2024, 12, 31), (2025, 1, 31), (2025, 2, 28)]  # fmt: skip
MONTHLY = [ts(y, m, d, 10, 30) for y, m, d in MONTH_ENDS]
QUARTERLY = [ts(2024, 4, 30, 10, 30), ts(2024, 7, 31, 10, 30), ts(2024, 10, 31, 10, 30),
             ts(2025, 1, 31, 10, 30)]  # fmt: skip
YEARLY = [ts(2025, 1, 31, 10, 30)]


def _plan(client: stripe.StripeClient, name: str, unit: int, interval: str, count: int) -> str:
    return client.v1.prices.create(
        params={"currency": "usd", "unit_amount": unit, "product_data": {"name": name},
                "recurring": {"interval": interval, "interval_count": count}}
    ).id  # fmt: skip


def test_a_clock_advanced_thirteen_months_at_once(server, account, store, pm):
    client = sdk(server, account)
    clock = client.v1.test_helpers.test_clocks.create(params={"frozen_time": START}).id
    customer = client.v1.customers.create(params={"name": "Press", "test_clock": clock}).id
    tax = client.v1.tax_rates.create(
        params={"display_name": "Tax", "percentage": 10, "inclusive": False}
    ).id
    invoiced = {"customer": customer, "collection_method": "send_invoice", "days_until_due": 30}
    seats = client.v1.subscriptions.create(
        params={**invoiced, "items": [{"price": _plan(client, "Seat", 2000, "month", 1),
                                       "quantity": 3}], "default_tax_rates": [tax]}
    )  # fmt: skip
    licence = client.v1.subscriptions.create(
        params={**invoiced, "items": [{"price": _plan(client, "Licence", 120_000, "year", 1)}]}
    )
    support = client.v1.subscriptions.create(
        params={**invoiced, "items": [{"price": _plan(client, "Support", 15_000, "month", 3)}]}
    )

    advance(client, store, pm, clock, END)

    # Seats: the first invoice and 13 renewals, 3 x 2000 = 6000 plus 600 tax each.
    expected = {
        seats.id: ([START, *MONTHLY], 6000 + 600),
        licence.id: ([START, *YEARLY], 120_000),
        support.id: ([START, *QUARTERLY], 15_000),
    }
    every = invoices_of(client, customer=customer)
    assert len(every) == 14 + 2 + 5
    for sub_id, (moments, total) in expected.items():
        found = invoices_of(client, subscription=sub_id)
        assert [i.created for i in found] == moments, sub_id
        assert {(i.total, i.amount_due, i.status) for i in found} == {(total, total, "open")}
        for invoice, next_moment in zip(found[1:], [*moments[2:], None], strict=True):
            assert invoice.status_transitions.finalized_at == invoice.created + HOUR_S
            [line] = invoice.lines.data
            assert line.period.start == invoice.created
            if next_moment is not None:
                assert line.period.end == next_moment
    assert sum(i.total for i in every) == 14 * 6600 + 2 * 120_000 + 5 * 15_000 == 407_400

    # The last seats renewal (Feb 28 2025) runs to Mar 31 2025: the anchor's 31st again.
    last_seats = invoices_of(client, subscription=seats.id)[-1]
    assert last_seats.lines.data[0].period.end == ts(2025, 3, 31, 10, 30)
    item = client.v1.subscriptions.retrieve(seats.id)["items"].data[0]
    assert (item.current_period_start, item.current_period_end) == (
        ts(2025, 2, 28, 10, 30), ts(2025, 3, 31, 10, 30),
    )  # fmt: skip
    # One customer, one number sequence, in the order the invoices were finalized.
    numbered = sorted(every, key=lambda i: (i.status_transitions.finalized_at, i.number))
    assert [i.number.rsplit("-", 1)[1] for i in numbered] == [f"{n:04d}" for n in range(1, 22)]
    assert_books_clean(store, pm, account.account.id, open_amount=407_400)
