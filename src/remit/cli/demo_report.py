"""The demo's closing report: what the year invoiced, and what the ledger says of it.

Revenue is recognized through yesterday (the clock's year ended today), then the trial
balance and the ledger's figures are read and the whole ledger verified, including
billing's own check that receivables equal the open invoices.
"""

from __future__ import annotations

from collections import Counter
from datetime import date
from typing import Any

import pluggy
import stripe

from remit.cli.demo_billing import Year
from remit.cli.ledger_verify import hook_checks
from remit.context import CallContext
from remit.ledger.reports import ReportParams, major_units, run_report
from remit.ledger.revrec.domain import day_of
from remit.ledger.revrec.service import recognize_through
from remit.ledger.rules import rules_from
from remit.ledger.tables import ledger_accounts
from remit.ledger.verify import verify
from remit.store.engine import Store


def billing_facts(client: stripe.StripeClient, year: Year) -> dict[str, Any]:
    statuses: Counter[str] = Counter()
    billed = outstanding = 0
    for customer in year.customers:
        for invoice in client.v1.invoices.list(params={"customer": customer}).auto_paging_iter():
            statuses[str(invoice.status)] += 1
            if invoice.status in ("open", "paid"):
                billed += invoice.total
            if invoice.status == "open":
                outstanding += invoice.amount_remaining
    subscriptions = Counter(
        str(client.v1.subscriptions.retrieve(s).status) for s in year.subscriptions
    )
    return {
        **year.facts,
        "billing: usage events streamed over the year": year.events_sent,
        "billing: subscriptions by status": dict(sorted(subscriptions.items())),
        "billing: invoices by status": dict(sorted(statuses.items())),
        "billing: invoices paid out of band": year.paid,
        "billing: billed, tax included (USD)": major_units(billed, "usd"),
        "billing: still owed by the late payer (USD)": major_units(outstanding, "usd"),
    }


def ledger_facts(store: Store, ctx: CallContext, pm: pluggy.PluginManager) -> dict[str, Any]:
    today = day_of(ctx.now)
    with store.write() as conn:
        recognize_through(conn, ctx, rules_from(pm), today - 1)
    through = date.fromordinal(date(1970, 1, 1).toordinal() + today - 1)
    with store.read() as conn:
        trial = run_report(conn, ctx.account_id, "trial_balance", ReportParams(through))
        rows = conn.execute(
            ledger_accounts.select().where(ledger_accounts.c.account_id == ctx.account_id)
        ).all()
    net = {r.code: r.credits_posted - r.debits_posted for r in rows}
    totals = dict(zip([c.name for c in trial.columns], trial.totals[0], strict=True))
    checked = verify(store, ctx.account_id, extra_checks=hook_checks(pm))
    return {
        "ledger: trial balance debits = credits": totals.get("debits") == totals.get("credits"),
        "ledger: revenue recognized (USD)": _major(net.get("revenue", 0)),
        "ledger: deferred revenue (USD)": _major(net.get("deferred_revenue", 0)),
        "ledger: contra revenue (USD)": _major(-net.get("contra_revenue", 0)),
        "ledger: VAT payable FR / DE (USD)": f"{_major(net.get('tax_payable.fr', 0))} / "
        f"{_major(net.get('tax_payable.de', 0))}",
        "ledger: receivables (USD)": _major(-net.get("accounts_receivable", 0)),
        "ledger: customer credit held (USD)": _major(net.get("customer_credit_balance", 0)),
        "ledger: verify (balances, chain, limits, receivables = open invoices)": (
            "clean" if checked.clean else "FINDINGS"
        ),
    }


def _major(amount_minor: int) -> str:
    return major_units(amount_minor, "usd")
