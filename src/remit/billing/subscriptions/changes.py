"""Changing a subscription's items: add one, remove one, change its price or quantity.

``plan`` checks a request's ``items[]`` against the live items and returns what the
subscription will hold, writing nothing; ``apply`` then writes it (and attaches the items'
new discounts). The subscription update and the subscription items API both go through
here, so their rules are the same.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import sqlalchemy as sa

from remit.billing.discounts import discounts
from remit.billing.subscriptions import records, validate
from remit.billing.subscriptions.lines import ItemView
from remit.billing.subscriptions.tables import subscription_items
from remit.billing.taxes import tax_rates
from remit.catalog import products
from remit.context import CallContext
from remit.metering import meters
from remit.primitives.errors import ResourceMissing, invalid_parameter


@dataclass(frozen=True)
class ItemChange:
    """One item of the request: new (``before`` None), changed, or removed (``after`` None)."""

    param: str
    before: ItemView | None
    after: ItemView | None
    # Discount specs to attach ({coupon} or {promotion_code}); None keeps the item's own.
    discount_specs: tuple[Mapping[str, str], ...] | None = None


@dataclass(frozen=True)
class ItemPlan:
    before: tuple[ItemView, ...]
    after: tuple[ItemView, ...]
    changes: tuple[ItemChange, ...] = field(default=())

    @property
    def grid_changed(self) -> bool:
        return validate.grid_of(self.before[0].price_row) != validate.grid_of(
            self.after[0].price_row
        )


def plan(
    conn: sa.Connection,
    account_id: str,
    sub: Any,
    current: Sequence[ItemView],
    specs: Sequence[Mapping[str, Any]] | None,
) -> ItemPlan:
    """What the items will be after ``specs`` (Stripe's ``items[]``), every rule checked."""
    if not specs:
        return ItemPlan(tuple(current), tuple(current))
    live = {view.id: view for view in current}
    after = dict(live)
    changes = []
    named: set[str] = set()
    for index, spec in enumerate(specs):
        param = f"items[{index}]"
        change = _change(conn, account_id, sub, live, spec, param)
        key = change.before.id if change.before is not None else None
        if key is not None and key in named:
            raise invalid_parameter(f"{param}[id]", f"The item `{key}` is changed twice.")
        if key is not None:
            named.add(key)
            del after[key]
        if change.after is not None:
            after[change.after.id] = change.after
        changes.append(change)
    result = list(after.values())
    _check_result(sub, result, changes)
    return ItemPlan(tuple(current), tuple(result), tuple(changes))


def _change(
    conn: sa.Connection,
    account_id: str,
    sub: Any,
    live: Mapping[str, ItemView],
    spec: Mapping[str, Any],
    param: str,
) -> ItemChange:
    specs = None if "discounts" not in spec else tuple(spec["discounts"] or ())
    if "id" not in spec:
        if "price" not in spec or spec.get("deleted"):
            raise invalid_parameter(
                f"{param}[price]", "A new item needs a price (or pass the id of an item)."
            )
        checked = validate.check_item(conn, account_id, spec, param)
        return ItemChange(param, None, checked.view(records.new_item_id()), specs or ())
    before = live.get(spec["id"])
    if before is None:
        raise ResourceMissing("subscription_item", spec["id"], param=f"{param}[id]")
    if spec.get("deleted"):
        return ItemChange(param, before, None)
    return ItemChange(param, before, _changed(conn, account_id, before, spec, param), specs)


def _changed(
    conn: sa.Connection, account_id: str, before: ItemView, spec: Mapping[str, Any], param: str
) -> ItemView:
    price = before.price_row
    names: dict[str, Any] = {}
    if "price" in spec and spec["price"] != price.id:
        price = validate.recurring_price(conn, account_id, spec["price"], f"{param}[price]")
        names["product_name"] = products.load(conn, account_id, price.product).name
        names["meter_formula"] = (
            meters.load(conn, account_id, price.recurring_meter).formula
            if price.recurring_meter
            else None
        )
    if "quantity" in spec:
        quantity = spec["quantity"]
    elif price.recurring_usage_type == "metered":
        quantity = None
    else:  # a licensed item keeps its seats across a price change, as on Stripe
        quantity = before.quantity
    quantity = validate.quantity_for(price, quantity, param)
    rates = before.tax_rates
    if "tax_rates" in spec:
        rates = tuple(spec["tax_rates"] or ())
        tax_rates.check_attachable(conn, account_id, rates, f"{param}[tax_rates]")
    metadata = dict(before.metadata)
    if "metadata" in spec:
        metadata = spec["metadata"].apply(metadata)
    return dataclasses.replace(
        before, price_row=price, quantity=quantity, tax_rates=rates,
        metadata=MappingProxyType(metadata), **names,
    )  # fmt: skip


def _check_result(sub: Any, result: Sequence[ItemView], changes: Sequence[ItemChange]) -> None:
    params = {c.after.id: f"{c.param}[price]" for c in changes if c.after is not None}
    pairs = [(params.get(view.id, "items"), view.price_row) for view in result]
    if not pairs:
        raise invalid_parameter("items", "A subscription must keep at least one item.")
    if len(pairs) > validate.MAX_ITEMS:
        raise invalid_parameter(
            "items", f"A subscription can have at most {validate.MAX_ITEMS} items."
        )
    validate.distinct_prices(pairs)
    validate.same_interval(pairs)
    for param, price in pairs:
        validate.offered_in(price, sub.currency, param)


def apply(
    conn: sa.Connection, ctx: CallContext, sub: Any, item_plan: ItemPlan, at_ts: int
) -> tuple[ItemView, ...]:
    """Write the planned items; the live items as written (their discounts attached)."""
    written = {view.id: view for view in item_plan.after}
    for change in item_plan.changes:
        if change.after is None:
            assert change.before is not None
            _delete(conn, ctx, sub, change.before, at_ts)
            continue
        view = change.after
        if change.discount_specs is not None:
            view = _rediscounted(conn, ctx, sub, change, at_ts)
        written[view.id] = view
        if change.before is None:
            conn.execute(subscription_items.insert().values(**_row(sub, view, at_ts)))
        else:
            conn.execute(
                subscription_items.update()
                .where(subscription_items.c.id == view.id)
                .values(**{k: v for k, v in _row(sub, view, at_ts).items() if k in _MUTABLE})
            )
    return tuple(written[view.id] for view in item_plan.after)


_MUTABLE = frozenset({"price", "quantity", "tax_rates", "discounts", "metadata"})


def _row(sub: Any, view: ItemView, at_ts: int) -> dict[str, Any]:
    return {
        "id": view.id,
        "account_id": sub.account_id,
        "subscription": sub.id,
        "price": view.price_row.id,
        "quantity": view.quantity,
        "created": at_ts,
        "tax_rates": list(view.tax_rates),
        "discounts": list(view.discounts),
        "metadata": dict(view.metadata),
        "deleted": False,
    }


def _delete(conn: sa.Connection, ctx: CallContext, sub: Any, view: ItemView, at_ts: int) -> None:
    for discount_id in view.discounts:
        discounts.remove(conn, ctx, discount_id, at_ts)
    conn.execute(
        subscription_items.update()
        .where(
            subscription_items.c.id == view.id, subscription_items.c.account_id == sub.account_id
        )
        .values(deleted=True)
    )


def _rediscounted(
    conn: sa.Connection, ctx: CallContext, sub: Any, change: ItemChange, at_ts: int
) -> ItemView:
    """The item with its discounts replaced by the ones the request names."""
    assert change.after is not None and change.discount_specs is not None
    for discount_id in change.after.discounts:
        discounts.remove(conn, ctx, discount_id, at_ts)
    attached = attach_all(
        conn, ctx, sub, change.discount_specs, f"{change.param}[discounts]", at_ts,
        subscription_item=change.after.id,
    )  # fmt: skip
    return dataclasses.replace(change.after, discounts=tuple(attached))


def attach_all(
    conn: sa.Connection,
    ctx: CallContext,
    sub: Any,
    specs: Sequence[Mapping[str, str]],
    param: str,
    at_ts: int,
    order_amount: int | None = None,
    **scope: str,
) -> list[str]:
    """Redeem each ``{coupon}`` / ``{promotion_code}`` spec into a discount of ``scope``.

    ``order_amount`` is what the first invoice charges, for a promotion code's minimum."""
    return [
        discounts.attach(
            conn, ctx,
            coupon=spec.get("coupon"), promotion_code=spec.get("promotion_code"),
            customer=sub.customer, start_ts=at_ts, param=f"{param}[{index}]",
            order_amount=order_amount, currency=sub.currency, **scope,
        )
        for index, spec in enumerate(specs)
    ]  # fmt: skip
