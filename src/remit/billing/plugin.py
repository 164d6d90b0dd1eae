"""Billing as a built-in plugin: the test clock advance job and expandable objects."""

from __future__ import annotations

import logging
from typing import Any

import pluggy
import sqlalchemy as sa

from remit.accounts.service import get_account
from remit.billing import customers, test_clocks
from remit.billing.credit_notes import reads as credit_note_reads
from remit.billing.discounts import coupons, discounts, promotion_codes
from remit.billing.invoices import items as invoice_items
from remit.billing.invoices import ledger_check, reads
from remit.billing.taxes import tax_rates
from remit.context import CallContext
from remit.jobs.queue import Job, bury, complete, hold
from remit.plugins.hookspecs import hookimpl
from remit.primitives.clock import Clock
from remit.store.engine import Store

log = logging.getLogger("remit.billing")


def _clock(conn: sa.Connection, account_id: str, clock_id: str) -> dict[str, Any]:
    return test_clocks.render(test_clocks.load(conn, account_id, clock_id))


@hookimpl
def remit_object_loaders() -> dict[str, Any]:
    # Coupon ids may be caller-chosen ("SUMMER25"), so the fields holding them load by name.
    return {
        "cus": customers.retrieve,
        "clock": _clock,
        "promo": promotion_codes.retrieve,
        "di": discounts.retrieve,
        "discount.source.coupon": coupons.expanded,
        "txr": tax_rates.retrieve,
        "promotion_code.promotion.coupon": coupons.expanded,
        "in": reads.retrieve,
        "ii": invoice_items.retrieve,
        "cn": credit_note_reads.retrieve,
        "credit_note.customer_balance_transaction": credit_note_reads.balance_transaction,
    }


@hookimpl
def remit_ledger_verify(conn: sa.Connection, account_id: str) -> list[Any]:
    """Receivables in the ledger equal what open invoices still ask for."""
    return list(ledger_check.receivables(conn, account_id))


def _context(
    conn: sa.Connection, job: Job, clock: Clock, pm: pluggy.PluginManager
) -> CallContext | None:
    account = get_account(conn, job.account_id)
    return None if account is None else CallContext(account=account, now=clock.now(), pm=pm)


@hookimpl
def remit_job_handlers(pm: pluggy.PluginManager) -> dict[str, Any]:
    def advance(store: Store, job: Job, clock: Clock) -> None:
        """Let every capability catch up to the clock's new time, then mark it ready.

        All catch-up work and the status change commit together, so a crash
        mid-advance leaves the clock ``advancing`` and the job re-runs it whole.
        A hook that raises rolls all of it back and the clock ends ``internal_failure``.
        """
        clock_id = job.payload["clock"]
        try:
            with store.write() as conn:
                if not hold(conn, job):
                    return  # our lease lapsed; whoever holds the job now runs the advance
                ctx = _context(conn, job, clock, pm)
                if ctx is not None:
                    pm.hook.remit_test_clock_advance(
                        conn=conn,
                        ctx=ctx,
                        clock_id=clock_id,
                        from_ts=job.payload["from"],
                        to_ts=job.payload["to"],
                    )
                    test_clocks.finish_advance(conn, ctx, clock_id)
                complete(conn, job, clock.now())
        except Exception as exc:
            log.exception("test clock %s failed to advance", clock_id)
            with store.write() as conn:
                if not hold(conn, job):
                    return
                ctx = _context(conn, job, clock, pm)
                if ctx is not None:
                    test_clocks.fail_advance(conn, ctx, clock_id)
                bury(conn, job, clock.now(), repr(exc))

    return {test_clocks.ADVANCE_JOB: advance}
