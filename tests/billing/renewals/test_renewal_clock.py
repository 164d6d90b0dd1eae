"""A test clock drives renewals: thirteen months advanced at once give thirteen renewal
invoices, each at its own moment, finalized an hour after it, with hand-computed totals."""

from __future__ import annotations

from datetime import UTC, datetime

from renewal_support import (
    DAY_S,
    HOUR_S,
    JAN_1,
    advance,
    clocked_customer,
    events_of,
    invoices_of,
    new_clock,
    new_meter,
    new_price,
    ok,
    send_usage,
    service_ctx,
    subscribe,
)

from remit.ledger.verify import verify


def _ts(year: int, month: int, day: int = 1, *hms: int) -> int:
    return int(datetime(year, month, day, *hms, tzinfo=UTC).timestamp())


def test_thirteen_months_in_one_advance(api, store, pm, account):
    clock = new_clock(api)
    customer = clocked_customer(api, clock)
    seats = new_price(api, 2000)
    sub = subscribe(
        api, customer, {"price": seats, "quantity": "3"},
        collection_method="send_invoice", days_until_due="30",
    )  # fmt: skip
    assert sub["status"] == "active"
    advance(api, store, pm, clock, _ts(2025, 2, 1) + 2 * HOUR_S)
    found = invoices_of(api, sub["id"])
    assert len(found) == 1 + 13  # the first invoice, then Feb 2024 ... Feb 2025
    boundaries = [_ts(2024 + (m - 1) // 12, (m - 1) % 12 + 1) for m in range(2, 15)]
    assert [i["created"] for i in found[1:]] == boundaries
    for invoice, start in zip(found[1:], boundaries, strict=True):
        assert invoice["billing_reason"] == "subscription_cycle"
        assert invoice["status"] == "open"
        assert invoice["status_transitions"]["finalized_at"] == start + HOUR_S
        assert invoice["total"] == 3 * 2000
        [line] = invoice["lines"]["data"]
        assert line["period"]["start"] == start
    assert sum(i["total"] for i in found) == 14 * 6000
    renewed = ok(api.get(f"/v1/subscriptions/{sub['id']}"))
    assert renewed["latest_invoice"] == found[-1]["id"]
    assert renewed["items"]["data"][0]["current_period_start"] == _ts(2025, 2, 1)
    assert len(events_of(api, "customer.subscription.updated")) >= 13
    assert verify(store, account.account.id).clean


def _pay(api, invoice_id):
    return ok(api.post(f"/v1/invoices/{invoice_id}/pay", data={"paid_out_of_band": "true"}))


def test_a_trial_then_renewals(api, store, pm, account):
    """14 days of trial from Jan 1: trial_will_end and invoice.upcoming on Jan 12, the first
    paid period from Jan 15 (charged automatically: past due until paid), then monthly."""
    clock = new_clock(api)
    customer = clocked_customer(api, clock)
    sub = subscribe(api, customer, {"price": new_price(api, 2000)}, trial_period_days="14")
    assert (sub["status"], sub["trial_end"]) == ("trialing", JAN_1 + 14 * DAY_S)
    advance(api, store, pm, clock, JAN_1 + 14 * DAY_S - 1)
    [notice] = events_of(api, "customer.subscription.trial_will_end")
    [upcoming] = events_of(api, "invoice.upcoming")
    assert notice["created"] == upcoming["created"] == JAN_1 + 11 * DAY_S
    assert (upcoming["data"]["object"]["id"], upcoming["data"]["object"]["total"]) == (None, 2000)
    assert len(invoices_of(api, sub["id"])) == 1  # the trial's, at zero
    advance(api, store, pm, clock, JAN_1 + 14 * DAY_S + 2 * HOUR_S)
    first_paid = invoices_of(api, sub["id"])[-1]
    assert (first_paid["billing_reason"], first_paid["total"]) == ("subscription_cycle", 2000)
    [line] = first_paid["lines"]["data"]
    assert line["period"] == {"start": JAN_1 + 14 * DAY_S, "end": _ts(2024, 2, 15)}
    assert ok(api.get(f"/v1/subscriptions/{sub['id']}"))["status"] == "past_due"
    _pay(api, first_paid["id"])
    assert ok(api.get(f"/v1/subscriptions/{sub['id']}"))["status"] == "active"
    advance(api, store, pm, clock, _ts(2024, 3, 15) + 2 * HOUR_S)
    found = invoices_of(api, sub["id"])
    assert [i["created"] for i in found[2:]] == [_ts(2024, 2, 15), _ts(2024, 3, 15)]
    assert [e["created"] for e in events_of(api, "invoice.upcoming")] == [
        JAN_1 + 11 * DAY_S, _ts(2024, 2, 12), _ts(2024, 3, 12),
    ]  # fmt: skip
    assert verify(store, account.account.id).clean


def test_tiered_metered_usage_billed_at_period_end(api, store, pm, account):
    """Graduated tiers over January's calls (the first 100 at 10 cents, the rest at 5, plus a
    flat 1.00 for the second tier), billed in arrears on Feb 1 next to February's seats."""
    clock = new_clock(api)
    customer = clocked_customer(api, clock)
    meter = new_meter(api, "calls")
    calls = new_price(
        api, None, billing_scheme="tiered", tiers_mode="graduated",
        **{"tiers[0][up_to]": "100", "tiers[0][unit_amount]": "10", "tiers[1][up_to]": "inf",
           "tiers[1][unit_amount]": "5", "tiers[1][flat_amount]": "100",
           "recurring[usage_type]": "metered", "recurring[meter]": meter},
    )  # fmt: skip
    sub = subscribe(api, customer, {"price": new_price(api, 1500)}, {"price": calls},
                    collection_method="send_invoice", days_until_due="30")  # fmt: skip
    # Meter events are accepted within 35 days before the customer's clock: send January's
    # calls on its last second, with one at the next period's first.
    advance(api, store, pm, clock, _ts(2024, 2, 1) - 1)
    usage = [(customer, JAN_1 + n * DAY_S + 17, "23") for n in range(10)]  # 230 calls
    usage.append((customer, _ts(2024, 2, 1) - 1, "7"))  # the period's last second
    usage.append((customer, _ts(2024, 2, 1), "1000"))  # the next period's first
    send_usage(store, service_ctx(store, account, JAN_1, pm), "calls", usage)
    advance(api, store, pm, clock, _ts(2024, 2, 1) + 2 * HOUR_S)
    renewal = invoices_of(api, sub["id"])[-1]
    seats, metered = renewal["lines"]["data"]  # in item order
    assert metered["amount"] == 100 * 10 + 137 * 5 + 100  # 237 calls
    assert metered["period"] == {"start": JAN_1, "end": _ts(2024, 2, 1)}
    assert (seats["amount"], seats["period"]) == (
        1500, {"start": _ts(2024, 2, 1), "end": _ts(2024, 3, 1)},
    )  # fmt: skip
    assert renewal["total"] == 1785 + 1500
    assert verify(store, account.account.id).clean


def test_cancel_at_period_end_bills_the_last_usage_and_ends(api, store, pm, account):
    clock = new_clock(api)
    customer = clocked_customer(api, clock)
    meter = new_meter(api, "calls")
    calls = new_price(api, 3, **{"recurring[usage_type]": "metered", "recurring[meter]": meter})
    sub = subscribe(api, customer, {"price": new_price(api, 1000)}, {"price": calls},
                    collection_method="send_invoice", days_until_due="30")  # fmt: skip
    ok(api.post(f"/v1/subscriptions/{sub['id']}", data={"cancel_at_period_end": "true"}))
    advance(api, store, pm, clock, JAN_1 + 6 * DAY_S)
    send_usage(store, service_ctx(store, account, JAN_1, pm), "calls",
               [(customer, JAN_1 + 5 * DAY_S, "40")])  # fmt: skip
    advance(api, store, pm, clock, _ts(2024, 3, 1) + 2 * HOUR_S)
    ended = ok(api.get(f"/v1/subscriptions/{sub['id']}"))
    assert (ended["status"], ended["ended_at"]) == ("canceled", _ts(2024, 2, 1))
    found = invoices_of(api, sub["id"])
    assert len(found) == 2  # the first invoice and the final one: no renewal, no March
    final = found[-1]
    assert final["created"] == _ts(2024, 2, 1) and final["status"] == "open"
    assert [(x["amount"], x["period"]["start"]) for x in final["lines"]["data"]] == [(120, JAN_1)]
    [deleted] = events_of(api, "customer.subscription.deleted")
    assert deleted["created"] == _ts(2024, 2, 1)
    assert verify(store, account.account.id).clean


def _shape(invoice):
    lines = [(x["amount"], x["period"]["start"], x["period"]["end"], x["quantity"])
             for x in invoice["lines"]["data"]]  # fmt: skip
    keys = ("created", "period_start", "period_end", "status", "subtotal", "total", "amount_due")
    return (*(invoice[key] for key in keys), invoice["status_transitions"]["finalized_at"], lines)


def test_two_identical_clocks_give_identical_invoices(api, store, pm, account):
    coupon = ok(api.post("/v1/coupons", data={"percent_off": "12.5", "duration": "repeating",
                                              "duration_in_months": "3"}))["id"]  # fmt: skip
    seats = new_price(api, 1999)
    runs = []
    for _ in range(2):
        clock = new_clock(api, JAN_1 + 31 * DAY_S - 7)  # Jan 31, 23:59:53: months clamp
        customer = clocked_customer(api, clock)
        sub = subscribe(api, customer, {"price": seats, "quantity": "3"},
                        collection_method="send_invoice", days_until_due="30",
                        **{"discounts[0][coupon]": coupon})  # fmt: skip
        advance(api, store, pm, clock, _ts(2024, 7, 1))
        runs.append([_shape(invoice) for invoice in invoices_of(api, sub["id"])])
        # The coupon ended with April's renewal, and left the subscription then.
        assert sub["discounts"] and not ok(api.get(f"/v1/subscriptions/{sub['id']}"))["discounts"]
        [ended] = [e for e in events_of(api, "customer.subscription.updated")
                   if e["data"]["object"]["id"] == sub["id"]
                   and "discounts" in e["data"]["previous_attributes"]]  # fmt: skip
        assert ended["created"] == _ts(2024, 4, 30, 23, 59, 53)
    assert runs[0] == runs[1]
    totals = [shape[5] for shape in runs[0]]
    # 3 x 19.99 = 59.97 less 12.5% (7.50 rounded half up) for the first three months.
    assert totals == [5247, 5247, 5247, 5997, 5997, 5997]
    assert [shape[0] for shape in runs[0][1:3]] == [_ts(2024, 2, 29, 23, 59, 53),
                                                   _ts(2024, 3, 31, 23, 59, 53)]  # fmt: skip


def test_usage_reported_in_the_grace_hour_is_billed_on_the_draft(api, store, pm, account):
    """A renewal stays a draft for an hour: calls stamped in January but reported at 00:30 on
    Feb 1 are billed with January's, the draft announced as updated; a subscription with no
    late usage finalizes untouched."""
    clock = new_clock(api)
    meter = new_meter(api, "calls")
    calls = new_price(api, 4, **{"recurring[usage_type]": "metered", "recurring[meter]": meter})
    late, on_time = clocked_customer(api, clock), clocked_customer(api, clock)
    subs = [subscribe(api, customer, {"price": calls}, collection_method="send_invoice",
                      days_until_due="30")["id"] for customer in (late, on_time)]  # fmt: skip
    ctx = service_ctx(store, account, JAN_1, pm)
    advance(api, store, pm, clock, _ts(2024, 1, 31, 23))
    send_usage(store, ctx, "calls", [(late, JAN_1 + DAY_S, "10"), (on_time, JAN_1 + DAY_S, "3")])
    advance(api, store, pm, clock, _ts(2024, 2, 1, 0, 30))
    drafts = [invoices_of(api, sub)[-1] for sub in subs]
    assert [(d["status"], d["total"]) for d in drafts] == [("draft", 40), ("draft", 12)]
    send_usage(store, ctx, "calls", [(late, _ts(2024, 2, 1) - 30, "5")])
    advance(api, store, pm, clock, _ts(2024, 2, 1, 2))
    final = [ok(api.get(f"/v1/invoices/{d['id']}")) for d in drafts]
    assert [(f["status"], f["total"]) for f in final] == [("open", 60), ("open", 12)]
    assert final[0]["lines"]["data"][0]["quantity"] == 15
    [updated] = [e for e in events_of(api, "invoice.updated")
                 if e["data"]["object"]["id"] in {d["id"] for d in drafts}]  # fmt: skip
    assert updated["data"]["object"]["id"] == drafts[0]["id"]
    assert updated["created"] == _ts(2024, 2, 1, 1)
    assert updated["data"]["previous_attributes"]["total"] == 40
    assert verify(store, account.account.id).clean
