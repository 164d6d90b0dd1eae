"""Voiding a credit note in revenue recognition: its entry reversed exactly, and each
obligation it reduced planned again as if the note had never been issued, whatever was
recognized between the note and its void."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from ledger_support import counts
from test_revrec import Business, at, monthly

from remit.ledger.errors import LedgerRejected
from remit.ledger.revrec import service
from remit.ledger.revrec.domain import parse_day
from remit.ledger.revrec.service import InvoiceLine, TaxAmount
from remit.ledger.revrec.tables import revrec_invoice_taxes, revrec_invoices
from remit.ledger.rules import rules_from
from remit.ledger.tables import journal_entries
from remit.ledger.verify import verify

GERMAN_TAX = (TaxAmount("de", 285),)
APRIL = monthly("il_1", 3000, "2026-04-01", "2026-05-01")  # 30 USD: 1 USD a day


@pytest.fixture
def acme(store, account, pm):
    return Business(store, account, rules_from(pm))


def void_note(acme: Business, invoice_id: str, note_id: str, when: int, taxes=()):
    with acme.store.write() as conn:
        return service.void_credit_note(
            conn, acme.ctx(when), invoice_id, note_id, when, taxes=tuple(taxes)
        )


def revenue_to_date(acme: Business) -> int:
    books = acme.books()
    return books.get("revenue", 0) - books.get("contra_revenue", 0)


def assert_clean(acme: Business) -> None:
    report = verify(acme.store, acme.account.account.id)
    assert report.clean, report.findings


def daily(acme: Business, first: str, last: str) -> list[int]:
    lo, hi = parse_day(first), parse_day(last)
    return [amount for day, _, amount in acme.recognitions() if lo <= day <= hi]


def test_a_note_voided_the_day_it_was_issued_leaves_the_books_as_without_it(acme):
    booked = acme.book("in_apr", [APRIL], when=at("2026-04-01"))
    acme.recognize("2026-04-09")
    note = acme.credit("in_apr", "cn_1", at("2026-04-10", 9), to_receivable=1500)
    assert (note.contra, note.release) == (450, 1050)

    voided = void_note(acme, "in_apr", "cn_1", at("2026-04-10", 10))
    assert (voided.contra, voided.release) == (450, 1050)
    assert acme.books() == {
        "accounts_receivable": 3000, "deferred_revenue": 2100, "revenue": 900,
        "contra_revenue": 0,
    }  # fmt: skip
    ob = acme.obligation(booked.obligations[0])
    assert (ob.contra, ob.released, ob.status) == (0, 0, "active")
    acme.recognize("2026-04-30")
    assert daily(acme, "2026-04-10", "2026-04-30") == [100] * 21
    assert acme.books()["revenue"] == 3000 and acme.books()["deferred_revenue"] == 0
    assert acme.obligation(booked.obligations[0]).status == "complete"
    assert_clean(acme)


def test_days_recognized_between_the_note_and_its_void_are_caught_up_on_the_void_day(acme):
    acme.book("in_apr", [APRIL], when=at("2026-04-01"))
    acme.recognize("2026-04-09")
    acme.credit("in_apr", "cn_1", at("2026-04-10"), to_receivable=1500)
    acme.recognize("2026-04-19")
    # Under the note, the 1050 still deferred spread over Apr 10-30: 50 a day.
    assert daily(acme, "2026-04-10", "2026-04-19") == [50] * 10
    assert revenue_to_date(acme) == 900 + 500 - 450

    void_note(acme, "in_apr", "cn_1", at("2026-04-20", 8))
    # The contra is taken back as posted; the release goes back to deferred revenue.
    assert acme.books()["contra_revenue"] == 0
    assert acme.books()["deferred_revenue"] == 3000 - 1400
    acme.recognize("2026-04-20")
    # By the end of Apr 20 revenue is what it would have been with no note at all.
    assert revenue_to_date(acme) == 2000
    assert daily(acme, "2026-04-20", "2026-04-20") == [600]
    acme.recognize("2026-04-30")
    assert daily(acme, "2026-04-21", "2026-04-30") == [100] * 10
    assert (acme.books()["revenue"], acme.books()["deferred_revenue"]) == (3000, 0)
    assert_clean(acme)


def test_a_void_after_the_service_ended_recognizes_the_released_part_on_its_day(acme):
    booked = acme.book("in_apr", [APRIL], when=at("2026-04-01"))
    acme.recognize("2026-04-09")
    acme.credit("in_apr", "cn_1", at("2026-04-10"), to_receivable=1500)
    acme.recognize("2026-05-05")
    assert acme.obligation(booked.obligations[0]).status == "complete"
    assert revenue_to_date(acme) == 1500

    void_note(acme, "in_apr", "cn_1", at("2026-05-06", 12))
    assert acme.obligation(booked.obligations[0]).status == "active"
    acme.recognize("2026-05-06")
    assert daily(acme, "2026-05-06", "2026-05-06") == [1050]
    assert revenue_to_date(acme) == 3000
    ob = acme.obligation(booked.obligations[0])
    assert (ob.recognized, ob.contra, ob.released, ob.status) == (3000, 0, 0, "complete")
    assert_clean(acme)


def test_the_reversal_is_the_notes_entry_with_sides_swapped(acme):
    acme.book(
        "in_tax", [APRIL, InvoiceLine("il_fee", 1000)], taxes=[TaxAmount("de", 760)],
        when=at("2026-04-01"),
    )  # fmt: skip
    acme.collect("in_tax", 4760, at("2026-04-01"))
    acme.recognize("2026-04-15")
    note = acme.credit(
        "in_tax", "cn_1", at("2026-04-16"), to_balance=1000, out_of_band=190,
        taxes=[TaxAmount("de", 190)],
    )  # fmt: skip
    before = acme.books()
    voided = void_note(acme, "in_tax", "cn_1", at("2026-04-17"), [TaxAmount("de", 190)])
    e = journal_entries.c
    with acme.store.read() as conn:
        issued = conn.execute(sa.select(journal_entries).where(e.id == note.entry_id)).one()
        reversal = conn.execute(sa.select(journal_entries).where(e.id == voided.entry_id)).one()
        held = [
            conn.execute(sa.select(table.c.reduced).where(table.c.invoice_id == "in_tax")).one()[0]
            for table in (revrec_invoices, revrec_invoice_taxes)
        ]
    assert (reversal.rule, reversal.cause_id, reversal.reverses) == (
        "credit_note.voided", "cn_1", note.entry_id,
    )  # fmt: skip
    assert (reversal.subject_id, reversal.effective_at) == (issued.subject_id, at("2026-04-17"))
    after = acme.books()
    assert after["customer_credit_balance"] == before["customer_credit_balance"] - 1000
    assert after["bank"] == before["bank"] + 190
    assert after["tax_payable.de"] == before["tax_payable.de"] + 190
    assert held == [0, 0]
    # What the note gave back can be given back again, in full.
    again = acme.credit("in_tax", "cn_2", at("2026-04-18"), to_balance=1000, out_of_band=190,
                        taxes=[TaxAmount("de", 190)])  # fmt: skip
    assert again.contra + again.release == 1000
    acme.recognize("2026-05-31")
    assert acme.books()["deferred_revenue"] == 0
    assert_clean(acme)


def test_one_of_two_notes_is_voided_and_the_other_still_stands(acme):
    booked = acme.book("in_apr", [APRIL], when=at("2026-04-01"))
    acme.recognize("2026-04-09")
    first = acme.credit("in_apr", "cn_1", at("2026-04-10"), to_receivable=600)
    acme.recognize("2026-04-14")
    second = acme.credit("in_apr", "cn_2", at("2026-04-15"), to_receivable=900)
    acme.recognize("2026-04-19")
    void_note(acme, "in_apr", "cn_1", at("2026-04-20"))
    ob = acme.obligation(booked.obligations[0])
    assert (ob.contra, ob.released) == (second.contra, second.release)
    acme.recognize("2026-04-30")
    books = acme.books()
    assert books["deferred_revenue"] == 0
    assert books["revenue"] - books["contra_revenue"] == 3000 - 900
    assert first.contra + first.release == 600
    assert_clean(acme)


def test_a_void_refused_writes_nothing(acme):
    acme.book("in_apr", [APRIL], taxes=[TaxAmount("de", 570)], when=at("2026-04-01"))
    acme.credit("in_apr", "cn_1", at("2026-04-10"), to_receivable=1785,
                taxes=[TaxAmount("de", 285)])  # fmt: skip

    def refused(code: str, *args, taxes=GERMAN_TAX) -> None:
        with acme.store.read() as conn:
            before = counts(conn, acme.account.account.id)
        books = acme.books()
        with pytest.raises(LedgerRejected) as caught:
            void_note(acme, *args, taxes=taxes)
        assert caught.value.code == code
        assert acme.books() == books
        with acme.store.read() as conn:
            assert counts(conn, acme.account.account.id) == before

    refused("revrec_credit_note_unknown", "in_apr", "cn_9", at("2026-04-11"))
    refused("revrec_credit_note_unknown", "in_other", "cn_1", at("2026-04-11"))
    refused("revrec_taxes_invalid", "in_apr", "cn_1", at("2026-04-11"), taxes=())
    refused("revrec_taxes_invalid", "in_apr", "cn_1", at("2026-04-11"),
            taxes=(TaxAmount("fr", 285),))  # fmt: skip
    refused("revrec_before_credit_note", "in_apr", "cn_1", at("2026-04-09"))
    void_note(acme, "in_apr", "cn_1", at("2026-04-11"), GERMAN_TAX)
    refused("revrec_credit_note_voided", "in_apr", "cn_1", at("2026-04-12"))
    assert_clean(acme)
