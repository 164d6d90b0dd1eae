"""Tier arithmetic (graduated and volume) and the checks a list of tiers must pass.

Boundaries, from Stripe: a tier covers "up to and including" its ``up_to``; the next tier
starts just above it; the last tier is ``inf``. Quantities may be fractional, so tier ``i``
covers the half-open range (``tiers[i-1].up_to``, ``tiers[i].up_to``], and the first tier
covers [0, ``up_to``]: quantity 0 falls in the first tier (Stripe's dashboard shows the
first tier's "First unit" as 0).

- graduated: each tier the quantity reaches charges the part of the quantity inside it
  times its unit amount, plus its flat amount. The first tier is always reached, so its
  flat amount is charged even at quantity 0 (a base fee); a later tier's flat amount is
  charged once the quantity exceeds the previous tier's ``up_to``.
- volume: the one tier containing the whole quantity prices all of it, plus its flat amount.
"""

from __future__ import annotations

from decimal import Decimal

from remit.catalog.domain.rating import RatedComponent
from remit.catalog.domain.terms import EXACT, MAX_TIERS, Finding, Tier, check_amount

__all__ = ["TIERS_MODES", "check_tiers", "graduated", "volume"]

TIERS_MODES = ("graduated", "volume")
_ZERO = Decimal(0)


def graduated(tiers: tuple[Tier, ...], quantity: Decimal) -> tuple[RatedComponent, ...]:
    """One component per tier the quantity reaches, in tier order."""
    components: list[RatedComponent] = []
    lower = _ZERO
    for index, tier in enumerate(tiers):
        if index > 0 and quantity <= lower:
            break
        upper = None if tier.up_to is None else Decimal(tier.up_to)
        top = quantity if upper is None else min(quantity, upper)
        inside = EXACT.subtract(top, lower)
        components.append(_component(index, tier, inside))
        if upper is None:
            break
        lower = upper
    return tuple(components)


def volume(tiers: tuple[Tier, ...], quantity: Decimal) -> tuple[RatedComponent, ...]:
    """The single component of the tier containing ``quantity``."""
    for index, tier in enumerate(tiers):
        if tier.up_to is None or quantity <= tier.up_to:
            return (_component(index, tier, quantity),)
    raise AssertionError("checked tiers end with an inf tier, which contains every quantity")


def check_tiers(tiers: tuple[Tier, ...]) -> list[Finding]:
    """Every problem with a tier list; an empty list is rateable."""
    if not tiers:
        return [Finding("tiers", "Missing required param: tiers.")]
    if len(tiers) > MAX_TIERS:
        return [Finding("tiers", f"Invalid tiers: at most {MAX_TIERS} tiers are allowed.")]
    findings: list[Finding] = []
    previous: int | None = None
    last = len(tiers) - 1
    for index, tier in enumerate(tiers):
        findings.extend(_check_up_to(index, tier.up_to, previous, is_last=index == last))
        if isinstance(tier.up_to, int) and not isinstance(tier.up_to, bool):
            previous = tier.up_to if previous is None else max(previous, tier.up_to)
        findings.extend(_check_tier_amounts(index, tier))
    return findings


def _component(index: int, tier: Tier, quantity: Decimal) -> RatedComponent:
    unit_amount = tier.unit_amount if tier.unit_amount is not None else _ZERO
    flat_amount = tier.flat_amount if tier.flat_amount is not None else _ZERO
    subtotal = EXACT.add(EXACT.multiply(quantity, unit_amount), flat_amount)
    return RatedComponent(
        label=f"tier {index + 1}",
        quantity=quantity,
        unit_amount=unit_amount,
        flat_amount=flat_amount,
        subtotal=subtotal,
        up_to=tier.up_to,
    )


def _check_up_to(
    index: int, up_to: object, previous: int | None, *, is_last: bool
) -> list[Finding]:
    param = f"tiers[{index}][up_to]"
    if up_to is None:
        if is_last:
            return []
        return [Finding(param, f"Invalid {param}: only the last tier may have up_to=inf.")]
    if is_last:
        # Without an inf tier some quantities would have no price; Stripe requires one too.
        return [Finding(param, f"Invalid {param}: the last tier must have up_to=inf.")]
    if isinstance(up_to, bool) or not isinstance(up_to, int):
        return [Finding(param, f"Invalid {param}: {up_to!r} is not a whole number or inf.")]
    if up_to < 1:
        return [Finding(param, f"Invalid {param}: {up_to}. It must be at least 1.")]
    if previous is not None and up_to <= previous:
        return [
            Finding(
                param,
                f"Invalid {param}: {up_to}. Tiers' up_to must be strictly increasing "
                f"(the previous tier goes up to {previous}).",
            )
        ]
    return []


def _check_tier_amounts(index: int, tier: Tier) -> list[Finding]:
    if tier.unit_amount is None and tier.flat_amount is None:
        return [
            Finding(
                f"tiers[{index}]",
                f"Invalid tiers[{index}]: an entry in the tiers array is missing an amount "
                "(set unit_amount, flat_amount, or both).",
            )
        ]
    findings: list[Finding] = []
    if tier.unit_amount is not None:
        findings.extend(check_amount(tier.unit_amount, f"tiers[{index}][unit_amount]"))
    if tier.flat_amount is not None:
        findings.extend(check_amount(tier.flat_amount, f"tiers[{index}][flat_amount]"))
    return findings
