"""Posting rules as data, and the pure interpreter that turns a payload into an entry.

A rule is a list of leg templates. Each names a side, an account code (which may
take fields of the payload, as ``tax_payable.{jurisdiction}``) and the payload path
of an integer amount; it may repeat over a list in the payload (``each``) and apply
only when a path is truthy (``when``; ``!path`` for falsy). A zero amount makes no
leg; a negative one swaps the leg's side (a debit of -5 is a credit of 5).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from remit.ledger.domain.entries import Entry, Finding, Leg, Side

MAX_ITEMS = 1000


@dataclass(frozen=True, slots=True)
class LegRule:
    side: Side
    account: str
    amount: str
    each: str | None = None
    when: str | None = None


@dataclass(frozen=True, slots=True)
class PostingRule:
    name: str
    legs: tuple[LegRule, ...]
    description: str = ""
    cause: str = "id"
    subject: str | None = None
    currency: str = "currency"
    effective_at: str = "effective_at"


class RuleError(ValueError):
    """The payload does not fit the rule; ``findings`` says where."""

    def __init__(self, findings: Sequence[Finding]) -> None:
        super().__init__("; ".join(f.message for f in findings))
        self.findings = tuple(findings)


_MISSING = object()


def lookup(payload: Mapping[str, Any], path: str) -> Any:
    node: Any = payload
    for part in path.split("."):
        if not isinstance(node, Mapping) or part not in node:
            return _MISSING
        node = node[part]
    return node


def apply(rule: PostingRule, payload: Mapping[str, Any]) -> Entry:
    """The entry ``rule`` makes of ``payload``; raises RuleError naming every misfit."""
    findings: list[Finding] = []
    header = {
        name: lookup(payload, path)
        for name, path in (
            ("cause", rule.cause), ("currency", rule.currency), ("effective_at", rule.effective_at),
        )
    }  # fmt: skip
    for name, value in header.items():
        if value is _MISSING or value is None:
            findings.append(Finding("ledger_rule_payload", f"{rule.name}: no {name} in payload."))
    subject = lookup(payload, rule.subject) if rule.subject else None
    legs: list[Leg] = []
    for index, template in enumerate(rule.legs):
        scopes = _scopes(payload, template, f"{rule.name}.legs[{index}]", findings)
        for scope in scopes:
            leg = _leg(template, scope, str(header["currency"]), rule.name, findings)
            if leg is not None:
                legs.append(leg)
    if findings:
        raise RuleError(findings)
    return Entry(
        rule=rule.name,
        cause_id=str(header["cause"]),
        legs=tuple(legs),
        effective_at=int(header["effective_at"]),
        description=rule.description or None,
        subject_id=None if subject in (None, _MISSING) else str(subject),
    )


def _scopes(
    payload: Mapping[str, Any], template: LegRule, where: str, findings: list[Finding]
) -> list[Mapping[str, Any]]:
    """The mappings a template reads from: the payload, or each item of a list in it."""
    if template.each is None:
        scopes: list[Mapping[str, Any]] = [payload]
    else:
        items = lookup(payload, template.each)
        if items is _MISSING:
            items = []
        if not isinstance(items, list) or len(items) > MAX_ITEMS:
            findings.append(Finding("ledger_rule_payload", f"{where}: {template.each} is no list."))
            return []
        scopes = [{**payload, **item} for item in items if isinstance(item, Mapping)]
    if template.when is None:
        return scopes
    negate = template.when.startswith("!")
    path = template.when.lstrip("!")
    return [s for s in scopes if _truthy(lookup(s, path)) != negate]


def _truthy(value: Any) -> bool:
    return value is not _MISSING and bool(value)


def _leg(
    template: LegRule, scope: Mapping[str, Any], currency: str, rule: str, findings: list[Finding]
) -> Leg | None:
    amount = lookup(scope, template.amount)
    if amount is _MISSING or amount is None:
        amount = 0
    if type(amount) is not int:
        findings.append(
            Finding("ledger_rule_payload", f"{rule}: {template.amount} is not an integer amount.")
        )
        return None
    if amount == 0:
        return None
    try:
        code = template.account.format_map(_Fields(scope))
    except KeyError as missing:
        findings.append(
            Finding("ledger_rule_payload", f"{rule}: no {missing} for {template.account}.")
        )
        return None
    side: Side = template.side
    if amount < 0:
        side = "credit" if side == "debit" else "debit"
    return Leg(code, side, abs(amount), currency)


class _Fields(dict[str, Any]):
    """format_map source: a missing field, or one that is no plain token, is refused."""

    def __init__(self, scope: Mapping[str, Any]) -> None:
        super().__init__()
        self.scope = scope

    def __missing__(self, key: str) -> str:
        value = lookup(self.scope, key)
        if value is _MISSING or value is None or not str(value).replace("-", "").isalnum():
            raise KeyError(key)
        return str(value).lower()
