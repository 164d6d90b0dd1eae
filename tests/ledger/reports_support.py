"""Northwind, a small business, over three months: the ledger that the report tests read.

December: the owner puts in 1,000.00 and one invoice is booked (still unpaid in March).
January: a three-month subscription (300.00 deferred + 50.00 setup, 20% FR tax) paid at
once with a fee; a one-month service (120.00 deferred, US-CA tax) paid in February; a
small invoice never paid. February: an immediate invoice partly paid in March, a
three-month subscription from mid-February (240.00 deferred, US-NY tax) still unpaid,
a 90.00 three-month service booked on the 10th (and voided on March 12, after one
month was recognized), funds becoming available, a partial refund of the January subscription (20.00
recognized + 30.00 unearned + 10.00 tax). March: two more invoices (one on the 31st),
a payout, a tax remittance, and one invoice in euros. Revenue is recognized at each
month end. A payment authorization still pending, and a payment in April, stay out of
any report at 2026-03-31.

Every number the tests assert is worked out by hand from this list.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

import pyarrow as pa
import pyarrow.compute as pc
import sqlalchemy as sa

from remit.api.app import RemitApp
from remit.api.routing import Route
from remit.api.v1 import ledger_reports
from remit.context import CallContext
from remit.ledger import service
from remit.ledger.domain.entries import Entry, Leg
from remit.ledger.reports import (
    OBLIGATION_SCHEMA,
    RECOGNITION_SCHEMA,
    Report,
    ReportParams,
    Sources,
    run_report,
)
from remit.ledger.rules import BUILTIN_RULES, post_by_rule
from remit.plugins.hookspecs import hookimpl
from remit.plugins.manager import make_manager
from remit.primitives.clock import WallClock


def ts(year: int, month: int, day: int, hour: int = 12) -> int:
    return int(datetime(year, month, day, hour, tzinfo=UTC).timestamp())


def day_no(year: int, month: int, day: int) -> int:
    return ts(year, month, day, 0) // 86_400


D, C = "debit", "credit"
# (when, rule, cause, subject, legs as (code, side, amount), currency)
JOURNAL = [
    (ts(2025, 12, 1), "owner.contribution", "eq_1", None,
     [("bank", D, 100_000), ("owner_equity", C, 100_000)]),
    (ts(2025, 12, 20), "invoice.finalized", "in_dec_1", "in_dec_1",
     [("accounts_receivable", D, 3_600), ("revenue", C, 3_000), ("tax_payable.fr", C, 600)]),
    (ts(2026, 1, 5), "invoice.finalized", "in_jan_1", "in_jan_1",
     [("accounts_receivable", D, 42_000), ("deferred_revenue", C, 30_000),
      ("revenue", C, 5_000), ("tax_payable.fr", C, 7_000)]),
    (ts(2026, 1, 10), "invoice.finalized", "in_jan_2", "in_jan_2",
     [("accounts_receivable", D, 12_900), ("deferred_revenue", C, 12_000),
      ("tax_payable.us_ca", C, 900)]),
    (ts(2026, 1, 12), "payment.captured", "ch_1", "in_jan_1",
     [("processor_balance_pending", D, 42_000), ("accounts_receivable", C, 42_000)]),
    (ts(2026, 1, 12), "fee.charged", "fee_1", "ch_1",
     [("processing_fees", D, 1_248), ("processor_balance_pending", C, 1_248)]),
    (ts(2026, 1, 15), "invoice.finalized", "in_jan_3", "in_jan_3",
     [("accounts_receivable", D, 2_150), ("revenue", C, 2_000), ("tax_payable.us_ca", C, 150)]),
    (ts(2026, 1, 31, 23), "revenue.recognized", "rr_2026_01", None,
     [("deferred_revenue", D, 16_000), ("revenue", C, 16_000)]),
    (ts(2026, 2, 3), "invoice.finalized", "in_feb_1", "in_feb_1",
     [("accounts_receivable", D, 9_600), ("revenue", C, 8_000), ("tax_payable.fr", C, 1_600)]),
    (ts(2026, 2, 10), "invoice.finalized", "in_feb_3", "in_feb_3",
     [("accounts_receivable", D, 9_000), ("deferred_revenue", C, 9_000)]),
    (ts(2026, 2, 14), "payment.captured", "ch_2", "in_jan_2",
     [("processor_balance_pending", D, 12_900), ("accounts_receivable", C, 12_900)]),
    (ts(2026, 2, 14), "fee.charged", "fee_2", "ch_2",
     [("processing_fees", D, 404), ("processor_balance_pending", C, 404)]),
    (ts(2026, 2, 15), "invoice.finalized", "in_feb_2", "in_feb_2",
     [("accounts_receivable", D, 26_000), ("deferred_revenue", C, 24_000),
      ("tax_payable.us_ny", C, 2_000)]),
    (ts(2026, 2, 16), "balance.available", "bal_1", None,
     [("processor_balance_available", D, 40_752), ("processor_balance_pending", C, 40_752)]),
    (ts(2026, 2, 20), "refund.created", "re_1", "in_jan_1",
     [("contra_revenue", D, 2_000), ("deferred_revenue", D, 3_000), ("tax_payable.fr", D, 1_000),
      ("processor_balance_available", C, 6_000)]),
    (ts(2026, 2, 28, 23), "revenue.recognized", "rr_2026_02", None,
     [("deferred_revenue", D, 27_000), ("revenue", C, 27_000)]),
    (ts(2026, 3, 2), "invoice.finalized", "in_mar_1", "in_mar_1",
     [("accounts_receivable", D, 4_800), ("revenue", C, 4_000), ("tax_payable.fr", C, 800)]),
    (ts(2026, 3, 5), "balance.available", "bal_2", None,
     [("processor_balance_available", D, 12_496), ("processor_balance_pending", C, 12_496)]),
    (ts(2026, 3, 5), "payout.created", "po_1", None,
     [("cash_in_transit", D, 30_000), ("processor_balance_available", C, 30_000)]),
    (ts(2026, 3, 7), "payout.paid", "po_1", None,
     [("bank", D, 30_000), ("cash_in_transit", C, 30_000)]),
    (ts(2026, 3, 10), "payment.captured", "ch_3", "in_feb_1",
     [("processor_balance_pending", D, 5_000), ("accounts_receivable", C, 5_000)]),
    (ts(2026, 3, 12), "invoice.voided", "in_feb_3", "in_feb_3",
     [("deferred_revenue", D, 6_000), ("revenue", D, 3_000), ("accounts_receivable", C, 9_000)]),
    (ts(2026, 3, 15), "tax.remitted", "tax_fr_2025q4", None,
     [("tax_payable.fr", D, 5_000), ("bank", C, 5_000)]),
    (ts(2026, 3, 20), "invoice.finalized", "in_eur_1", "in_eur_1",
     [("accounts_receivable", D, 5_950), ("revenue", C, 5_000), ("tax_payable.de", C, 950)],
     "eur"),
    (ts(2026, 3, 31, 10), "invoice.finalized", "in_mar_2", "in_mar_2",
     [("accounts_receivable", D, 1_075), ("revenue", C, 1_000), ("tax_payable.us_ca", C, 75)]),
    (ts(2026, 3, 31, 23), "revenue.recognized", "rr_2026_03", None,
     [("deferred_revenue", D, 15_000), ("revenue", C, 15_000)]),
    (ts(2026, 4, 2), "payment.captured", "ch_4", "in_feb_2",
     [("processor_balance_pending", D, 26_000), ("accounts_receivable", C, 26_000)]),
]  # fmt: skip

# Revenue recognition's view: one obligation per invoice line, as booked (a line without
# a service period is revenue at booking), and what each recognized per day.
OBLIGATIONS = [  # (id, invoice, currency, amount, booked_at, deferred)
    ("ob_dec_1", "in_dec_1", "usd", 3_000, ts(2025, 12, 20), False),
    ("ob_jan_1", "in_jan_1", "usd", 30_000, ts(2026, 1, 5), True),
    ("ob_jan_1s", "in_jan_1", "usd", 5_000, ts(2026, 1, 5), False),
    ("ob_jan_2", "in_jan_2", "usd", 12_000, ts(2026, 1, 10), True),
    ("ob_jan_3", "in_jan_3", "usd", 2_000, ts(2026, 1, 15), False),
    ("ob_feb_1", "in_feb_1", "usd", 8_000, ts(2026, 2, 3), False),
    ("ob_feb_3", "in_feb_3", "usd", 9_000, ts(2026, 2, 10), True),
    ("ob_feb_2", "in_feb_2", "usd", 24_000, ts(2026, 2, 15), True),
    ("ob_mar_1", "in_mar_1", "usd", 4_000, ts(2026, 3, 2), False),
    ("ob_eur_1", "in_eur_1", "eur", 5_000, ts(2026, 3, 20), False),
    ("ob_mar_2", "in_mar_2", "usd", 1_000, ts(2026, 3, 31, 10), False),
]
RECOGNITIONS = [  # (obligation, day, amount, the journal entry's cause)
    ("ob_jan_1", day_no(2026, 1, 15), 5_000, "rr_2026_01"),
    ("ob_jan_1", day_no(2026, 1, 31), 5_000, "rr_2026_01"),
    ("ob_jan_2", day_no(2026, 1, 31), 6_000, "rr_2026_01"),
    ("ob_jan_1", day_no(2026, 2, 28), 10_000, "rr_2026_02"),
    ("ob_jan_2", day_no(2026, 2, 28), 6_000, "rr_2026_02"),
    ("ob_feb_3", day_no(2026, 2, 28), 3_000, "rr_2026_02"),
    ("ob_feb_2", day_no(2026, 2, 28), 8_000, "rr_2026_02"),
    ("ob_feb_3", day_no(2026, 3, 12), -3_000, "in_feb_3"),  # the void takes it back
    ("ob_jan_1", day_no(2026, 3, 31), 7_000, "rr_2026_03"),
    ("ob_feb_2", day_no(2026, 3, 31), 8_000, "rr_2026_03"),
]


@dataclass
class Business:
    account_id: str
    entry_ids: dict[str, str] = field(default_factory=dict)  # cause -> journal entry id

    def obligations(self) -> pa.Table:
        rows = [
            {"account_id": self.account_id, "id": id_, "source_id": f"il_{id_}",
             "invoice_id": invoice, "customer_id": "cus_northwind", "currency": currency,
             "amount": amount, "booked_at": booked, "period_start": None, "period_end": None,
             "status": "active" if deferred else "complete"}
            for id_, invoice, currency, amount, booked, deferred in OBLIGATIONS
        ]  # fmt: skip
        return pa.Table.from_pylist(rows, schema=OBLIGATION_SCHEMA)

    def recognitions(self) -> pa.Table:
        by_id = {ob[0]: ob for ob in OBLIGATIONS}
        at_booking = [
            (id_, booked // 86_400, amount, invoice)
            for id_, invoice, _, amount, booked, deferred in OBLIGATIONS
            if not deferred
        ]
        rows = [
            {"account_id": self.account_id, "obligation_id": ob, "booked_at": by_id[ob][4],
             "currency": by_id[ob][2], "day": day, "amount": amount,
             "entry_id": self.entry_ids[cause]}
            for ob, day, amount, cause in [*at_booking, *RECOGNITIONS]
        ]  # fmt: skip
        return pa.Table.from_pylist(rows, schema=RECOGNITION_SCHEMA)

    def sources(self) -> Sources:
        """Revenue recognition's records, bounded by the report date as the contract says."""

        def recognitions(conn: sa.Connection, account_id: str, until_ts: int) -> pa.Table:
            table = self.recognitions()
            return table.filter(pc.less(table["day"], until_ts // 86_400))

        def obligations(conn: sa.Connection, account_id: str, until_ts: int) -> pa.Table:
            table = self.obligations()
            return table.filter(pc.less(table["booked_at"], until_ts))

        return Sources(recognitions=recognitions, obligations=obligations)


def post_journal(store, account) -> Business:  # type: ignore[no-untyped-def]
    """Post Northwind's journal in business-time order, plus a pending hold."""
    business = Business(account.account.id)
    with store.write() as conn:
        for when, rule, cause, subject, legs, *currency in JOURNAL:
            code = currency[0] if currency else "usd"
            entry = Entry(rule, cause, tuple(Leg(c, s, a, code) for c, s, a in legs), when,
                          subject_id=subject)  # type: ignore[arg-type]  # fmt: skip
            ctx = CallContext(account=account.account, now=when)
            business.entry_ids[cause] = service.post(conn, ctx, entry).id
            if cause == "in_mar_1":
                # Authorized, never captured by the report date: moves no posted balance.
                hold = Entry("payment.authorized", "pi_1",
                             (Leg("processor_balance_pending", D, 7_000, "usd"),
                              Leg("accounts_receivable", C, 7_000, "usd")), when,
                             subject_id="in_feb_2")  # fmt: skip
                service.hold(conn, ctx, hold, expires_at=ts(2026, 6, 1))
    return business


def report(store, business: Business, name: str, params: ReportParams) -> Report:  # type: ignore[no-untyped-def]
    with store.read() as conn:
        return run_report(conn, business.account_id, name, params, business.sources())


def by(report: Report, *keys: str) -> dict[tuple[str | int, ...], dict[str, str | int]]:
    """Rows keyed by some columns, each as a column -> cell mapping."""
    names = report.column_names
    return {
        tuple(row[names.index(k)] for k in keys): dict(zip(names, row, strict=True))
        for row in report.rows
    }


def totals(report: Report) -> dict[str, dict[str, str | int]]:
    return {str(row[0]): dict(zip(report.column_names, row, strict=True)) for row in report.totals}


class _ReportRoutes:
    """Serves the report routes in tests until the built-in API plugin lists them."""

    @hookimpl
    def remit_api_routes(self) -> list[Route]:
        return list(ledger_reports.ROUTES)


def reports_app(store) -> RemitApp:  # type: ignore[no-untyped-def]
    pm = make_manager()
    served = {route.path for group in pm.hook.remit_api_routes() for route in group}
    if ledger_reports.LIST_PATH not in served:
        pm.register(_ReportRoutes())
    return RemitApp(store, pm, WallClock())


def book_with_revrec(store, account, revrec) -> None:  # type: ignore[no-untyped-def]
    """Through revenue recognition itself: a deferred and an immediate line booked in
    January (paid, then partly refunded), a February service voided after ten days."""
    rules = {rule.name: rule for rule in BUILTIN_RULES}

    def at(when: int) -> CallContext:
        return CallContext(account=account.account, now=when)

    january = revrec.Period(ts(2026, 1, 1, 0), ts(2026, 5, 1, 0))
    february = revrec.Period(ts(2026, 2, 10, 0), ts(2026, 3, 10, 0))
    with store.write() as conn:
        revrec.book_invoice(conn, at(ts(2026, 1, 5)), rules, revrec.InvoiceBooking(
            "in_a", "cus_a", "usd", ts(2026, 1, 5),
            (revrec.InvoiceLine("il_a1", 30_000, january), revrec.InvoiceLine("il_a2", 5_000)),
            amount_due=42_000, taxes=(revrec.TaxAmount("fr", 7_000),)))  # fmt: skip
        revrec.book_invoice(conn, at(ts(2026, 2, 10)), rules, revrec.InvoiceBooking(
            "in_b", "cus_b", "usd", ts(2026, 2, 10),
            (revrec.InvoiceLine("il_b1", 9_000, february),), amount_due=9_000))  # fmt: skip
        paid = {"id": "ch_a", "invoice": "in_a", "currency": "usd", "amount": 42_000,
                "effective_at": ts(2026, 1, 12)}  # fmt: skip
        for rule in ("payment.captured", "balance.available"):
            post_by_rule(conn, at(ts(2026, 1, 12)), rules, rule, paid)
        revrec.recognize_through(conn, at(ts(2026, 2, 19)), rules, day_no(2026, 2, 19))
        revrec.refund(conn, at(ts(2026, 2, 20)), rules, "in_a", "re_a", 6_000, ts(2026, 2, 20))
        revrec.void_invoice(conn, at(ts(2026, 2, 25)), rules, "in_b", ts(2026, 2, 25))
        revrec.recognize_through(conn, at(ts(2026, 3, 31)), rules, day_no(2026, 3, 31))
