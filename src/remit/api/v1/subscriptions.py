"""/v1/subscriptions"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from remit.api.listing import created_filter, page
from remit.api.params import (
    Bool,
    Enum,
    Expand,
    Int,
    ListOf,
    Metadata,
    Obj,
    RangeFilter,
    Schema,
    Str,
    Timestamp,
    list_schema,
)
from remit.api.params_values import Currency
from remit.api.routing import Route
from remit.billing.subscriptions import cancel, create, render, resume, update
from remit.billing.subscriptions.fields import PAUSE_BEHAVIORS
from remit.billing.subscriptions.proration import PRORATION_BEHAVIORS
from remit.billing.subscriptions.resume import END_BEHAVIORS
from remit.billing.subscriptions.status import STATUSES
from remit.billing.subscriptions.tables import subscription_items, subscriptions
from remit.context import CallContext

ID = Str(max_length=255, blank_ok=False)
DISCOUNT = Obj({"coupon": ID, "promotion_code": ID}, exclusive=(("coupon", "promotion_code"),))
DISCOUNTS = ListOf(DISCOUNT, max_items=20, nullable=True)
TAX_RATES = ListOf(ID, max_items=10, nullable=True)
QUANTITY = Int(min=0, max=10**12)
ITEM_FIELDS = {
    "discounts": DISCOUNTS,
    "metadata": Metadata(),
    "price": ID,
    "quantity": QUANTITY,
    "tax_rates": TAX_RATES,
}
NEW_ITEM = Obj(ITEM_FIELDS, required=("price",))
CHANGED_ITEM = Obj({**ITEM_FIELDS, "id": ID, "deleted": Bool(), "clear_usage": Bool()})
COLLECTION_METHOD = Enum(("charge_automatically", "send_invoice"))
DAYS_UNTIL_DUE = Int(min=0, max=730)
ANCHOR_CONFIG = Obj(
    {
        "day_of_month": Int(min=1, max=31),
        "hour": Int(min=0, max=23),
        "minute": Int(min=0, max=59),
        "month": Int(min=1, max=12),
        "second": Int(min=0, max=59),
    },
    required=("day_of_month",),
)
CANCELLATION_DETAILS = Obj(
    {
        "comment": Str(max_length=5000),
        "feedback": Enum(
            (
                "customer_service", "low_quality", "missing_features", "other",
                "switched_service", "too_complex", "too_expensive", "unused",
            ),
            nullable=True,
        ),
    },
    nullable=True,
)  # fmt: skip
TRIAL_SETTINGS = Obj(
    {
        "end_behavior": Obj(
            {"missing_payment_method": Enum(END_BEHAVIORS)}, required=("missing_payment_method",)
        )
    },
    required=("end_behavior",),
)
PAYMENT_BEHAVIOR = Enum(("allow_incomplete", "default_incomplete", "error_if_incomplete"))
COMMON = {
    "cancel_at_period_end": Bool(),
    "collection_method": COLLECTION_METHOD,
    "days_until_due": DAYS_UNTIL_DUE,
    "default_tax_rates": TAX_RATES,
    "description": Str(max_length=500),
    "discounts": DISCOUNTS,
    "expand": Expand(),
    "metadata": Metadata(),
    "payment_behavior": PAYMENT_BEHAVIOR,
    "proration_behavior": Enum(PRORATION_BEHAVIORS),
    "trial_settings": TRIAL_SETTINGS,
}
CREATE = Schema(
    {
        **COMMON,
        "billing_cycle_anchor": Timestamp(),
        "billing_cycle_anchor_config": ANCHOR_CONFIG,
        "cancel_at": Timestamp(),
        "currency": Currency(),
        "customer": ID,
        "items": ListOf(NEW_ITEM, max_items=20),
        "trial_end": Timestamp(allow_now=True),
        "trial_from_plan": Bool(),
        "trial_period_days": Int(min=0, max=730),
    },
    required=("customer", "items"),
    exclusive=(("billing_cycle_anchor", "billing_cycle_anchor_config"),),
)
UPDATE = Schema(
    {
        **COMMON,
        "billing_cycle_anchor": Enum(("now", "unchanged")),
        "cancel_at": Timestamp(nullable=True),
        "cancellation_details": CANCELLATION_DETAILS,
        "items": ListOf(CHANGED_ITEM, max_items=20),
        "pause_collection": Obj(
            {"behavior": Enum(PAUSE_BEHAVIORS), "resumes_at": Timestamp()},
            required=("behavior",),
            nullable=True,
        ),
        "proration_date": Timestamp(),
        "trial_end": Timestamp(allow_now=True),
    }
)
CANCEL = Schema(
    {
        "cancellation_details": CANCELLATION_DETAILS,
        "expand": Expand(),
        "invoice_now": Bool(),
        "prorate": Bool(),
    }
)
RESUME = Schema(
    {
        "billing_cycle_anchor": Enum(("now", "unchanged")),
        "expand": Expand(),
        "proration_behavior": Enum(PRORATION_BEHAVIORS),
        "proration_date": Timestamp(),
    }
)
RETRIEVE = Schema({"expand": Expand()})
LIST = list_schema(
    {
        "collection_method": COLLECTION_METHOD,
        "created": RangeFilter(),
        "current_period_end": RangeFilter(),
        "current_period_start": RangeFilter(),
        "customer": ID,
        "price": ID,
        "status": Enum((*STATUSES, "all", "ended")),
        "test_clock": ID,
    }
)


def _create(conn: sa.Connection, ctx: CallContext, params: dict[str, Any]) -> dict[str, Any]:
    obj = create.create(conn, ctx, params)
    ctx.touch(obj["id"])
    return obj


def _retrieve(
    conn: sa.Connection, ctx: CallContext, params: dict[str, Any], id: str
) -> dict[str, Any]:
    ctx.touch(id)
    return render.retrieve(conn, ctx.account_id, id)


def _update(
    conn: sa.Connection, ctx: CallContext, params: dict[str, Any], id: str
) -> dict[str, Any]:
    return update.update(conn, ctx, id, params)


def _cancel(
    conn: sa.Connection, ctx: CallContext, params: dict[str, Any], id: str
) -> dict[str, Any]:
    return cancel.cancel(conn, ctx, id, params)


def _resume(
    conn: sa.Connection, ctx: CallContext, params: dict[str, Any], id: str
) -> dict[str, Any]:
    return resume.resume(conn, ctx, id, params)


def _status_filter(status: str | None) -> list[sa.ColumnElement[bool]]:
    """Stripe lists the subscriptions that have not ended unless asked otherwise."""
    t = subscriptions.c
    if status == "all":
        return []
    if status == "ended":
        return [t.status.in_(("canceled", "incomplete_expired"))]
    if status is None:
        return [t.status.notin_(("canceled", "incomplete_expired"))]
    return [t.status == status]


def _list(conn: sa.Connection, ctx: CallContext, params: dict[str, Any]) -> dict[str, Any]:
    t = subscriptions
    where = _status_filter(params.get("status"))
    for key in ("customer", "collection_method", "test_clock"):
        if key in params:
            where.append(t.c[key] == params[key])
    for key in ("created", "current_period_end", "current_period_start"):
        if key in params:
            where += created_filter(t.c[key], params[key])
    if "price" in params:
        items = subscription_items.c
        holding = sa.select(items.subscription).where(
            items.account_id == ctx.account_id,
            items.price == params["price"],
            items.deleted.is_(False),
        )
        where.append(t.c.id.in_(holding))
    return page(
        conn, ctx.account_id, t, where, params,
        lambda row: render.render(conn, ctx.account_id, row), "/v1/subscriptions", "subscription",
    )  # fmt: skip


ROUTES = [
    Route("POST", "/v1/subscriptions", _create, CREATE, writes=True),
    Route("GET", "/v1/subscriptions", _list, LIST),
    Route("GET", "/v1/subscriptions/{id}", _retrieve, RETRIEVE),
    Route("POST", "/v1/subscriptions/{id}", _update, UPDATE, writes=True),
    Route("DELETE", "/v1/subscriptions/{id}", _cancel, CANCEL, writes=True),
    Route("POST", "/v1/subscriptions/{id}/resume", _resume, RESUME, writes=True),
]
