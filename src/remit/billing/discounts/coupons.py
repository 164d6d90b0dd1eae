"""Coupons: a percentage or an amount off, for one invoice, some months, or forever.

A coupon's terms never change once created (discounts refer to it); its name and
metadata may. Deleting one stops new redemptions only: discounts already made from it
keep applying, as Stripe's do.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Collection, Mapping
from types import SimpleNamespace
from typing import Any

import sqlalchemy as sa

from remit.billing.discounts.tables import coupons
from remit.billing.taxes import percentages
from remit.catalog import products
from remit.context import CallContext
from remit.events import service as events
from remit.events import types as event_types
from remit.primitives.clock import WallClock
from remit.primitives.errors import InvalidRequestError, ResourceMissing, invalid_parameter
from remit.primitives.ids import new_id, register_prefix

# Coupon ids are the caller's or random codes; this prefix only orders the list keys.
register_prefix("coupon")
event_types.register("coupon.created", "coupon.updated", "coupon.deleted")

OBJECT_NAME = "coupon"
DURATIONS = ("forever", "once", "repeating")
# Fields Stripe renders only when asked for with expand[] ("includable").
INCLUDABLE = frozenset({"applies_to", "currency_options"})
CUSTOM_ID = re.compile(r"[A-Za-z0-9_.\-]{1,40}")
# Stripe's generated coupon ids: eight upper-case letters and digits (36**8 of them).
_ID_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
_ID_LENGTH = 8


def valid(row: Any, at_ts: int) -> bool:
    """Whether the coupon may be redeemed at ``at_ts`` (Stripe's ``valid``)."""
    if row.deleted:
        return False
    if row.redeem_by is not None and at_ts > row.redeem_by:
        return False
    return row.max_redemptions is None or row.times_redeemed < row.max_redemptions


def render(row: Any, at_ts: int, include: Collection[str] = ()) -> dict[str, Any]:
    """The wire object as of ``at_ts`` (``valid`` depends on it); ``include`` names the
    includable fields asked for with expand[]."""
    obj: dict[str, Any] = {
        "id": row.id,
        "object": "coupon",
        "amount_off": row.amount_off,
        "created": row.created,
        "currency": row.currency,
        "duration": row.duration,
        "duration_in_months": row.duration_in_months,
        "livemode": False,
        "max_redemptions": row.max_redemptions,
        "metadata": dict(row.metadata),
        "name": row.name,
        "percent_off": None if row.percent_off is None else percentages.wire(row.percent_off),
        "redeem_by": row.redeem_by,
        "times_redeemed": row.times_redeemed,
        "valid": valid(row, at_ts),
    }
    if "applies_to" in include:
        obj["applies_to"] = None if row.applies_to is None else dict(row.applies_to)
    if "currency_options" in include:
        obj["currency_options"] = _options(row)
    return obj


def _options(row: Any) -> dict[str, Any] | None:
    if row.amount_off is None:
        return None
    # Stripe lists the coupon's own currency among its options too.
    options = {row.currency: {"amount_off": row.amount_off}, **row.currency_options}
    return {code: dict(options[code]) for code in sorted(options)}


_BY_ID = sa.select(coupons).where(
    coupons.c.account_id == sa.bindparam("account_id"), coupons.c.id == sa.bindparam("id")
)


def load(conn: sa.Connection, account_id: str, coupon_id: str, param: str = "id") -> Any:
    """The account's live coupon; a deleted one is as missing as one never made."""
    row = load_any(conn, account_id, coupon_id, param)
    if row.deleted:
        raise ResourceMissing(OBJECT_NAME, coupon_id, param=param)
    return row


def load_any(conn: sa.Connection, account_id: str, coupon_id: str, param: str = "id") -> Any:
    """The coupon, deleted or not: discounts made before a deletion still read it."""
    row = conn.execute(_BY_ID, {"account_id": account_id, "id": coupon_id}).first()
    if row is None:
        raise ResourceMissing(OBJECT_NAME, coupon_id, param=param)
    return row


def retrieve(
    conn: sa.Connection, account_id: str, coupon_id: str, at_ts: int, include: Collection[str] = ()
) -> dict[str, Any]:
    return render(load(conn, account_id, coupon_id), at_ts, include)


def expanded(conn: sa.Connection, account_id: str, coupon_id: str) -> dict[str, Any]:
    """The loader ``expand[]`` uses. Expansion runs without the call's context, so
    ``valid`` is as of the wall clock (Stripe's is a wall-clock property too); a deleted
    coupon still expands where an older discount names it."""
    return render(load_any(conn, account_id, coupon_id), WallClock().now())


def _claim_id(conn: sa.Connection, account_id: str, coupon_id: str | None) -> str:
    if coupon_id is None:
        for _ in range(8):
            fresh = "".join(secrets.choice(_ID_ALPHABET) for _ in range(_ID_LENGTH))
            if conn.execute(_BY_ID, {"account_id": account_id, "id": fresh}).first() is None:
                return fresh
        raise RuntimeError("could not find a free coupon id")
    if not CUSTOM_ID.fullmatch(coupon_id):
        raise invalid_parameter(
            "id",
            f"Invalid id: {coupon_id[:50]!r}. A coupon id is 1 to 40 letters, digits, "
            "'_', '-' or '.'.",
        )
    if conn.execute(_BY_ID, {"account_id": account_id, "id": coupon_id}).first() is not None:
        raise InvalidRequestError(
            "Coupon already exists.", code="resource_already_exists", param="id"
        )
    return coupon_id


def _amounts(params: dict[str, Any]) -> dict[str, Any]:
    """percent_off, or amount_off in a currency (and others in currency_options)."""
    if "percent_off" in params:
        if "currency_options" in params:
            raise invalid_parameter(
                "currency_options", "currency_options is only used with amount_off."
            )
        return {"percent_off": percentages.stored(params["percent_off"])}
    if "amount_off" not in params:
        raise InvalidRequestError(
            "You must pass either percent_off or amount_off.",
            code="parameter_missing",
            param="percent_off",
        )
    if "currency" not in params:
        raise InvalidRequestError(
            "You must pass currency when passing amount_off.",
            code="parameter_missing",
            param="currency",
        )
    options: Mapping[str, Any] = params.get("currency_options") or {}
    if params["currency"] in options:
        raise invalid_parameter(
            f"currency_options[{params['currency']}]",
            "The coupon's own currency cannot also be one of its currency options.",
        )
    return {
        "amount_off": params["amount_off"],
        "currency_options": {code: {"amount_off": o["amount_off"]} for code, o in options.items()},
    }


def _duration(params: dict[str, Any]) -> dict[str, Any]:
    duration = params.get("duration", "once")
    months = params.get("duration_in_months")
    if duration == "repeating" and months is None:
        raise InvalidRequestError(
            "duration_in_months is required when duration is repeating.",
            code="parameter_missing",
            param="duration_in_months",
        )
    if duration != "repeating" and months is not None:
        raise invalid_parameter(
            "duration_in_months", "duration_in_months is only used when duration is repeating."
        )
    return {"duration": duration, "duration_in_months": months}


def _applies_to(conn: sa.Connection, account_id: str, given: Any) -> dict[str, Any] | None:
    if given is None or "products" not in given:
        return None
    wanted = list(dict.fromkeys(given["products"]))
    for index, product_id in enumerate(given["products"]):
        products.load(conn, account_id, product_id, param=f"applies_to[products][{index}]")
    return {"products": wanted}


def create(
    conn: sa.Connection, ctx: CallContext, params: dict[str, Any], include: Collection[str] = ()
) -> dict[str, Any]:
    if "redeem_by" in params and params["redeem_by"] <= ctx.now:
        raise invalid_parameter("redeem_by", "redeem_by must be in the future.")
    row = {
        "account_id": ctx.account_id,
        "id": _claim_id(conn, ctx.account_id, params.get("id")),
        "list_key": new_id("coupon"),
        "created": ctx.now,
        "name": params.get("name") or None,
        "percent_off": None,
        "amount_off": None,
        "currency": params.get("currency"),
        "currency_options": {},
        "max_redemptions": params.get("max_redemptions"),
        "redeem_by": params.get("redeem_by"),
        "times_redeemed": 0,
        "applies_to": _applies_to(conn, ctx.account_id, params.get("applies_to")),
        "metadata": params["metadata"].apply({}) if "metadata" in params else {},
        "deleted": False,
        **_amounts(params),
        **_duration(params),
    }
    try:
        conn.execute(coupons.insert(), row)
    except sa.exc.IntegrityError as exc:
        # A concurrent create took the chosen id between _claim_id's check and this insert.
        raise InvalidRequestError(
            "Coupon already exists.", code="resource_already_exists", param="id"
        ) from exc
    ctx.touch(row["id"])
    stored = SimpleNamespace(**row)
    events.emit(conn, ctx, "coupon.created", render(stored, ctx.now))
    return render(stored, ctx.now, include)


def update(
    conn: sa.Connection,
    ctx: CallContext,
    coupon_id: str,
    params: dict[str, Any],
    include: Collection[str] = (),
) -> dict[str, Any]:
    """Only the name and metadata change: the terms are what discounts were made of."""
    row = load(conn, ctx.account_id, coupon_id)
    ctx.touch(row.id)
    values: dict[str, Any] = {}
    if "name" in params:
        values["name"] = params["name"] or None
    if "metadata" in params:
        values["metadata"] = params["metadata"].apply(dict(row.metadata))
    merged = SimpleNamespace(**{**row._asdict(), **values})
    before, after = render(row, ctx.now), render(merged, ctx.now)
    changed = events.previous_attributes(before, after)
    if changed:
        conn.execute(
            coupons.update()
            .where(coupons.c.account_id == row.account_id, coupons.c.id == row.id)
            .values(**values)
        )
        events.emit(conn, ctx, "coupon.updated", after, previous_attributes=changed)
    return render(merged, ctx.now, include)


def delete(conn: sa.Connection, ctx: CallContext, coupon_id: str) -> dict[str, Any]:
    row = load(conn, ctx.account_id, coupon_id)
    ctx.touch(row.id)
    conn.execute(
        coupons.update()
        .where(coupons.c.account_id == row.account_id, coupons.c.id == row.id)
        .values(deleted=True)
    )
    gone = SimpleNamespace(**{**row._asdict(), "deleted": True})
    events.emit(conn, ctx, "coupon.deleted", render(gone, ctx.now))
    return {"id": row.id, "object": "coupon", "deleted": True}
