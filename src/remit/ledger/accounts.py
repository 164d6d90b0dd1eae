"""Ledger accounts per tenant: opened from the chart on first use, editable afterwards."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

import sqlalchemy as sa

from remit.ledger.domain.chart import AccountSpec, LimitRule, default_spec
from remit.ledger.domain.entries import Finding
from remit.ledger.tables import ledger_accounts
from remit.primitives.ids import new_id, register_prefix

register_prefix("la")


@dataclass(slots=True)
class LedgerAccount:
    """A ledger account row, with its running totals as this transaction sees them."""

    id: str
    code: str
    currency: str
    normal_side: str
    limit_rule: str | None
    closed: bool
    debits_posted: int
    credits_posted: int
    debits_pending: int
    credits_pending: int

    def crosses_limit(self) -> bool:
        if self.limit_rule == "debits_must_not_exceed_credits":
            return self.debits_posted + self.debits_pending > self.credits_posted
        if self.limit_rule == "credits_must_not_exceed_debits":
            return self.credits_posted + self.credits_pending > self.debits_posted
        return False


def _from_row(row: Any) -> LedgerAccount:
    return LedgerAccount(
        row.id, row.code, row.currency, row.normal_side, row.limit_rule, row.closed,
        row.debits_posted, row.credits_posted, row.debits_pending, row.credits_pending,
    )  # fmt: skip


def resolve(
    conn: sa.Connection, account_id: str, wanted: Iterable[tuple[str, str]], now: int
) -> tuple[dict[tuple[str, str], LedgerAccount], list[Finding]]:
    """The ledger accounts for (code, currency) pairs, opening chart accounts on first use."""
    wanted = set(wanted)
    codes = sorted({code for code, _ in wanted})
    rows = conn.execute(
        sa.select(ledger_accounts).where(
            ledger_accounts.c.account_id == account_id, ledger_accounts.c.code.in_(codes)
        )
    )
    found = {(r.code, r.currency): _from_row(r) for r in rows}
    findings: list[Finding] = []
    for code, currency in sorted(wanted - found.keys()):
        spec = default_spec(code)
        if spec is None:
            findings.append(
                Finding("ledger_account_unknown", f"No ledger account {code!r} in {currency}.")
            )
            continue
        found[(code, currency)] = open_account(conn, account_id, spec, currency, now)
    for (code, currency), account in sorted(found.items()):
        if account.closed and (code, currency) in wanted:
            findings.append(
                Finding("ledger_account_closed", f"Ledger account {code!r} ({currency}) is closed.")
            )
    return found, findings


def open_account(
    conn: sa.Connection, account_id: str, spec: AccountSpec, currency: str, now: int
) -> LedgerAccount:
    account_row = {
        "id": new_id("la"),
        "account_id": account_id,
        "code": spec.code,
        "currency": currency,
        "name": spec.name,
        "type": spec.type,
        "normal_side": spec.normal_side,
        "limit_rule": spec.limit_rule,
        "closed": False,
        "debits_posted": 0,
        "credits_posted": 0,
        "debits_pending": 0,
        "credits_pending": 0,
        "created": now,
    }
    conn.execute(ledger_accounts.insert(), account_row)
    return _from_row(SimpleNamespace(**account_row))


def configure(
    conn: sa.Connection,
    account_id: str,
    code: str,
    currency: str,
    *,
    name: str | None = None,
    limit_rule: LimitRule | None | str = "unchanged",
    closed: bool | None = None,
) -> None:
    """Rename, limit or close one of the tenant's ledger accounts."""
    values: dict[str, Any] = {}
    if name is not None:
        values["name"] = name
    if limit_rule != "unchanged":
        values["limit_rule"] = limit_rule
    if closed is not None:
        values["closed"] = closed
    if values:
        conn.execute(
            ledger_accounts.update()
            .where(
                ledger_accounts.c.account_id == account_id,
                ledger_accounts.c.code == code,
                ledger_accounts.c.currency == currency,
            )
            .values(**values)
        )
