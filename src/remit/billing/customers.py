"""Customers: the first resource carried end to end."""

from __future__ import annotations

import secrets
from types import SimpleNamespace
from typing import Any

import sqlalchemy as sa

from remit.billing import test_clocks
from remit.billing.balance import service as balance
from remit.billing.tables import customers
from remit.context import CallContext
from remit.events import service as events
from remit.primitives.errors import ResourceMissing, invalid_parameter
from remit.primitives.ids import new_id

PREFIX_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
ADDRESS_KEYS = ("city", "country", "line1", "line2", "postal_code", "state")


def render(row: Any) -> dict[str, Any]:
    return {
        "id": row.id,
        "object": "customer",
        "address": _full_address(row.address),
        "balance": row.balance,
        "created": row.created,
        "currency": row.currency,
        "default_source": None,
        "delinquent": row.delinquent,
        "description": row.description,
        "discount": None,
        "email": row.email,
        "invoice_prefix": row.invoice_prefix,
        "invoice_settings": _invoice_settings(row.invoice_settings),
        "livemode": False,
        "metadata": dict(row.metadata),
        "name": row.name,
        "next_invoice_sequence": row.next_invoice_sequence,
        "phone": row.phone,
        "preferred_locales": list(row.preferred_locales),
        "shipping": _shipping(row.shipping),
        "tax_exempt": row.tax_exempt,
        "test_clock": row.test_clock,
    }


def _invoice_settings(stored: dict[str, Any]) -> dict[str, Any]:
    options = stored.get("rendering_options")
    return {
        "custom_fields": stored.get("custom_fields") or None,
        "default_payment_method": stored.get("default_payment_method") or None,
        "footer": stored.get("footer") or None,
        "rendering_options": None
        if options is None
        else {
            "amount_tax_display": options.get("amount_tax_display"),
            "template": options.get("template") or None,
        },
    }


def _full_address(address: dict[str, Any] | None) -> dict[str, Any] | None:
    if address is None:
        return None
    return {key: address.get(key) for key in ADDRESS_KEYS}


def _shipping(shipping: dict[str, Any] | None) -> dict[str, Any] | None:
    if shipping is None:
        return None
    return {
        "address": _full_address(shipping.get("address") or {}),
        "name": shipping.get("name"),
        "phone": shipping.get("phone"),
    }


_BY_ID = sa.select(customers).where(
    customers.c.id == sa.bindparam("id"), customers.c.account_id == sa.bindparam("account_id")
)
_INSERT = customers.insert()


def load(conn: sa.Connection, account_id: str, customer_id: str, param: str = "id") -> Any:
    row = conn.execute(_BY_ID, {"id": customer_id, "account_id": account_id}).first()
    if row is None:
        raise ResourceMissing("customer", customer_id, param=param)
    return row


def load_live(conn: sa.Connection, account_id: str, customer_id: str, param: str = "id") -> Any:
    row = load(conn, account_id, customer_id, param)
    if row.deleted:
        raise ResourceMissing("customer", customer_id, param=param)
    return row


def retrieve(conn: sa.Connection, account_id: str, customer_id: str) -> dict[str, Any]:
    row = load(conn, account_id, customer_id)
    if row.deleted:
        return {"id": row.id, "object": "customer", "deleted": True}
    return render(row)


def _new_prefix(conn: sa.Connection, account_id: str) -> str:
    for _ in range(20):
        # 32 symbols divide 256 evenly, so byte % 32 is unbiased.
        prefix = "".join(PREFIX_ALPHABET[b % 32] for b in secrets.token_bytes(8))
        if not _prefix_taken(conn, account_id, prefix):
            return prefix
    raise RuntimeError("could not find a free invoice prefix")


_PREFIX_TAKEN = sa.select(customers.c.id).where(
    customers.c.account_id == sa.bindparam("account_id"),
    customers.c.invoice_prefix == sa.bindparam("prefix"),
)


def _prefix_taken(conn: sa.Connection, account_id: str, prefix: str) -> bool:
    found = conn.execute(_PREFIX_TAKEN, {"account_id": account_id, "prefix": prefix}).first()
    return found is not None


def _checked_prefix(conn: sa.Connection, account_id: str, prefix: str) -> str:
    if not (3 <= len(prefix) <= 12 and prefix.isalnum() and prefix.isupper()):
        raise invalid_parameter(
            "invoice_prefix",
            "Invoice prefix must be 3 to 12 uppercase letters or numbers.",
        )
    if _prefix_taken(conn, account_id, prefix):
        raise invalid_parameter(
            "invoice_prefix", f"Invoice prefix {prefix} is already used by another customer."
        )
    return prefix


def _column_values(params: dict[str, Any]) -> dict[str, Any]:
    """Params that map one-to-one onto columns; "" clears a nullable string."""
    values: dict[str, Any] = {}
    for key in ("email", "name", "description", "phone"):
        if key in params:
            values[key] = params[key] or None
    for key in ("address", "shipping"):
        if key in params:
            values[key] = params[key]
    for key in ("tax_exempt", "next_invoice_sequence"):
        if key in params:
            values[key] = params[key]
    if "preferred_locales" in params:
        values["preferred_locales"] = params["preferred_locales"] or []
    return values


def create(conn: sa.Connection, ctx: CallContext, params: dict[str, Any]) -> dict[str, Any]:
    clock_id = params.get("test_clock")
    created = test_clocks.now_for(conn, ctx, clock_id)
    prefix = params.get("invoice_prefix")
    row = {
        "id": new_id("cus"),
        "account_id": ctx.account_id,
        "created": created,
        "test_clock": clock_id,
        "email": None,
        "name": None,
        "description": None,
        "phone": None,
        "balance": 0,
        "currency": None,
        "address": None,
        "shipping": None,
        "metadata": params["metadata"].apply({}) if "metadata" in params else {},
        "invoice_settings": params.get("invoice_settings") or {},
        "invoice_prefix": (
            _checked_prefix(conn, ctx.account_id, prefix)
            if prefix
            else _new_prefix(conn, ctx.account_id)
        ),
        "next_invoice_sequence": 1,
        "preferred_locales": [],
        "tax_exempt": "none",
        "delinquent": False,
        "deleted": False,
        **_column_values(params),
    }
    conn.execute(_INSERT, row)
    ctx.touch(row["id"])
    if params.get("balance"):
        txn = _set_balance(conn, ctx, row["id"], params["balance"], "initial", balance_now=0)
        row.update(balance=txn.ending_balance, currency=txn.currency)
    # Every column was given above, so the row as written renders without a re-read.
    obj = render(SimpleNamespace(**row))
    events.emit(conn, ctx, "customer.created", obj, created=created)
    return obj


def update(
    conn: sa.Connection, ctx: CallContext, customer_id: str, params: dict[str, Any]
) -> dict[str, Any]:
    row = load_live(conn, ctx.account_id, customer_id)
    before = render(row)
    values = _column_values(params)
    if "metadata" in params:
        values["metadata"] = params["metadata"].apply(dict(row.metadata))
    if "invoice_settings" in params:
        values["invoice_settings"] = {**row.invoice_settings, **(params["invoice_settings"] or {})}
    if params.get("invoice_prefix") and params["invoice_prefix"] != row.invoice_prefix:
        values["invoice_prefix"] = _checked_prefix(conn, ctx.account_id, params["invoice_prefix"])
    ctx.touch(customer_id)
    if values:
        conn.execute(customers.update().where(customers.c.id == row.id).values(**values))
    if "balance" in params and params["balance"] != row.balance:
        _set_balance(conn, ctx, row.id, params["balance"], "adjustment", row.balance, row.currency)
    after = render(load(conn, ctx.account_id, customer_id))
    changed = events.previous_attributes(before, after)
    if changed:
        now = test_clocks.now_for(conn, ctx, row.test_clock)
        events.emit(conn, ctx, "customer.updated", after, previous_attributes=changed, created=now)
    return after


def _set_balance(
    conn: sa.Connection,
    ctx: CallContext,
    customer_id: str,
    wanted: int,
    kind: str,
    balance_now: int,
    currency: str | None = None,
) -> Any:
    """The ``balance`` param as a balance transaction of the difference, so the ledger's
    customer credit balance moves with it."""
    return balance.adjust(
        conn, ctx, customer_id, wanted - balance_now, currency or balance.DEFAULT_CURRENCY,
        kind, announce=False,
    )  # fmt: skip


def delete(
    conn: sa.Connection, ctx: CallContext, customer_id: str, at: int | None = None
) -> dict[str, Any]:
    row = load_live(conn, ctx.account_id, customer_id)
    conn.execute(customers.update().where(customers.c.id == row.id).values(deleted=True))
    ctx.touch(customer_id)
    now = at if at is not None else test_clocks.now_for(conn, ctx, row.test_clock)
    events.emit(conn, ctx, "customer.deleted", render(row), created=now)
    return {"id": row.id, "object": "customer", "deleted": True}
