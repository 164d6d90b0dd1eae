"""Discounts (``di_...``): one redemption of a coupon, scoped to what it discounts.

A discount names its customer and, for narrower scopes, the subscription, subscription
item, invoice or invoice item it applies to; one naming only a customer is the customer's
own discount. It applies from ``start`` until ``end`` (a repeating coupon's months), until
spent (a "once" coupon, after its first invoice) or until removed.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

import sqlalchemy as sa

from remit.billing.discounts import coupons, promotion_codes, redemption
from remit.billing.discounts.tables import coupons as coupons_table
from remit.billing.discounts.tables import discounts
from remit.billing.domain import periods
from remit.billing.domain.totals import DiscountTerms
from remit.context import CallContext
from remit.events import service as events
from remit.events import types as event_types
from remit.primitives.errors import ResourceMissing, invalid_parameter
from remit.primitives.ids import new_id, register_prefix

register_prefix("di")
event_types.register("customer.discount.created", "customer.discount.deleted")

OBJECT_NAME = "discount"
_NARROW_SCOPES = ("subscription_item", "invoice", "invoice_item")


def render(row: Any) -> dict[str, Any]:
    """Stripe's discount object; a removed one as Stripe's deleted discount."""
    obj: dict[str, Any] = {
        "id": row.id,
        "object": "discount",
        "checkout_session": None,
        "customer": row.customer,
        "customer_account": None,
        "invoice": row.invoice,
        "invoice_item": row.invoice_item,
        "promotion_code": row.promotion_code,
        "source": {"coupon": row.coupon, "type": "coupon"},
        "start": row.start,
        "subscription": row.subscription,
        "subscription_item": row.subscription_item,
    }
    if row.deleted:
        obj["deleted"] = True
    else:
        obj["end"] = row.end
    return obj


_BY_ID = sa.select(discounts).where(
    discounts.c.account_id == sa.bindparam("account_id"), discounts.c.id == sa.bindparam("id")
)


def load(conn: sa.Connection, account_id: str, discount_id: str, param: str = "id") -> Any:
    row = conn.execute(_BY_ID, {"account_id": account_id, "id": discount_id}).first()
    if row is None:
        raise ResourceMissing(OBJECT_NAME, discount_id, param=param)
    return row


def retrieve(conn: sa.Connection, account_id: str, discount_id: str) -> dict[str, Any]:
    return render(load(conn, account_id, discount_id))


def _rows(conn: sa.Connection, account_id: str, ids: Sequence[str]) -> dict[str, Any]:
    if not ids:
        return {}
    query = sa.select(discounts).where(
        discounts.c.account_id == account_id, discounts.c.id.in_(set(ids))
    )
    return {row.id: row for row in conn.execute(query)}


def render_many(conn: sa.Connection, account_id: str, ids: Sequence[str]) -> list[dict[str, Any]]:
    """The discounts named, in the order named, in one query."""
    found = _rows(conn, account_id, ids)
    for discount_id in ids:
        if discount_id not in found:
            raise ResourceMissing(OBJECT_NAME, discount_id, param=None)
    return [render(found[discount_id]) for discount_id in ids]


def attach(
    conn: sa.Connection,
    ctx: CallContext,
    *,
    coupon: str | None,
    promotion_code: str | None,
    customer: str | None = None,
    subscription: str | None = None,
    subscription_item: str | None = None,
    invoice: str | None = None,
    invoice_item: str | None = None,
    start_ts: int,
    param: str,
    order_amount: int | None = None,
    currency: str | None = None,
) -> str:
    """Redeem ``coupon`` or ``promotion_code`` into a new discount; its id.

    Pass the customer whatever the scope (a promotion code may be restricted to one, or to
    first-time customers); ``start_ts`` is the redemption's time (the customer's test clock
    time where it has one). ``order_amount`` and ``currency``, when known, are checked
    against a promotion code's minimum and an amount-off coupon's currencies. Errors name
    ``param`` and write nothing.
    """
    scopes = (customer, subscription, subscription_item, invoice, invoice_item)
    assert any(scope is not None for scope in scopes), "a discount needs something to discount"
    if (coupon is None) == (promotion_code is None):
        raise invalid_parameter(param, "Pass exactly one of coupon or promotion_code.")
    promo = None
    if promotion_code is not None:
        promo = promotion_codes.load(conn, ctx.account_id, promotion_code, param=param)
        order = redemption.Order(customer, order_amount, currency)
        redemption.check_promotion_code(conn, promo, start_ts, order, param)
        coupon = promo.coupon
    assert coupon is not None
    coupon_row = coupons.load(conn, ctx.account_id, coupon, param=param)
    redemption.check_coupon(coupon_row, start_ts, currency, param)
    redemption.count(conn, coupon_row, promo, start_ts, param)
    row = {
        "id": new_id("di"),
        "account_id": ctx.account_id,
        "coupon": coupon_row.id,
        "promotion_code": None if promo is None else promo.id,
        "customer": customer,
        "subscription": subscription,
        "subscription_item": subscription_item,
        "invoice": invoice,
        "invoice_item": invoice_item,
        "start": start_ts,
        "end": _end(coupon_row, start_ts),
        "spent": False,
        "deleted": False,
    }
    conn.execute(discounts.insert(), row)
    ctx.touch(row["id"])
    obj = render(SimpleNamespace(**row))
    if _announced(obj):
        events.emit(conn, ctx, "customer.discount.created", obj, created=start_ts)
    return str(row["id"])


def _end(coupon: Any, start_ts: int) -> int | None:
    """A repeating coupon stops ``duration_in_months`` after the redemption."""
    if coupon.duration != "repeating":
        return None
    return periods.boundary(start_ts, "month", 1, coupon.duration_in_months)


def _announced(obj: dict[str, Any]) -> bool:
    """Stripe's customer.discount.* events cover customer and subscription discounts."""
    return obj["customer"] is not None and all(obj[scope] is None for scope in _NARROW_SCOPES)


def terms(
    conn: sa.Connection, account_id: str, discount_ids: Sequence[str], currency: str, at_ts: int
) -> tuple[DiscountTerms, ...]:
    """The named discounts in force at ``at_ts``, in the order named, as billing terms.

    Left out: removed, spent, not yet started or ended discounts, and amount-off coupons
    with no amount in ``currency``. A coupon deleted after the discount was made still
    applies, as Stripe's do.
    """
    found = _rows(conn, account_id, discount_ids)
    live = [found[i] for i in discount_ids if i in found and _in_force(found[i], at_ts)]
    if not live:
        return ()
    query = sa.select(coupons_table).where(
        coupons_table.c.account_id == account_id,
        coupons_table.c.id.in_({row.coupon for row in live}),
    )
    by_id = {coupon.id: coupon for coupon in conn.execute(query)}
    applied = (_applied(row.id, by_id[row.coupon], currency) for row in live)
    return tuple(terms for terms in applied if terms is not None)


def _in_force(row: Any, at_ts: int) -> bool:
    if row.deleted or row.spent or at_ts < row.start:
        return False
    return row.end is None or at_ts < row.end


def _applied(discount_id: str, coupon: Any, currency: str) -> DiscountTerms | None:
    products = None if coupon.applies_to is None else frozenset(coupon.applies_to["products"])
    if coupon.percent_off is not None:
        return DiscountTerms(discount_id, coupon.id, Decimal(coupon.percent_off), None, products)
    options = {coupon.currency: {"amount_off": coupon.amount_off}, **coupon.currency_options}
    if currency not in options:
        return None
    amount_off = options[currency]["amount_off"]
    return DiscountTerms(discount_id, coupon.id, None, amount_off, products)


def mark_spent(conn: sa.Connection, account_id: str, discount_ids: Sequence[str]) -> None:
    """After an invoice: those of ``discount_ids`` made from "once" coupons apply no more."""
    if not discount_ids:
        return
    once = sa.select(coupons_table.c.id).where(
        coupons_table.c.account_id == account_id, coupons_table.c.duration == "once"
    )
    conn.execute(
        discounts.update()
        .where(
            discounts.c.account_id == account_id,
            discounts.c.id.in_(set(discount_ids)),
            discounts.c.coupon.in_(once.scalar_subquery()),
        )
        .values(spent=True)
    )


def remove(
    conn: sa.Connection, ctx: CallContext, discount_id: str, at_ts: int | None = None
) -> None:
    """Stop a discount from applying (Stripe's delete); ``at_ts`` dates the event (the
    customer's test clock time where it has one)."""
    row = load(conn, ctx.account_id, discount_id)
    if row.deleted:
        raise ResourceMissing(OBJECT_NAME, discount_id)
    conn.execute(discounts.update().where(discounts.c.id == row.id).values(deleted=True))
    ctx.touch(row.id)
    gone = render(SimpleNamespace(**{**row._asdict(), "deleted": True}))
    if _announced(gone):
        created = ctx.now if at_ts is None else at_ts
        events.emit(conn, ctx, "customer.discount.deleted", gone, created=created)
