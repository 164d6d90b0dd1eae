"""Subscriptions and their items on the wire (Stripe's ``subscription`` and
``subscription_item``), with the legacy ``plan`` derived from each item's price."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import sqlalchemy as sa

from remit.billing.subscriptions.tables import subscription_items, subscriptions
from remit.billing.taxes import tax_rates
from remit.billing.taxes.tables import tax_rates as tax_rates_table
from remit.catalog import prices
from remit.catalog.tables import prices as prices_table
from remit.primitives.errors import ResourceMissing

CHUNK_IDS = 500  # ids per IN (...) list

ANCHOR_CONFIG_KEYS = ("day_of_month", "hour", "minute", "month", "second")
CANCELLATION_KEYS = ("comment", "feedback", "reason")


def plan_of(price: Any) -> dict[str, Any]:
    """The ``plan`` Stripe still renders beside every recurring price."""
    rendered = prices.render(price)
    recurring = rendered["recurring"] or {}
    return {
        "id": price.id,
        "object": "plan",
        "active": price.active,
        "amount": rendered["unit_amount"],
        "amount_decimal": price.unit_amount_decimal,
        "billing_scheme": price.billing_scheme,
        "created": price.created,
        "currency": price.currency,
        "interval": recurring.get("interval"),
        "interval_count": recurring.get("interval_count"),
        "livemode": False,
        "metadata": dict(price.metadata),
        "meter": recurring.get("meter"),
        "nickname": price.nickname,
        "product": price.product,
        "tiers_mode": price.tiers_mode,
        "transform_usage": price.transform_quantity,
        "trial_period_days": recurring.get("trial_period_days"),
        "usage_type": recurring.get("usage_type"),
    }


def render_item(
    row: Any, price: Any, sub: Any, rates: Mapping[str, dict[str, Any]]
) -> dict[str, Any]:
    return {
        "id": row.id,
        "object": "subscription_item",
        "billing_thresholds": None,
        "created": row.created,
        "current_period_end": sub.current_period_end,
        "current_period_start": sub.current_period_start,
        "discounts": list(row.discounts),
        "metadata": dict(row.metadata),
        "plan": plan_of(price),
        "price": prices.render(price),
        "quantity": row.quantity,
        "subscription": row.subscription,
        "tax_rates": [rates[rate_id] for rate_id in row.tax_rates],
    }


def _tax_rates(conn: sa.Connection, account_id: str, ids: set[str]) -> dict[str, dict[str, Any]]:
    if not ids:
        return {}
    t = tax_rates_table
    query = sa.select(t).where(t.c.account_id == account_id, t.c.id.in_(sorted(ids)))
    return {row.id: tax_rates.render(row) for row in conn.execute(query)}


def _prices(conn: sa.Connection, account_id: str, ids: set[str]) -> dict[str, Any]:
    if not ids:
        return {}
    t = prices_table
    query = sa.select(t).where(t.c.account_id == account_id, t.c.id.in_(sorted(ids)))
    return {row.id: row for row in conn.execute(query)}


def item_rows(conn: sa.Connection, account_id: str, sub_id: str) -> list[Any]:
    """The subscription's live items, oldest first."""
    t = subscription_items
    query = (
        sa.select(t)
        .where(t.c.account_id == account_id, t.c.subscription == sub_id, t.c.deleted.is_(False))
        .order_by(t.c.id)
    )
    return list(conn.execute(query))


def render_items(
    conn: sa.Connection, account_id: str, sub: Any, rows: Sequence[Any]
) -> list[dict[str, Any]]:
    price_rows = _prices(conn, account_id, {row.price for row in rows})
    rates = _tax_rates(conn, account_id, {rate for row in rows for rate in row.tax_rates})
    return [render_item(row, price_rows[row.price], sub, rates) for row in rows]


def render(conn: sa.Connection, account_id: str, row: Any) -> dict[str, Any]:
    """The subscription ``row`` with its items, as Stripe renders it."""
    return render_many(conn, account_id, [row])[0]


def render_many(conn: sa.Connection, account_id: str, rows: Sequence[Any]) -> list[dict[str, Any]]:
    """Subscriptions rendered with one read of items, prices and tax rates each, however
    many there are (a bill run announces a whole batch of renewals)."""
    items = _live_items(conn, account_id, [row.id for row in rows])
    price_rows = _prices(conn, account_id, {i.price for its in items.values() for i in its})
    rate_ids = {rate for its in items.values() for i in its for rate in i.tax_rates}
    rates = _tax_rates(
        conn, account_id, rate_ids | {r for row in rows for r in row.default_tax_rates}
    )
    return [
        _rendered(
            row, [render_item(i, price_rows[i.price], row, rates) for i in items[row.id]], rates
        )
        for row in rows
    ]


def _live_items(
    conn: sa.Connection, account_id: str, sub_ids: Sequence[str]
) -> dict[str, list[Any]]:
    found: dict[str, list[Any]] = {sub_id: [] for sub_id in sub_ids}
    t = subscription_items
    for at in range(0, len(sub_ids), CHUNK_IDS):
        query = (
            sa.select(t)
            .where(t.c.account_id == account_id, t.c.subscription.in_(sub_ids[at : at + CHUNK_IDS]))
            .where(t.c.deleted.is_(False))
            .order_by(t.c.id)
        )
        for item in conn.execute(query):
            found[item.subscription].append(item)
    return found


def _rendered(row: Any, items: list[dict[str, Any]], rates: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "id": row.id,
        "object": "subscription",
        "application": None,
        "application_fee_percent": None,
        "automatic_tax": {"disabled_reason": None, "enabled": False, "liability": None},
        "billing_cycle_anchor": row.billing_cycle_anchor,
        "billing_cycle_anchor_config": _anchor_config(row.billing_cycle_anchor_config),
        "billing_mode": {"flexible": None, "type": "classic"},
        "billing_schedules": [],
        "billing_thresholds": None,
        "cancel_at": row.cancel_at,
        "cancel_at_period_end": row.cancel_at_period_end,
        "canceled_at": row.canceled_at,
        "cancellation_details": _cancellation(row.cancellation_details),
        "collection_method": row.collection_method,
        "created": row.created,
        "currency": row.currency,
        "customer": row.customer,
        "customer_account": None,
        "days_until_due": row.days_until_due,
        "default_payment_method": None,
        "default_source": None,
        "default_tax_rates": [rates[rate_id] for rate_id in row.default_tax_rates],
        "description": row.description,
        "discounts": list(row.discounts),
        "ended_at": row.ended_at,
        "invoice_settings": _invoice_settings(),
        "items": {
            "object": "list",
            "data": items,
            "has_more": False,
            "url": f"/v1/subscription_items?subscription={row.id}",
        },
        "latest_invoice": row.latest_invoice,
        "livemode": False,
        "managed_payments": {"enabled": False},
        "metadata": dict(row.metadata),
        "next_pending_invoice_item_invoice": None,
        "on_behalf_of": None,
        "pause_collection": _pause(row.pause_collection),
        "payment_settings": _payment_settings(),
        "pending_invoice_item_interval": None,
        "pending_setup_intent": None,
        "pending_update": None,
        "schedule": None,
        "start_date": row.start_date,
        "status": row.status,
        "test_clock": row.test_clock,
        "transfer_data": None,
        "trial_end": row.trial_end,
        "trial_settings": {"end_behavior": {"missing_payment_method": missing_payment_method(row)}},
        "trial_start": row.trial_start,
    }


def _invoice_settings() -> dict[str, Any]:
    # Fresh each time: expand[] edits rendered objects in place.
    return {
        "account_tax_ids": None,
        "custom_fields": None,
        "description": None,
        "footer": None,
        "issuer": {"type": "self"},
    }


def _payment_settings() -> dict[str, Any]:
    return {
        "payment_method_options": None,
        "payment_method_types": None,
        "save_default_payment_method": "off",
    }


def missing_payment_method(row: Any) -> str:
    """What ends a trial without a payment method: create_invoice (Stripe's default),
    pause or cancel."""
    settings = row.trial_settings or {}
    behavior = (settings.get("end_behavior") or {}).get("missing_payment_method")
    return str(behavior or "create_invoice")


def _cancellation(stored: Mapping[str, Any]) -> dict[str, Any]:
    return {key: stored.get(key) for key in CANCELLATION_KEYS}


def _anchor_config(stored: Mapping[str, Any] | None) -> dict[str, Any] | None:
    if stored is None:
        return None
    return {key: stored.get(key) for key in ANCHOR_CONFIG_KEYS}


def _pause(stored: Mapping[str, Any] | None) -> dict[str, Any] | None:
    if not stored:
        return None
    return {"behavior": stored["behavior"], "resumes_at": stored.get("resumes_at")}


_BY_ID = sa.select(subscriptions).where(
    subscriptions.c.id == sa.bindparam("id"),
    subscriptions.c.account_id == sa.bindparam("account_id"),
)


_LOCKED_BY_ID = _BY_ID.with_for_update()


def find(conn: sa.Connection, account_id: str, sub_id: str, *, lock: bool = False) -> Any | None:
    """The subscription row; ``lock`` holds it for the transaction (PostgreSQL), so two
    changes of one subscription run one after the other instead of losing one."""
    query = _LOCKED_BY_ID if lock else _BY_ID
    return conn.execute(query, {"id": sub_id, "account_id": account_id}).first()


def load(
    conn: sa.Connection,
    account_id: str,
    sub_id: str,
    param: str | None = "id",
    *,
    lock: bool = False,
) -> Any:
    row = find(conn, account_id, sub_id, lock=lock)
    if row is None:
        raise ResourceMissing("subscription", sub_id, param=param)
    return row


def retrieve(conn: sa.Connection, account_id: str, sub_id: str) -> dict[str, Any]:
    return render(conn, account_id, load(conn, account_id, sub_id))
