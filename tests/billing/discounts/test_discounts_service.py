"""Discounts as billing uses them: redeemed, in force over time, spent, removed."""

from __future__ import annotations

import calendar
import json
import secrets
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from discounts_support import snapshot

from remit.billing import customers
from remit.billing.discounts import coupons, discounts, promotion_codes
from remit.billing.discounts.tables import coupons as coupons_table
from remit.billing.domain.totals import DiscountTerms
from remit.billing.invoices.tables import invoices
from remit.catalog import products
from remit.context import CallContext
from remit.events.tables import events
from remit.primitives.errors import InvalidRequestError, ResourceMissing

JAN_31 = calendar.timegm(datetime(2025, 1, 31, 12, 0, tzinfo=UTC).timetuple())
APR_30 = calendar.timegm(datetime(2025, 4, 30, 12, 0, tzinfo=UTC).timetuple())
DAY = 86_400
FIXTURES = Path(__file__).resolve().parents[4] / "shared" / "stripe" / "fixtures3.json"
RESOURCES = json.loads(FIXTURES.read_text())["resources"]


@pytest.fixture
def ctx(account) -> CallContext:  # type: ignore[no-untyped-def]
    return CallContext(account=account.account, now=JAN_31)


def _coupon(store, ctx, **params: Any) -> str:  # type: ignore[no-untyped-def]
    if "amount_off" not in params:
        params.setdefault("percent_off", Decimal("25"))
    with store.write() as conn:
        return str(coupons.create(conn, ctx, params)["id"])


def _customer(store, ctx) -> str:  # type: ignore[no-untyped-def]
    with store.write() as conn:
        return str(customers.create(conn, ctx, {})["id"])


def _attach(store, ctx, **kwargs: Any) -> str:  # type: ignore[no-untyped-def]
    args: dict[str, Any] = {"coupon": None, "promotion_code": None, "start_ts": JAN_31}
    args["param"] = "discounts[0]"
    with store.write() as conn:
        return discounts.attach(conn, ctx, **{**args, **kwargs})


def _terms(store, ctx, ids: list[str], currency: str = "usd", at_ts: int = JAN_31):  # type: ignore[no-untyped-def]
    with store.read() as conn:
        return discounts.terms(conn, ctx.account_id, ids, currency, at_ts)


def _refused(store, ctx, code: str | None = None, **kwargs: Any) -> InvalidRequestError:  # type: ignore[no-untyped-def]
    before = snapshot(store)
    with pytest.raises(InvalidRequestError) as refused:
        _attach(store, ctx, **kwargs)
    assert snapshot(store) == before, "a refused redemption wrote something"
    assert refused.value.param == "discounts[0]"
    if code is not None:
        assert refused.value.code == code
    return refused.value


def test_a_subscription_discount_is_rendered_counted_and_announced(store, ctx):
    coupon = _coupon(store, ctx, duration="forever")
    customer = _customer(store, ctx)
    di = _attach(store, ctx, coupon=coupon, customer=customer, subscription="sub_1")
    with store.read() as conn:
        obj = discounts.retrieve(conn, ctx.account_id, di)
        times = conn.execute(sa.select(coupons_table.c.times_redeemed)).scalar_one()
        announced = conn.execute(
            sa.select(events.c.data).where(events.c.type == "customer.discount.created")
        ).scalar_one()
    assert obj == {
        "id": di,
        "object": "discount",
        "checkout_session": None,
        "customer": customer,
        "customer_account": None,
        "end": None,
        "invoice": None,
        "invoice_item": None,
        "promotion_code": None,
        "source": {"coupon": coupon, "type": "coupon"},
        "start": JAN_31,
        "subscription": "sub_1",
        "subscription_item": None,
    }
    assert obj.keys() == RESOURCES["discount"].keys()
    assert times == 1
    assert announced["object"] == obj


def test_an_invoice_discount_is_not_a_customer_discount_event(store, ctx):
    coupon = _coupon(store, ctx)
    _attach(store, ctx, coupon=coupon, customer=_customer(store, ctx), invoice="in_1")
    with store.read() as conn:
        count = conn.execute(sa.select(sa.func.count()).select_from(events).where(
            events.c.type == "customer.discount.created")).scalar_one()  # fmt: skip
    assert count == 0


def test_a_repeating_coupon_ends_its_months_after_redemption_clamped(store, ctx):
    coupon = _coupon(store, ctx, duration="repeating", duration_in_months=3)
    di = _attach(store, ctx, coupon=coupon, invoice="in_1")
    with store.read() as conn:
        assert discounts.retrieve(conn, ctx.account_id, di)["end"] == APR_30
    assert [t.id for t in _terms(store, ctx, [di], at_ts=APR_30 - 1)] == [di]
    assert _terms(store, ctx, [di], at_ts=APR_30) == ()
    assert _terms(store, ctx, [di], at_ts=JAN_31 - 1) == ()


def test_terms_in_the_order_named_in_the_invoice_currency(store, ctx):
    product = "seat"
    with store.write() as conn:
        products.create(conn, ctx, {"id": product, "name": "Seat"})
    pct = _coupon(store, ctx, percent_off=Decimal("12.5"), applies_to={"products": [product]})
    off = _coupon(
        store, ctx, amount_off=500, currency="usd", currency_options={"eur": {"amount_off": 450}}
    )
    a = _attach(store, ctx, coupon=off, invoice="in_1")
    b = _attach(store, ctx, coupon=pct, invoice="in_1")
    assert _terms(store, ctx, [b, a]) == (
        DiscountTerms(b, pct, Decimal("12.5"), None, frozenset({product})),
        DiscountTerms(a, off, None, 500, None),
    )
    assert _terms(store, ctx, [a], currency="eur")[0].amount_off == 450
    assert [t.id for t in _terms(store, ctx, [a, b], currency="gbp")] == [b]


def test_once_coupons_are_spent_and_others_are_not(store, ctx):
    once = _attach(store, ctx, coupon=_coupon(store, ctx, duration="once"), invoice="in_1")
    forever = _attach(store, ctx, coupon=_coupon(store, ctx, duration="forever"), invoice="in_1")
    with store.write() as conn:
        discounts.mark_spent(conn, ctx.account_id, [once, forever])
    assert [t.id for t in _terms(store, ctx, [once, forever])] == [forever]


def test_a_removed_discount_renders_deleted_and_applies_no_more(store, ctx):
    customer = _customer(store, ctx)
    di = _attach(store, ctx, coupon=_coupon(store, ctx), customer=customer)
    with store.write() as conn:
        discounts.remove(conn, ctx, di, at_ts=JAN_31 + DAY)
        gone = discounts.render_many(conn, ctx.account_id, [di])[0]
        event = conn.execute(
            sa.select(events.c.created).where(events.c.type == "customer.discount.deleted")
        ).scalar_one()
        with pytest.raises(ResourceMissing):
            discounts.remove(conn, ctx, di)
    assert gone["deleted"] is True and gone.keys() == RESOURCES["deleted_discount"].keys()
    assert event == JAN_31 + DAY
    assert _terms(store, ctx, [di]) == ()


def test_render_many_keeps_the_order_named(store, ctx):
    coupon = _coupon(store, ctx)
    ids = [_attach(store, ctx, coupon=coupon, invoice=f"in_{n}") for n in range(3)]
    with store.read() as conn:
        rendered = discounts.render_many(conn, ctx.account_id, ids[::-1])
        with pytest.raises(ResourceMissing):
            discounts.render_many(conn, ctx.account_id, ["di_missing"])
    assert [d["id"] for d in rendered] == ids[::-1]


def test_a_coupon_past_redeem_by_is_expired_and_nothing_is_written(store, ctx):
    coupon = _coupon(store, ctx, redeem_by=JAN_31 + DAY)
    _refused(store, ctx, "coupon_expired", coupon=coupon, invoice="in_1", start_ts=JAN_31 + 2 * DAY)
    assert _attach(store, ctx, coupon=coupon, invoice="in_1", start_ts=JAN_31 + DAY)


def test_a_used_up_coupon_is_expired(store, ctx):
    coupon = _coupon(store, ctx, max_redemptions=1)
    _attach(store, ctx, coupon=coupon, invoice="in_1")
    _refused(store, ctx, "coupon_expired", coupon=coupon, invoice="in_2")


def test_a_deleted_coupon_takes_no_new_redemptions_but_old_ones_apply(store, ctx):
    coupon = _coupon(store, ctx)
    di = _attach(store, ctx, coupon=coupon, invoice="in_1")
    with store.write() as conn:
        coupons.delete(conn, ctx, coupon)
    _refused(store, ctx, "resource_missing", coupon=coupon, invoice="in_2")
    assert [t.coupon for t in _terms(store, ctx, [di])] == [coupon]


def test_an_amount_off_coupon_without_the_currency_is_refused(store, ctx):
    coupon = _coupon(store, ctx, amount_off=100, currency="usd")
    _refused(store, ctx, "parameter_invalid", coupon=coupon, invoice="in_1", currency="jpy")


def test_exactly_one_of_coupon_and_promotion_code(store, ctx):
    _refused(store, ctx, invoice="in_1")
    coupon = _coupon(store, ctx)
    _refused(store, ctx, coupon=coupon, promotion_code="promo_x", invoice="in_1")


# -- promotion codes --------------------------------------------------------------------------
def _promo(store, ctx, coupon: str, **params: Any) -> Any:  # type: ignore[no-untyped-def]
    with store.write() as conn:
        created = promotion_codes.create(conn, ctx, params, coupon)
        return promotion_codes.load(conn, ctx.account_id, created["id"])


def _invoice(store, ctx, customer: str, status: str) -> None:  # type: ignore[no-untyped-def]
    """An invoice row of ``status``: all the first-time check reads of invoices."""
    row: dict[str, Any] = {}
    for column in invoices.columns:
        if column.nullable or column.server_default is not None:
            continue
        python_type = column.type.python_type
        row[column.name] = {int: 0, bool: False, str: "x"}.get(python_type, {})
    row |= {"id": f"in_{secrets.token_hex(8)}", "account_id": ctx.account_id, "customer": customer}
    row |= {"status": status, "currency": "usd"}
    with store.write() as conn:
        conn.execute(invoices.insert(), row)


def test_a_promotion_code_redeems_its_coupon_and_counts_both(store, ctx):
    coupon = _coupon(store, ctx)
    promo = _promo(store, ctx, coupon, code="SPRING")
    di = _attach(store, ctx, promotion_code=promo.id, invoice="in_1")
    with store.read() as conn:
        obj = discounts.retrieve(conn, ctx.account_id, di)
        promo_after = promotion_codes.load(conn, ctx.account_id, promo.id)
        coupon_after = coupons.load(conn, ctx.account_id, coupon)
    assert (obj["promotion_code"], obj["source"]["coupon"]) == (promo.id, coupon)
    assert (promo_after.times_redeemed, coupon_after.times_redeemed) == (1, 1)


def test_promotion_code_restrictions(store, ctx):
    coupon = _coupon(store, ctx)
    ann, bob = _customer(store, ctx), _customer(store, ctx)
    only_ann = _promo(store, ctx, coupon, customer=ann, max_redemptions=1)
    _refused(store, ctx, promotion_code=only_ann.id, customer=bob, subscription="sub_1")
    _attach(store, ctx, promotion_code=only_ann.id, customer=ann, subscription="sub_1")
    _refused(store, ctx, promotion_code=only_ann.id, customer=ann, subscription="sub_2")

    expiring = _promo(store, ctx, coupon, expires_at=JAN_31 + DAY)
    _refused(store, ctx, promotion_code=expiring.id, invoice="in_1", start_ts=JAN_31 + DAY)

    inactive = _promo(store, ctx, coupon, active=False)
    _refused(store, ctx, promotion_code=inactive.id, invoice="in_1")


def test_first_time_transaction_looks_for_open_or_paid_invoices(store, ctx):
    coupon = _coupon(store, ctx)
    promo = _promo(store, ctx, coupon, restrictions={"first_time_transaction": True})
    customer = _customer(store, ctx)
    _invoice(store, ctx, customer, "draft")
    _invoice(store, ctx, customer, "void")
    assert _attach(store, ctx, promotion_code=promo.id, customer=customer, subscription="s")
    _invoice(store, ctx, customer, "paid")
    _refused(store, ctx, promotion_code=promo.id, customer=customer, subscription="s2")


def test_minimum_amount_in_the_orders_currency(store, ctx):
    coupon = _coupon(store, ctx)
    restrictions = {
        "minimum_amount": 1000,
        "minimum_amount_currency": "usd",
        "currency_options": {"eur": {"minimum_amount": 900}},
    }
    promo = _promo(store, ctx, coupon, restrictions=restrictions)
    order = {"promotion_code": promo.id, "invoice": "in_1"}
    _refused(store, ctx, **order, order_amount=999, currency="usd")
    _refused(store, ctx, **order, order_amount=5000, currency="gbp")
    assert _attach(store, ctx, **order, order_amount=1000, currency="usd")
    assert _attach(store, ctx, **order, order_amount=900, currency="eur")
