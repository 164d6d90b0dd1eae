"""Tax rates: a percentage, inclusive or exclusive, that invoices and subscriptions apply.

A rate's percentage and inclusiveness never change once created (invoices refer to it);
an archived rate (``active=false``) keeps working where it is set but may not be newly
attached (:func:`check_attachable`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

import sqlalchemy as sa

from remit.billing.domain.totals import TaxTerms
from remit.billing.taxes import percentages
from remit.billing.taxes.tables import tax_rates
from remit.context import CallContext
from remit.events import service as events
from remit.events import types as event_types
from remit.primitives.errors import ResourceMissing, invalid_parameter
from remit.primitives.ids import new_id, register_prefix

register_prefix("txr")
event_types.register("tax_rate.created", "tax_rate.updated")

OBJECT_NAME = "tax_rate"
# Stripe's tax types; a manual rate may name any of them.
TAX_TYPES = (
    "admissions_tax", "amusement_tax", "attendance_tax", "communications_tax",
    "digital_excise_tax", "entertainment_tax", "get_fund", "gross_receipts_tax", "gst",
    "hospitality_tax", "hst", "igst", "jct", "lease_tax", "luxury_tax",
    "mass_transit_parking_tax", "nhil", "parking_tax", "pst", "qst", "resort_tax",
    "retail_delivery_fee", "rst", "sales_tax", "service_tax", "tourism_tax",
    "utility_users_tax", "vat",
)  # fmt: skip
_COUNTRY = re.compile(r"[A-Za-z]{2}")
# ISO 3166-2 subdivision codes, without the country prefix ("NY", "BY", "NSW").
_STATE = re.compile(r"[A-Za-z0-9]{1,3}")
# The columns an update may change (Stripe's list); percentage and inclusive are fixed.
UPDATABLE = ("active", "country", "description", "display_name", "jurisdiction", "state",
             "tax_type")  # fmt: skip


def render(row: Any) -> dict[str, Any]:
    return {
        "id": row.id,
        "object": "tax_rate",
        "active": row.active,
        "country": row.country,
        "created": row.created,
        "description": row.description,
        "display_name": row.display_name,
        # Stripe Tax sets these four on the rates it computes; a manual rate has none.
        "effective_percentage": None,
        "flat_amount": None,
        "inclusive": row.inclusive,
        "jurisdiction": row.jurisdiction,
        "jurisdiction_level": None,
        "livemode": False,
        "metadata": dict(row.metadata),
        "percentage": percentages.wire(row.percentage),
        "rate_type": None,
        "state": row.state,
        "tax_type": row.tax_type,
    }


_BY_ID = sa.select(tax_rates).where(
    tax_rates.c.account_id == sa.bindparam("account_id"), tax_rates.c.id == sa.bindparam("id")
)


def load(conn: sa.Connection, account_id: str, tax_rate_id: str, param: str = "id") -> Any:
    row = conn.execute(_BY_ID, {"account_id": account_id, "id": tax_rate_id}).first()
    if row is None:
        raise ResourceMissing(OBJECT_NAME, tax_rate_id, param=param)
    return row


def retrieve(conn: sa.Connection, account_id: str, tax_rate_id: str) -> dict[str, Any]:
    return render(load(conn, account_id, tax_rate_id))


def _column_values(params: dict[str, Any]) -> dict[str, Any]:
    """Params that map onto columns; ``""`` (parsed as None) clears an optional one."""
    values: dict[str, Any] = {}
    for key in UPDATABLE:
        if key in params:
            values[key] = params[key]
    if values.get("country") is not None:
        if not _COUNTRY.fullmatch(values["country"]):
            raise invalid_parameter("country", "Country must be a two-letter ISO 3166-1 code.")
        values["country"] = values["country"].upper()
    if values.get("state") is not None:
        if not _STATE.fullmatch(values["state"]):
            raise invalid_parameter(
                "state",
                "State must be an ISO 3166-2 subdivision code without the country prefix "
                "(1 to 3 letters or digits, such as NY).",
            )
        values["state"] = values["state"].upper()
    return values


def create(conn: sa.Connection, ctx: CallContext, params: dict[str, Any]) -> dict[str, Any]:
    row = {
        "id": new_id("txr"),
        "account_id": ctx.account_id,
        "created": ctx.now,
        "active": True,
        "country": None,
        "description": None,
        "inclusive": params["inclusive"],
        "jurisdiction": None,
        "percentage": percentages.stored(params["percentage"]),
        "state": None,
        "tax_type": None,
        "metadata": params["metadata"].apply({}) if "metadata" in params else {},
        **_column_values(params),
    }
    conn.execute(tax_rates.insert(), row)
    ctx.touch(row["id"])
    obj = render(SimpleNamespace(**row))
    events.emit(conn, ctx, "tax_rate.created", obj)
    return obj


def update(
    conn: sa.Connection, ctx: CallContext, tax_rate_id: str, params: dict[str, Any]
) -> dict[str, Any]:
    row = load(conn, ctx.account_id, tax_rate_id)
    ctx.touch(row.id)
    values = _column_values(params)
    if "metadata" in params:
        values["metadata"] = params["metadata"].apply(dict(row.metadata))
    before = render(row)
    after = render(SimpleNamespace(**{**row._asdict(), **values}))
    changed = events.previous_attributes(before, after)
    if not changed:
        return before
    conn.execute(
        tax_rates.update()
        .where(tax_rates.c.account_id == row.account_id, tax_rates.c.id == row.id)
        .values(**values)
    )
    events.emit(conn, ctx, "tax_rate.updated", after, previous_attributes=changed)
    return after


def _rows(conn: sa.Connection, account_id: str, ids: Sequence[str], param: str) -> list[Any]:
    """The rates in the order named; the first unknown id is missing at ``param``."""
    if not ids:
        return []
    query = sa.select(tax_rates).where(
        tax_rates.c.account_id == account_id, tax_rates.c.id.in_(set(ids))
    )
    found = {row.id: row for row in conn.execute(query)}
    for tax_rate_id in ids:
        if tax_rate_id not in found:
            raise ResourceMissing(OBJECT_NAME, tax_rate_id, param=param)
    return [found[tax_rate_id] for tax_rate_id in ids]


def _terms(row: Any) -> TaxTerms:
    return TaxTerms(
        id=row.id,
        percentage=Decimal(row.percentage),
        inclusive=row.inclusive,
        jurisdiction=row.jurisdiction,
        display_name=row.display_name,
    )


def terms(
    conn: sa.Connection, account_id: str, ids: Sequence[str], param: str
) -> tuple[TaxTerms, ...]:
    """What the billing arithmetic needs of each rate, archived ones included: a rate
    archived after it was set keeps applying where it is set, as Stripe's do."""
    return tuple(_terms(row) for row in _rows(conn, account_id, ids, param))


def check_attachable(
    conn: sa.Connection, account_id: str, ids: Sequence[str], param: str
) -> tuple[TaxTerms, ...]:
    """The terms of rates about to be set on a line, invoice or subscription.

    Refused at ``param``: an unknown or archived rate, one named twice, and a mix of
    inclusive and exclusive rates (one line's amount either contains its tax or not).
    """
    rows = _rows(conn, account_id, ids, param)
    seen: set[str] = set()
    for row in rows:
        if row.id in seen:
            raise invalid_parameter(param, f"The tax rate `{row.id}` is given more than once.")
        seen.add(row.id)
        if not row.active:
            raise invalid_parameter(
                param,
                f"The tax rate `{row.id}` is archived (active=false) and cannot be applied "
                "to new objects.",
            )
    if len({row.inclusive for row in rows}) > 1:
        raise invalid_parameter(
            param, "Inclusive and exclusive tax rates cannot be applied to the same amount."
        )
    return tuple(_terms(row) for row in rows)
