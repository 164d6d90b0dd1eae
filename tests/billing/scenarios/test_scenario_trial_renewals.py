"""A bakery signs up for a 29.00 USD monthly plan on Jan 1 2024 with a 14-day trial, invoiced
(send_invoice, 30 days to pay). The trial bills nothing, is noticed three days before it
ends, ends on Jan 15, and from then on every month has its own invoice, paid outside remit.
"""

from __future__ import annotations

import stripe
from scenario_support import (
    DAY_S,
    HOUR_S,
    advance,
    assert_books_clean,
    events_of,
    invoices_of,
    pay_out_of_band,
    sdk,
    ts,
)

PLAN_MINOR = 2900


def _bakery(client: stripe.StripeClient) -> tuple[str, str, str]:
    clock = client.v1.test_helpers.test_clocks.create(params={"frozen_time": ts(2024, 1, 1)})
    customer = client.v1.customers.create(params={"name": "Crumb & Co", "test_clock": clock.id})
    price = client.v1.prices.create(
        params={
            "currency": "usd",
            "unit_amount": PLAN_MINOR,
            "recurring": {"interval": "month"},
            "product_data": {"name": "Bakery plan"},
        }
    )
    return clock.id, customer.id, price.id


def test_a_trial_then_monthly_renewals(server, account, store, pm):
    client = sdk(server, account)
    clock, customer, price = _bakery(client)
    trial_end = ts(2024, 1, 1) + 14 * DAY_S  # Jan 15 2024 00:00
    sub = client.v1.subscriptions.create(
        params={
            "customer": customer,
            "items": [{"price": price}],
            "trial_period_days": 14,
            "collection_method": "send_invoice",
            "days_until_due": 30,
        }
    )
    assert (sub.status, sub.trial_start, sub.trial_end) == ("trialing", ts(2024, 1, 1), trial_end)
    item = sub["items"].data[0]
    assert (item.current_period_start, item.current_period_end) == (ts(2024, 1, 1), trial_end)

    # The trial's invoice: one line at zero over the trial, paid at once as nothing is due.
    [trial_invoice] = invoices_of(client, subscription=sub.id)
    assert trial_invoice.id == sub.latest_invoice
    assert (trial_invoice.billing_reason, trial_invoice.status) == ("subscription_create", "paid")
    assert (trial_invoice.total, trial_invoice.amount_due, trial_invoice.amount_paid) == (0, 0, 0)
    [trial_line] = trial_invoice.lines.data
    assert trial_line.amount == 0
    assert (trial_line.period.start, trial_line.period.end) == (ts(2024, 1, 1), trial_end)

    # Jan 13: the notice went out on Jan 12, three days before the trial ends; still trialing.
    advance(client, store, pm, clock, ts(2024, 1, 13))
    [notice] = events_of(client, "customer.subscription.trial_will_end")
    assert (notice.created, notice.data.object.id) == (trial_end - 3 * DAY_S, sub.id)
    assert client.v1.subscriptions.retrieve(sub.id).status == "trialing"
    assert len(invoices_of(client, subscription=sub.id)) == 1

    # Jan 15: the trial ends, the plan is billed in advance for Jan 15 - Feb 15 and the
    # invoice finalizes an hour after it was drafted.
    advance(client, store, pm, clock, trial_end + 2 * HOUR_S)
    active = client.v1.subscriptions.retrieve(sub.id)
    assert active.status == "active"
    assert active["items"].data[0].current_period_end == ts(2024, 2, 15)
    _, first_month = invoices_of(client, subscription=sub.id)
    assert active.latest_invoice == first_month.id
    _assert_month(first_month, trial_end, ts(2024, 2, 15))
    assert first_month.due_date == trial_end + HOUR_S + 30 * DAY_S
    pay_out_of_band(client, first_month.id)

    # Feb 15 and Mar 15: one invoice each, at the boundary; the second is left open.
    advance(client, store, pm, clock, ts(2024, 2, 16))
    *_, february = invoices_of(client, subscription=sub.id)
    _assert_month(february, ts(2024, 2, 15), ts(2024, 3, 15))
    pay_out_of_band(client, february.id)
    advance(client, store, pm, clock, ts(2024, 3, 16))
    found = invoices_of(client, subscription=sub.id)
    assert len(found) == 1 + 3  # the trial's, then Jan 15, Feb 15, Mar 15
    march = found[-1]
    _assert_month(march, ts(2024, 3, 15), ts(2024, 4, 15))
    assert [i.status for i in found] == ["paid", "paid", "paid", "open"]
    assert client.v1.subscriptions.retrieve(sub.id).status == "active"

    # Every invoice was announced created and finalized; the paid ones, paid.
    ids = [i.id for i in found]
    for kind, expected in (
        ("invoice.created", ids),
        ("invoice.finalized", ids),
        ("invoice.paid", ids[:3]),
    ):
        announced = [e.data.object.id for e in events_of(client, kind)]
        assert announced == expected, kind
    created_at = [e.created for e in events_of(client, "invoice.created")]
    assert created_at == [ts(2024, 1, 1), trial_end, ts(2024, 2, 15), ts(2024, 3, 15)]
    finalized_at = [e.created for e in events_of(client, "invoice.finalized")]
    assert finalized_at == [ts(2024, 1, 1), *(t + HOUR_S for t in created_at[1:])]
    updates = events_of(client, "customer.subscription.updated")
    became_active = [
        e.created for e in updates
        if e.data.to_dict().get("previous_attributes", {}).get("status") == "trialing"
    ]  # fmt: skip
    assert became_active == [trial_end]
    assert_books_clean(store, pm, account.account.id, open_amount=PLAN_MINOR)


def _assert_month(invoice: stripe.Invoice, start: int, end: int) -> None:
    """A renewal at ``start`` billing the plan in advance for ``[start, end)``."""
    assert (invoice.billing_reason, invoice.created, invoice.status) == (
        "subscription_cycle",
        start,
        "open",
    )
    assert invoice.status_transitions.finalized_at == start + HOUR_S
    assert (invoice.subtotal, invoice.total, invoice.amount_due) == (PLAN_MINOR,) * 3
    [line] = invoice.lines.data
    assert (line.amount, line.period.start, line.period.end) == (PLAN_MINOR, start, end)
    assert line.parent.subscription_item_details.proration is False


def test_a_trial_shorter_than_the_notice_is_noticed_when_it_starts(server, account, store, pm):
    """Two days of trial from Jan 1 2024 09:00: three days before its end is Dec 31, before
    the subscription existed; the notice goes out at the trial's start instead."""
    client = sdk(server, account)
    clock, customer, price = _bakery(client)
    advance(client, store, pm, clock, ts(2024, 1, 1, 9))
    sub = client.v1.subscriptions.create(
        params={"customer": customer, "items": [{"price": price}], "trial_period_days": 2,
                "collection_method": "send_invoice", "days_until_due": 30}
    )  # fmt: skip
    assert sub.trial_end - 3 * DAY_S < sub.created == ts(2024, 1, 1, 9)
    advance(client, store, pm, clock, ts(2024, 1, 2))
    [notice] = events_of(client, "customer.subscription.trial_will_end")
    assert (notice.created, notice.data.object.id) == (sub.created, sub.id)
    advance(client, store, pm, clock, sub.trial_end + 2 * HOUR_S)
    assert client.v1.subscriptions.retrieve(sub.id).status == "active"
    assert len(events_of(client, "customer.subscription.trial_will_end")) == 1
    assert_books_clean(store, pm, account.account.id, open_amount=PLAN_MINOR)
