"""A new price's row from validated create params: every cross-field rule, then rating checks.

Param types and shapes are the API schema's job; this module checks what only the whole
request can tell (a metered price names a meter, a tiered price has tiers, a currency
option prices the same way as the price itself) and runs the pricing model's own checks,
so a price that is stored can always be rated. The first problem is raised with Stripe's
bracket path; nothing is written here.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from remit.catalog.domain.models import BUILTIN_MODELS, PricingModel
from remit.catalog.domain.rating import check_terms
from remit.catalog.domain.terms import Finding, PriceTerms, Tier, TransformQuantity
from remit.catalog.models import pricing_models
from remit.context import CallContext
from remit.metering import meters
from remit.primitives.errors import InvalidRequestError, invalid_parameter
from remit.primitives.ids import new_id, register_prefix

register_prefix("price")

BUILTIN_SCHEMES = frozenset(model.name for model in BUILTIN_MODELS)
# Stripe's longest billing interval is three years, in whichever unit it is counted.
MAX_INTERVAL_COUNT = {"day": 1095, "week": 156, "month": 36, "year": 3}
_TIER_POSITION = re.compile(r"tiers\[([0-9]+)\]")


def nest(prefix: str, param: str) -> str:
    """A param inside the hash ``prefix``: ``nest("a", "b[0]")`` is ``a[b][0]``."""
    if not prefix:
        return param
    head, bracket, rest = param.partition("[")
    return f"{prefix}[{head}]{bracket}{rest}"


def decimal_text(value: Decimal | None) -> str | None:
    return None if value is None else format(value, "f")


def build(
    conn: sa.Connection,
    ctx: CallContext,
    params: dict[str, Any],
    product_id: str,
    prefix: str = "",
) -> dict[str, Any]:
    """The row of a new price of ``product_id``; raises the first problem found."""
    models = pricing_models(ctx.pm)
    scheme = params.get("billing_scheme", "per_unit")
    model = models.get(scheme)
    if model is None:
        known = ", ".join(sorted(models))
        raise invalid_parameter(
            nest(prefix, "billing_scheme"),
            f"Invalid billing_scheme: must be one of {known}",
        )
    raw_config = params.get("pricing_config") or {}
    config = dict(model.parse_config(raw_config, nest(prefix, "pricing_config")))
    recurring = _recurring(conn, ctx, params.get("recurring"), prefix)
    transform = params.get("transform_quantity")
    shared = _Shared(
        scheme=scheme,
        tiers_mode=params.get("tiers_mode"),
        transform=None if transform is None else TransformQuantity(**transform),
        config=config,
        recurring=recurring is not None,
        custom="custom_unit_amount" in params,
        models=models,
    )
    own = option(shared, params["currency"], params, prefix)
    options = _currency_options(shared, params, prefix)
    return {
        "id": new_id("price"),
        "account_id": ctx.account_id,
        "created": ctx.now,
        "product": product_id,
        "active": params.get("active", True),
        "currency": params["currency"],
        "type": "one_time" if recurring is None else "recurring",
        "billing_scheme": scheme,
        "unit_amount_decimal": own["unit_amount_decimal"],
        "tiers_mode": shared.tiers_mode,
        "tiers": own["tiers"],
        "transform_quantity": transform,
        **_recurring_columns(recurring),
        "currency_options": options,
        "custom_unit_amount": own["custom_unit_amount"],
        "tax_behavior": own["tax_behavior"],
        "lookup_key": params.get("lookup_key"),
        "nickname": params.get("nickname") or None,
        "metadata": params["metadata"].apply({}) if "metadata" in params else {},
        "pricing_config": None if scheme in BUILTIN_SCHEMES else config,
    }


class _Shared:
    """What every currency of one price has in common."""

    def __init__(
        self,
        *,
        scheme: str,
        tiers_mode: str | None,
        transform: TransformQuantity | None,
        config: dict[str, Any],
        recurring: bool,
        custom: bool,
        models: Mapping[str, PricingModel],
    ) -> None:
        self.scheme = scheme
        self.tiers_mode = tiers_mode
        self.transform = transform
        self.config = config
        self.recurring = recurring
        # The customer names the amount (custom_unit_amount) in every currency, or in none.
        self.custom = custom
        self.models = models


def option(shared: _Shared, currency: str, given: Mapping[str, Any], prefix: str) -> dict[str, Any]:
    """One currency's amounts as stored, after the model's checks.

    ``given`` holds ``unit_amount(_decimal)``, ``tiers``, ``custom_unit_amount`` and
    ``tax_behavior`` as validated by the schema (the price's own, or one currency option).
    """
    unit = given.get("unit_amount_decimal")
    if "unit_amount" in given:
        unit = Decimal(given["unit_amount"])
    tiers = tuple(_tier(entry) for entry in given.get("tiers") or ())
    _check_same_kind(shared, given, prefix)
    custom = given.get("custom_unit_amount")
    if custom is not None:
        _check_custom(shared, custom, unit, tiers, prefix)
    else:
        terms = PriceTerms(
            currency=currency,
            billing_scheme=shared.scheme,
            unit_amount=unit,
            tiers_mode=shared.tiers_mode,
            tiers=tiers,
            transform_quantity=shared.transform,
            config=shared.config,
        )
        findings = check_terms(terms, shared.models)
        if findings:
            sent = getattr(given.get("tiers"), "source_keys", ())
            raise _as_error(findings[0], prefix, sent)
    return {
        "unit_amount_decimal": decimal_text(unit),
        "tiers": [_stored_tier(tier) for tier in tiers] if tiers else None,
        "custom_unit_amount": None if custom is None else _stored_custom(custom),
        "tax_behavior": given.get("tax_behavior", "unspecified"),
    }


def _as_error(finding: Finding, prefix: str, tier_keys: Sequence[str] = ()) -> InvalidRequestError:
    """Stripe answers one problem at a time: the first finding, at the path that was sent.

    The domain counts tiers by position; ``tier_keys`` are the indices the caller sent
    (``tiers[0]``, ``tiers[7]``), so the error names the tier as it was sent.
    """
    local = finding.param
    position = _TIER_POSITION.match(local)
    if position is not None and tier_keys:
        local = f"tiers[{tier_keys[int(position[1])]}]{local[position.end() :]}"
    param = nest(prefix, local)
    message = finding.message.replace(finding.param, param, 1)
    code = "parameter_missing" if message.startswith("Missing") else "parameter_invalid"
    return invalid_parameter(param, message, code)


def _tier(entry: Mapping[str, Any]) -> Tier:
    unit = entry.get("unit_amount_decimal")
    if "unit_amount" in entry:
        unit = Decimal(entry["unit_amount"])
    flat = entry.get("flat_amount_decimal")
    if "flat_amount" in entry:
        flat = Decimal(entry["flat_amount"])
    return Tier(up_to=entry["up_to"], unit_amount=unit, flat_amount=flat)


def _stored_tier(tier: Tier) -> dict[str, Any]:
    return {
        "up_to": tier.up_to,
        "unit_amount_decimal": decimal_text(tier.unit_amount),
        "flat_amount_decimal": decimal_text(tier.flat_amount),
    }


def _stored_custom(custom: Mapping[str, Any]) -> dict[str, Any]:
    return {key: custom.get(key) for key in ("maximum", "minimum", "preset")}


def _check_same_kind(shared: _Shared, given: Mapping[str, Any], prefix: str) -> None:
    """A currency option is priced as the price is: by a fixed amount, or by the customer.

    Otherwise a price would be rateable in some of its currencies and not in others.
    """
    if "custom_unit_amount" in given and not shared.custom:
        param = nest(prefix, "custom_unit_amount")
        raise invalid_parameter(
            param,
            f"Invalid {param}: the price has a fixed amount in its own currency, so each of "
            "its currency options has one too.",
        )
    if shared.custom and "custom_unit_amount" not in given:
        sent = [key for key in ("unit_amount", "unit_amount_decimal", "tiers") if key in given]
        if not sent:
            param = nest(prefix, "custom_unit_amount")
            raise InvalidRequestError(
                f"Missing required param: {param}. The customer names the amount of this "
                "price, in each of its currencies.",
                code="parameter_missing",
                param=param,
            )
        param = nest(prefix, sent[0])
        raise invalid_parameter(
            param,
            f"Invalid {param}: the customer names the amount of this price "
            "(custom_unit_amount), in each of its currencies.",
        )


def _check_custom(
    shared: _Shared,
    custom: Mapping[str, Any],
    unit: Decimal | None,
    tiers: tuple[Tier, ...],
    prefix: str,
) -> None:
    """A price whose customer names the amount (Checkout, Payment Links): one-time, per unit."""
    param = nest(prefix, "custom_unit_amount")
    if not custom["enabled"]:
        raise invalid_parameter(
            f"{param}[enabled]",
            f"Invalid {param}[enabled]: pass true to enable custom_unit_amount, otherwise "
            "omit custom_unit_amount.",
        )
    if unit is not None:
        raise InvalidRequestError(
            f"You may only specify one of these parameters: {nest(prefix, 'unit_amount')}, "
            f"{param}.",
            code="parameters_exclusive",
            param=param,
        )
    if shared.scheme != "per_unit" or tiers or shared.tiers_mode is not None:
        raise invalid_parameter(
            param, f"Invalid {param}: it is only available with billing_scheme=per_unit."
        )
    if shared.recurring:
        raise invalid_parameter(
            param, f"Invalid {param}: it is only available for one-time prices (no recurring)."
        )
    low, high, preset = (custom.get(key) for key in ("minimum", "maximum", "preset"))
    if low is not None and high is not None and low > high:
        raise invalid_parameter(
            f"{param}[minimum]", f"Invalid {param}[minimum]: it must not exceed the maximum."
        )
    if preset is not None and (
        (low is not None and preset < low) or (high is not None and preset > high)
    ):
        raise invalid_parameter(
            f"{param}[preset]",
            f"Invalid {param}[preset]: it must lie between the minimum and the maximum.",
        )


def _currency_options(shared: _Shared, params: Mapping[str, Any], prefix: str) -> dict[str, Any]:
    given: Mapping[str, Any] = params.get("currency_options") or {}
    if given:
        check_options_allowed(shared, prefix)
    return {
        currency: checked_option(shared, params["currency"], currency, spec, prefix)
        for currency, spec in given.items()
    }


def check_options_allowed(shared: _Shared, prefix: str) -> None:
    """Only the built-in models price other currencies: a plugin model's config holds
    amounts in the price's own currency, which no other currency may reuse."""
    if shared.scheme not in BUILTIN_SCHEMES:
        raise invalid_parameter(
            nest(prefix, "currency_options"),
            f"Invalid currency_options: a billing_scheme={shared.scheme} price is priced by its "
            "pricing_config in its own currency only.",
        )


def checked_option(
    shared: _Shared, own_currency: str, currency: str, spec: Mapping[str, Any], prefix: str
) -> dict[str, Any]:
    param = nest(prefix, f"currency_options[{currency}]")
    if currency == own_currency:
        raise invalid_parameter(
            param,
            f"Invalid {param}: {currency} is the price's own currency; currency_options "
            "lists the other currencies it is offered in.",
        )
    return option(shared, currency, spec, param)


def shared_of(price: Any, models: Mapping[str, PricingModel]) -> _Shared:
    """The shared terms of a stored price, to check currency options added later."""
    transform = price.transform_quantity
    return _Shared(
        scheme=price.billing_scheme,
        tiers_mode=price.tiers_mode,
        transform=None if transform is None else TransformQuantity(**transform),
        config=dict(price.pricing_config or {}),
        recurring=price.type == "recurring",
        custom=price.custom_unit_amount is not None,
        models=models,
    )


def _recurring(
    conn: sa.Connection, ctx: CallContext, spec: Mapping[str, Any] | None, prefix: str
) -> dict[str, Any] | None:
    if spec is None:
        return None
    interval, count = spec["interval"], spec.get("interval_count", 1)
    if count > MAX_INTERVAL_COUNT[interval]:
        param = nest(prefix, "recurring[interval_count]")
        raise invalid_parameter(
            param,
            f"Invalid {param}: the maximum billing interval is three years "
            "(3 years, 36 months, 156 weeks or 1095 days).",
        )
    usage_type = spec.get("usage_type", "licensed")
    meter = spec.get("meter")
    meter_param = nest(prefix, "recurring[meter]")
    if usage_type == "metered":
        if meter is None:
            raise InvalidRequestError(
                f"Missing required param: {meter_param}. A metered price must name the "
                "billing meter that tracks its usage.",
                code="parameter_missing",
                param=meter_param,
            )
        if meters.load(conn, ctx.account_id, meter, param=meter_param).status != "active":
            # As Stripe: a deactivated meter accepts no events, so it prices nothing.
            raise invalid_parameter(
                meter_param,
                f"Invalid {meter_param}: the billing meter `{meter}` is deactivated; "
                "reactivate it to attach it to a price.",
            )
    elif meter is not None:
        raise invalid_parameter(
            meter_param,
            f"Invalid {meter_param}: only a metered price (recurring[usage_type]=metered) "
            "has a meter.",
        )
    return {
        "interval": interval,
        "interval_count": count,
        "usage_type": usage_type,
        "meter": meter,
        "trial_period_days": spec.get("trial_period_days"),
    }


def _recurring_columns(recurring: Mapping[str, Any] | None) -> dict[str, Any]:
    keys = ("interval", "interval_count", "usage_type", "meter", "trial_period_days")
    return {f"recurring_{key}": None if recurring is None else recurring[key] for key in keys}
