"""A test clock drives renewals: thirteen months advanced at once give thirteen renewal
invoices, each at its own moment, finalized an hour after it, with hand-computed totals."""

from __future__ import annotations

from datetime import UTC, datetime

from renewal_support import (
    HOUR_S,
    advance,
    clocked_customer,
    events_of,
    invoices_of,
    new_clock,
    new_price,
    ok,
    subscribe,
)

from remit.ledger.verify import verify


def _ts(year: int, month: int, day: int = 1) -> int:
    return int(datetime(year, month, day, tzinfo=UTC).timestamp())


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
