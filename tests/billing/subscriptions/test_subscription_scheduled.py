"""What the scheduler asks of a subscription when its next_action_at comes: each action
happens once, at its moment, and next_action_at moves on to the next thing due."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from subscription_support import (
    DAY_S,
    FEB_1,
    JAN_1,
    clocked_customer,
    events_of,
    invoice,
    new_price,
    ok,
    subscribe,
)

from remit.billing.subscriptions import render, resume, scheduled, status
from remit.billing.subscriptions.tables import subscriptions
from remit.context import CallContext


def _run(store, account, sub_id: str, action: Any, at_ts: int) -> bool:  # type: ignore[no-untyped-def]
    with store.write() as conn:
        ctx = CallContext(account=account.account, now=at_ts)
        return bool(action(conn, ctx, render.load(conn, account.account.id, sub_id), at_ts))


def _next_action_at(store, sub_id: str) -> int | None:  # type: ignore[no-untyped-def]
    with store.read() as conn:
        query = sa.select(subscriptions.c.next_action_at).where(subscriptions.c.id == sub_id)
        return conn.execute(query).scalar()


def test_trial_will_end_goes_out_three_days_before_the_trial_ends_and_once(api, store, account):
    sub = subscribe(api, clocked_customer(api), new_price(api), trial_period_days="14")
    notice_ts = JAN_1 + 11 * DAY_S
    assert _next_action_at(store, sub["id"]) == notice_ts
    assert not _run(store, account, sub["id"], scheduled.send_trial_will_end, notice_ts - 1)
    assert _run(store, account, sub["id"], scheduled.send_trial_will_end, notice_ts)
    assert not _run(store, account, sub["id"], scheduled.send_trial_will_end, notice_ts + 5)
    [event] = events_of(api, "customer.subscription.trial_will_end")
    assert (event["created"], event["data"]["object"]["id"]) == (notice_ts, sub["id"])
    assert _next_action_at(store, sub["id"]) == JAN_1 + 14 * DAY_S


def test_an_incomplete_subscription_expires_after_23_hours_and_its_invoice_is_voided(
    api, store, account
):
    sub = subscribe(api, clocked_customer(api), new_price(api))
    expiry_ts = JAN_1 + status.INCOMPLETE_EXPIRY_S
    assert _next_action_at(store, sub["id"]) == expiry_ts
    assert not _run(store, account, sub["id"], scheduled.expire_incomplete, expiry_ts - 1)
    assert _run(store, account, sub["id"], scheduled.expire_incomplete, expiry_ts)
    expired = ok(api.get(f"/v1/subscriptions/{sub['id']}"))
    assert expired["status"] == "incomplete_expired"
    assert invoice(api, sub["latest_invoice"])["status"] == "void"
    assert _next_action_at(store, sub["id"]) is None
    assert not _run(store, account, sub["id"], scheduled.expire_incomplete, expiry_ts + 9)


def test_a_paused_collection_resumes_at_its_time(api, store, account):
    sub = subscribe(
        api, clocked_customer(api), new_price(api),
        collection_method="send_invoice", days_until_due="7",
    )  # fmt: skip
    resumes_ts = JAN_1 + 5 * DAY_S
    ok(
        api.post(
            f"/v1/subscriptions/{sub['id']}",
            data={"pause_collection[behavior]": "keep_as_draft",
                  "pause_collection[resumes_at]": str(resumes_ts)},
        )
    )  # fmt: skip
    assert _next_action_at(store, sub["id"]) == resumes_ts
    assert _run(store, account, sub["id"], scheduled.resume_collection, resumes_ts)
    assert ok(api.get(f"/v1/subscriptions/{sub['id']}"))["pause_collection"] is None
    assert _next_action_at(store, sub["id"]) == FEB_1


def test_a_cancellation_falls_due(api, store, account):
    customer = clocked_customer(api)
    sub = subscribe(
        api, customer, new_price(api),
        collection_method="send_invoice", days_until_due="7", cancel_at=str(JAN_1 + 10 * DAY_S),
    )  # fmt: skip
    at_period_end = subscribe(
        api, customer, new_price(api),
        collection_method="send_invoice", days_until_due="7", cancel_at_period_end="true",
    )  # fmt: skip
    assert _next_action_at(store, sub["id"]) == JAN_1 + 10 * DAY_S
    assert _run(store, account, sub["id"], scheduled.cancel_due, JAN_1 + 10 * DAY_S)
    ended = ok(api.get(f"/v1/subscriptions/{sub['id']}"))
    assert (ended["status"], ended["ended_at"]) == ("canceled", JAN_1 + 10 * DAY_S)
    assert not _run(store, account, at_period_end["id"], scheduled.cancel_due, FEB_1 - 1)
    assert _run(store, account, at_period_end["id"], scheduled.cancel_due, FEB_1)
    assert ok(api.get(f"/v1/subscriptions/{at_period_end['id']}"))["ended_at"] == FEB_1


def test_a_trial_ending_without_a_payment_method_pauses_then_resumes(api, store, account):
    customer = clocked_customer(api)
    trial_end = JAN_1 + 14 * DAY_S
    sub = subscribe(
        api, customer, new_price(api), trial_end=str(trial_end),
        collection_method="send_invoice", days_until_due="7",
        **{"trial_settings[end_behavior][missing_payment_method]": "pause"},
    )  # fmt: skip
    assert sub["trial_settings"] == {"end_behavior": {"missing_payment_method": "pause"}}
    url = f"/v1/subscriptions/{sub['id']}"
    refused = api.post(f"{url}/resume")
    assert refused.status_code == 400, refused.text
    assert not _run(store, account, sub["id"], resume.end_trial_without_payment_method, JAN_1)
    assert _run(store, account, sub["id"], resume.end_trial_without_payment_method, trial_end)
    assert ok(api.get(url))["status"] == "paused"
    [paused] = events_of(api, "customer.subscription.paused")
    assert paused["created"] == trial_end
    clock = ok(api.get(f"/v1/customers/{customer}"))["test_clock"]
    back_ts = trial_end + 2 * DAY_S
    ok(api.post(f"/v1/test_helpers/test_clocks/{clock}/advance", data={"frozen_time": back_ts}))
    resumed = ok(api.post(f"{url}/resume"))
    assert (resumed["status"], resumed["billing_cycle_anchor"]) == ("active", back_ts)
    [item] = resumed["items"]["data"]
    assert item["current_period_start"] == back_ts
    bill = invoice(api, resumed["latest_invoice"])
    assert (bill["total"], bill["status"]) == (2000, "open")
    assert events_of(api, "customer.subscription.resumed")[0]["created"] == back_ts


def test_a_trial_set_to_cancel_ends_the_subscription(api, store, account):
    trial_end = JAN_1 + 7 * DAY_S
    sub = subscribe(
        api, clocked_customer(api), new_price(api), trial_end=str(trial_end),
        **{"trial_settings[end_behavior][missing_payment_method]": "cancel"},
    )  # fmt: skip
    assert _run(store, account, sub["id"], resume.end_trial_without_payment_method, trial_end)
    ended = ok(api.get(f"/v1/subscriptions/{sub['id']}"))
    assert (ended["status"], ended["ended_at"]) == ("canceled", trial_end)


def test_create_invoice_leaves_the_trial_end_to_the_renewal(api, store, account):
    trial_end = JAN_1 + 7 * DAY_S
    sub = subscribe(api, clocked_customer(api), new_price(api), trial_end=str(trial_end))
    assert not _run(store, account, sub["id"], resume.end_trial_without_payment_method, trial_end)
    assert ok(api.get(f"/v1/subscriptions/{sub['id']}"))["status"] == "trialing"
