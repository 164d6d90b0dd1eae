"""Properties of the ledger under random streams of entries, checked by verify() and by
re-deriving every total from the legs here, independently of verify's SQL.

Valid streams (entries of 2-6 legs balanced in one or two currencies on random chart
accounts, batches, pending holds posted in part, voided or expired, reversals) keep every
invariant. Invalid entries are refused with LedgerRejected and change nothing at all.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ledger_support import T0, balances, counts

from conftest import new_account
from remit.context import CallContext
from remit.ledger import service
from remit.ledger.domain.chart import DEFAULT_CHART
from remit.ledger.domain.entries import Entry, Leg
from remit.ledger.errors import LedgerRejected
from remit.ledger.tables import journal_entries, journal_legs, ledger_accounts, ledger_heads
from remit.ledger.verify import verify
from remit.store.engine import Store

LIMITED = "processor_balance_available"
FREE_CODES = [s.code for s in DEFAULT_CHART if s.limit_rule is None] + ["tax_payable.fr"]
ANY_CODE = [*FREE_CODES, LIMITED]
MAX_MINOR = 10**9
# Rejections a valid stream may meet: a limit, a hold already closed, a second reversal.
EXPECTED = {"ledger_limit_exceeded", "ledger_pending_closed", "ledger_duplicate_cause"}
EXAMPLES = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def split(draw: Any, total: int, parts: int) -> list[int]:
    """``total`` as ``parts`` positive amounts."""
    if parts == 1:
        return [total]
    cuts = sorted(draw(st.sets(st.integers(1, total - 1), min_size=parts - 1,
                               max_size=parts - 1)))  # fmt: skip
    edges = [0, *cuts, total]
    return [b - a for a, b in zip(edges, edges[1:], strict=False)]


@st.composite
def balanced_legs(draw: Any, codes: list[str] = ANY_CODE) -> tuple[Leg, ...]:
    """2-6 legs on random accounts, balanced per currency, in one or two currencies."""
    legs = []
    currencies = draw(st.sampled_from([("usd",), ("eur",), ("usd", "eur")]))
    for currency in currencies:
        most = 3 if len(currencies) == 1 else 2
        debits, credits = draw(st.integers(1, most)), draw(st.integers(1, 5 - most))
        total = draw(st.integers(max(debits, credits), MAX_MINOR))
        for side, parts in (("debit", debits), ("credit", credits)):
            for amount in draw(split(total, parts)):
                legs.append(Leg(draw(st.sampled_from(codes)), side, amount, currency))
    return tuple(draw(st.permutations(legs)))


@st.composite
def hold_legs(draw: Any) -> tuple[Leg, ...]:
    amount, currency = draw(st.integers(1, MAX_MINOR)), draw(st.sampled_from(["usd", "eur"]))
    debit, credit = draw(st.sampled_from(ANY_CODE)), draw(st.sampled_from(ANY_CODE))
    return (Leg(debit, "debit", amount, currency), Leg(credit, "credit", amount, currency))


@st.composite
def streams(draw: Any) -> list[tuple[Any, ...]]:
    """Posts, batches and reversals in random order, and holds each followed, later, by its
    fate: posted in part or in full, voided, expired, or left open."""
    ops: list[tuple[Any, ...]] = [
        ("post", draw(balanced_legs())) for _ in range(draw(st.integers(1, 5)))
    ]
    ops += [("batch", draw(st.lists(balanced_legs(FREE_CODES), min_size=2, max_size=4)))
            for _ in range(draw(st.integers(0, 2)))]  # fmt: skip
    ops += [("reverse", draw(st.integers(0, 20))) for _ in range(draw(st.integers(0, 3)))]
    ops = list(draw(st.permutations(ops)))
    for key in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, len(ops)))
        ops.insert(at, ("hold", key, draw(hold_legs()), draw(st.integers(1, 120))))
        fate = draw(st.sampled_from(["post_pending", "void", "expire", "open"]))
        if fate != "open":
            later = draw(st.integers(at + 1, len(ops)))
            ops.insert(later, (fate, key, draw(st.floats(0.01, 1.0))))
    return ops


class Stream:
    """Applies operations for one fresh tenant, one transaction each, as callers do."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.account = new_account(store, "Property").account
        self.now, self.n = T0, 0
        self.posted: list[str] = []
        self.holds: dict[int, tuple[str, int, int]] = {}  # key -> (id, amount, expires_at)

    def ctx(self) -> CallContext:
        return CallContext(account=self.account, now=self.now)

    def entry(self, legs: tuple[Leg, ...]) -> Entry:
        self.n += 1
        return Entry("property", f"cause_{self.n}", legs, self.now)

    def apply(self, op: tuple[Any, ...]) -> None:
        kind, *args = op
        before = snapshot(self.store, self.account.id)
        try:
            with self.store.write() as conn:
                self._do(conn, kind, args)
        except LedgerRejected as refused:
            assert refused.code in EXPECTED, (op, refused.findings)
            assert snapshot(self.store, self.account.id) == before

    def _do(self, conn: sa.Connection, kind: str, args: list[Any]) -> None:
        ctx = self.ctx()
        if kind == "post":
            self.posted.append(service.post(conn, ctx, self.entry(args[0])).id)
        elif kind == "batch":
            batch = service.post_batch(conn, ctx, [self.entry(legs) for legs in args[0]])
            self.posted += [p.id for p in batch]
        elif kind == "reverse" and self.posted:
            self.posted.append(
                service.reverse(conn, ctx, self.posted.pop(args[0] % len(self.posted))).id
            )
        elif kind == "hold":
            key, legs, ttl = args
            self.holds[key] = (service.hold(conn, ctx, self.entry(legs), self.now + ttl).id,
                               legs[0].amount, self.now + ttl)  # fmt: skip
        elif kind in ("post_pending", "void", "expire") and args[0] in self.holds:
            pending_id, amount, expires_at = self.holds[args[0]]
            if kind == "void":
                service.void_pending(conn, ctx, pending_id)
            elif kind == "post_pending":
                part = max(1, int(amount * args[1]))
                self.n += 1
                self.posted.append(
                    service.post_pending(conn, ctx, pending_id, f"p{self.n}", part).id
                )
            else:
                self.now = max(self.now, expires_at)
                service.expire_pending(conn, self.ctx())


def snapshot(store: Store, account_id: str) -> tuple[Any, ...]:
    with store.read() as conn:
        head = conn.execute(
            sa.select(ledger_heads.c.last_seq, ledger_heads.c.last_hash).where(
                ledger_heads.c.account_id == account_id)
        ).first()  # fmt: skip
        return counts(conn, account_id), balances(conn, account_id), tuple(head or ())


def rederived(store: Store, account_id: str) -> dict[tuple[str, str], list[int]]:
    """Every account's four totals from its legs, here in Python: posted from posted and
    post_pending entries, pending from pending entries nobody resolved."""
    with store.read() as conn:
        rows = conn.execute(
            sa.select(journal_entries).where(journal_entries.c.account_id == account_id)
        )
        entries = {row.id: row for row in rows}
        legs = conn.execute(
            sa.select(journal_legs, ledger_accounts.c.code)
            .join(ledger_accounts, ledger_accounts.c.id == journal_legs.c.ledger_account_id)
            .where(ledger_accounts.c.account_id == account_id)
        ).all()
    resolved = {e.pending_id for e in entries.values() if e.pending_id}
    totals: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    for leg in legs:
        kind = entries[leg.entry_id].kind
        if kind in ("posted", "post_pending"):
            totals[(leg.code, leg.currency)][0 if leg.side == "D" else 1] += leg.amount
        elif kind == "pending" and leg.entry_id not in resolved:
            totals[(leg.code, leg.currency)][2 if leg.side == "D" else 3] += leg.amount
    return totals


@EXAMPLES
@given(operations=streams())
def test_valid_streams_keep_every_invariant(store, operations):
    stream = Stream(store)
    for op in operations:
        stream.apply(op)
    report = verify(store, stream.account.id)
    assert report.clean, report.findings
    kept = balances_of(store, stream.account.id)
    derived = rederived(store, stream.account.id)
    assert {k: v for k, v in kept.items() if any(v)} == {
        k: tuple(v) for k, v in derived.items() if any(v)
    }
    net: dict[tuple[str, int], int] = defaultdict(int)
    for (_, currency), totals in kept.items():
        net[(currency, 0)] += totals[0] - totals[1]
        net[(currency, 1)] += totals[2] - totals[3]
    assert set(net.values()) <= {0}


def balances_of(store: Store, account_id: str) -> dict[tuple[str, str], tuple[int, ...]]:
    with store.read() as conn:
        return balances(conn, account_id)


def invalid(kind: str, legs: tuple[Leg, ...], amount: int) -> tuple[Leg, ...]:
    first, *rest = legs
    if kind == "unbalanced":
        return (Leg(first.code, first.side, first.amount + amount, first.currency), *rest)
    if kind == "not_positive":
        return (Leg(first.code, first.side, 0 if amount % 2 else -amount, first.currency), *rest)
    if kind == "unknown_code":
        return (Leg(f"nowhere_{amount}", first.side, first.amount, first.currency), *rest)
    # crosses the limit: more leaves the available balance than ever reached it
    return (Leg("cash_in_transit", "debit", MAX_MINOR + amount, "usd"),
            Leg(LIMITED, "credit", MAX_MINOR + amount, "usd"))  # fmt: skip


@EXAMPLES
@given(
    history=st.lists(balanced_legs(FREE_CODES), min_size=1, max_size=4),
    kind=st.sampled_from(["unbalanced", "not_positive", "unknown_code", "limit", "duplicate"]),
    legs=balanced_legs(FREE_CODES),
    amount=st.integers(1, MAX_MINOR),
    in_batch=st.booleans(),
)
def test_invalid_entries_are_refused_and_change_nothing(
    store, history, kind, legs, amount, in_batch
):
    stream = Stream(store)
    for earlier in history:
        stream.apply(("post", earlier))
    bad = stream.entry(invalid(kind, legs, amount))
    if kind == "duplicate":
        bad = Entry("property", "cause_1", legs, stream.now)
    before = snapshot(store, stream.account.id)
    batch = [stream.entry(legs), bad] if in_batch else [bad]
    try:
        with store.write() as conn:
            service.post_batch(conn, stream.ctx(), batch)
    except LedgerRejected as refused:
        assert refused.findings
    else:
        raise AssertionError(f"{kind} was posted")
    assert snapshot(store, stream.account.id) == before
    assert verify(store, stream.account.id).clean
