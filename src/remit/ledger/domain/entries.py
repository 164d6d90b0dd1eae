"""Journal entries as values: what a valid entry is, and how the chain hashes it.

Pure: no I/O, no clock. Validation returns findings (all of them, not the first),
so a caller can show every problem with an entry at once.
"""

from __future__ import annotations

import hashlib
import re
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from remit.primitives.currency import is_supported

Side = Literal["debit", "credit"]
SIDES: tuple[Side, ...] = ("debit", "credit")
MAX_LEGS = 100
MAX_AMOUNT = 2**63 - 1
MAX_KEY_CHARS = 120
GENESIS_HASH = "0" * 64
_UNSAFE = re.compile(r"[|\x00-\x1f\x7f]")
MAX_TIMESTAMP = 253402300799  # 9999-12-31T23:59:59Z, the API's own bound


@dataclass(frozen=True, slots=True)
class Leg:
    """One side of an entry: ``amount`` minor units of ``currency`` on account ``code``."""

    code: str
    side: Side
    amount: int
    currency: str


@dataclass(frozen=True, slots=True)
class Entry:
    """A balanced movement of money, and why it happened.

    ``rule`` names the posting rule (``invoice.finalized``, ``manual`` ...) and
    ``cause_id`` the object that caused it; together they are posted at most once.
    ``subject_id`` is what the money concerns when that differs from the cause
    (a charge, the cause, pays an invoice, the subject): receivables age by subject.
    """

    rule: str
    cause_id: str
    legs: tuple[Leg, ...]
    effective_at: int
    event_id: str | None = None
    description: str | None = None
    subject_id: str | None = None


@dataclass(frozen=True, slots=True)
class Finding:
    code: str
    message: str
    param: str | None = None


def check(entry: Entry) -> list[Finding]:
    """Every reason ``entry`` cannot be posted; empty when it is valid."""
    findings: list[Finding] = []
    if not entry.rule or len(entry.rule) > 80:
        findings.append(
            Finding("ledger_rule_invalid", "An entry names its rule (1-80 chars).", "rule")
        )
    if not entry.cause_id or len(entry.cause_id) > MAX_KEY_CHARS:
        findings.append(
            Finding("ledger_cause_invalid", "An entry names its cause (1-120 chars).", "cause_id")
        )
    if type(entry.effective_at) is not int or not 0 <= entry.effective_at <= MAX_TIMESTAMP:
        findings.append(
            Finding(
                "ledger_effective_at_invalid",
                f"effective_at is Unix seconds, not {entry.effective_at!r}.",
                "effective_at",
            )
        )
    for name in ("rule", "cause_id", "subject_id"):
        value = getattr(entry, name)
        if isinstance(value, str) and _UNSAFE.search(value):
            # The chain hashes "|"-joined fields: a separator inside one would let two
            # different entries hash alike.
            findings.append(
                Finding(
                    "ledger_key_invalid", f"{name} may not contain '|' or control characters.", name
                )
            )
    if not 2 <= len(entry.legs) <= MAX_LEGS:
        findings.append(
            Finding(
                "ledger_entry_legs",
                f"An entry has 2 to {MAX_LEGS} legs; this one has {len(entry.legs)}.",
                "legs",
            )
        )
    for index, leg in enumerate(entry.legs):
        findings.extend(_check_leg(leg, f"legs[{index}]"))
    if not findings:
        findings.extend(_check_balance(entry.legs))
    return findings


def _check_leg(leg: Leg, param: str) -> list[Finding]:
    found: list[Finding] = []
    if leg.side not in SIDES:
        found.append(
            Finding("ledger_leg_side", f"A leg is a debit or a credit, not {leg.side!r}.", param)
        )
    if type(leg.amount) is not int or not 0 < leg.amount <= MAX_AMOUNT:
        found.append(
            Finding(
                "ledger_leg_amount",
                f"A leg's amount is a positive integer of minor units, not {leg.amount!r}.",
                f"{param}[amount]",
            )
        )
    if not isinstance(leg.currency, str) or not is_supported(leg.currency):
        found.append(Finding("ledger_leg_currency", f"Unknown currency {leg.currency!r}.", param))
    if not leg.code or len(leg.code) > 80:
        found.append(Finding("ledger_leg_account", "A leg names a ledger account code.", param))
    return found


def _check_balance(legs: Sequence[Leg]) -> list[Finding]:
    net: dict[str, int] = defaultdict(int)
    for leg in legs:
        net[leg.currency.lower()] += leg.amount if leg.side == "debit" else -leg.amount
    return [
        Finding(
            "ledger_entry_unbalanced",
            f"Debits and credits in {currency} differ by {difference} minor units.",
            "legs",
        )
        for currency, difference in sorted(net.items())
        if difference != 0
    ]


def signed(leg: Leg) -> int:
    """Debits positive, credits negative: the sign convention of every balance here."""
    return leg.amount if leg.side == "debit" else -leg.amount


@dataclass(frozen=True, slots=True)
class Sealed:
    """What the hash chain commits to for one entry (legs name accounts by id)."""

    seq: int
    entry_id: str
    kind: str
    rule: str
    cause_id: str
    subject_id: str | None
    effective_at: int
    pending_id: str | None
    reverses: str | None
    legs: tuple[tuple[str, str, int, str], ...]  # (ledger account id, "D"/"C", amount, currency)


def chain_hash(prev_hash: str, sealed: Sealed) -> str:
    parts = [
        prev_hash,
        str(sealed.seq),
        sealed.entry_id,
        sealed.kind,
        sealed.rule,
        sealed.cause_id,
        sealed.subject_id or "",
        str(sealed.effective_at),
        sealed.pending_id or "",
        sealed.reverses or "",
        *(f"{a}:{s}:{amount}:{c}" for a, s, amount, c in sealed.legs),
    ]
    return hashlib.sha256("|".join(parts).encode()).hexdigest()
