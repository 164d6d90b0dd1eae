"""Dimensional (matrix) pricing: a unit price per combination of usage dimensions.

An optional plugin (entry point ``matrix_pricing``, loaded only when allowed), proving that
a pricing model Stripe does not have plugs into the catalog and the rating engine through
the ``remit_pricing_models`` hook alone. A price with ``billing_scheme=matrix`` carries::

    pricing_config[dimensions][0]=region          1 to 4 usage payload keys
    pricing_config[dimensions][1]=instance
    pricing_config[cells][0][match][region]=eu    one value per dimension
    pricing_config[cells][0][match][instance]=gpu
    pricing_config[cells][0][unit_amount_decimal]=12.5
    pricing_config[cells][0][flat_amount_decimal]=100   optional, charged when the cell rates
    pricing_config[default_unit_amount_decimal]=20      optional, for unmatched combinations

Rating takes the usage's dimension values, picks the cell whose ``match`` equals them (or
the default), and charges quantity x unit amount + flat amount, through the same
transform, exact sum and single rounding as every other model.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from remit.catalog.domain.models import PricingModel
from remit.catalog.domain.rating import RatedComponent, RatingError
from remit.catalog.domain.terms import EXACT, Finding, PriceTerms
from remit.plugins.hookspecs import hookimpl
from remit.primitives.errors import InvalidRequestError
from remit.primitives.money import parse_unit_amount_decimal

__all__ = ["MAX_CELLS", "MAX_DIMENSIONS", "MatrixModel", "remit_pricing_models"]

MAX_DIMENSIONS = 4
MAX_CELLS = 500
MAX_KEY_CHARS = 100
MAX_VALUE_CHARS = 200
_KEYS = frozenset({"dimensions", "cells", "default_unit_amount_decimal"})
_CELL_KEYS = frozenset({"match", "unit_amount_decimal", "flat_amount_decimal"})


class MatrixModel:
    name = "matrix"

    def parse_config(self, raw: Mapping[str, Any], param: str) -> Mapping[str, Any]:
        config, findings = _read(raw, param)
        if findings:
            raise InvalidRequestError(
                findings[0].message, code="parameter_invalid", param=findings[0].param
            )
        return config

    def check(self, terms: PriceTerms) -> list[Finding]:
        _, findings = _read(terms.config, "pricing_config")
        for name, value in (
            ("unit_amount", terms.unit_amount),
            ("tiers_mode", terms.tiers_mode),
            ("tiers", terms.tiers or None),
        ):
            if value is not None:
                findings.append(
                    Finding(name, f"Invalid {name}: a matrix price takes its amounts from cells.")
                )
        return findings

    def rate(
        self, terms: PriceTerms, quantity: Decimal, dimensions: Mapping[str, str]
    ) -> tuple[RatedComponent, ...]:
        config = terms.config
        names: list[str] = list(config["dimensions"])
        wanted = tuple(dimensions.get(name) for name in names)
        shown = ", ".join(
            f"{name}={value}" if value is not None else f"{name} missing"
            for name, value in zip(names, wanted, strict=True)
        )
        for cell in config["cells"]:
            if tuple(cell["match"][name] for name in names) == wanted:
                unit_amount = Decimal(cell["unit_amount_decimal"])
                flat = cell.get("flat_amount_decimal")
                flat_amount = Decimal(flat) if flat is not None else Decimal(0)
                return (_component(shown, quantity, unit_amount, flat_amount),)
        default = config.get("default_unit_amount_decimal")
        if default is None:
            raise RatingError(
                [
                    Finding(
                        "dimensions",
                        f"No matrix cell matches {shown} and the price has no "
                        "default_unit_amount_decimal for unmatched combinations.",
                    )
                ]
            )
        return (_component(f"default ({shown})", quantity, Decimal(default), Decimal(0)),)


@hookimpl
def remit_pricing_models() -> list[PricingModel]:
    return [MatrixModel()]


def _component(
    label: str, quantity: Decimal, unit_amount: Decimal, flat_amount: Decimal
) -> RatedComponent:
    subtotal = EXACT.add(EXACT.multiply(quantity, unit_amount), flat_amount)
    return RatedComponent(label, quantity, unit_amount, flat_amount, subtotal)


def _read(raw: object, param: str) -> tuple[dict[str, Any], list[Finding]]:
    """The canonical, JSON-able config of ``raw`` (a decoded form hash, JSON or stored
    config), and every problem found on the way."""
    findings: list[Finding] = []
    hash_ = _as_hash(raw)
    if hash_ is None:
        return {}, [Finding(param, f"Invalid {param}: it must be a hash.")]
    for key in sorted(hash_.keys() - _KEYS):
        findings.append(Finding(f"{param}[{key}]", f"Received unknown parameter: {param}[{key}]"))
    dimensions = _read_dimensions(hash_.get("dimensions"), f"{param}[dimensions]", findings)
    cells = _read_cells(hash_.get("cells"), f"{param}[cells]", dimensions, findings)
    default = _read_amount(
        hash_.get("default_unit_amount_decimal"),
        f"{param}[default_unit_amount_decimal]",
        findings,
    )
    config = {
        "dimensions": dimensions,
        "cells": cells,
        "default_unit_amount_decimal": default,
    }
    return config, findings


def _read_dimensions(raw: object, param: str, findings: list[Finding]) -> list[str]:
    entries = _as_list(raw)
    if entries is None or not 1 <= len(entries) <= MAX_DIMENSIONS:
        findings.append(
            Finding(param, f"Invalid {param}: a list of 1 to {MAX_DIMENSIONS} payload keys.")
        )
        return []
    dimensions: list[str] = []
    for index, name in entries:
        if not _is_text(name, MAX_KEY_CHARS):
            findings.append(
                Finding(
                    f"{param}[{index}]",
                    f"Invalid {param}[{index}]: a payload key of 1 to {MAX_KEY_CHARS} characters.",
                )
            )
        elif name in dimensions:
            findings.append(Finding(f"{param}[{index}]", f"Duplicate dimension: {name!r}."))
        else:
            dimensions.append(name)
    return dimensions


def _read_cells(
    raw: object, param: str, dimensions: list[str], findings: list[Finding]
) -> list[dict[str, Any]]:
    entries = _as_list(raw)
    if entries is None or not 1 <= len(entries) <= MAX_CELLS:
        findings.append(Finding(param, f"Invalid {param}: a list of 1 to {MAX_CELLS} cells."))
        return []
    cells: list[dict[str, Any]] = []
    seen: set[tuple[str, ...]] = set()
    for index, item in entries:
        path = f"{param}[{index}]"
        cell = _as_hash(item)
        if cell is None:
            findings.append(Finding(path, f"Invalid {path}: it must be a hash."))
            continue
        for key in sorted(cell.keys() - _CELL_KEYS):
            findings.append(Finding(f"{path}[{key}]", f"Received unknown parameter: {path}[{key}]"))
        match = _read_match(cell.get("match"), f"{path}[match]", dimensions, findings)
        if "unit_amount_decimal" not in cell or cell["unit_amount_decimal"] is None:
            findings.append(
                Finding(
                    f"{path}[unit_amount_decimal]",
                    f"Missing required param: {path}[unit_amount_decimal].",
                )
            )
        unit = _read_amount(
            cell.get("unit_amount_decimal"), f"{path}[unit_amount_decimal]", findings
        )
        flat = _read_amount(
            cell.get("flat_amount_decimal"), f"{path}[flat_amount_decimal]", findings
        )
        if match is not None:
            combination = tuple(match[name] for name in dimensions)
            if combination in seen:
                findings.append(Finding(f"{path}[match]", f"Duplicate cell for {match}."))
            seen.add(combination)
        cells.append({"match": match, "unit_amount_decimal": unit, "flat_amount_decimal": flat})
    return cells


def _read_match(
    raw: object, param: str, dimensions: list[str], findings: list[Finding]
) -> dict[str, str] | None:
    match = _as_hash(raw)
    if match is None:
        findings.append(Finding(param, f"Invalid {param}: a hash of dimension -> value."))
        return None
    if set(match) != set(dimensions):
        findings.append(
            Finding(param, f"Invalid {param}: it must give exactly the dimensions {dimensions}.")
        )
        return None
    for name, value in match.items():
        if not _is_text(value, MAX_VALUE_CHARS):
            findings.append(
                Finding(
                    f"{param}[{name}]",
                    f"Invalid {param}[{name}]: a value of 1 to {MAX_VALUE_CHARS} characters.",
                )
            )
            return None
    return {name: match[name] for name in dimensions}


def _read_amount(raw: object, param: str, findings: list[Finding]) -> str | None:
    if raw is None:
        return None
    if isinstance(raw, bool) or not isinstance(raw, str | int | Decimal):
        findings.append(Finding(param, f"Invalid {param}: it must be a decimal string."))
        return None
    try:
        return format(parse_unit_amount_decimal(raw, param), "f")
    except InvalidRequestError as error:
        findings.append(Finding(param, error.message))
        return None


def _as_hash(node: object) -> dict[str, Any] | None:
    # Form decoding reads all-digit keys as a list that remembers them (source_keys).
    source_keys = getattr(node, "source_keys", None)
    if isinstance(node, list) and source_keys is not None:
        return dict(zip(source_keys, node, strict=True))
    return dict(node) if isinstance(node, Mapping) else None


def _as_list(node: object) -> list[tuple[str, Any]] | None:
    if isinstance(node, list | tuple):
        keys = getattr(node, "source_keys", None) or [str(i) for i in range(len(node))]
        return list(zip(keys, node, strict=True))
    return None


def _is_text(value: object, limit: int) -> bool:
    return isinstance(value, str) and 0 < len(value) <= limit
