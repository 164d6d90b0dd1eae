"""The scheduler as a built-in plugin: test clocks catch up when they advance, and a
background task keeps the objects on no test clock up to date with the wall clock.

The task does bounded work per call: at most ``ACCOUNTS_PER_ROUND`` accounts, each in its
own transaction of at most ``ROUNDS_PER_TRANSACTION`` scheduler rounds (so SQLite's single
write lock is never held long); the worker calls it again while it reports work done.
"""

from __future__ import annotations

from typing import Any

import pluggy
import sqlalchemy as sa

from remit.accounts.service import get_account
from remit.billing.invoices.tables import invoices
from remit.billing.subscriptions import overdue, scheduler
from remit.billing.subscriptions.tables import subscriptions
from remit.context import CallContext
from remit.plugins.hookspecs import hookimpl
from remit.primitives.clock import Clock
from remit.store.engine import Store

ACCOUNTS_PER_ROUND = 20
ROUNDS_PER_TRANSACTION = 4


@hookimpl
def remit_test_clock_advance(
    conn: sa.Connection, ctx: CallContext, clock_id: str, from_ts: int, to_ts: int
) -> None:
    scheduler.catch_up(conn, ctx, clock_id, to_ts, since_ts=from_ts)


def due_accounts(conn: sa.Connection, now_ts: int, limit: int) -> list[str]:
    """Accounts with subscriptions, drafts or overdue invoices on no test clock due by
    ``now_ts``."""
    s, i = subscriptions.c, invoices.c
    subs = sa.select(s.account_id).where(s.test_clock.is_(None), s.next_action_at <= now_ts)
    drafts = sa.select(i.account_id).where(
        i.status == "draft",
        i.auto_advance.is_(True),
        i.test_clock.is_(None),
        i.automatically_finalizes_at <= now_ts,
    )
    both = sa.union(subs, drafts, overdue.overdue_accounts(now_ts)).subquery()
    query = sa.select(both.c.account_id).order_by(both.c.account_id).limit(limit)
    return list(conn.execute(query).scalars())


def run_due(store: Store, clock: Clock, pm: pluggy.PluginManager | None) -> int:
    """One bounded round of the wall clock's scheduling; returns how much was done."""
    now_ts = clock.now()
    with store.read() as conn:
        accounts = due_accounts(conn, now_ts, ACCOUNTS_PER_ROUND)
    done = 0
    for account_id in accounts:
        with store.write() as conn:
            account = get_account(conn, account_id)
            if account is None:
                continue
            ctx = CallContext(account=account, now=now_ts, pm=pm)
            done += scheduler.catch_up(conn, ctx, None, now_ts, max_rounds=ROUNDS_PER_TRANSACTION)
    return done


@hookimpl
def remit_background_tasks(pm: pluggy.PluginManager) -> list[Any]:
    def scheduling(store: Store, clock: Clock) -> int:
        return run_due(store, clock, pm)

    return [scheduling]
