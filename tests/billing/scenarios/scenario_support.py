"""Helpers for the acceptance scenarios: the official Stripe SDK pointed at the running
server, test clocks advanced through the SDK and caught up by a worker, arithmetic done by
hand (exact fractions, rounded half up like the account's default policy), and the books
verified after every story, billing's receivables check included.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from fractions import Fraction
from typing import Any

import sqlalchemy as sa
import stripe

from remit.accounts.service import NewAccount, create_account
from remit.billing.invoices.tables import invoices
from remit.cli.ledger_verify import hook_checks
from remit.jobs.worker import Worker, background_tasks
from remit.ledger.tables import ledger_accounts
from remit.ledger.verify import Discrepancy, verify
from remit.plugins.manager import job_handlers
from remit.primitives.clock import WallClock

HOUR_S = 3_600
DAY_S = 86_400
RECEIVABLE = "accounts_receivable"


def ts(year: int, month: int, day: int = 1, hour: int = 0, minute: int = 0, second: int = 0) -> int:
    return int(datetime(year, month, day, hour, minute, second, tzinfo=UTC).timestamp())


def fresh_account(store: Any) -> NewAccount:
    """A new tenant (a property test's examples each keep their own books)."""
    with store.write() as conn:
        return create_account(conn, "Scenario", WallClock().now())


def sdk(server: Any, account: Any) -> stripe.StripeClient:
    return stripe.StripeClient(
        account.secret_key, base_addresses={"api": server.url}, max_network_retries=0
    )


def half_up(exact: Fraction) -> int:
    """Round to a whole minor unit, ties away from zero (the accounts' default policy)."""
    sign = -1 if exact < 0 else 1
    return sign * int(abs(exact) + Fraction(1, 2))


def prorated(full_minor: int, seconds: int, period_s: int) -> int:
    """A whole period's amount times ``seconds / period_s``, rounded once."""
    return half_up(Fraction(full_minor * seconds, period_s))


def advance(client: stripe.StripeClient, store: Any, pm: Any, clock: str, to_ts: int) -> None:
    """Advance the clock in one call and let a worker run the advance job; it must end ready."""
    advancing = client.v1.test_helpers.test_clocks.advance(clock, params={"frozen_time": to_ts})
    assert advancing.status == "advancing"
    Worker(store, job_handlers(pm), WallClock(), tasks=background_tasks(pm)).drain()
    ready = client.v1.test_helpers.test_clocks.retrieve(clock)
    assert (ready.status, ready.frozen_time) == ("ready", to_ts)


def invoices_of(client: stripe.StripeClient, **params: Any) -> list[Any]:
    """Invoices matching ``params`` (a customer or subscription), oldest first."""
    found = client.v1.invoices.list(params={"limit": 100, **params})
    assert not found.has_more
    return sorted(found.data, key=lambda invoice: (invoice.created, invoice.id))


def events_of(client: stripe.StripeClient, event_type: str) -> list[Any]:
    found = client.v1.events.list(params={"type": event_type, "limit": 100})
    assert not found.has_more
    return sorted(found.data, key=lambda event: (event.created, event.id))


def pay_out_of_band(client: stripe.StripeClient, invoice_id: str) -> Any:
    paid = client.v1.invoices.pay(invoice_id, params={"paid_out_of_band": True})
    assert paid.status == "paid"
    return paid


def receivable(store: Any, account_id: str, currency: str = "usd") -> int:
    """What the ledger's accounts receivable holds (debits less credits)."""
    a = ledger_accounts.c
    with store.read() as conn:
        row = conn.execute(
            sa.select(a.debits_posted, a.credits_posted).where(
                a.account_id == account_id, a.code == RECEIVABLE, a.currency == currency
            )
        ).first()
    return 0 if row is None else int(row.debits_posted - row.credits_posted)


def books_findings(store: Any, pm: Any, account_id: str) -> list[Discrepancy]:
    """``remit ledger verify`` for one tenant with the checks plugins add, billing's
    receivables check (AR = open invoices) among them, proven to have run."""
    impls = {impl.plugin_name for impl in pm.hook.remit_ledger_verify.get_hookimpls()}
    assert "remit.billing.plugin" in impls, impls
    ran: list[str] = []

    def recorded(conn: sa.Connection, tenant: str) -> list[Any]:
        ran.append(tenant)
        return [found for check in hook_checks(pm) for found in check(conn, tenant)]

    report = verify(store, account_id, extra_checks=[recorded])
    assert ran == [account_id]
    return [*report.findings]


def assert_books_clean(store: Any, pm: Any, account_id: str, open_amount: int) -> None:
    """The ledger verifies clean, and its receivables are exactly ``open_amount``, the sum
    the story computed by hand of what its open invoices still ask for."""
    with store.read() as conn:
        finalized = conn.execute(
            sa.select(sa.func.count())
            .select_from(invoices)
            .where(invoices.c.account_id == account_id, invoices.c.status != "draft")
        ).scalar_one()
    assert finalized > 0, "the receivables check has nothing to look at"
    assert verify(store, account_id).entries > 0, "a story that moved money posted nothing"
    assert books_findings(store, pm, account_id) == []
    assert receivable(store, account_id) == open_amount


def line_amounts(invoice: Any) -> list[int]:
    return [line.amount for line in invoice.lines.data]


def by_key(entries: Iterable[Mapping[str, Any]], key: str) -> dict[str, Any]:
    return {str(entry[key]): entry for entry in entries}
