"""Redeeming a coupon, directly or through a promotion code: every check, then the counts.

The checks that depend only on what is stored run first and write nothing. The counts
(``times_redeemed`` against ``max_redemptions``) are taken by conditional UPDATEs whose
WHERE repeats the limits, so concurrent redemptions of the last one cannot both succeed:
PostgreSQL re-evaluates the WHERE after the row lock, SQLite runs one writer at a time.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from remit.billing.discounts.tables import coupons as coupons_table
from remit.billing.discounts.tables import promotion_codes as promotion_codes_table
from remit.billing.invoices.tables import invoices
from remit.primitives.errors import InvalidRequestError, invalid_parameter

# Stripe's code for a coupon that can no longer be redeemed (past redeem_by or used up).
COUPON_EXPIRED = "coupon_expired"
# Invoices that make a customer no longer "first time" (Stripe: a successful payment or
# an invoice that is owed).
_TRANSACTED = ("open", "paid")


@dataclass(frozen=True)
class Order:
    """What is being bought, where known: checked against a promotion code's restrictions."""

    customer: str | None
    amount: int | None
    currency: str | None


def check_coupon(coupon: Any, start_ts: int, currency: str | None, param: str) -> None:
    if coupon.redeem_by is not None and start_ts > coupon.redeem_by:
        raise InvalidRequestError(
            f"The coupon `{coupon.id}` expired at its redeem_by and cannot be redeemed.",
            code=COUPON_EXPIRED,
            param=param,
        )
    if coupon.max_redemptions is not None and coupon.times_redeemed >= coupon.max_redemptions:
        raise _used_up(coupon.id, param)
    if currency is not None and coupon.amount_off is not None and not _offers(coupon, currency):
        raise invalid_parameter(
            param,
            f"The coupon `{coupon.id}` takes an amount off in {coupon.currency.upper()}"
            f"{_others(coupon.currency_options)}, not in {currency.upper()}.",
        )


def _offers(coupon: Any, currency: str) -> bool:
    return currency == coupon.currency or currency in coupon.currency_options


def _others(options: dict[str, Any]) -> str:
    return "".join(f", {code.upper()}" for code in sorted(options))


def _used_up(coupon_id: str, param: str) -> InvalidRequestError:
    return InvalidRequestError(
        f"The coupon `{coupon_id}` has been redeemed its max_redemptions times.",
        code=COUPON_EXPIRED,
        param=param,
    )


def check_promotion_code(
    conn: sa.Connection, promo: Any, start_ts: int, order: Order, param: str
) -> None:
    """Everything a promotion code restricts, short of its redemption count."""
    if not promo.active:
        raise invalid_parameter(param, f"The promotion code `{promo.code}` is inactive.")
    if promo.expires_at is not None and start_ts >= promo.expires_at:
        raise invalid_parameter(param, f"The promotion code `{promo.code}` has expired.")
    if promo.max_redemptions is not None and promo.times_redeemed >= promo.max_redemptions:
        raise _promo_used_up(promo.code, param)
    if promo.customer is not None and promo.customer != order.customer:
        raise invalid_parameter(
            param, f"The promotion code `{promo.code}` is for another customer."
        )
    restrictions = promo.restrictions
    if restrictions.get("first_time_transaction") and _has_transacted(conn, promo, order):
        raise invalid_parameter(
            param,
            f"The promotion code `{promo.code}` is only for customers without a prior "
            "paid or open invoice.",
        )
    _check_minimum(restrictions, promo.code, order, param)


def _promo_used_up(code: str, param: str) -> InvalidRequestError:
    return invalid_parameter(
        param, f"The promotion code `{code}` has been redeemed its max_redemptions times."
    )


def _has_transacted(conn: sa.Connection, promo: Any, order: Order) -> bool:
    if order.customer is None:
        return False
    query = (
        sa.select(invoices.c.id)
        .where(
            invoices.c.account_id == promo.account_id,
            invoices.c.customer == order.customer,
            invoices.c.status.in_(_TRANSACTED),
        )
        .limit(1)
    )
    return conn.execute(query).first() is not None


def _check_minimum(restrictions: dict[str, Any], code: str, order: Order, param: str) -> None:
    """A minimum order amount, in the order's currency; checked when the order is known."""
    if restrictions.get("minimum_amount") is None or order.amount is None:
        return
    minimums = {
        restrictions["minimum_amount_currency"]: restrictions["minimum_amount"],
        **{c: o["minimum_amount"] for c, o in restrictions.get("currency_options", {}).items()},
    }
    minimum = minimums.get(order.currency or "")
    if minimum is None:
        raise invalid_parameter(
            param, f"The promotion code `{code}` cannot be used in {str(order.currency).upper()}."
        )
    if order.amount < minimum:
        raise invalid_parameter(
            param,
            f"The promotion code `{code}` needs an order of at least {minimum} "
            f"(in minor units of {str(order.currency).upper()}).",
        )


def count(conn: sa.Connection, coupon: Any, promo: Any | None, start_ts: int, param: str) -> None:
    """Take one redemption of the coupon (and of the code), or raise and write nothing."""
    savepoint = conn.begin_nested()
    try:
        # A claim that matches no row lost a race for the last redemption (or the coupon
        # was deleted meanwhile): the checks before saw it redeemable.
        if _take(conn, _coupon_claim(coupon, start_ts)) != 1:
            raise InvalidRequestError(
                f"The coupon `{coupon.id}` is no longer valid.", code=COUPON_EXPIRED, param=param
            )
        if promo is not None and _take(conn, _promo_claim(promo, start_ts)) != 1:
            raise invalid_parameter(
                param, f"The promotion code `{promo.code}` can no longer be redeemed."
            )
    except BaseException:
        savepoint.rollback()
        raise
    savepoint.commit()


def _take(conn: sa.Connection, statement: sa.Update) -> int:
    return conn.execute(statement).rowcount


def _coupon_claim(coupon: Any, start_ts: int) -> sa.Update:
    t = coupons_table
    return (
        t.update()
        .where(
            t.c.account_id == coupon.account_id,
            t.c.id == coupon.id,
            t.c.deleted.is_(False),
            sa.or_(t.c.max_redemptions.is_(None), t.c.times_redeemed < t.c.max_redemptions),
            sa.or_(t.c.redeem_by.is_(None), t.c.redeem_by >= start_ts),
        )
        .values(times_redeemed=t.c.times_redeemed + 1)
    )


def _promo_claim(promo: Any, start_ts: int) -> sa.Update:
    t = promotion_codes_table
    return (
        t.update()
        .where(
            t.c.id == promo.id,
            t.c.active.is_(True),
            sa.or_(t.c.max_redemptions.is_(None), t.c.times_redeemed < t.c.max_redemptions),
            sa.or_(t.c.expires_at.is_(None), t.c.expires_at > start_ts),
        )
        .values(times_redeemed=t.c.times_redeemed + 1)
    )
