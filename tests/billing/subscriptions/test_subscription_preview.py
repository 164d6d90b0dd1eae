"""The upcoming invoice of a subscription, as the draft create_preview prices, and the
batched readers the renewal engine uses (items_of, advance_period)."""

from __future__ import annotations

from typing import Any

import pytest
from subscription_support import (
    DAY_S,
    FEB_1,
    JAN_1,
    clocked_customer,
    new_price,
    ok,
    subscribe,
)

from remit.billing.subscriptions import lines, preview, render
from remit.context import CallContext
from remit.primitives.errors import InvalidRequestError

MARCH_1 = 1_709_251_200  # 2024-03-01T00:00:00Z


def _upcoming(store, account, sub_id: str, params: dict[str, Any]):  # type: ignore[no-untyped-def]
    with store.read() as conn:
        ctx = CallContext(account=account.account, now=JAN_1)
        return preview.upcoming(conn, ctx, sub_id, params)


def _seats(api, seats: int = 2):  # type: ignore[no-untyped-def]
    return subscribe(
        api, clocked_customer(api), new_price(api),
        collection_method="send_invoice", days_until_due="7",
        **{"items[0][quantity]": str(seats)},
    )  # fmt: skip


def test_the_upcoming_invoice_bills_the_next_period_in_advance(api, store, account):
    sub = _seats(api)
    draft = _upcoming(store, account, sub["id"], {})
    assert (draft.billing_reason, draft.subscription, draft.created) == (
        "upcoming", sub["id"], FEB_1,
    )  # fmt: skip
    [line] = draft.lines
    assert (line.amount, line.quantity, line.period_start, line.period_end) == (
        4000, 2, FEB_1, MARCH_1,
    )  # fmt: skip
    assert draft.pending_items is True


def test_a_proposed_change_previews_its_prorations_and_the_new_quantity(api, store, account):
    sub = _seats(api)
    [item] = sub["items"]["data"]
    half_way = JAN_1 + 31 * DAY_S // 2
    details = {
        "items": [{"id": item["id"], "quantity": 4}],
        "proration_date": half_way,
    }
    draft = _upcoming(store, account, sub["id"], {"subscription_details": details})
    # Half of January left: -4000/2 credited, +8000/2 charged, then February at 4 seats.
    assert [line.amount for line in draft.lines] == [-2000, 4000, 8000]
    with store.read() as conn:
        assert (
            render.load(conn, account.account.id, sub["id"]).latest_invoice == sub["latest_invoice"]
        )
    unchanged = ok(api.get(f"/v1/subscriptions/{sub['id']}"))
    assert unchanged["items"]["data"][0]["quantity"] == 2


def test_nothing_upcoming_for_an_ended_subscription(api, store, account):
    sub = _seats(api)
    ok(api.delete(f"/v1/subscriptions/{sub['id']}"))
    with pytest.raises(InvalidRequestError) as none:
        _upcoming(store, account, sub["id"], {})
    assert none.value.code == "invoice_upcoming_none"


def test_items_of_loads_many_subscriptions_and_advance_period_moves_one(api, store, account):
    first, second = _seats(api, 1), _seats(api, 3)
    trial = subscribe(api, clocked_customer(api), new_price(api), trial_end=str(FEB_1))
    ids = [first["id"], second["id"], trial["id"], "sub_none"]
    with store.write() as conn:
        found = lines.items_of(conn, account.account.id, ids)
        assert [len(found[sub_id]) for sub_id in ids] == [1, 1, 1, 0]
        assert found[second["id"]][0].quantity == 3
        assert found[second["id"]][0].product_name == "Seats"
        row = render.load(conn, account.account.id, trial["id"])
        written = lines.advance_period(conn, row, FEB_1, MARCH_1, latest_invoice="in_next")
    assert written["status"] == "active"
    moved = ok(api.get(f"/v1/subscriptions/{trial['id']}"))
    assert (moved["status"], moved["latest_invoice"]) == ("active", "in_next")
    item = moved["items"]["data"][0]
    assert (item["current_period_start"], item["current_period_end"]) == (FEB_1, MARCH_1)
    assert written["next_action_at"] == MARCH_1
