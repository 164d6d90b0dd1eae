"""A credit note's lines from its params: each invoice line credited (by amount or by
quantity, as Stripe allows) or a line of the note's own, with its money computed.

Every check runs before anything is written; a refused line is named by its index.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from remit.billing.credit_notes.domain import Credited, Figures, custom_credit, line_credit
from remit.billing.credit_notes.history import LineCredits
from remit.billing.domain.totals import TaxAmount
from remit.billing.taxes import tax_rates as tax_rate_service
from remit.catalog.domain.rating import decimal_text
from remit.catalog.domain.terms import EXACT
from remit.primitives.errors import ResourceMissing, invalid_parameter
from remit.primitives.money import RoundingMode, to_minor_units

INVOICE_LINE_ONLY = ("amount", "invoice_line_item")
CUSTOM_ONLY = ("description", "tax_rates", "unit_amount", "unit_amount_decimal")


@dataclass(frozen=True)
class PlannedLine:
    type: str  # invoice_line_item or custom_line_item
    invoice_line_item: str | None
    quantity: int | None  # set when crediting by quantity, and on custom lines
    unit_amount_decimal: str | None
    description: str | None
    tax_rates: tuple[str, ...]
    metadata: dict[str, str] | None
    credited: Credited


def figures(row: Any) -> Figures:
    """An invoice line's stored money as the credit arithmetic reads it."""
    return Figures(
        row.amount,
        tuple((entry["discount"], entry["amount"]) for entry in row.discount_amounts),
        tuple(
            TaxAmount(
                tax["tax_rate"],
                tax["amount"],
                tax["taxable_amount"],
                tax["inclusive"],
                tax["jurisdiction"],
            )
            for tax in row.taxes
        ),
    )


def planned_lines(
    conn: sa.Connection,
    account_id: str,
    specs: Sequence[Mapping[str, Any]],
    invoice_lines: Sequence[Any],
    history: dict[str, LineCredits],
    rounding: RoundingMode,
) -> list[PlannedLine]:
    """``history`` (invoice line -> its credits so far) grows with this note's own lines,
    so two lines of one note crediting the same invoice line take consecutive shares."""
    by_id = {row.id: row for row in invoice_lines}
    planned = []
    for index, spec in enumerate(specs):
        path = f"lines[{index}]"
        if spec["type"] == "invoice_line_item":
            _refuse_keys(spec, CUSTOM_ONLY, path, "invoice_line_item")
            planned.append(_invoice_line(spec, path, by_id, history, rounding))
        else:
            _refuse_keys(spec, INVOICE_LINE_ONLY, path, "custom_line_item")
            planned.append(_custom_line(conn, account_id, spec, path, rounding))
    return planned


def _refuse_keys(spec: Mapping[str, Any], keys: Sequence[str], path: str, kind: str) -> None:
    for key in keys:
        if key in spec:
            raise invalid_parameter(
                f"{path}[{key}]", f"{path}[{key}] cannot be given on a line of type `{kind}`."
            )


def _invoice_line(
    spec: Mapping[str, Any],
    path: str,
    by_id: Mapping[str, Any],
    history: dict[str, LineCredits],
    rounding: RoundingMode,
) -> PlannedLine:
    if "invoice_line_item" not in spec:
        raise invalid_parameter(
            f"{path}[invoice_line_item]",
            f"{path}[invoice_line_item] is required on a line of type `invoice_line_item`.",
        )
    line_id = spec["invoice_line_item"]
    row = by_id.get(line_id)
    if row is None:
        raise ResourceMissing("invoice line item", line_id, param=f"{path}[invoice_line_item]")
    if ("amount" in spec) == ("quantity" in spec):
        raise invalid_parameter(
            path, f"Give either {path}[amount] or {path}[quantity] to credit an invoice line."
        )
    if row.amount <= 0:
        raise invalid_parameter(
            f"{path}[invoice_line_item]",
            f"The invoice line {line_id} has an amount of {row.amount}: only a positive line "
            "can be credited.",
        )
    by_quantity = "quantity" in spec
    base = _base(row, by_quantity, path)
    entry = history.setdefault(line_id, LineCredits(by_quantity))
    if entry.by_quantity != by_quantity:
        used, other = ("quantity", "amount") if entry.by_quantity else ("amount", "quantity")
        raise invalid_parameter(
            f"{path}[{other}]",
            f"The invoice line {line_id} has been credited by {used}; later credits of it "
            f"must be by {used} too.",
        )
    wanted = spec["quantity"] if by_quantity else spec["amount"]
    if entry.credited + wanted > base:
        left = base - entry.credited
        measure = "quantity" if by_quantity else "amount"
        raise invalid_parameter(
            f"{path}[{measure}]",
            f"The invoice line {line_id} has {left} of its {measure} ({base}) left to credit; "
            f"{wanted} is more than that.",
        )
    credited = line_credit(figures(row), entry.credited, entry.credited + wanted, base, rounding)
    entry.credited += wanted
    return PlannedLine(
        type="invoice_line_item",
        invoice_line_item=line_id,
        quantity=wanted if by_quantity else None,
        unit_amount_decimal=row.unit_amount_decimal if by_quantity else None,
        description=row.description,
        tax_rates=tuple(tax.tax_rate for tax in credited.taxes),
        metadata=_metadata(spec),
        credited=credited,
    )


def _base(row: Any, by_quantity: bool, path: str) -> int:
    if not by_quantity:
        return int(row.amount)
    if row.quantity is None or row.quantity <= 0:
        raise invalid_parameter(
            f"{path}[quantity]",
            f"The invoice line {row.id} has no quantity to credit; credit an amount of it.",
        )
    return int(row.quantity)


def _custom_line(
    conn: sa.Connection,
    account_id: str,
    spec: Mapping[str, Any],
    path: str,
    rounding: RoundingMode,
) -> PlannedLine:
    if "unit_amount" in spec:
        unit = Decimal(spec["unit_amount"])
    elif "unit_amount_decimal" in spec:
        unit = spec["unit_amount_decimal"]
    else:
        raise invalid_parameter(
            f"{path}[unit_amount]",
            f"{path}[unit_amount] or {path}[unit_amount_decimal] is required on a line of "
            "type `custom_line_item`.",
        )
    quantity = spec.get("quantity", 1)
    amount = to_minor_units(EXACT.multiply(unit, Decimal(quantity)), rounding)
    rate_ids = tuple(spec.get("tax_rates") or ())
    param = f"{path}[tax_rates]"
    rates = tax_rate_service.terms(conn, account_id, rate_ids, param)
    if len(set(rate_ids)) != len(rate_ids):
        raise invalid_parameter(param, "A tax rate is given more than once.")
    if len({rate.inclusive for rate in rates}) > 1:
        raise invalid_parameter(
            param, "Inclusive and exclusive tax rates cannot be applied to the same amount."
        )
    return PlannedLine(
        type="custom_line_item",
        invoice_line_item=None,
        quantity=quantity,
        unit_amount_decimal=decimal_text(unit),
        description=spec.get("description") or None,
        tax_rates=rate_ids,
        metadata=_metadata(spec),
        credited=custom_credit(path, amount, rates, rounding),
    )


def _metadata(spec: Mapping[str, Any]) -> dict[str, str] | None:
    return spec["metadata"].apply({}) if "metadata" in spec else None
