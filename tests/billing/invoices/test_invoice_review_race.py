"""Review: finalizations of one draft and credit notes of one invoice racing each other."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import sqlalchemy as sa
from invoice_support import assert_ledger_clean

from billing.credit_notes.credit_note_support import context, finalized_invoice, line, new_customer
from remit.billing.credit_notes import service as credit_notes
from remit.billing.invoices import build, lifecycle
from remit.billing.invoices.drafts import InvoiceDraft
from remit.ledger.tables import journal_entries
from remit.primitives.errors import InvalidRequestError

WORKERS = 6


def _race(work) -> list[str]:  # type: ignore[no-untyped-def]
    start = threading.Barrier(WORKERS)

    def one(n: int) -> str:
        start.wait()
        try:
            work(n)
            return "done"
        except InvalidRequestError as refused:
            return refused.code or "refused"

    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        return list(pool.map(one, range(WORKERS)))


def test_one_draft_finalized_at_once_by_many(store, pm, account):
    ctx = context(account, pm)
    with store.write() as conn:
        customer = new_customer(conn, ctx)
        draft = InvoiceDraft(
            customer=customer, currency="usd", created=ctx.now, period_start=ctx.now,
            period_end=ctx.now, billing_reason="manual", collection_method="send_invoice",
            days_until_due=30, lines=(line(1000),), pending_items=False,
        )  # fmt: skip
        (invoice_id,) = build.create_many(conn, ctx, [draft])

    def finalize(_: int) -> None:
        with store.write() as conn:
            lifecycle.finalize(conn, ctx, invoice_id, ctx.now)

    outcomes = _race(finalize)
    assert sorted(outcomes).count("done") == 1, outcomes
    with store.read() as conn:
        e = journal_entries.c
        booked = conn.execute(
            sa.select(sa.func.count()).where(e.account_id == account.account.id)
        ).scalar_one()
    assert booked == 1
    later = finalized_invoice(store, ctx, customer, [line(500)], paid=False)
    assert later.number.endswith("-0002"), later.number
    assert_ledger_clean(store, pm, account.account.id)


def test_credit_notes_at_once_never_credit_more_than_the_total(store, pm, account):
    ctx = context(account, pm)
    with store.write() as conn:
        customer = new_customer(conn, ctx)
    invoice = finalized_invoice(store, ctx, customer, [line(1000)], paid=False)

    def credit(_: int) -> None:
        with store.write() as conn:
            credit_notes.create(conn, ctx, {"invoice": invoice.id, "amount": 300})

    outcomes = _race(credit)
    assert outcomes.count("done") == 3, outcomes
    assert_ledger_clean(store, pm, account.account.id)
