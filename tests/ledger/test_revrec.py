"""Revenue recognition, told as a business's months: Stripe's documented examples,
discounts, tax, refunds, credit notes and voids, read back from the ledger's accounts."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
import sqlalchemy as sa
import typer
from ledger_support import balances
from typer.testing import CliRunner

from remit.accounts.service import create_account
from remit.cli.ledger_recognize import recognize
from remit.context import CallContext
from remit.ledger.domain.chart import default_spec
from remit.ledger.errors import LedgerRejected
from remit.ledger.revrec import recognition, service
from remit.ledger.revrec.domain import SECONDS_PER_DAY, parse_day
from remit.ledger.revrec.service import InvoiceBooking, InvoiceLine, Period, TaxAmount
from remit.ledger.revrec.tables import revrec_obligations, revrec_recognitions
from remit.ledger.rules import post_by_rule, rules_from
from remit.ledger.tables import journal_entries
from remit.primitives.errors import InvalidRequestError
from remit.store import migrate
from remit.store.engine import Store, make_engine


def at(day: str, hour: int = 0) -> int:
    return parse_day(day) * SECONDS_PER_DAY + hour * 3600


@pytest.fixture
def acme(store, account, pm):
    return Business(store, account, rules_from(pm))


class Business:
    """One tenant, its clock, and the few things a billing system tells the ledger."""

    def __init__(self, store, account, rules):
        self.store, self.account, self.rules = store, account, rules

    def ctx(self, now: int) -> CallContext:
        return CallContext(account=self.account.account, now=now)

    def act(self, service, now: int, *args, **kw):
        """Call a revrec service in one transaction, with the business's clock at ``now``."""
        with self.store.write() as conn:
            return service(conn, self.ctx(now), self.rules, *args, **kw)

    def book(self, invoice_id, lines, *, when, taxes=(), currency="usd", credit_applied=0):
        due = sum(line.net for line in lines) + sum(t.amount for t in taxes) - credit_applied
        invoice = InvoiceBooking(
            invoice_id, "cus_ada", currency, when, tuple(lines), due, credit_applied, tuple(taxes)
        )
        return self.act(service.book_invoice, when, invoice)

    def recognize(self, through: str, *, now: int | None = None):
        now = now if now is not None else at(through, 23)
        return self.act(service.recognize_through, now, parse_day(through))

    def collect(self, invoice_id: str, amount: int, when: int) -> None:
        """The customer pays and the funds become available (so they can be refunded)."""
        payload = {"currency": "usd", "effective_at": when, "amount": amount, "invoice": invoice_id}
        with self.store.write() as conn:
            for rule, cause in (("payment.captured", "ch_"), ("balance.available", "bt_")):
                post_by_rule(conn, self.ctx(when), self.rules, rule,
                             {**payload, "id": cause + invoice_id})  # fmt: skip

    def refund(self, invoice_id, refund_id, amount, when, **kw):
        return self.act(service.refund, when, invoice_id, refund_id, amount, when, **kw)

    def credit(self, invoice_id, credit_note_id, when, **kw):
        return self.act(service.credit_note, when, invoice_id, credit_note_id, when, **kw)

    def void(self, invoice_id, when):
        return self.act(service.void_invoice, when, invoice_id, when)

    def books(self, currency: str = "usd") -> dict[str, int]:
        """Each ledger account's balance on its normal side, as a trial balance shows it."""
        with self.store.read() as conn:
            held = balances(conn, self.account.account.id)
        sign = {"debit": 1, "credit": -1}
        return {
            code: (debits - credits) * sign[default_spec(code).normal_side]
            for (code, cur), (debits, credits, _, _) in held.items()
            if cur == currency
        }

    def recognitions(self, **where) -> list[tuple[int, str, int]]:
        r = revrec_recognitions.c
        clauses = [r.account_id == self.account.account.id, *(r[k] == v for k, v in where.items())]
        with self.store.read() as conn:
            rows = conn.execute(
                sa.select(r.day, r.kind, r.amount).where(*clauses).order_by(r.day, r.kind)
            )
            return [(row.day, row.kind, row.amount) for row in rows]

    def causes(self) -> list[str]:
        """The causes of the revenue.recognized entries, in posting order."""
        e = journal_entries.c
        mine = sa.and_(e.account_id == self.account.account.id, e.rule == "revenue.recognized")
        with self.store.read() as conn:
            return list(conn.execute(sa.select(e.cause_id).where(mine).order_by(e.seq)).scalars())

    def obligation(self, obligation_id: str):
        o = revrec_obligations.c
        with self.store.read() as conn:
            return conn.execute(sa.select(revrec_obligations).where(o.id == obligation_id)).one()


def monthly(line_id: str, amount: int, start: str, end: str, **kw) -> InvoiceLine:
    return InvoiceLine(line_id, amount, Period(at(start), at(end)), **kw)


JANUARY = monthly("il_1", 3100, "2026-01-01", "2026-02-01")  # 31 USD for January


# -- Stripe's documented examples ------------------------------------------------------------
def test_a_31_usd_month_from_jan_15_recognizes_17_in_january_and_defers_14(acme):
    booked = acme.book(
        "in_jan", [monthly("il_1", 3100, "2026-01-15", "2026-02-15")], when=at("2026-01-15") + 300
    )
    assert acme.books() == {"accounts_receivable": 3100, "deferred_revenue": 3100}

    january = acme.recognize("2026-01-31")
    assert acme.books()["revenue"] == 1700
    assert acme.books()["deferred_revenue"] == 1400
    assert (january.first_day, january.through_day) == (
        parse_day("2026-01-15"),
        parse_day("2026-01-31"),
    )
    # One entry per day, each named by its currency and day.
    assert acme.causes() == [f"usd:2026-01-{d}" for d in range(15, 32)]
    assert {amount for _, _, amount in acme.recognitions()} == {100}

    acme.recognize("2026-02-28")
    assert acme.books() == {"accounts_receivable": 3100, "deferred_revenue": 0, "revenue": 3100}
    assert len(acme.causes()) == 31
    assert acme.obligation(booked.obligations[0]).status == "complete"


def test_a_credit_note_before_payment_works_like_an_upfront_discount(acme):
    # 120 USD for Jan 1 - Mar 31; a 30 USD credit note before payment leaves 90 to recognize.
    acme.book("in_q1", [monthly("il_1", 12000, "2026-01-01", "2026-04-01")], when=at("2026-01-01"))
    acme.credit("in_q1", "cn_1", at("2026-01-01", 9), to_receivable=3000)
    acme.collect("in_q1", 9000, at("2026-02-03"))
    months = {}
    for month_end in ("2026-01-31", "2026-02-28", "2026-03-31"):
        before = acme.books().get("revenue", 0)
        acme.recognize(month_end)
        months[month_end[:7]] = acme.books()["revenue"] - before
    assert months == {"2026-01": 3100, "2026-02": 2800, "2026-03": 3100}
    books = acme.books()
    assert (books["deferred_revenue"], books["accounts_receivable"]) == (0, 0)
    assert books.get("contra_revenue", 0) == 0


# -- what is revenue and what is not -----------------------------------------------------------
def test_a_discount_is_netted_before_anything_is_deferred(acme):
    line = monthly("il_1", 10000, "2026-03-01", "2026-03-11", discount_amounts=(2000,))
    acme.book("in_disc", [line], when=at("2026-03-01"))
    assert acme.books() == {"accounts_receivable": 8000, "deferred_revenue": 8000}
    acme.recognize("2026-03-05", now=at("2026-03-06"))
    assert acme.books()["revenue"] == 4000  # 5 of 10 days of 80 USD
    acme.recognize("2026-03-31", now=at("2026-04-01"))
    assert acme.books()["revenue"] == 8000


def test_tax_is_a_liability_and_never_revenue(acme):
    acme.book("in_tax", [JANUARY], taxes=[TaxAmount("FR", 620)], when=at("2026-01-01"))
    acme.recognize("2026-01-31")
    books = acme.books()
    assert books["accounts_receivable"] == 3720
    assert books["tax_payable.fr"] == 620
    assert (books["revenue"], books["deferred_revenue"]) == (3100, 0)


def test_a_line_without_a_period_is_revenue_when_the_invoice_is_finalized(acme):
    setup = InvoiceLine("il_setup", 5000)
    booked = acme.book("in_setup", [setup, JANUARY], when=at("2026-01-01", 10))
    books = acme.books()
    assert (books["revenue"], books["deferred_revenue"], books["accounts_receivable"]) == (
        5000, 3100, 8100,
    )  # fmt: skip
    fee = acme.obligation(booked.obligations[0])
    assert (fee.status, fee.recognized, fee.period_start) == ("complete", 5000, None)
    # The waterfall sees it: recognized on the booking day, by the finalization entry.
    assert acme.recognitions(obligation_id=fee.id) == [(parse_day("2026-01-01"), "booking", 5000)]


# -- refunds and credit notes ------------------------------------------------------------------
def test_a_refund_offsets_what_was_recognized_and_releases_the_rest(acme):
    # 30 USD for April; paid; half the month later the customer gets 10 USD back.
    booked = acme.book(
        "in_apr", [monthly("il_1", 3000, "2026-04-01", "2026-05-01")], when=at("2026-04-01")
    )
    acme.collect("in_apr", 3000, at("2026-04-01", 1))
    acme.recognize("2026-04-15")
    assert acme.books()["revenue"] == 1500

    part = acme.refund("in_apr", "re_1", 1000, at("2026-04-16", 9))
    assert (part.contra, part.release) == (500, 500)
    books = acme.books()
    assert (books["contra_revenue"], books["deferred_revenue"]) == (500, 1000)
    assert books["processor_balance_available"] == 2000

    # What is left (25 USD in all, 15 recognized) is all the rest of April recognizes.
    acme.recognize("2026-05-31")
    books = acme.books()
    assert (books["revenue"], books["deferred_revenue"], books["contra_revenue"]) == (2500, 0, 500)
    ob = acme.obligation(booked.obligations[0])
    assert (ob.recognized, ob.contra, ob.released, ob.status) == (2500, 500, 500, "complete")

    # After the period, giving back the rest is all contra; nothing more can be given back.
    rest = acme.refund("in_apr", "re_2", 2000, at("2026-06-01"))
    assert (rest.contra, rest.release) == (2000, 0)
    assert acme.books()["revenue"] - acme.books()["contra_revenue"] == 0
    with pytest.raises(LedgerRejected) as refused:
        acme.refund("in_apr", "re_3", 1, at("2026-06-02"))
    assert refused.value.code == "revrec_amount_too_large"


def test_a_refund_with_tax_gives_back_tax_pro_rata_and_spreads_over_lines(acme):
    lines = [
        monthly("il_a", 6000, "2026-01-01", "2026-01-31"),
        monthly("il_b", 3000, "2026-01-01", "2026-01-31"),
    ]
    acme.book("in_two", lines, taxes=[TaxAmount("de", 1800)], when=at("2026-01-01"))
    acme.collect("in_two", 10800, at("2026-01-01"))
    part = acme.refund("in_two", "re_1", 5400, at("2026-01-11"))  # half, 10 of 30 days in
    assert part.taxes == (TaxAmount("de", 900),)
    assert [(p.share, p.contra, p.release) for _, p in part.shares] == [
        (3000, 1000, 2000),
        (1500, 500, 1000),
    ]
    acme.recognize("2026-02-28")
    books = acme.books()
    assert books["tax_payable.de"] == 900
    assert (books["revenue"] - books["contra_revenue"], books["deferred_revenue"]) == (4500, 0)


def test_a_credit_note_after_payment_offsets_and_releases_like_a_refund(acme):
    # 90 USD for Jan-Mar, paid at once; on Feb 1: 15 USD refunded, 10 credited to the
    # customer's balance, 20 settled outside Stripe.
    acme.book("in_q1", [monthly("il_1", 9000, "2026-01-01", "2026-04-01")], when=at("2026-01-01"))
    acme.collect("in_q1", 9000, at("2026-01-01"))
    acme.recognize("2026-01-31")
    first = acme.refund("in_q1", "re_1", 1500, at("2026-02-01"))
    second = acme.credit("in_q1", "cn_1", at("2026-02-01"), to_balance=1000, out_of_band=2000)
    # 31 of 90 days were earned: that share of what is given back is contra.
    assert first.contra + second.contra == 1550
    assert first.release + second.release == 2950
    acme.recognize("2026-03-31")
    books = acme.books()
    assert books["revenue"] == 3100 + 2950  # January, then what was left over Feb-Mar
    assert (books["deferred_revenue"], books["contra_revenue"]) == (0, 1550)
    assert books["customer_credit_balance"] == 1000
    assert books["revenue"] - books["contra_revenue"] == 9000 - 4500


# -- voids ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("recognized_through", [None, "2026-01-20"])
def test_a_void_reverses_the_whole_booking(acme, recognized_through):
    booked = acme.book(
        "in_void",
        [JANUARY, InvoiceLine("il_fee", 500)],
        taxes=[TaxAmount("fr", 720)],
        credit_applied=1000,
        when=at("2026-01-01"),
    )
    if recognized_through:
        acme.recognize(recognized_through)
        assert acme.books()["revenue"] == 500 + 2000
    voided = acme.void("in_void", at("2026-01-21"))
    assert voided.recognized + voided.deferred == 3600
    acme.recognize("2026-02-28")
    books = acme.books()
    assert set(books.values()) == {0}, books
    for ob in booked.obligations:
        assert acme.obligation(ob).status == "voided"
        assert sum(amount for *_, amount in acme.recognitions(obligation_id=ob)) == 0
    with pytest.raises(LedgerRejected) as refused:
        acme.refund("in_void", "re_1", 100, at("2026-01-22"))
    assert refused.value.code == "revrec_invoice_voided"


def test_an_invoice_with_refunds_is_credited_not_voided(acme):
    acme.book("in_1", [JANUARY], when=at("2026-01-01"))
    acme.collect("in_1", 3100, at("2026-01-01"))
    acme.refund("in_1", "re_1", 100, at("2026-01-02"))
    with pytest.raises(LedgerRejected) as refused:
        acme.void("in_1", at("2026-01-03"))
    assert refused.value.code == "revrec_invoice_not_voidable"


# -- runs: idempotent, bounded, catching up ------------------------------------------------------
def test_recognition_is_idempotent_per_day_and_never_runs_ahead(acme):
    acme.book("in_1", [monthly("il_1", 3100, "2026-01-15", "2026-02-15")], when=at("2026-01-15"))
    acme.recognize("2026-01-20")
    again = acme.recognize("2026-01-20")
    earlier = acme.recognize("2026-01-17", now=at("2026-01-21"))
    assert again.first_day is None and earlier.first_day is None
    assert acme.books()["revenue"] == 600
    later = acme.recognize("2026-01-31")
    assert later.first_day == parse_day("2026-01-21")
    assert acme.books()["revenue"] == 1700
    assert len(acme.causes()) == len(set(acme.causes())) == 17
    # A day that has not begun on the business's clock is not earned yet.
    with pytest.raises(InvalidRequestError) as refused:
        acme.recognize("2026-02-01", now=at("2026-01-31", 23))
    assert refused.value.code == "revrec_day_in_future"


def test_a_late_booking_is_caught_up_on_the_next_run(acme):
    acme.book("in_on_time", [JANUARY], when=at("2026-01-01"))
    acme.recognize("2026-01-20", now=at("2026-01-20", 22))
    # Booked on a test clock that reads Jan 10, after Jan 10..20 were closed.
    acme.book("in_late", [monthly("il_2", 6200, "2026-01-10", "2026-02-10")], when=at("2026-01-10"))
    acme.recognize("2026-01-21")
    causes = acme.causes()
    assert causes[-2:] == ["usd:2026-01-21:catch-up", "usd:2026-01-21"]
    late = [r for r in acme.recognitions(day=parse_day("2026-01-21")) if r[1] == "catch_up"]
    assert late == [(parse_day("2026-01-21"), "catch_up", 11 * 200)]
    assert acme.books()["revenue"] == 21 * 100 + 12 * 200
    # What revenue recognition wrote is what the revenue account holds.
    assert sum(amount for *_, amount in acme.recognitions()) == acme.books()["revenue"]


def test_days_before_the_booking_are_recognized_on_the_booking_day(acme):
    # A proration for Jan 5.. invoiced on Jan 8: its first days are earned when it is booked.
    acme.book("in_pro", [monthly("il_1", 2700, "2026-01-05", "2026-02-01")], when=at("2026-01-08"))
    acme.recognize("2026-01-08")
    assert acme.recognitions() == [(parse_day("2026-01-08"), "daily", 400)]
    assert acme.causes() == ["usd:2026-01-08"]


def test_each_currency_has_its_own_entry_per_day(acme):
    acme.book("in_usd", [JANUARY], when=at("2026-01-01"))
    euros = monthly("il_2", 6200, "2026-01-01", "2026-02-01")
    acme.book("in_eur", [euros], currency="eur", when=at("2026-01-01"))
    acme.recognize("2026-01-10")
    assert acme.books("usd")["revenue"] == 1000
    assert acme.books("eur")["revenue"] == 2000
    assert sorted(acme.causes())[:2] == ["eur:2026-01-01", "eur:2026-01-02"]
    assert len(acme.causes()) == 20


def test_a_long_first_run_goes_a_bounded_number_of_days_at_a_time(acme, monkeypatch):
    monkeypatch.setattr(recognition, "MAX_RUN_DAYS", 10)
    acme.book("in_1", [JANUARY], when=at("2026-01-01"))
    first = acme.recognize("2026-01-31")
    assert (first.finished, first.through_day) == (False, parse_day("2026-01-10"))
    while not acme.recognize("2026-01-31").finished:
        pass
    assert acme.books()["revenue"] == 3100


# -- bad input changes nothing -------------------------------------------------------------------
def test_an_invoice_that_does_not_add_up_or_is_booked_twice_is_refused(acme):
    line = JANUARY
    bad = InvoiceBooking("in_1", "cus_ada", "usd", at("2026-01-01"), (line,), amount_due=3000)
    with pytest.raises(LedgerRejected) as refused:
        acme.act(service.book_invoice, at("2026-01-01"), bad)
    assert refused.value.code == "revrec_invoice_unbalanced"
    assert acme.books() == {}
    acme.book("in_1", [line], when=at("2026-01-01"))
    with pytest.raises(LedgerRejected) as twice:
        acme.book("in_1", [line], when=at("2026-01-01"))
    assert twice.value.code == "revrec_invoice_booked"
    assert acme.books()["deferred_revenue"] == 3100


# -- the command -----------------------------------------------------------------------------------
def test_the_recognize_command_runs_every_tenant_and_says_what_it_posted(tmp_path, monkeypatch, pm):
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("REMIT_DATABASE_URL", url)
    cli = typer.Typer()
    cli.command()(recognize)
    cli.command("noop")(lambda: None)  # two commands, so "recognize" is addressed by name
    store = Store(make_engine(url))
    migrate.upgrade(store.engine)
    with store.write() as conn:
        tenant = create_account(conn, "Acme", at("2025-01-01")).account
    business = Business(store, SimpleNamespace(account=tenant), rules_from(pm))
    january = monthly("il_1", 3100, "2025-01-15", "2025-02-15")
    business.book("in_1", [january], when=at("2025-01-15"))
    run = [CliRunner().invoke(cli, ["recognize", "--through", day]) for day in ("2025-01-31",) * 2]
    assert run[0].exit_code == 0, run[0].output
    assert "usd:2025-01-31" in run[0].output and "1.00 USD" in run[0].output
    assert "already recognized" in run[1].output
    assert business.books()["revenue"] == 1700
    assert CliRunner().invoke(cli, ["recognize", "--through", "31/01/2025"]).exit_code != 0
    store.dispose()
