"""Pricing models: the contract plugins implement, and the two built-ins Stripe defines.

A price names its model in ``billing_scheme``. ``per_unit`` and ``tiered`` are registered
through the ``remit_pricing_models`` hook like any plugin's model, so a plugin model (the
matrix model in ``remit.contrib.matrix_pricing``) is rated by exactly the same engine:
:func:`remit.catalog.domain.rating.rate` checks, transforms, calls ``model.rate`` for the
components, sums and rounds once.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from types import MappingProxyType
from typing import Any, Protocol, runtime_checkable

from remit.catalog.domain.rating import RatedComponent
from remit.catalog.domain.terms import EXACT, Finding, PriceTerms, check_amount
from remit.catalog.domain.tiers import TIERS_MODES, check_tiers, graduated, volume
from remit.primitives.errors import invalid_parameter

__all__ = ["BUILTIN_MODELS", "PerUnitModel", "PricingModel", "TieredModel"]

_EMPTY: Mapping[str, Any] = MappingProxyType({})


@runtime_checkable
class PricingModel(Protocol):
    """What a pricing model provides. Implementations are stateless and pure."""

    name: str

    def parse_config(self, raw: Mapping[str, Any], param: str) -> Mapping[str, Any]:
        """The decoded request hash -> the model's JSON-able config.

        Raises ``InvalidRequestError`` with ``param`` (a bracket path under ``param``) on bad
        input. Built-in models take no config and reject a non-empty one.
        """
        ...

    def check(self, terms: PriceTerms) -> list[Finding]:
        """Every problem with ``terms`` for this model (``transform_quantity`` excepted)."""
        ...

    def rate(
        self, terms: PriceTerms, quantity: Decimal, dimensions: Mapping[str, str]
    ) -> tuple[RatedComponent, ...]:
        """The components of ``quantity`` (already transformed) under checked ``terms``."""
        ...


class PerUnitModel:
    """Stripe's ``per_unit``: quantity times ``unit_amount``."""

    name = "per_unit"

    def parse_config(self, raw: Mapping[str, Any], param: str) -> Mapping[str, Any]:
        return _no_config(self.name, raw, param)

    def check(self, terms: PriceTerms) -> list[Finding]:
        findings = _config_findings(terms)
        if terms.unit_amount is None:
            findings.append(
                Finding(
                    "unit_amount",
                    "Missing required param: unit_amount. A per_unit price needs unit_amount "
                    "or unit_amount_decimal.",
                )
            )
        else:
            findings.extend(check_amount(terms.unit_amount, "unit_amount"))
        if terms.tiers:
            findings.append(
                Finding("tiers", "Invalid tiers: only a billing_scheme=tiered price has tiers.")
            )
        if terms.tiers_mode is not None:
            findings.append(
                Finding(
                    "tiers_mode",
                    "Invalid tiers_mode: tiers_mode is only allowed with billing_scheme=tiered.",
                )
            )
        return findings

    def rate(
        self, terms: PriceTerms, quantity: Decimal, dimensions: Mapping[str, str]
    ) -> tuple[RatedComponent, ...]:
        assert terms.unit_amount is not None, "checked terms carry a unit_amount"
        subtotal = EXACT.multiply(quantity, terms.unit_amount)
        return (
            RatedComponent(
                label="per unit",
                quantity=quantity,
                unit_amount=terms.unit_amount,
                flat_amount=Decimal(0),
                subtotal=subtotal,
            ),
        )


class TieredModel:
    """Stripe's ``tiered``, with ``tiers_mode`` graduated or volume (see ``tiers``)."""

    name = "tiered"

    def parse_config(self, raw: Mapping[str, Any], param: str) -> Mapping[str, Any]:
        return _no_config(self.name, raw, param)

    def check(self, terms: PriceTerms) -> list[Finding]:
        findings = _config_findings(terms)
        if terms.tiers_mode is None:
            findings.append(
                Finding(
                    "tiers_mode",
                    "Missing required param: tiers_mode. A tiered price needs tiers_mode "
                    "graduated or volume.",
                )
            )
        elif terms.tiers_mode not in TIERS_MODES:
            findings.append(
                Finding(
                    "tiers_mode",
                    f"Invalid tiers_mode: {terms.tiers_mode!r}. It must be one of "
                    f"{', '.join(TIERS_MODES)}.",
                )
            )
        if terms.unit_amount is not None:
            findings.append(
                Finding(
                    "unit_amount",
                    "Invalid unit_amount: a tiered price takes its amounts from tiers.",
                )
            )
        findings.extend(check_tiers(terms.tiers))
        return findings

    def rate(
        self, terms: PriceTerms, quantity: Decimal, dimensions: Mapping[str, str]
    ) -> tuple[RatedComponent, ...]:
        if terms.tiers_mode == "volume":
            return volume(terms.tiers, quantity)
        assert terms.tiers_mode == "graduated", terms.tiers_mode
        return graduated(terms.tiers, quantity)


def _no_config(name: str, raw: Mapping[str, Any], param: str) -> Mapping[str, Any]:
    if raw:
        raise invalid_parameter(
            param, f"Invalid {param}: billing_scheme={name} takes no pricing configuration."
        )
    return _EMPTY


def _config_findings(terms: PriceTerms) -> list[Finding]:
    if terms.config:
        return [
            Finding(
                "pricing_config",
                f"Invalid pricing_config: billing_scheme={terms.billing_scheme} takes no "
                "pricing configuration.",
            )
        ]
    return []


BUILTIN_MODELS: tuple[PricingModel, ...] = (PerUnitModel(), TieredModel())
