"""Subscription items one at a time (``/v1/subscription_items``).

Adding, changing and removing an item is a subscription update with one ``items[]``
entry: the same checks, the same prorations, the same ``customer.subscription.updated``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa

from remit.billing.subscriptions import render, update
from remit.billing.subscriptions.changes import ItemPlan
from remit.billing.subscriptions.tables import subscription_items
from remit.context import CallContext
from remit.primitives.errors import InvalidRequestError, ResourceMissing

ITEM_FIELDS = ("price", "quantity", "tax_rates", "discounts", "metadata")
CHANGE_FIELDS = ("proration_behavior", "proration_date")


def load(conn: sa.Connection, account_id: str, item_id: str, param: str = "id") -> Any:
    t = subscription_items
    row = conn.execute(sa.select(t).where(t.c.account_id == account_id, t.c.id == item_id)).first()
    if row is None or row.deleted:
        raise ResourceMissing("subscription_item", item_id, param=param)
    return row


def render_one(conn: sa.Connection, account_id: str, row: Any) -> dict[str, Any]:
    sub = render.load(conn, account_id, row.subscription)
    return render.render_items(conn, account_id, sub, [row])[0]


def retrieve(conn: sa.Connection, account_id: str, item_id: str) -> dict[str, Any]:
    return render_one(conn, account_id, load(conn, account_id, item_id))


def _item_change(
    conn: sa.Connection,
    ctx: CallContext,
    sub_id: str,
    params: Mapping[str, Any],
    item: dict[str, Any],
) -> ItemPlan:
    """Run the one-item update; errors name this endpoint's params (``price``, not
    ``items[0][price]``)."""
    try:
        return update.change(conn, ctx, sub_id, _update_params(params, item))[1]
    except InvalidRequestError as error:
        if error.param and error.param.startswith(_ITEM_PARAM):
            error.param = error.param[len(_ITEM_PARAM) :].replace("]", "", 1)
        raise


_ITEM_PARAM = "items[0]["


def _update_params(params: Mapping[str, Any], item: dict[str, Any]) -> dict[str, Any]:
    found: dict[str, Any] = {"items": [item]}
    for key in CHANGE_FIELDS:
        if key in params:
            found[key] = params[key]
    return found


def create(conn: sa.Connection, ctx: CallContext, params: Mapping[str, Any]) -> dict[str, Any]:
    render.load(conn, ctx.account_id, params["subscription"], "subscription")
    item = {key: params[key] for key in ITEM_FIELDS if key in params}
    [added] = _item_change(conn, ctx, params["subscription"], params, item).changes
    assert added.after is not None
    ctx.touch(added.after.id)
    return retrieve(conn, ctx.account_id, added.after.id)


def modify(
    conn: sa.Connection, ctx: CallContext, item_id: str, params: Mapping[str, Any]
) -> dict[str, Any]:
    row = load(conn, ctx.account_id, item_id)
    ctx.touch(row.id)
    item = {"id": row.id, **{key: params[key] for key in ITEM_FIELDS if key in params}}
    _item_change(conn, ctx, row.subscription, params, item)
    return retrieve(conn, ctx.account_id, row.id)


def delete(
    conn: sa.Connection, ctx: CallContext, item_id: str, params: Mapping[str, Any]
) -> dict[str, Any]:
    row = load(conn, ctx.account_id, item_id)
    ctx.touch(row.id)
    item = {"id": row.id, "deleted": True}
    _item_change(conn, ctx, row.subscription, params, item)
    return {"id": row.id, "object": "subscription_item", "deleted": True}
