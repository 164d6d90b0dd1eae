"""The status machine: a subscription follows its latest invoice (paid, left open, marked
uncollectible, voided), and its trial."""

from __future__ import annotations

from subscription_support import (
    DAY_S,
    JAN_1,
    clocked_customer,
    events_of,
    invoice,
    new_price,
    ok,
    subscribe,
)


def _pay(api, invoice_id: str) -> None:  # type: ignore[no-untyped-def]
    ok(api.post(f"/v1/invoices/{invoice_id}/pay", data={"paid_out_of_band": "true"}))


def _status(api, sub_id: str) -> str:  # type: ignore[no-untyped-def]
    return str(ok(api.get(f"/v1/subscriptions/{sub_id}"))["status"])


def _upgrade_now(api, sub):  # type: ignore[no-untyped-def]
    """Double the seats half way through January, invoiced at once."""
    [item] = ok(api.get(f"/v1/subscriptions/{sub['id']}"))["items"]["data"]
    return ok(
        api.post(
            f"/v1/subscriptions/{sub['id']}",
            data={"items[0][id]": item["id"], "items[0][quantity]": str(item["quantity"] * 2),
                  "proration_behavior": "always_invoice",
                  "proration_date": str(JAN_1 + 15 * DAY_S)},
        )
    )  # fmt: skip


def test_an_incomplete_subscription_turns_active_when_its_first_invoice_is_paid(api):
    sub = subscribe(api, clocked_customer(api), new_price(api))
    assert sub["status"] == "incomplete"
    _pay(api, sub["latest_invoice"])
    assert _status(api, sub["id"]) == "active"
    [event] = events_of(api, "customer.subscription.updated")
    assert event["data"]["previous_attributes"] == {"status": "incomplete"}
    assert event["data"]["object"]["status"] == "active"


def test_an_unpaid_invoice_makes_it_past_due_and_paying_it_makes_it_active(api):
    sub = subscribe(api, clocked_customer(api), new_price(api))
    _pay(api, sub["latest_invoice"])
    upgraded = _upgrade_now(api, sub)
    assert invoice(api, upgraded["latest_invoice"])["status"] == "open"
    assert _status(api, sub["id"]) == "past_due"
    _pay(api, upgraded["latest_invoice"])
    assert _status(api, sub["id"]) == "active"


def test_marking_the_latest_invoice_uncollectible_ends_past_due(api):
    sub = subscribe(api, clocked_customer(api), new_price(api))
    _pay(api, sub["latest_invoice"])
    upgraded = _upgrade_now(api, sub)
    assert _status(api, sub["id"]) == "past_due"
    ok(api.post(f"/v1/invoices/{upgraded['latest_invoice']}/mark_uncollectible"))
    assert _status(api, sub["id"]) == "active"


def test_voiding_the_latest_invoice_reads_the_status_from_the_one_before(api):
    sub = subscribe(api, clocked_customer(api), new_price(api))
    _pay(api, sub["latest_invoice"])
    upgraded = _upgrade_now(api, sub)
    ok(api.post(f"/v1/invoices/{upgraded['latest_invoice']}/void"))
    assert _status(api, sub["id"]) == "active"


def test_only_the_latest_invoice_moves_the_status(api):
    sub = subscribe(api, clocked_customer(api), new_price(api))
    first = sub["latest_invoice"]
    _pay(api, first)
    _upgrade_now(api, sub)
    assert _status(api, sub["id"]) == "past_due"
    second = _upgrade_now(api, ok(api.get(f"/v1/subscriptions/{sub['id']}")))
    _pay(api, ok(api.get(f"/v1/subscriptions/{sub['id']}"))["latest_invoice"])
    assert _status(api, sub["id"]) == "active"
    assert second["latest_invoice"] != first


def test_send_invoice_subscriptions_stay_active_while_their_invoices_are_open(api):
    sub = subscribe(
        api, clocked_customer(api), new_price(api),
        collection_method="send_invoice", days_until_due="30",
    )  # fmt: skip
    upgraded = _upgrade_now(api, sub)
    assert invoice(api, upgraded["latest_invoice"])["status"] == "open"
    assert _status(api, sub["id"]) == "active"


def test_a_trialing_subscription_stays_trialing_through_its_zero_invoice(api):
    sub = subscribe(api, clocked_customer(api), new_price(api), trial_period_days="30")
    assert sub["status"] == "trialing"
    assert invoice(api, sub["latest_invoice"])["status"] == "paid"
    assert events_of(api, "customer.subscription.updated") == []


def test_a_paused_collection_voids_or_keeps_as_draft_what_the_subscription_invoices(api):
    for behavior, expected in (("void", "void"), ("keep_as_draft", "draft"),
                               ("mark_uncollectible", "uncollectible")):  # fmt: skip
        sub = subscribe(api, clocked_customer(api), new_price(api))
        _pay(api, sub["latest_invoice"])
        ok(
            api.post(
                f"/v1/subscriptions/{sub['id']}", data={"pause_collection[behavior]": behavior}
            )
        )
        upgraded = _upgrade_now(api, sub)
        bill = invoice(api, upgraded["latest_invoice"])
        assert bill["status"] == expected, behavior
        assert bill["auto_advance"] is (behavior != "keep_as_draft")
        assert _status(api, sub["id"]) == "active"
        # Nothing was collected, so nothing failed: the subscription never went past_due.
        changes = events_of(api, "customer.subscription.updated")
        assert all(e["data"]["object"]["status"] == "active" for e in changes), behavior
