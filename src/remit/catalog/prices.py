"""Prices: how much a product costs, in one or more currencies, once or every interval.

A price's amounts never change once created (invoices and subscriptions refer to it);
what may change is whether it is offered (``active``), its names (``lookup_key``,
``nickname``, ``metadata``), its ``tax_behavior`` until set, and new currency options.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

import sqlalchemy as sa

from remit.catalog import prices_build, prices_terms, products
from remit.catalog.models import pricing_models
from remit.catalog.tables import prices
from remit.context import CallContext
from remit.events import service as events
from remit.events import types as event_types
from remit.primitives.errors import InvalidRequestError, ResourceMissing, invalid_parameter
from remit.primitives.money import MAX_AMOUNT_MINOR

event_types.register("price.created", "price.updated")

build = prices_build.build
terms = prices_terms.terms
CurrencyNotOffered = prices_terms.CurrencyNotOffered
# Fields Stripe renders only when asked for with expand[] ("includable").
INCLUDABLE = frozenset({"tiers", "currency_options"})
_LOCKED_TAX_BEHAVIORS = frozenset({"inclusive", "exclusive"})


def _amount(text: str | None) -> int | None:
    """Stripe's ``unit_amount``: the decimal as an int when it is whole (and fits the wire's
    64-bit integers; ``*_decimal`` carries up to 10**20), else null."""
    if text is None:
        return None
    value = Decimal(text)
    if value != value.to_integral_value() or value > MAX_AMOUNT_MINOR:
        return None
    return int(value)


def _tiers(stored: list[dict[str, Any]] | None) -> list[dict[str, Any]] | None:
    if stored is None:
        return None
    return [
        {
            "flat_amount": _amount(tier["flat_amount_decimal"]),
            "flat_amount_decimal": tier["flat_amount_decimal"],
            "unit_amount": _amount(tier["unit_amount_decimal"]),
            "unit_amount_decimal": tier["unit_amount_decimal"],
            "up_to": tier["up_to"],
        }
        for tier in stored
    ]


def _option(stored: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "custom_unit_amount": stored["custom_unit_amount"],
        "tax_behavior": stored["tax_behavior"],
        "tiers": _tiers(stored["tiers"]),
        "unit_amount": _amount(stored["unit_amount_decimal"]),
        "unit_amount_decimal": stored["unit_amount_decimal"],
    }


def render(row: Any, include: Collection[str] = ()) -> dict[str, Any]:
    """The wire object; ``include`` names the includable fields asked for with expand[]."""
    recurring = None
    if row.type == "recurring":
        recurring = {
            "interval": row.recurring_interval,
            "interval_count": row.recurring_interval_count,
            "meter": row.recurring_meter,
            "trial_period_days": row.recurring_trial_period_days,
            "usage_type": row.recurring_usage_type,
        }
    obj: dict[str, Any] = {
        "id": row.id,
        "object": "price",
        "active": row.active,
        "billing_scheme": row.billing_scheme,
        "created": row.created,
        "currency": row.currency,
        "custom_unit_amount": row.custom_unit_amount,
        "livemode": False,
        "lookup_key": row.lookup_key,
        "metadata": dict(row.metadata),
        "nickname": row.nickname,
        "product": row.product,
        "recurring": recurring,
        "tax_behavior": row.tax_behavior,
        "tiers_mode": row.tiers_mode,
        "transform_quantity": row.transform_quantity,
        "type": row.type,
        "unit_amount": _amount(row.unit_amount_decimal),
        "unit_amount_decimal": row.unit_amount_decimal,
    }
    if row.pricing_config is not None:
        obj["pricing_config"] = row.pricing_config
    if "tiers" in include:
        obj["tiers"] = _tiers(row.tiers)
    if "currency_options" in include:
        # Stripe lists the price's own currency among its options too.
        options = {row.currency: prices_terms.own_option(row), **row.currency_options}
        obj["currency_options"] = {code: _option(options[code]) for code in sorted(options)}
    return obj


_BY_ID = sa.select(prices).where(
    prices.c.id == sa.bindparam("id"), prices.c.account_id == sa.bindparam("account_id")
)


def load(conn: sa.Connection, account_id: str, price_id: str, param: str = "id") -> Any:
    row = conn.execute(_BY_ID, {"id": price_id, "account_id": account_id}).first()
    if row is None:
        raise ResourceMissing("price", price_id, param=param)
    return row


def retrieve(
    conn: sa.Connection, account_id: str, price_id: str, include: Collection[str] = ()
) -> dict[str, Any]:
    return render(load(conn, account_id, price_id), include)


def create(
    conn: sa.Connection, ctx: CallContext, params: dict[str, Any], include: Collection[str] = ()
) -> dict[str, Any]:
    """A new price of ``product``, or of a new product described by ``product_data``."""
    if "product" in params:
        product_id = products.load(conn, ctx.account_id, params["product"], "product").id
    elif "product_data" in params:
        wanted = params["product_data"].get("id")
        product_id = products.claim_id(conn, ctx.account_id, wanted, "product_data[id]")
    else:
        raise InvalidRequestError(
            "Missing required param: product.", code="parameter_missing", param="product"
        )
    row = build(conn, ctx, params, product_id)
    if "product_data" in params:
        products.create(conn, ctx, {**params["product_data"], "id": product_id}, "product_data")
    return insert(conn, ctx, row, params.get("transfer_lookup_key", False), include)


def insert(
    conn: sa.Connection,
    ctx: CallContext,
    row: dict[str, Any],
    transfer_lookup_key: bool = False,
    include: Collection[str] = (),
) -> dict[str, Any]:
    """Write a row made by :func:`build`, taking its lookup key, and say so in an event."""
    _write(
        conn, ctx, prices.insert().values(row), row["id"], row["lookup_key"], transfer_lookup_key
    )
    ctx.touch(row["id"])
    obj = render(SimpleNamespace(**row))
    events.emit(conn, ctx, "price.created", obj)
    return render(SimpleNamespace(**row), include) if include else obj


# Each round lost to a concurrent claim means another claim committed, so a few rounds
# settle any realistic race; the bound keeps a pathological one from spinning.
MAX_CLAIM_ROUNDS = 16


def _write(
    conn: sa.Connection,
    ctx: CallContext,
    statement: sa.Executable,
    price_id: str,
    lookup_key: str | None,
    transfer: bool,
) -> None:
    """Run the insert or update that gives ``price_id`` its ``lookup_key`` (None: no claim).

    The unique index on (account, lookup_key) is the arbiter: a concurrent claim may take the
    key between our check and our write (PostgreSQL runs both transactions at once). Our write
    is then refused and undone to its savepoint, and the next round sees the new holder: a
    transfer takes the key from it, anything else is told who holds it.
    """
    for _ in range(MAX_CLAIM_ROUNDS):
        if lookup_key is not None:
            _claim_lookup_key(conn, ctx, lookup_key, price_id, transfer)
        savepoint = conn.begin_nested()
        try:
            conn.execute(statement)
        except sa.exc.IntegrityError as exc:
            savepoint.rollback()
            if lookup_key is None or "lookup_key" not in str(exc.orig):
                raise
            continue
        savepoint.commit()
        return
    raise invalid_parameter(
        "lookup_key", "Other requests are claiming that lookup key at this moment; retry."
    )


_HOLDER = sa.select(prices).where(
    prices.c.account_id == sa.bindparam("account_id"),
    prices.c.lookup_key == sa.bindparam("lookup_key"),
)


def _claim_lookup_key(
    conn: sa.Connection, ctx: CallContext, lookup_key: str, price_id: str, transfer: bool
) -> None:
    """Free ``lookup_key`` for ``price_id``: moved off its holder when ``transfer``, else
    refused. The move is conditional: a holder that lost the key to a concurrent transfer
    meanwhile is left alone, and no event claims it lost the key twice."""
    holder = conn.execute(_HOLDER, {"account_id": ctx.account_id, "lookup_key": lookup_key})
    row = holder.first()
    if row is None or row.id == price_id:
        return
    if not transfer:
        raise invalid_parameter(
            "lookup_key",
            f"A price (`{row.id}`) already uses that lookup key. Pass "
            "transfer_lookup_key=true to move it to this price.",
        )
    moved = conn.execute(
        prices.update()
        .where(prices.c.id == row.id, prices.c.lookup_key == lookup_key)
        .values(lookup_key=None)
    )
    if moved.rowcount != 1:
        return
    ctx.touch(row.id)
    after = render(SimpleNamespace(**{**row._asdict(), "lookup_key": None}))
    events.emit(conn, ctx, "price.updated", after, previous_attributes={"lookup_key": lookup_key})


def update(
    conn: sa.Connection,
    ctx: CallContext,
    price_id: str,
    params: dict[str, Any],
    include: Collection[str] = (),
) -> dict[str, Any]:
    """Change what may change; amounts never do (a new price replaces an old one)."""
    row = load(conn, ctx.account_id, price_id)
    ctx.touch(row.id)
    values: dict[str, Any] = {}
    if "active" in params:
        if not params["active"] and row.active:
            _check_not_default(conn, row)
        values["active"] = params["active"]
    if "nickname" in params:
        values["nickname"] = params["nickname"] or None
    if "metadata" in params:
        values["metadata"] = params["metadata"].apply(dict(row.metadata))
    if "tax_behavior" in params:
        values["tax_behavior"] = _tax_behavior(row.tax_behavior, params["tax_behavior"], "")
    if "currency_options" in params:
        values["currency_options"] = _added_options(ctx, row, params["currency_options"])
    if "lookup_key" in params:
        values["lookup_key"] = params["lookup_key"] or None
    merged = SimpleNamespace(**{**row._asdict(), **values})
    before, after = render(row), render(merged)
    changed = events.previous_attributes(before, after)
    if row.currency_options != merged.currency_options:
        # Includable, so absent from the event's object; its previous value is still a hash
        # diff: the old values of what changed, None for a currency added.
        options = [
            {"currency_options": render(p, INCLUDABLE)["currency_options"]} for p in (row, merged)
        ]
        changed |= events.previous_attributes(*options)
    if not changed:
        return render(row, include)
    claimed = values.get("lookup_key") if "lookup_key" in changed else None
    statement = prices.update().where(prices.c.id == row.id).values(**values)
    _write(conn, ctx, statement, row.id, claimed, params.get("transfer_lookup_key", False))
    events.emit(conn, ctx, "price.updated", after, previous_attributes=changed)
    return render(merged, include)


def _check_not_default(conn: sa.Connection, row: Any) -> None:
    product = products.load(conn, row.account_id, row.product)
    if product.default_price == row.id:
        raise invalid_parameter(
            "active",
            "This price cannot be archived because it is the default price of its product.",
        )


def _tax_behavior(current: str, wanted: str, param_prefix: str) -> str:
    if current in _LOCKED_TAX_BEHAVIORS and wanted != current:
        param = f"{param_prefix}[tax_behavior]" if param_prefix else "tax_behavior"
        raise invalid_parameter(
            param,
            f"The tax_behavior of a price cannot be changed once it is {current}; "
            "create a new price instead.",
        )
    return wanted


def _added_options(ctx: CallContext, row: Any, given: Mapping[str, Any] | None) -> dict[str, Any]:
    """Currency options after an update: new currencies are added; an existing one may only
    settle its ``tax_behavior``, because its amounts are as immutable as the price's."""
    if given is None:
        raise invalid_parameter(
            "currency_options",
            "Invalid currency_options: a price's currency options cannot be removed, since "
            "its amounts are immutable; archive it and create a new price instead.",
        )
    shared = prices_build.shared_of(row, pricing_models(ctx.pm))
    prices_build.check_options_allowed(shared, "")
    options = dict(row.currency_options)
    for currency, spec in given.items():
        param = f"currency_options[{currency}]"
        existing = options.get(currency)
        if existing is None or _amounts_sent(spec):
            checked = prices_build.checked_option(shared, row.currency, currency, spec, "")
            if existing is None:
                options[currency] = checked
                continue
            if _amounts(checked) != _amounts(existing):
                raise invalid_parameter(
                    param,
                    f"Invalid {param}: the amounts of an existing currency option cannot "
                    "change; create a new price instead.",
                )
        tax_behavior = existing["tax_behavior"]
        if "tax_behavior" in spec:
            tax_behavior = _tax_behavior(tax_behavior, spec["tax_behavior"], param)
        options[currency] = {**existing, "tax_behavior": tax_behavior}
    return options


def _amounts_sent(spec: Mapping[str, Any]) -> bool:
    keys = ("unit_amount", "unit_amount_decimal", "tiers", "custom_unit_amount")
    return any(key in spec for key in keys)


def _amounts(option: Mapping[str, Any]) -> tuple[Any, ...]:
    return (option["unit_amount_decimal"], option["tiers"], option["custom_unit_amount"])
