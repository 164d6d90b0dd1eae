"""A persisted state-mode run with chosen breaks, for the repair plan tests.

A run row and its breaks are written straight into the state store's tables (the shape a
run persists), so each test states exactly which breaks a plan is proposed for.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import pluggy
import sqlalchemy as sa

from remit.accounts.service import NewAccount
from remit.context import CallContext
from remit.fde.reconcile.tables import reconciliation_breaks, reconciliation_runs
from remit.primitives.ids import new_id, register_prefix
from remit.store.engine import Store

register_prefix("recrun")
register_prefix("recbrk")

CUSTOMER_RULES = """\
name: crm-customers
version: 1
mode: state
object: customer
key: {platform: id, external: stripe_id}
external: {label: crm, table: customers}
fields:
  - {platform: email, external: email, authority: external}
  - {platform: metadata.tier, external: tier, authority: external}
  - {platform: phone, external: phone}
  - {platform: address.city, external: city, authority: external}
  - {platform: currency, external: currency, transform: lower, kind: currency}
"""

INVOICE_RULES = """\
name: crm-invoices
version: 1
mode: state
object: invoice
key: {platform: id, external: stripe_id}
external: {label: crm, table: invoices}
fields:
  - {platform: amount_due, external: amount, transform: decimal, currency_column: currency,
     kind: amount, authority: external}
  - {platform: total, external: total, transform: decimal, currency_column: currency,
     kind: amount}
"""

SUBSCRIPTION_RULES = """\
name: crm-subscriptions
version: 1
mode: state
object: subscription
key: {platform: id, external: stripe_id}
external: {label: crm, table: subscriptions}
fields:
  - {platform: metadata.plan_code, external: plan_code, authority: external}
  - {platform: description, external: note, authority: external}
"""


def context(account: NewAccount, pm: pluggy.PluginManager, now: int) -> CallContext:
    return CallContext(account=account.account, now=now, pm=pm)


def brk(
    kind: str,
    object_id: str | None,
    field: str | None = None,
    platform: str | None = None,
    external: str | None = None,
    *,
    amounts: tuple[int | None, int | None] = (None, None),
    key: str | None = None,
) -> dict[str, Any]:
    """A break as a state-mode run persists it (ids on both sides but for missing ones)."""
    left = [object_id] if object_id and kind != "missing_in_platform" else []
    right = [] if kind == "missing_in_external" else [key or object_id]
    return {
        "type": kind, "object_id": None if kind == "missing_in_platform" else object_id,
        "field": field, "platform_value": platform, "external_value": external,
        "left_ids": left, "right_ids": right, "left_amount": amounts[0],
        "right_amount": amounts[1], "left_line": 1 if left else None,
        "right_line": 1 if right else None, "currency": "usd",
        "break_key": f"{kind}|{','.join(left)}|{','.join(right)}|{field or ''}",
        "detail": f"{kind} on {object_id or key} {field or ''}".strip() + ".",
    }  # fmt: skip


def persist_run(
    store: Store,
    account: NewAccount,
    rules_text: str,
    breaks: Iterable[dict[str, Any]],
    *,
    now: int,
    mode: str = "state",
    status: str = "succeeded",
) -> str:
    run_id = new_id("recrun")
    side = {"source": "test", "kind": "test", "label": "x", "rows": 0, "rejected": 0,
            "fingerprint": "0" * 64}  # fmt: skip
    with store.write() as conn:
        conn.execute(
            reconciliation_runs.insert(),
            {"id": run_id, "account_id": account.account.id, "mode": mode, "status": status,
             "rules_name": "test", "rules_version": 1, "rules_digest": "0" * 64,
             "rules_text": rules_text, "left_source": side, "right_source": side,
             "cutoff_ts": None, "summary": {}, "results_digest": "0" * 64, "failure": None,
             "created": now},
        )  # fmt: skip
        rows = [
            {"id": new_id("recbrk"), "account_id": account.account.id, "run_id": run_id, **b}
            for b in breaks
        ]
        if rows:
            conn.execute(reconciliation_breaks.insert(), rows)
    return run_id


def break_ids(store: Store, run_id: str) -> dict[str, str]:
    """break_key -> the break's recbrk id."""
    with store.read() as conn:
        rows = conn.execute(
            sa.select(reconciliation_breaks.c.break_key, reconciliation_breaks.c.id).where(
                reconciliation_breaks.c.run_id == run_id
            )
        )
        return {row.break_key: row.id for row in rows}


def snapshot(store: Store, *tables: sa.Table) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of the tables, in a stable order: what a dry run must leave alone."""
    with store.read() as conn:
        return {
            table.name: sorted(
                (tuple(str(v) for v in row) for row in conn.execute(sa.select(table))),
            )
            for table in tables
        }
