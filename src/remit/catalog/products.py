"""Products: what a business sells; prices say how much, in ``remit.catalog.prices``."""

from __future__ import annotations

import re
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

import sqlalchemy as sa

from remit.catalog import prices
from remit.catalog.tables import prices as prices_table
from remit.catalog.tables import products
from remit.context import CallContext
from remit.events import service as events
from remit.events import types as event_types
from remit.primitives.errors import InvalidRequestError, ResourceMissing, invalid_parameter
from remit.primitives.ids import new_id, register_prefix

register_prefix("prod")
event_types.register("product.created", "product.updated", "product.deleted")

DIMENSIONS = ("height", "length", "weight", "width")
# Ids a caller chooses must fit our id columns and read unambiguously in a URL path.
CUSTOM_ID = re.compile(r"[A-Za-z0-9_.\-]{1,40}")
# Stripe's statement descriptor rules: these characters are refused by card networks.
DESCRIPTOR_FORBIDDEN = frozenset("<>\\\"'")


def render(row: Any) -> dict[str, Any]:
    return {
        "id": row.id,
        "object": "product",
        "active": row.active,
        "created": row.created,
        "default_price": row.default_price,
        "description": row.description,
        "images": list(row.images),
        "livemode": False,
        "marketing_features": [{"name": item["name"]} for item in row.marketing_features],
        "metadata": dict(row.metadata),
        "name": row.name,
        "package_dimensions": _dimensions(row.package_dimensions),
        "shippable": row.shippable,
        "statement_descriptor": row.statement_descriptor,
        "tax_code": row.tax_code,
        "type": row.type,
        "unit_label": row.unit_label,
        "updated": row.updated,
        "url": row.url,
    }


def _dimensions(stored: dict[str, str] | None) -> dict[str, int | float] | None:
    if stored is None:
        return None
    return {key: _number(stored[key]) for key in DIMENSIONS}


def _number(text: str) -> int | float:
    # Stripe's wire type for a dimension is a JSON number. Whole values go out as ints; a
    # fractional one (two places at most, inches or ounces, never money) needs a float to be
    # a JSON number at all, and a two-place decimal survives float -> shortest repr exactly.
    value = Decimal(text)
    return int(value) if value == value.to_integral_value() else float(value)


_BY_ID = sa.select(products).where(
    products.c.account_id == sa.bindparam("account_id"), products.c.id == sa.bindparam("id")
)


def load(conn: sa.Connection, account_id: str, product_id: str, param: str = "id") -> Any:
    """The account's live product; a deleted one is as missing as one that never existed."""
    row = conn.execute(_BY_ID, {"account_id": account_id, "id": product_id}).first()
    if row is None or row.deleted:
        raise ResourceMissing("product", product_id, param=param)
    return row


def retrieve(conn: sa.Connection, account_id: str, product_id: str) -> dict[str, Any]:
    return render(load(conn, account_id, product_id))


def claim_id(conn: sa.Connection, account_id: str, product_id: str | None, param: str) -> str:
    """The id a new product gets: the caller's choice if well formed and free, else a new one.

    A deleted product keeps its id, so an id always names the same product in old events.
    """
    if product_id is None:
        return new_id("prod")
    if not CUSTOM_ID.fullmatch(product_id):
        raise invalid_parameter(
            param,
            f"Invalid id: {product_id[:50]!r}. A product id is 1 to 40 letters, digits, "
            "'_', '-' or '.'.",
        )
    if conn.execute(_BY_ID, {"account_id": account_id, "id": product_id}).first() is not None:
        raise InvalidRequestError(
            "Product already exists.", code="resource_already_exists", param=param
        )
    return product_id


def _checked_descriptor(descriptor: str, param: str) -> str:
    if DESCRIPTOR_FORBIDDEN & set(descriptor):
        raise invalid_parameter(
            param,
            "The statement descriptor may not include any of the characters < > \\ \" '.",
        )
    if not any(char.isalpha() for char in descriptor):
        raise invalid_parameter(param, "The statement descriptor must contain at least one letter.")
    return descriptor


def column_values(params: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """Params that map one-to-one onto columns; ``""`` clears what Stripe lets one clear."""
    values: dict[str, Any] = {}
    for key in ("name", "active", "shippable", "type"):
        if key in params:
            values[key] = params[key]
    for key in ("description", "tax_code", "unit_label", "url"):
        if key in params:
            values[key] = params[key] or None
    for key in ("images", "marketing_features"):
        if key in params:
            values[key] = params[key] or []
    if "package_dimensions" in params:
        given = params["package_dimensions"]
        values["package_dimensions"] = (
            None if given is None else {key: format(given[key], "f") for key in DIMENSIONS}
        )
    if params.get("statement_descriptor"):
        param = f"{prefix}[statement_descriptor]" if prefix else "statement_descriptor"
        values["statement_descriptor"] = _checked_descriptor(params["statement_descriptor"], param)
    elif "statement_descriptor" in params:
        values["statement_descriptor"] = None
    return values


_INSERT = products.insert()


def create(
    conn: sa.Connection, ctx: CallContext, params: dict[str, Any], prefix: str = ""
) -> dict[str, Any]:
    """A new product, and its default price when ``default_price_data`` is given.

    ``prefix`` names the hash the params came in (``product_data`` when a price creates
    its product), so errors point at what the caller sent.
    """
    id_param = f"{prefix}[id]" if prefix else "id"
    product_id = claim_id(conn, ctx.account_id, params.get("id"), id_param)
    price_row = None
    if "default_price_data" in params:
        price_row = prices.build(
            conn, ctx, params["default_price_data"], product_id, prefix="default_price_data"
        )
    row = {
        "account_id": ctx.account_id,
        "id": product_id,
        "list_key": new_id("prod"),
        "created": ctx.now,
        "updated": ctx.now,
        "active": True,
        "description": None,
        "images": [],
        "marketing_features": [],
        "metadata": params["metadata"].apply({}) if "metadata" in params else {},
        "package_dimensions": None,
        "shippable": None,
        "statement_descriptor": None,
        "tax_code": None,
        "type": "service",
        "unit_label": None,
        "url": None,
        "default_price": None if price_row is None else price_row["id"],
        "deleted": False,
        **column_values(params, prefix),
    }
    try:
        conn.execute(_INSERT, row)
    except sa.exc.IntegrityError as exc:
        # A concurrent create took the chosen id between claim_id's check and this insert.
        raise InvalidRequestError(
            "Product already exists.", code="resource_already_exists", param=id_param
        ) from exc
    ctx.touch(product_id)
    obj = render(SimpleNamespace(**row))
    events.emit(conn, ctx, "product.created", obj)
    if price_row is not None:
        prices.insert(conn, ctx, price_row)
    return obj


def update(
    conn: sa.Connection, ctx: CallContext, product_id: str, params: dict[str, Any]
) -> dict[str, Any]:
    row = load(conn, ctx.account_id, product_id)
    ctx.touch(row.id)
    values = column_values(params)
    if "metadata" in params:
        values["metadata"] = params["metadata"].apply(dict(row.metadata))
    if "default_price" in params:
        values["default_price"] = _default_price(conn, ctx, row, params["default_price"])
    before = render(row)
    after = render(SimpleNamespace(**{**row._asdict(), **values}))
    changed = events.previous_attributes(before, after)
    if not changed:
        return before
    values["updated"] = after["updated"] = ctx.now
    changed["updated"] = before["updated"]
    conn.execute(
        products.update()
        .where(products.c.account_id == row.account_id, products.c.id == row.id)
        .values(**values)
    )
    events.emit(conn, ctx, "product.updated", after, previous_attributes=changed)
    return after


def _default_price(conn: sa.Connection, ctx: CallContext, row: Any, price_id: str | None) -> Any:
    if price_id is None:
        return None
    price = prices.load(conn, ctx.account_id, price_id, param="default_price")
    if price.product != row.id:
        raise invalid_parameter(
            "default_price",
            f"The price `{price_id}` belongs to another product; a product's default price "
            "must be one of its own prices.",
        )
    if not price.active:
        raise invalid_parameter(
            "default_price",
            f"The price `{price_id}` is archived (active=false); a default price must be active.",
        )
    return price_id


_HAS_PRICES = (
    sa.select(prices_table.c.id)
    .where(
        prices_table.c.account_id == sa.bindparam("account_id"),
        prices_table.c.product == sa.bindparam("product"),
    )
    .limit(1)
)


def delete(conn: sa.Connection, ctx: CallContext, product_id: str) -> dict[str, Any]:
    row = load(conn, ctx.account_id, product_id)
    ctx.touch(row.id)
    # As Stripe: prices are never deleted (invoices refer to them), so neither is their product.
    if conn.execute(_HAS_PRICES, {"account_id": ctx.account_id, "product": row.id}).first():
        raise InvalidRequestError(
            "This product cannot be deleted because it has one or more user-created prices."
        )
    conn.execute(
        products.update()
        .where(products.c.account_id == row.account_id, products.c.id == row.id)
        .values(deleted=True)
    )
    events.emit(conn, ctx, "product.deleted", render(row))
    return {"id": row.id, "object": "product", "deleted": True}
