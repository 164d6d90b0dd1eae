"""expand[] over discounts as invoices and subscriptions hold them: a list of di_ ids, each
naming a coupon (whose id may be the caller's) through its ``source`` hash."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from remit.api.expand import expand
from remit.billing.discounts import coupons, discounts
from remit.context import CallContext
from remit.primitives.errors import InvalidRequestError

NOW = 1_700_000_000


@pytest.fixture
def loaders(pm) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    found: dict[str, Any] = {}
    for group in pm.hook.remit_object_loaders():
        found.update(group)
    return found


def _discounted(store, account) -> tuple[str, list[str]]:  # type: ignore[no-untyped-def]
    ctx = CallContext(account=account.account, now=NOW)
    with store.write() as conn:
        coupon = coupons.create(conn, ctx, {"id": "half_off", "percent_off": Decimal(50)})["id"]
        ids = [
            discounts.attach(
                conn,
                ctx,
                coupon=coupon,
                promotion_code=None,
                invoice="in_1",
                start_ts=NOW,
                param="discounts",
            )  # fmt: skip
            for _ in range(2)
        ]
    return coupon, ids


def test_a_list_of_discount_ids_expands_item_by_item(store, account, loaders):
    _, ids = _discounted(store, account)
    invoice = {"object": "invoice", "discounts": list(ids)}
    with store.read() as conn:
        expand(conn, account.account.id, invoice, ["discounts"], loaders)
    assert [d["id"] for d in invoice["discounts"]] == ids
    assert {d["object"] for d in invoice["discounts"]} == {"discount"}


def test_a_discounts_coupon_expands_through_its_source(store, account, loaders):
    coupon, ids = _discounted(store, account)
    invoice = {"object": "invoice", "discounts": list(ids)}
    with store.read() as conn:
        expand(conn, account.account.id, invoice, ["discounts.source.coupon"], loaders)
    expanded = [d["source"]["coupon"] for d in invoice["discounts"]]
    assert [(c["object"], c["id"], c["percent_off"]) for c in expanded] == [
        ("coupon", coupon, 50),
        ("coupon", coupon, 50),
    ]


def test_a_list_of_plain_strings_is_not_expandable(store, account, loaders):
    customer = {"object": "customer", "preferred_locales": ["en"]}
    with store.read() as conn, pytest.raises(InvalidRequestError) as refused:
        expand(conn, account.account.id, customer, ["preferred_locales"], loaders)
    assert refused.value.param == "expand"
