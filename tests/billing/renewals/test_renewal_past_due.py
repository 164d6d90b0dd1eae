"""A subscription whose invoices are sent (``send_invoice``) turns ``past_due`` when its
latest invoice is still open at its ``due_date``, as Stripe's does, and its customer turns
``delinquent``; paying the invoice brings both back (``active``, not delinquent)."""

from __future__ import annotations

from renewal_support import (
    DAY_S,
    HOUR_S,
    JAN_1,
    advance,
    clocked_customer,
    events_of,
    new_clock,
    new_price,
    ok,
    service_ctx,
    subscribe,
)
from renewal_support import wall_subscriptions as subscribed

from remit.billing.subscriptions import renewals_plugin
from remit.ledger.verify import verify
from remit.primitives.clock import FixedClock

DUE_DAYS = 7


def _sent_subscription(api):
    clock = new_clock(api)
    customer = clocked_customer(api, clock)
    sub = subscribe(api, customer, {"price": new_price(api, 2500)},
                    collection_method="send_invoice", days_until_due=str(DUE_DAYS))  # fmt: skip
    invoice = ok(api.get(f"/v1/invoices/{sub['latest_invoice']}"))
    assert (sub["status"], invoice["status"]) == ("active", "open")
    return clock, customer, sub["id"], invoice


def _status_changes(api, sub_id):
    return [
        (e["created"], e["data"]["previous_attributes"]["status"], e["data"]["object"]["status"])
        for e in events_of(api, "customer.subscription.updated")
        if e["data"]["object"]["id"] == sub_id and "status" in e["data"]["previous_attributes"]
    ]


def _delinquency_changes(api, customer):
    return [
        (e["created"], e["data"]["object"]["delinquent"])
        for e in events_of(api, "customer.updated")
        if e["data"]["object"]["id"] == customer
        and "delinquent" in e["data"]["previous_attributes"]
    ]


def test_an_invoice_open_past_its_due_date_makes_the_subscription_past_due(api, store, pm, account):
    clock, customer, sub_id, invoice = _sent_subscription(api)
    due_ts = invoice["due_date"]
    assert due_ts == invoice["status_transitions"]["finalized_at"] + DUE_DAYS * DAY_S
    advance(api, store, pm, clock, due_ts - 1)
    assert ok(api.get(f"/v1/subscriptions/{sub_id}"))["status"] == "active"
    assert ok(api.get(f"/v1/customers/{customer}"))["delinquent"] is False
    advance(api, store, pm, clock, due_ts + 2 * DAY_S)
    assert ok(api.get(f"/v1/subscriptions/{sub_id}"))["status"] == "past_due"
    assert ok(api.get(f"/v1/customers/{customer}"))["delinquent"] is True
    # Each announced once, at the due date itself, not when the clock got there.
    assert _status_changes(api, sub_id) == [(due_ts, "active", "past_due")]
    assert _delinquency_changes(api, customer) == [(due_ts, True)]
    assert verify(store, account.account.id).clean


def test_paying_the_overdue_invoice_makes_it_active_again(api, store, pm, account):
    clock, customer, sub_id, invoice = _sent_subscription(api)
    advance(api, store, pm, clock, invoice["due_date"] + DAY_S)
    paid_ts = invoice["due_date"] + DAY_S
    paid = ok(api.post(f"/v1/invoices/{invoice['id']}/pay", data={"paid_out_of_band": "true"}))
    assert paid["status"] == "paid"
    assert ok(api.get(f"/v1/subscriptions/{sub_id}"))["status"] == "active"
    assert ok(api.get(f"/v1/customers/{customer}"))["delinquent"] is False
    assert _status_changes(api, sub_id) == [
        (invoice["due_date"], "active", "past_due"), (paid_ts, "past_due", "active"),
    ]  # fmt: skip
    assert _delinquency_changes(api, customer) == [(invoice["due_date"], True), (paid_ts, False)]
    # Paid, it is never past due again, however far the clock goes within the period.
    advance(api, store, pm, clock, JAN_1 + 30 * DAY_S)
    assert ok(api.get(f"/v1/subscriptions/{sub_id}"))["status"] == "active"
    assert verify(store, account.account.id).clean


def test_an_invoice_paid_before_its_due_date_never_makes_it_past_due(api, store, pm, account):
    clock, customer, sub_id, invoice = _sent_subscription(api)
    advance(api, store, pm, clock, invoice["due_date"] - HOUR_S)
    ok(api.post(f"/v1/invoices/{invoice['id']}/pay", data={"paid_out_of_band": "true"}))
    advance(api, store, pm, clock, invoice["due_date"] + 3 * DAY_S)
    assert ok(api.get(f"/v1/subscriptions/{sub_id}"))["status"] == "active"
    assert _status_changes(api, sub_id) == []
    assert _delinquency_changes(api, customer) == []
    assert ok(api.get(f"/v1/customers/{customer}"))["delinquent"] is False


def test_an_invoice_marked_uncollectible_clears_the_delinquency(api, store, pm, account):
    clock, customer, sub_id, invoice = _sent_subscription(api)
    advance(api, store, pm, clock, invoice["due_date"] + HOUR_S)
    assert ok(api.get(f"/v1/customers/{customer}"))["delinquent"] is True
    ok(api.post(f"/v1/invoices/{invoice['id']}/mark_uncollectible"))
    assert ok(api.get(f"/v1/customers/{customer}"))["delinquent"] is False
    assert ok(api.get(f"/v1/subscriptions/{sub_id}"))["status"] == "active"


def test_the_wall_clock_task_finds_an_overdue_subscription(api, store, pm, account):
    ctx = service_ctx(store, account, JAN_1, pm)
    items = [{"price": new_price(api, 900)}]
    [(sub_id, customer)] = subscribed(
        store, ctx, 1, items, collection_method="send_invoice", days_until_due=3
    )
    sub = ok(api.get(f"/v1/subscriptions/{sub_id}", params={"expand[]": "latest_invoice"}))
    due_ts = sub["latest_invoice"]["due_date"]
    assert renewals_plugin.run_due(store, FixedClock(due_ts - 1), pm) == 0
    assert renewals_plugin.run_due(store, FixedClock(due_ts + HOUR_S), pm) == 1
    assert renewals_plugin.run_due(store, FixedClock(due_ts + HOUR_S), pm) == 0
    assert ok(api.get(f"/v1/subscriptions/{sub_id}"))["status"] == "past_due"
    assert ok(api.get(f"/v1/customers/{customer}"))["delinquent"] is True
