"""The rating engine: (terms, quantity) -> an exact amount, its breakdown, and one rounding.

Pure: values in, values out. The steps are always the same, whatever the model:

1. check the terms and the quantity (every problem at once, as findings);
2. apply ``transform_quantity`` (divide, then round to a whole number) — for every model,
   tiered ones included, which Stripe forbids and we allow;
3. let the model break the rated quantity into components (tiers, cells, one per-unit line),
   each with an exact, unrounded subtotal in minor units;
4. sum the subtotals exactly and round ONCE, through ``to_minor_units`` and the account's
   :class:`RoundingMode`. Rounding per component would let a long invoice drift by a cent
   per line; rounding once keeps the amount within half a minor unit of the exact price.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from remit.catalog.domain.terms import (
    EXACT,
    Finding,
    PriceTerms,
    TransformQuantity,
    check_quantity,
    check_transform,
    transform,
)
from remit.primitives.currency import is_supported
from remit.primitives.errors import InvalidRequestError
from remit.primitives.money import MAX_AMOUNT_MINOR, RoundingMode, to_minor_units

if TYPE_CHECKING:
    from remit.catalog.domain.models import PricingModel

__all__ = [
    "RatedComponent",
    "Rating",
    "RatingError",
    "billable_usage",
    "check_terms",
    "decimal_text",
    "rate",
]

_NO_DIMENSIONS: Mapping[str, str] = MappingProxyType({})


@dataclass(frozen=True, slots=True)
class RatedComponent:
    """One tier, one matrix cell, or the single per-unit line of a rating."""

    label: str
    quantity: Decimal
    unit_amount: Decimal
    flat_amount: Decimal
    subtotal: Decimal  # exact, unrounded, minor units
    up_to: int | None = None

    def explain(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "quantity": decimal_text(self.quantity),
            "unit_amount": decimal_text(self.unit_amount),
            "flat_amount": decimal_text(self.flat_amount),
            "subtotal": decimal_text(self.subtotal),
            "up_to": self.up_to,
        }


@dataclass(frozen=True, slots=True)
class Rating:
    """How much a quantity costs under some terms, and how that amount was derived."""

    model: str
    currency: str
    quantity: Decimal  # as given
    rated_quantity: Decimal  # after transform_quantity
    components: tuple[RatedComponent, ...]
    exact_amount: Decimal  # sum of subtotals, minor units, unrounded
    amount_minor: int  # exact_amount rounded once with `rounding`
    rounding: RoundingMode
    tiers_mode: str | None = None
    transform_quantity: TransformQuantity | None = None
    dimensions: Mapping[str, str] = field(default_factory=lambda: _NO_DIMENSIONS)

    def explain(self) -> dict[str, Any]:
        """A JSON-able derivation tree (Decimals as plain strings) for invoice explains."""
        transform_quantity = None
        if self.transform_quantity is not None:
            transform_quantity = {
                "divide_by": self.transform_quantity.divide_by,
                "round": self.transform_quantity.round,
            }
        return {
            "model": self.model,
            "currency": self.currency,
            "tiers_mode": self.tiers_mode,
            "quantity": decimal_text(self.quantity),
            "transform_quantity": transform_quantity,
            "rated_quantity": decimal_text(self.rated_quantity),
            "dimensions": dict(sorted(self.dimensions.items())),
            "components": [component.explain() for component in self.components],
            "exact_amount": decimal_text(self.exact_amount),
            "rounding": self.rounding.value,
            "amount_minor": self.amount_minor,
        }


class RatingError(InvalidRequestError):
    """The terms or the quantity cannot be rated; ``findings`` lists every reason."""

    def __init__(self, findings: list[Finding]) -> None:
        assert findings, "a rating error names at least one finding"
        super().__init__(
            "; ".join(finding.message for finding in findings),
            code="parameter_invalid",
            param=findings[0].param,
        )
        self.findings = tuple(findings)


def check_terms(terms: PriceTerms, models: Mapping[str, PricingModel]) -> list[Finding]:
    """Every problem with ``terms`` under the registered ``models``; empty when rateable."""
    model = models.get(terms.billing_scheme)
    if model is None:
        known = ", ".join(sorted(models)) or "none"
        return [
            Finding(
                "billing_scheme",
                f"Invalid billing_scheme: {terms.billing_scheme!r} is not a registered pricing "
                f"model (registered: {known}).",
            )
        ]
    findings: list[Finding] = []
    if not is_supported(terms.currency):
        shown = str(terms.currency)[:16]
        findings.append(Finding("currency", f"Invalid currency: {shown!r} is not supported."))
    return findings + check_transform(terms.transform_quantity) + model.check(terms)


def rate(
    terms: PriceTerms,
    quantity: Decimal,
    rounding: RoundingMode,
    models: Mapping[str, PricingModel],
    dimensions: Mapping[str, str] | None = None,
) -> Rating:
    """Rate ``quantity`` under ``terms``; raises :class:`RatingError` naming every problem."""
    findings = check_terms(terms, models) + check_quantity(quantity)
    if findings:
        raise RatingError(findings)
    rounding = RoundingMode(rounding)
    dims = _NO_DIMENSIONS if dimensions is None else MappingProxyType(dict(dimensions))
    rated_quantity = transform(quantity, terms.transform_quantity)
    components = models[terms.billing_scheme].rate(terms, rated_quantity, dims)
    exact_amount = Decimal(0)
    for component in components:
        exact_amount = EXACT.add(exact_amount, component.subtotal)
    amount_minor = to_minor_units(exact_amount, rounding)
    if amount_minor > MAX_AMOUNT_MINOR:
        raise RatingError(
            [Finding("quantity", f"The rated amount exceeds {MAX_AMOUNT_MINOR} minor units.")]
        )
    return Rating(
        model=terms.billing_scheme,
        currency=terms.currency,
        quantity=quantity,
        rated_quantity=rated_quantity,
        components=tuple(components),
        exact_amount=exact_amount,
        amount_minor=amount_minor,
        rounding=rounding,
        tiers_mode=terms.tiers_mode,
        transform_quantity=terms.transform_quantity,
        dimensions=dims,
    )


def billable_usage(usage_total: Decimal) -> Decimal:
    """The quantity a metered period bills: its usage total, or 0 when that is negative.

    Stripe accepts negative meter events as corrections and, when a period's usage sums
    below zero, reports the invoice line's quantity as 0 (docs.stripe.com, "Configure
    meters"). Rating itself refuses negatives; callers holding a usage sum go through here.
    """
    return usage_total if usage_total > 0 else Decimal(0)


def decimal_text(value: Decimal) -> str:
    """Plain, canonical text of a Decimal: no exponent, no trailing fractional zeros."""
    if value.is_zero():
        return "0"
    return format(EXACT.normalize(value), "f")
