"""The demo's second chapter: two months of the business's subscriptions, in the ledger.

Until billing lands, the invoices are booked straight into revenue recognition, the
way billing will: monthly service periods, VAT in two jurisdictions, card payments
with processing fees, funds settling, a payout, a partial refund, then recognition
through yesterday, half-way through the second month. The chapter ends with the
trial balance and the ledger's figures.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

import pluggy

from remit.context import CallContext
from remit.ledger.reports import ReportParams, major_units, run_report
from remit.ledger.revrec.domain import day_of
from remit.ledger.revrec.reductions import TaxAmount
from remit.ledger.revrec.service import (
    InvoiceBooking,
    InvoiceLine,
    Period,
    book_invoice,
    recognize_through,
    refund,
)
from remit.ledger.rules import post_by_rule, rules_from
from remit.ledger.tables import ledger_accounts
from remit.ledger.verify import verify
from remit.primitives.money import RoundingMode, to_minor_units
from remit.store.engine import Store

DAY_S = 86_400
MONTH_S = 30 * DAY_S
VAT = {"fr": Decimal("0.20"), "de": Decimal("0.19")}
CARD_FEE_RATE, CARD_FEE_FIXED = Decimal("0.029"), 30


@dataclass(frozen=True)
class Subscriber:
    customer_id: str
    price_minor: int
    jurisdiction: str


def _fee(amount: int) -> int:
    return to_minor_units(Decimal(amount) * CARD_FEE_RATE, RoundingMode.HALF_UP) + CARD_FEE_FIXED


def _bill(conn: Any, at: CallContext, rules: Any, who: Subscriber, invoice_id: str) -> int:
    """Book, collect and settle one monthly invoice; returns what reached the balance."""
    start = at.now
    tax = to_minor_units(Decimal(who.price_minor) * VAT[who.jurisdiction], RoundingMode.HALF_UP)
    due = who.price_minor + tax
    line = InvoiceLine(f"il_{invoice_id}", who.price_minor, Period(start, start + MONTH_S))
    booking = InvoiceBooking(
        invoice_id, who.customer_id, "usd", start, (line,), due,
        taxes=(TaxAmount(who.jurisdiction, tax),),
    )  # fmt: skip
    book_invoice(conn, at, rules, booking)
    charge = {"currency": "usd", "effective_at": start + 3600, "invoice": invoice_id}
    post_by_rule(
        conn, at, rules, "payment.captured", {**charge, "id": f"ch_{invoice_id}", "amount": due}
    )
    fee = _fee(due)
    fee_paid = {**charge, "id": f"fee_{invoice_id}", "amount": fee, "source": f"ch_{invoice_id}"}
    post_by_rule(conn, at, rules, "fee.charged", fee_paid)
    settled = {"id": f"bt_{invoice_id}", "currency": "usd", "effective_at": start + 2 * DAY_S}
    post_by_rule(conn, at, rules, "balance.available", {**settled, "amount": due - fee})
    return due - fee


def run_ledger_chapter(
    store: Store, ctx: CallContext, pm: pluggy.PluginManager, subscribers: list[Subscriber]
) -> dict[str, Any]:
    rules = rules_from(pm)
    today = day_of(ctx.now)
    first_month = (today - 45) * DAY_S  # the second month is still being served
    available = 0
    for month in range(2):
        start = first_month + month * MONTH_S
        at = CallContext(account=ctx.account, now=start)
        with store.write() as conn:
            for n, who in enumerate(subscribers):
                available += _bill(conn, at, rules, who, f"in_demo_{n:03d}_{month}")
            payout = {"id": f"po_demo_{month}", "currency": "usd", "amount": available,
                      "effective_at": start + 3 * DAY_S}  # fmt: skip
            post_by_rule(conn, at, rules, "payout.created", payout)
            post_by_rule(
                conn, at, rules, "payout.paid", {**payout, "effective_at": start + 5 * DAY_S}
            )
            available = 0
    refunded_at = first_month + MONTH_S + 15 * DAY_S
    with store.write() as conn:
        later = CallContext(account=ctx.account, now=refunded_at)
        settle = {
            "id": "bt_demo_topup",
            "currency": "usd",
            "effective_at": refunded_at,
            "amount": 5000,
        }
        post_by_rule(conn, later, rules, "balance.available", settle)
        refund(conn, later, rules, "in_demo_000_1", "re_demo_000", 2000, refunded_at)
    with store.write() as conn:
        recognize_through(conn, ctx, rules, today - 1)
    facts = _facts(
        store, ctx.account.id, date.fromordinal(date(1970, 1, 1).toordinal() + today - 1)
    )
    checked = verify(store, ctx.account.id)
    facts["ledger: verify (balances, chain, limits)"] = "clean" if checked.clean else "FINDINGS"
    return facts


def _facts(store: Store, account_id: str, through: date) -> dict[str, Any]:
    with store.read() as conn:
        trial = run_report(conn, account_id, "trial_balance", ReportParams(through))
        rows = conn.execute(
            ledger_accounts.select().where(ledger_accounts.c.account_id == account_id)
        ).all()
    net = {r.code: r.credits_posted - r.debits_posted for r in rows}
    totals = dict(zip([c.name for c in trial.columns], trial.totals[0], strict=True))
    return {
        "ledger: trial balance debits = credits": totals.get("debits") == totals.get("credits"),
        "ledger: revenue recognized (USD)": _major(net.get("revenue", 0)),
        "ledger: deferred revenue (USD)": _major(net.get("deferred_revenue", 0)),
        "ledger: contra revenue (USD)": _major(-net.get("contra_revenue", 0)),
        "ledger: VAT payable FR / DE (USD)": f"{_major(net.get('tax_payable.fr', 0))} / "
        f"{_major(net.get('tax_payable.de', 0))}",
        "ledger: paid out to the bank (USD)": _major(-net.get("bank", 0)),
    }


def _major(amount_minor: int) -> str:
    return major_units(amount_minor, "usd")
