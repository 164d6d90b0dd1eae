"""The default chart of accounts. Tenants may add accounts, rename, close or limit them.

Codes are stable identifiers; ``tax_payable.<jurisdiction>`` accounts open on first
use, one per jurisdiction, from the ``tax_payable`` template.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

AccountType = Literal["asset", "liability", "equity", "revenue", "expense"]
LimitRule = Literal["debits_must_not_exceed_credits", "credits_must_not_exceed_debits"]


@dataclass(frozen=True, slots=True)
class AccountSpec:
    code: str
    name: str
    type: AccountType
    normal_side: Literal["debit", "credit"]
    limit_rule: LimitRule | None = None


DEFAULT_CHART: tuple[AccountSpec, ...] = (
    AccountSpec("processor_balance_pending", "Processor balance (pending)", "asset", "debit"),
    # Money cannot leave the available balance before it arrived in it.
    AccountSpec(
        "processor_balance_available",
        "Processor balance (available)",
        "asset",
        "debit",
        "credits_must_not_exceed_debits",
    ),  # fmt: skip
    AccountSpec("cash_in_transit", "Cash in transit", "asset", "debit"),
    AccountSpec("bank", "Bank", "asset", "debit"),
    AccountSpec("accounts_receivable", "Accounts receivable", "asset", "debit"),
    AccountSpec("unbilled_receivable", "Unbilled receivable", "asset", "debit"),
    AccountSpec("deferred_revenue", "Deferred revenue", "liability", "credit"),
    AccountSpec("tax_payable", "Tax payable", "liability", "credit"),
    AccountSpec("customer_credit_balance", "Customer credit balance", "liability", "credit"),
    AccountSpec("revenue", "Revenue", "revenue", "credit"),
    AccountSpec("contra_revenue", "Contra revenue (refunds, credits)", "revenue", "debit"),
    AccountSpec("processing_fees", "Processing fees", "expense", "debit"),
    AccountSpec("dispute_losses", "Dispute losses", "expense", "debit"),
    AccountSpec("bad_debt", "Bad debt", "expense", "debit"),
    AccountSpec("owner_equity", "Owner equity", "equity", "credit"),
)
BY_CODE = {spec.code: spec for spec in DEFAULT_CHART}
JURISDICTION_TEMPLATES = frozenset({"tax_payable"})


def default_spec(code: str) -> AccountSpec | None:
    """The chart's spec for ``code``, including per-jurisdiction tax accounts."""
    if code in BY_CODE:
        return BY_CODE[code]
    base, dot, jurisdiction = code.partition(".")
    if dot and base in JURISDICTION_TEMPLATES and jurisdiction and len(jurisdiction) <= 40:
        template = BY_CODE[base]
        return AccountSpec(
            code, f"{template.name} ({jurisdiction.upper()})", template.type, template.normal_side
        )
    return None
