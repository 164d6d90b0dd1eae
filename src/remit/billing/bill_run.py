"""The bill run: every subscription of an account due by a moment, renewed in batches.

A month-end run renews thousands of subscriptions whose periods end together. It goes
through them in id order, ``batch_size`` at a time, each batch one transaction
(``renewal.renew``: one usage statement, one ``create_many``, one ``finalize_many``), then
finalizes the drafts still due by the run's moment (renewals of an earlier run whose hour
had not passed). Objects on a test clock live on their clock's time and are left to it.

Idempotent and resumable: a batch interrupted by a crash rolls back whole; a subscription
once renewed is no longer due; and each renewal invoice's cycle key is unique, so a rerun
creates nothing twice and picks up where the crashed run stopped.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from remit.accounts.service import Account
from remit.billing.invoices.tables import invoices
from remit.billing.subscriptions import renewal, status
from remit.billing.subscriptions.tables import subscriptions
from remit.context import CallContext
from remit.store.engine import Store

DEFAULT_BATCH = 500
MAX_BATCH = 5_000


@dataclass(frozen=True)
class BatchDone:
    """What one committed batch did (reported to ``on_batch``)."""

    number: int
    subscriptions: int
    renewed: int  # periods renewed or subscriptions ended
    finalized: int


@dataclass
class BillRun:
    """The run's totals, batch by batch."""

    at_ts: int
    batches: int = 0
    subscriptions: int = 0
    renewed: int = 0
    finalized: int = 0

    def add(self, subscriptions_n: int, renewed: int, finalized: int) -> BatchDone:
        self.batches += 1
        self.subscriptions += subscriptions_n
        self.renewed += renewed
        self.finalized += finalized
        return BatchDone(self.batches, subscriptions_n, renewed, finalized)


def run(
    store: Store,
    account: Account,
    at_ts: int,
    *,
    pm: Any = None,
    batch_size: int = DEFAULT_BATCH,
    on_batch: Callable[[BatchDone], None] | None = None,
) -> BillRun:
    """Renew every subscription of ``account`` (on no test clock) due by ``at_ts``, then
    finalize every draft due by then. ``pm`` provides plugin pricing models, meter
    formulas and the invoice status hooks."""
    assert 0 < batch_size <= MAX_BATCH, batch_size
    report = BillRun(at_ts)
    report_batch = on_batch or (lambda batch: None)
    after_id = ""
    while True:
        with store.write() as conn:
            ctx = CallContext(account=account, now=at_ts, pm=pm)
            ids = _due_subscriptions(conn, account.id, at_ts, after_id, batch_size)
            if not ids:
                break
            done = renewal.renew_counted(conn, ctx, ids, at_ts)
        after_id = ids[-1]
        report_batch(report.add(len(ids), done.renewed, done.finalized))
    while True:
        with store.write() as conn:
            ctx = CallContext(account=account, now=at_ts, pm=pm)
            draft_ids = _due_drafts(conn, account.id, at_ts, batch_size)
            finalized = renewal.finalize_due(conn, ctx, draft_ids, at_ts)
        if not finalized:
            break
        report_batch(report.add(0, 0, finalized))
    return report


def _due_subscriptions(
    conn: sa.Connection, account_id: str, at_ts: int, after_id: str, limit: int
) -> list[str]:
    """The next ``limit`` subscriptions (by id, after ``after_id``) with a renewal or a
    cancellation due by ``at_ts``."""
    s = subscriptions.c
    query = (
        sa.select(s.id)
        .where(s.account_id == account_id, s.test_clock.is_(None), s.id > after_id)
        .where(s.status.notin_([*status.TERMINAL, "incomplete"]))
        .where(sa.or_(s.current_period_end <= at_ts, s.cancel_at <= at_ts))
        .order_by(s.id)
        .limit(limit)
    )
    return list(conn.execute(query).scalars())


def _due_drafts(conn: sa.Connection, account_id: str, at_ts: int, limit: int) -> list[str]:
    i = invoices.c
    query = (
        sa.select(i.id)
        .where(i.account_id == account_id, i.test_clock.is_(None))
        .where(i.status == "draft", i.auto_advance.is_(True))
        .where(i.automatically_finalizes_at <= at_ts)
        .order_by(i.automatically_finalizes_at, i.id)
        .limit(limit)
    )
    return list(conn.execute(query).scalars())
