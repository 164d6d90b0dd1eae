"""Promotion codes: customer-facing codes that redeem a coupon, with restrictions.

A code is unique, regardless of case, among the account's active codes; an inactive
code's text may be reused. Its coupon, limits and minimums never change once created.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Collection, Mapping
from types import SimpleNamespace
from typing import Any

import sqlalchemy as sa

from remit.billing import customers
from remit.billing.discounts import coupons
from remit.billing.discounts.tables import promotion_codes
from remit.context import CallContext
from remit.events import service as events
from remit.events import types as event_types
from remit.primitives.errors import InvalidRequestError, ResourceMissing, invalid_parameter
from remit.primitives.ids import new_id, register_prefix

register_prefix("promo")
event_types.register("promotion_code.created", "promotion_code.updated")

OBJECT_NAME = "promotion_code"
CODE = re.compile(r"[A-Za-z0-9\-]+")
CODE_MAX_LENGTH = 500
# Generated codes: upper-case letters and digits without look-alikes (0/O, 1/I).
_CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
_CODE_LENGTH = 8
# pg_advisory_xact_lock(key1, key2): key1 names the lock's owner ("prom") so these
# locks never collide with another capability's.
_LOCK_CLASS = 0x70726F6D


def _restrictions(stored: Mapping[str, Any], include: Collection[str]) -> dict[str, Any]:
    obj = {
        "first_time_transaction": stored.get("first_time_transaction", False),
        "minimum_amount": stored.get("minimum_amount"),
        "minimum_amount_currency": stored.get("minimum_amount_currency"),
    }
    if "restrictions.currency_options" in include:
        options = stored.get("currency_options") or {}
        obj["currency_options"] = {code: dict(options[code]) for code in sorted(options)}
    return obj


def render(row: Any, include: Collection[str] = ()) -> dict[str, Any]:
    """The wire object; ``include`` may name ``restrictions.currency_options``."""
    return {
        "id": row.id,
        "object": "promotion_code",
        "active": row.active,
        "code": row.code,
        "created": row.created,
        "customer": row.customer,
        "customer_account": None,
        "expires_at": row.expires_at,
        "livemode": False,
        "max_redemptions": row.max_redemptions,
        "metadata": dict(row.metadata),
        "promotion": {"coupon": row.coupon, "type": "coupon"},
        "restrictions": _restrictions(row.restrictions, include),
        "times_redeemed": row.times_redeemed,
    }


_BY_ID = sa.select(promotion_codes).where(
    promotion_codes.c.account_id == sa.bindparam("account_id"),
    promotion_codes.c.id == sa.bindparam("id"),
)


def load(conn: sa.Connection, account_id: str, promotion_code_id: str, param: str = "id") -> Any:
    row = conn.execute(_BY_ID, {"account_id": account_id, "id": promotion_code_id}).first()
    if row is None:
        raise ResourceMissing(OBJECT_NAME, promotion_code_id, param=param)
    return row


def retrieve(
    conn: sa.Connection, account_id: str, promotion_code_id: str, include: Collection[str] = ()
) -> dict[str, Any]:
    return render(load(conn, account_id, promotion_code_id), include)


def _lock_code(conn: sa.Connection, account_id: str, code: str) -> None:
    """Serialise claims of one code (any case) in one account until this transaction ends,
    so two concurrent creates cannot both see it free. SQLite has one writer at a time."""
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql(
            "SELECT pg_advisory_xact_lock(%s, hashtext(%s))",
            (_LOCK_CLASS, f"{account_id}:{code.lower()}"),
        )


def _active_holder(
    conn: sa.Connection, account_id: str, code: str, other_than: str | None = None
) -> str | None:
    t = promotion_codes
    query = sa.select(t.c.id).where(
        t.c.account_id == account_id, sa.func.lower(t.c.code) == code.lower(), t.c.active
    )
    if other_than is not None:
        query = query.where(t.c.id != other_than)
    return conn.execute(query.limit(1)).scalar()


def _claim_code(conn: sa.Connection, account_id: str, code: str | None, active: bool) -> str:
    if code is None:
        for _ in range(8):
            fresh = "".join(secrets.choice(_CODE_ALPHABET) for _ in range(_CODE_LENGTH))
            _lock_code(conn, account_id, fresh)
            if _active_holder(conn, account_id, fresh) is None:
                return fresh
        raise RuntimeError("could not find a free promotion code")
    if not CODE.fullmatch(code):
        raise invalid_parameter(
            "code", "A promotion code may only contain letters (a-z, A-Z), digits and dashes."
        )
    _lock_code(conn, account_id, code)
    if active and _active_holder(conn, account_id, code) is not None:
        raise InvalidRequestError(
            "An active promotion code with that code already exists.",
            code="resource_already_exists",
            param="code",
        )
    return code


def _checked_restrictions(given: Mapping[str, Any]) -> dict[str, Any]:
    minimum, currency = given.get("minimum_amount"), given.get("minimum_amount_currency")
    if (minimum is None) != (currency is None):
        missing = "minimum_amount_currency" if currency is None else "minimum_amount"
        raise InvalidRequestError(
            "minimum_amount and minimum_amount_currency are given together.",
            code="parameter_missing",
            param=f"restrictions[{missing}]",
        )
    return {
        "first_time_transaction": given.get("first_time_transaction", False),
        "minimum_amount": minimum,
        "minimum_amount_currency": currency,
        "currency_options": _checked_options(currency, given.get("currency_options") or {}),
    }


def _checked_options(currency: str | None, options: Mapping[str, Any]) -> dict[str, Any]:
    if options and currency is None:
        raise InvalidRequestError(
            "restrictions[currency_options] needs restrictions[minimum_amount_currency].",
            code="parameter_missing",
            param="restrictions[minimum_amount_currency]",
        )
    if currency in options:
        raise invalid_parameter(
            f"restrictions[currency_options][{currency}]",
            "A currency option must differ from minimum_amount_currency.",
        )
    return {code: {"minimum_amount": o["minimum_amount"]} for code, o in options.items()}


def _check_limits(coupon: Any, params: Mapping[str, Any], now: int, coupon_param: str) -> None:
    """The code's own limits fit inside its coupon's, and the coupon is redeemable."""
    if not coupons.valid(coupon, now):
        raise invalid_parameter(
            coupon_param, f"The coupon `{coupon.id}` is no longer valid.", "coupon_expired"
        )
    expires_at = params.get("expires_at")
    if expires_at is not None:
        if expires_at <= now:
            raise invalid_parameter("expires_at", "expires_at must be in the future.")
        if coupon.redeem_by is not None and expires_at > coupon.redeem_by:
            raise invalid_parameter(
                "expires_at", "expires_at cannot be after the coupon's redeem_by."
            )
    limit = params.get("max_redemptions")
    if limit is not None and coupon.max_redemptions is not None and limit > coupon.max_redemptions:
        raise invalid_parameter(
            "max_redemptions", "max_redemptions cannot exceed the coupon's max_redemptions."
        )


def create(
    conn: sa.Connection,
    ctx: CallContext,
    params: dict[str, Any],
    coupon_id: str,
    include: Collection[str] = (),
    coupon_param: str = "promotion[coupon]",
) -> dict[str, Any]:
    """A new code for ``coupon_id``, named at ``coupon_param`` (``promotion[coupon]``, or
    ``coupon`` before Stripe's 2025-09-30 API)."""
    coupon = coupons.load(conn, ctx.account_id, coupon_id, param=coupon_param)
    _check_limits(coupon, params, ctx.now, coupon_param)
    customer = params.get("customer")
    if customer is not None:
        customers.load_live(conn, ctx.account_id, customer, param="customer")
    active = params.get("active", True)
    row = {
        "id": new_id("promo"),
        "account_id": ctx.account_id,
        "created": ctx.now,
        "code": _claim_code(conn, ctx.account_id, params.get("code"), active),
        "coupon": coupon.id,
        "active": active,
        "customer": customer,
        "expires_at": params.get("expires_at"),
        "max_redemptions": params.get("max_redemptions"),
        "times_redeemed": 0,
        "restrictions": _checked_restrictions(params.get("restrictions") or {}),
        "metadata": params["metadata"].apply({}) if "metadata" in params else {},
    }
    conn.execute(promotion_codes.insert(), row)
    ctx.touch(row["id"])
    stored = SimpleNamespace(**row)
    events.emit(conn, ctx, "promotion_code.created", render(stored))
    return render(stored, include)


def update(
    conn: sa.Connection,
    ctx: CallContext,
    promotion_code_id: str,
    params: dict[str, Any],
    include: Collection[str] = (),
) -> dict[str, Any]:
    """``active``, ``metadata`` and the restrictions' currency options may change."""
    row = load(conn, ctx.account_id, promotion_code_id)
    ctx.touch(row.id)
    values: dict[str, Any] = {}
    if params.get("active") and not row.active:
        _check_reactivation(conn, ctx, row)
    if "active" in params:
        values["active"] = params["active"]
    if "metadata" in params:
        values["metadata"] = params["metadata"].apply(dict(row.metadata))
    options = (params.get("restrictions") or {}).get("currency_options")
    if options is not None:
        currency = row.restrictions.get("minimum_amount_currency")
        merged_options = {**row.restrictions.get("currency_options", {}), **options}
        values["restrictions"] = {
            **row.restrictions,
            "currency_options": _checked_options(currency, merged_options),
        }
    merged = SimpleNamespace(**{**row._asdict(), **values})
    full = ("restrictions.currency_options",)
    changed = events.previous_attributes(render(row, full), render(merged, full))
    if changed:
        conn.execute(
            promotion_codes.update().where(promotion_codes.c.id == row.id).values(**values)
        )
        events.emit(
            conn, ctx, "promotion_code.updated", render(merged), previous_attributes=changed
        )
    return render(merged, include)


def _check_reactivation(conn: sa.Connection, ctx: CallContext, row: Any) -> None:
    """As Stripe: a code comes back only while its coupon and itself could be redeemed."""
    coupon = coupons.load_any(conn, ctx.account_id, row.coupon)
    if not coupons.valid(coupon, ctx.now):
        raise invalid_parameter(
            "active", f"The coupon `{coupon.id}` is no longer valid.", "coupon_expired"
        )
    if row.expires_at is not None and row.expires_at <= ctx.now:
        raise invalid_parameter("active", "This promotion code has expired.")
    if row.max_redemptions is not None and row.times_redeemed >= row.max_redemptions:
        raise invalid_parameter("active", "This promotion code has been fully redeemed.")
    _lock_code(conn, ctx.account_id, row.code)
    if _active_holder(conn, ctx.account_id, row.code, other_than=row.id) is not None:
        raise invalid_parameter(
            "active", f"Another active promotion code already uses the code {row.code!r}."
        )
