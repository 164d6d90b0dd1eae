"""Booking a batch of invoices (a bill run's) leaves the ledger and the obligations exactly
as booking them one by one does; a batch with a bad or already booked invoice books none."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from conftest import new_account
from remit.context import CallContext
from remit.ledger.errors import LedgerRejected
from remit.ledger.revrec import service
from remit.ledger.revrec.domain import SECONDS_PER_DAY, parse_day
from remit.ledger.revrec.service import InvoiceBooking, InvoiceLine, Period, TaxAmount
from remit.ledger.revrec.tables import (
    revrec_invoice_taxes,
    revrec_invoices,
    revrec_obligations,
    revrec_recognitions,
)
from remit.ledger.rules import rules_from
from remit.ledger.tables import journal_entries, journal_legs

JAN_1 = parse_day("2026-01-01") * SECONDS_PER_DAY
FEB_1 = parse_day("2026-02-01") * SECONDS_PER_DAY


def _invoices(count: int) -> list[InvoiceBooking]:
    """A mix: deferred and one-off lines, discounts, taxes, credit used, a free invoice."""
    made = []
    for n in range(count):
        lines = (
            InvoiceLine(f"il_{n}a", 3100 + n, Period(JAN_1, FEB_1), (n % 3 * 100,)),
            InvoiceLine(f"il_{n}b", 250 * (n % 2)),
        )
        taxes = (TaxAmount("fr", 100 + n),) if n % 2 else ()
        charged = sum(line.net for line in lines) + sum(t.amount for t in taxes)
        credit = 500 if n % 4 == 3 else 0
        made.append(InvoiceBooking(f"in_{n}", f"cus_{n % 3}", "USD", JAN_1 + n, lines,
                                   charged - credit, credit, taxes))  # fmt: skip
    made.append(InvoiceBooking("in_free", "cus_0", "usd", JAN_1, (InvoiceLine("il_free", 0),), 0))
    return made


def _state(store, account_id: str) -> dict[str, list[tuple]]:
    """Everything booking wrote, without the ids and hashes that differ between tenants."""
    skip = {"id", "account_id", "entry_id", "obligation_id", "hash", "prev_hash", "posted_at",
            "ledger_account_id", "created"}  # fmt: skip
    found = {}
    with store.read() as conn:
        for table in (revrec_invoices, revrec_invoice_taxes, revrec_obligations,
                      revrec_recognitions, journal_entries, journal_legs):  # fmt: skip
            columns = [c for c in table.c if c.name not in skip]
            rows = conn.execute(sa.select(*columns).where(table.c.account_id == account_id))
            found[table.name] = sorted((tuple(row) for row in rows), key=repr)
    return found


def _ctx(made) -> CallContext:
    return CallContext(account=made.account, now=JAN_1)


def test_a_batch_books_as_one_by_one_does(store, pm):
    rules = rules_from(pm)
    one_by_one, batched = new_account(store, "One"), new_account(store, "Batch")
    for invoice in _invoices(9):
        with store.write() as conn:
            service.book_invoice(conn, _ctx(one_by_one), rules, invoice)
    with store.write() as conn:
        booked = service.book_invoices(conn, _ctx(batched), rules, _invoices(9))
    assert [b.invoice_id for b in booked] == [i.id for i in _invoices(9)]
    assert [len(b.obligations) for b in booked] == [2] * 9 + [1]
    assert booked[-1].entry_id is None  # the free invoice moves no money
    assert _state(store, batched.account.id) == _state(store, one_by_one.account.id)


@pytest.mark.parametrize("problem", ["booked", "twice", "unbalanced"])
def test_a_batch_with_one_bad_invoice_books_none(store, pm, problem):
    rules, made = rules_from(pm), new_account(store, "Batch")
    first = _invoices(1)[0]
    with store.write() as conn:
        service.book_invoice(conn, _ctx(made), rules, first)
    before = _state(store, made.account.id)
    batch = _invoices(5)[1:4]
    if problem == "booked":
        batch.append(first)
    elif problem == "twice":
        batch.append(batch[0])
    else:
        batch.append(InvoiceBooking("in_bad", "cus_0", "usd", JAN_1, first.lines, 1))
    with pytest.raises(LedgerRejected) as refused, store.write() as conn:
        service.book_invoices(conn, _ctx(made), rules, batch)
    expected = "revrec_invoice_unbalanced" if problem == "unbalanced" else "revrec_invoice_booked"
    assert refused.value.code == expected
    assert _state(store, made.account.id) == before
