"""Posting: balanced entries move totals; anything invalid is refused whole."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from ledger_support import T0, balances, counts, ctx_for, entry

from remit.ledger import accounts, service
from remit.ledger.errors import LedgerRejected
from remit.ledger.tables import journal_entries, journal_legs, ledger_accounts


def test_an_invoice_is_booked_and_paid(store, account):
    ctx = ctx_for(account)
    with store.write() as conn:
        service.post(
            conn,
            ctx,
            entry(
                "in_1",
                ("accounts_receivable", "debit", 3100),
                ("deferred_revenue", "credit", 2500),
                ("tax_payable.fr", "credit", 600),
            ),
        )
        service.post(
            conn,
            ctx,
            entry(
                "ch_1",
                ("processor_balance_pending", "debit", 3100),
                ("accounts_receivable", "credit", 3100),
            ),
        )
    with store.read() as conn:
        held = balances(conn, account.account.id)
        assert held[("accounts_receivable", "usd")] == (3100, 3100, 0, 0)
        assert held[("tax_payable.fr", "usd")] == (0, 600, 0, 0)
        assert counts(conn, account.account.id) == (2, 5)


@pytest.mark.parametrize(
    ("legs", "code"),
    [
        ((("bank", "debit", 100), ("revenue", "credit", 99)), "ledger_entry_unbalanced"),
        ((("bank", "debit", 0), ("revenue", "credit", 0)), "ledger_leg_amount"),
        ((("bank", "debit", -5), ("revenue", "credit", -5)), "ledger_leg_amount"),
        ((("bank", "debit", 100),), "ledger_entry_legs"),
        ((("bank", "debit", 100), ("nowhere", "credit", 100)), "ledger_account_unknown"),
    ],
)
def test_invalid_entries_are_refused_and_nothing_is_written(store, account, legs, code):
    with store.write() as conn:
        service.post(
            conn,
            ctx_for(account),
            entry("seed", ("bank", "debit", 1), ("owner_equity", "credit", 1)),
        )
    with pytest.raises(LedgerRejected) as refused, store.write() as conn:
        service.post_batch(
            conn,
            ctx_for(account),
            [
                entry("good", ("bank", "debit", 5), ("owner_equity", "credit", 5)),
                entry("bad", *legs),
            ],
        )
    assert refused.value.code == code
    with store.read() as conn:
        assert counts(conn, account.account.id) == (1, 2)


def test_mixed_currencies_balance_per_currency(store, account):
    eur_usd = entry("fx", ("bank", "debit", 100), ("revenue", "credit", 100))
    mixed = eur_usd.__class__(
        eur_usd.rule,
        "fx2",
        (
            *eur_usd.legs,
            *entry("x", ("bank", "debit", 90), ("revenue", "credit", 80), currency="eur").legs,
        ),
        T0,
    )
    with pytest.raises(LedgerRejected, match="eur"), store.write() as conn:
        service.post(conn, ctx_for(account), mixed)


def test_one_cause_is_posted_once(store, account):
    with store.write() as conn:
        service.post(
            conn,
            ctx_for(account),
            entry("in_1", ("accounts_receivable", "debit", 5), ("revenue", "credit", 5)),
        )
    with pytest.raises(LedgerRejected) as refused, store.write() as conn:
        service.post(
            conn,
            ctx_for(account),
            entry("in_1", ("accounts_receivable", "debit", 5), ("revenue", "credit", 5)),
        )
    assert refused.value.code == "ledger_duplicate_cause"


def test_limits_hold_in_code_and_in_the_database(store, account):
    ctx = ctx_for(account)
    with store.write() as conn:
        service.post(
            conn,
            ctx,
            entry(
                "settle",
                ("processor_balance_available", "debit", 1000),
                ("processor_balance_pending", "credit", 1000),
            ),
        )
    with pytest.raises(LedgerRejected) as refused, store.write() as conn:
        service.post(
            conn,
            ctx,
            entry(
                "po_1",
                ("cash_in_transit", "debit", 1001),
                ("processor_balance_available", "credit", 1001),
            ),
        )
    assert refused.value.code == "ledger_limit_exceeded"
    from remit.ledger.tables import ledger_accounts

    with pytest.raises(sa.exc.IntegrityError), store.write() as conn:
        conn.execute(
            ledger_accounts.update()
            .where(
                ledger_accounts.c.account_id == account.account.id,
                ledger_accounts.c.code == "processor_balance_available",
            )
            .values(credits_posted=5000)
        )


def test_pending_entries_post_partially_void_and_expire(store, account):
    ctx = ctx_for(account)
    auth = entry(
        "pi_1",
        ("processor_balance_pending", "debit", 5000),
        ("accounts_receivable", "credit", 5000),
    )
    with store.write() as conn:
        held = service.hold(conn, ctx, auth, expires_at=T0 + 3600)
        assert balances(conn, account.account.id)[("accounts_receivable", "usd")] == (0, 0, 0, 5000)
        service.post_pending(conn, ctx, held.id, "ch_1", amount=3000)
        assert balances(conn, account.account.id)[("accounts_receivable", "usd")] == (0, 3000, 0, 0)
        with pytest.raises(LedgerRejected, match="already resolved"):
            service.void_pending(conn, ctx, held.id)
        second = service.hold(
            conn,
            ctx,
            entry("pi_2", *[(leg.code, leg.side, leg.amount) for leg in auth.legs]),
            T0 + 60,
        )
        service.void_pending(conn, ctx, second.id)
        third = service.hold(
            conn,
            ctx,
            entry("pi_3", *[(leg.code, leg.side, leg.amount) for leg in auth.legs]),
            T0 + 60,
        )
    later = ctx_for(account, T0 + 61)
    with store.write() as conn:
        assert [p.id for p in service.expire_pending(conn, later)] != []
        with pytest.raises(LedgerRejected, match="already resolved"):
            service.post_pending(conn, later, third.id, "ch_3")
        assert balances(conn, account.account.id)[("accounts_receivable", "usd")] == (0, 3000, 0, 0)


def test_a_reversal_undoes_and_happens_once(store, account):
    ctx = ctx_for(account)
    with store.write() as conn:
        booked = service.post(
            conn,
            ctx,
            entry("in_9", ("accounts_receivable", "debit", 700), ("revenue", "credit", 700)),
        )
        service.reverse(conn, ctx, booked.id, rule="invoice.voided", cause_id="in_9")
        assert balances(conn, account.account.id)[("revenue", "usd")] == (700, 700, 0, 0)
    with pytest.raises(LedgerRejected), store.write() as conn:
        service.reverse(conn, ctx, booked.id, rule="invoice.voided", cause_id="in_9")


def test_the_database_refuses_edits_and_unbalanced_rows(store, account):
    with store.write() as conn:
        booked = service.post(
            conn, ctx_for(account), entry("e", ("bank", "debit", 5), ("owner_equity", "credit", 5))
        )
    with pytest.raises(sa.exc.DatabaseError), store.write() as conn:
        conn.execute(
            journal_legs.update().where(journal_legs.c.entry_id == booked.id).values(amount=6)
        )
    with pytest.raises(sa.exc.DatabaseError), store.write() as conn:
        conn.execute(journal_entries.delete().where(journal_entries.c.id == booked.id))
    with pytest.raises(sa.exc.DatabaseError), store.write() as conn:
        la = conn.execute(
            sa.select(journal_legs.c.ledger_account_id).where(journal_legs.c.entry_id == booked.id)
        ).first()[0]
        conn.execute(
            journal_legs.insert(),
            [
                {
                    "account_id": account.account.id,
                    "entry_id": "je_forged",
                    "leg_no": 0,
                    "ledger_account_id": la,
                    "side": "D",
                    "amount": 10,
                    "currency": "usd",
                },
                {
                    "account_id": account.account.id,
                    "entry_id": "je_forged",
                    "leg_no": 1,
                    "ledger_account_id": la,
                    "side": "C",
                    "amount": 9,
                    "currency": "usd",
                },
            ],
        )
        conn.execute(
            journal_entries.insert(),
            {
                "id": "je_forged",
                "account_id": account.account.id,
                "seq": 99,
                "kind": "posted",
                "rule": "forged",
                "cause_id": "x",
                "effective_at": T0,
                "posted_at": T0,
                "prev_hash": "0" * 64,
                "hash": "0" * 64,
            },
        )
    with store.read() as conn:
        assert counts(conn, account.account.id) == (1, 2)


def test_tenants_edit_their_chart_and_closed_accounts_refuse_postings(store, account):
    ctx = ctx_for(account)
    with store.write() as conn:
        service.post(
            conn, ctx, entry("open", ("bank", "debit", 100), ("owner_equity", "credit", 100))
        )
        accounts.configure(conn, account.account.id, "bank", "usd", name="Main bank (ACME)")
        accounts.configure(conn, account.account.id, "owner_equity", "usd", closed=True)
    with pytest.raises(LedgerRejected) as refused, store.write() as conn:
        service.post(conn, ctx, entry("more", ("bank", "debit", 5), ("owner_equity", "credit", 5)))
    assert refused.value.code == "ledger_account_closed"
    with store.write() as conn:
        # A limit set by the tenant binds from then on.
        accounts.configure(
            conn, account.account.id, "bank", "usd", limit_rule="credits_must_not_exceed_debits"
        )
    with pytest.raises(LedgerRejected) as limited, store.write() as conn:
        service.post(conn, ctx, entry("draw", ("revenue", "debit", 101), ("bank", "credit", 101)))
    assert limited.value.code == "ledger_limit_exceeded"
    with store.read() as conn:
        names = {
            r.code: r.name
            for r in conn.execute(
                sa.select(ledger_accounts).where(ledger_accounts.c.account_id == account.account.id)
            )
        }
        assert names["bank"] == "Main bank (ACME)"
        assert counts(conn, account.account.id) == (1, 2)


@pytest.mark.parametrize("cause", ["a|b", "line\nbreak", "nul\x00"])
def test_keys_that_could_blur_the_hash_chain_are_refused(store, account, cause):
    with pytest.raises(LedgerRejected) as refused, store.write() as conn:
        service.post(
            conn,
            ctx_for(account),
            entry(cause, ("bank", "debit", 1), ("owner_equity", "credit", 1)),
        )
    assert refused.value.code == "ledger_key_invalid"
