"""Pricing an invoice's lines: discounts, taxes and totals through the domain's ``compute``.

Every draft is priced when it is created and again on every change (items added or
removed, discounts, tax rates), so its stored totals are always what its lines say. Each
line's ``explain`` keeps its derivation and gains the discounts, taxes and rounding that
turned its amount into its net.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from remit.billing.discounts import discounts as discount_service
from remit.billing.domain.totals import (
    DiscountTerms,
    LineInput,
    LineTotals,
    TaxAmount,
    TaxTerms,
    Totals,
    compute,
)
from remit.billing.taxes import tax_rates as tax_rate_service
from remit.primitives.errors import invalid_parameter
from remit.primitives.money import RoundingMode

# The keys pricing writes into a line's explain; the rest is the line's own derivation.
DERIVED_KEYS = frozenset({"discounts", "taxes", "rounding", "net"})
TOTAL_COLUMNS = (
    "subtotal",
    "subtotal_excluding_tax",
    "total",
    "total_excluding_tax",
    "total_discount_amounts",
    "total_taxes",
)


@dataclass(frozen=True)
class LineSpec:
    """What pricing reads of a line, whether a draft's or a stored one."""

    key: str
    amount: int
    discountable: bool
    product: str | None
    tax_rates: tuple[str, ...]
    discounts: tuple[str, ...]
    explain: Mapping[str, Any]


@dataclass(frozen=True)
class Terms:
    """The tax rates and the discounts in force that a batch of invoices names."""

    rates: Mapping[str, TaxTerms]
    discounts: Mapping[str, DiscountTerms]


@dataclass(frozen=True)
class PricedLine:
    discount_amounts: list[dict[str, Any]]
    taxes: list[dict[str, Any]]
    explain: dict[str, Any]


@dataclass(frozen=True)
class Priced:
    lines: tuple[PricedLine, ...]
    columns: dict[str, Any]  # TOTAL_COLUMNS as stored


def load_terms(
    conn: sa.Connection,
    account_id: str,
    rate_ids: Iterable[str],
    discount_ids: Iterable[str],
    currency: str,
    at_ts: int,
) -> Terms:
    rates = tax_rate_service.terms(conn, account_id, sorted(set(rate_ids)), "tax_rates")
    in_force = discount_service.terms(conn, account_id, sorted(set(discount_ids)), currency, at_ts)
    return Terms({rate.id: rate for rate in rates}, {d.id: d for d in in_force})


def price(
    specs: Sequence[LineSpec],
    default_tax_rates: Sequence[str],
    invoice_discounts: Sequence[str],
    terms: Terms,
    rounding: RoundingMode,
) -> Priced:
    """Price lines under ``terms``; a line mixing inclusive and exclusive rates is refused."""
    on_invoice = [terms.discounts[d] for d in invoice_discounts if d in terms.discounts]
    invoice_ids = {d.id for d in on_invoice}
    inputs = []
    for spec in specs:
        rate_ids = spec.tax_rates or tuple(default_tax_rates)
        rates = tuple(terms.rates[rate] for rate in rate_ids)
        if len({rate.inclusive for rate in rates}) > 1:
            raise invalid_parameter(
                "tax_rates",
                "Inclusive and exclusive tax rates cannot be applied to the same line "
                f"({', '.join(rate_ids)}).",
            )
        own = tuple(
            terms.discounts[d]
            for d in spec.discounts
            if d in terms.discounts and d not in invoice_ids
        )
        inputs.append(LineInput(spec.key, spec.amount, spec.discountable, spec.product, rates, own))
    totals = compute(inputs, on_invoice, rounding)
    lines = tuple(
        _priced_line(spec, line, terms, rounding)
        for spec, line in zip(specs, totals.lines, strict=True)
    )
    return Priced(lines, _columns(totals))


def stored_taxes(taxes: Iterable[TaxAmount]) -> list[dict[str, Any]]:
    return [
        {
            "amount": tax.amount,
            "tax_rate": tax.tax_rate,
            "taxable_amount": tax.taxable_amount,
            "inclusive": tax.inclusive,
            "jurisdiction": tax.jurisdiction,
        }
        for tax in taxes
    ]


def _columns(totals: Totals) -> dict[str, Any]:
    return {
        "subtotal": totals.subtotal,
        "subtotal_excluding_tax": totals.subtotal_excluding_tax,
        "total": totals.total,
        "total_excluding_tax": totals.total_excluding_tax,
        "total_discount_amounts": [
            {"amount": amount, "discount": discount}
            for discount, amount in totals.total_discount_amounts
        ],
        "total_taxes": stored_taxes(totals.total_taxes),
    }


def _priced_line(
    spec: LineSpec, line: LineTotals, terms: Terms, rounding: RoundingMode
) -> PricedLine:
    derivation = {key: value for key, value in spec.explain.items() if key not in DERIVED_KEYS}
    discounts = [
        {**_discount_terms(terms.discounts[discount]), "amount": amount}
        for discount, amount in line.discount_amounts
    ]
    taxes = [{**_rate_terms(terms.rates[tax.tax_rate]), **_tax(tax)} for tax in line.taxes]
    explain = {
        **derivation,
        "discounts": discounts,
        "taxes": taxes,
        "rounding": RoundingMode(rounding).value,
        "net": line.net,
    }
    return PricedLine(
        [{"amount": amount, "discount": discount} for discount, amount in line.discount_amounts],
        stored_taxes(line.taxes),
        explain,
    )


def _discount_terms(terms: DiscountTerms) -> dict[str, Any]:
    return {
        "discount": terms.id,
        "coupon": terms.coupon,
        "percent_off": None if terms.percent_off is None else str(terms.percent_off),
        "amount_off": terms.amount_off,
        "products": None if terms.products is None else sorted(terms.products),
    }


def _rate_terms(terms: TaxTerms) -> dict[str, Any]:
    return {
        "tax_rate": terms.id,
        "display_name": terms.display_name,
        "percentage": str(terms.percentage),
    }


def _tax(tax: TaxAmount) -> dict[str, Any]:
    return {
        "inclusive": tax.inclusive,
        "jurisdiction": tax.jurisdiction,
        "taxable_amount": tax.taxable_amount,
        "amount": tax.amount,
    }
