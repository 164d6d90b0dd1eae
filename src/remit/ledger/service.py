"""Posting: the one way money moves in the ledger, inside the caller's transaction.

``post(conn, ctx, entry)`` for one entry, ``post_batch`` for bulk runs; both go
through ``_write``, which checks everything before writing anything, locks the
tenant's chain head (so postings of one tenant are serialised and the chain is
linear), inserts the legs and then the entry header that seals them, and moves
the running totals. The database re-checks balance, sign and limits on its own.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert

from remit.context import CallContext
from remit.ledger import accounts
from remit.ledger.accounts import LedgerAccount
from remit.ledger.domain.entries import GENESIS_HASH, Entry, Finding, Leg, Sealed, chain_hash, check
from remit.ledger.errors import LedgerRejected
from remit.ledger.tables import journal_entries, journal_legs, ledger_accounts, ledger_heads
from remit.primitives.errors import ResourceMissing
from remit.primitives.ids import new_id, register_prefix

register_prefix("je")
MAX_BATCH = 50_000
SIDE_CODE = {"debit": "D", "credit": "C"}
SIDE_NAME = {"D": "debit", "C": "credit"}


@dataclass(frozen=True, slots=True)
class Posted:
    id: str
    seq: int
    hash: str


@dataclass(frozen=True, slots=True)
class _Item:
    """An entry on its way in: what it is, and what it does to pending totals."""

    entry: Entry
    kind: str = "posted"
    pending_id: str | None = None
    reverses: str | None = None
    expires_at: int | None = None
    releases: tuple[Leg, ...] = ()  # a pending entry's legs that this one resolves


def post(conn: sa.Connection, ctx: CallContext, entry: Entry) -> Posted:
    return _write(conn, ctx, [_Item(entry)])[0]


def post_batch(conn: sa.Connection, ctx: CallContext, entries: Sequence[Entry]) -> list[Posted]:
    """Post many entries at once: all or none, checked together before anything is written."""
    if len(entries) > MAX_BATCH:
        raise LedgerRejected(
            [Finding("ledger_batch_too_large", f"A batch holds at most {MAX_BATCH} entries.")]
        )
    return _write(conn, ctx, [_Item(entry) for entry in entries])


def hold(conn: sa.Connection, ctx: CallContext, entry: Entry, expires_at: int) -> Posted:
    """A pending (two-phase) entry: it reserves amounts until posted, voided or expired."""
    if len(entry.legs) != 2 or expires_at <= ctx.now:
        raise LedgerRejected(
            [Finding("ledger_pending_invalid", "A pending entry has 2 legs and a future expiry.")]
        )
    return _write(conn, ctx, [_Item(entry, kind="pending", expires_at=expires_at)])[0]


def post_pending(
    conn: sa.Connection, ctx: CallContext, pending_id: str, cause_id: str, amount: int | None = None
) -> Posted:
    """Post a pending entry, in full or for a smaller ``amount``; the rest is released."""
    pending, legs = _open_pending(conn, ctx, pending_id, due=False)
    full = legs[0].amount
    if amount is not None and (type(amount) is not int or not 0 < amount <= full):
        raise LedgerRejected(
            [Finding("ledger_leg_amount", f"Post between 1 and {full} minor units.", "amount")]
        )
    posted_legs = tuple(replace(leg, amount=amount or full) for leg in legs)
    entry = Entry(
        "pending.posted", cause_id, posted_legs, ctx.now,
        description=pending.description, subject_id=pending.subject_id,
    )  # fmt: skip
    item = _Item(entry, kind="post_pending", pending_id=pending_id, releases=legs)
    return _write(conn, ctx, [item])[0]


def void_pending(conn: sa.Connection, ctx: CallContext, pending_id: str) -> Posted:
    _, legs = _open_pending(conn, ctx, pending_id, due=False)
    entry = Entry("pending.voided", pending_id, legs, ctx.now)
    return _write(conn, ctx, [_Item(entry, "void_pending", pending_id, releases=legs)])[0]


def expire_pending(conn: sa.Connection, ctx: CallContext) -> list[Posted]:
    """Release every pending entry whose expiry has passed on the account's clock."""
    due = conn.execute(
        sa.select(journal_entries.c.id)
        .where(
            journal_entries.c.account_id == ctx.account_id,
            journal_entries.c.kind == "pending",
            journal_entries.c.expires_at <= ctx.now,
        )
        .order_by(journal_entries.c.seq)
    ).scalars()
    items = []
    for pending_id in list(due):
        if _resolution(conn, pending_id) is None:
            _, legs = _open_pending(conn, ctx, pending_id, due=True)
            entry = Entry("pending.expired", pending_id, legs, ctx.now)
            items.append(_Item(entry, "expire_pending", pending_id, releases=legs))
    return _write(conn, ctx, items) if items else []


def reverse(
    conn: sa.Connection, ctx: CallContext, entry_id: str, rule: str = "reversal", cause_id: str = ""
) -> Posted:
    """The correcting entry for a posted one: the same legs, sides swapped."""
    header, legs = _load(conn, ctx.account_id, entry_id)
    if header.kind not in ("posted", "post_pending"):
        raise LedgerRejected(
            [Finding("ledger_not_reversible", f"A {header.kind} entry cannot be reversed.")]
        )
    earlier = conn.execute(
        sa.select(journal_entries.c.id).where(journal_entries.c.reverses == entry_id)
    ).scalar()
    if earlier is not None:
        raise LedgerRejected(
            [Finding("ledger_already_reversed", f"{entry_id} was already reversed by {earlier}.")]
        )
    flipped = tuple(replace(leg, side="credit" if leg.side == "debit" else "debit") for leg in legs)
    entry = Entry(
        rule, cause_id or entry_id, flipped, ctx.now,
        description=f"reverses {entry_id}", subject_id=header.subject_id,
    )  # fmt: skip
    return _write(conn, ctx, [_Item(entry, reverses=entry_id)])[0]


# -- reading ---------------------------------------------------------------------------------
def _load(conn: sa.Connection, account_id: str, entry_id: str) -> tuple[Any, tuple[Leg, ...]]:
    header = conn.execute(
        sa.select(journal_entries).where(
            journal_entries.c.id == entry_id, journal_entries.c.account_id == account_id
        )
    ).first()
    if header is None:
        raise ResourceMissing("journal entry", entry_id)
    rows = conn.execute(
        sa.select(journal_legs, ledger_accounts.c.code)
        .join(ledger_accounts, ledger_accounts.c.id == journal_legs.c.ledger_account_id)
        .where(journal_legs.c.entry_id == entry_id)
        .order_by(journal_legs.c.leg_no)
    )
    legs = tuple(Leg(r.code, SIDE_NAME[r.side], r.amount, r.currency) for r in rows)  # type: ignore[arg-type]
    return header, legs


def _resolution(conn: sa.Connection, pending_id: str) -> str | None:
    return conn.execute(
        sa.select(journal_entries.c.kind).where(journal_entries.c.pending_id == pending_id)
    ).scalar()


def _open_pending(
    conn: sa.Connection, ctx: CallContext, pending_id: str, *, due: bool
) -> tuple[Any, tuple[Leg, ...]]:
    header, legs = _load(conn, ctx.account_id, pending_id)
    problem = None
    if header.kind != "pending":
        problem = f"Entry {pending_id} is not pending."
    elif (resolved := _resolution(conn, pending_id)) is not None:
        problem = f"Pending entry {pending_id} was already resolved ({resolved})."
    elif not due and header.expires_at <= ctx.now:
        problem = f"Pending entry {pending_id} expired at {header.expires_at}."
    if problem:
        raise LedgerRejected([Finding("ledger_pending_closed", problem, "pending_id")])
    return header, legs


# -- writing ---------------------------------------------------------------------------------
def _write(conn: sa.Connection, ctx: CallContext, items: Sequence[_Item]) -> list[Posted]:
    findings = [f for item in items for f in check(item.entry)]
    if findings:
        raise LedgerRejected(findings)
    items = [_normalized(item) for item in items]
    prev_hash, last_seq = lock_tenant(conn, ctx.account_id)
    wanted = {(leg.code, leg.currency) for i in items for leg in (*i.entry.legs, *i.releases)}
    ledger, findings = accounts.resolve(conn, ctx.account_id, wanted, ctx.now)
    findings += _duplicate_causes(conn, ctx.account_id, items)
    if findings:
        raise LedgerRejected(findings)
    deltas, crossings = _apply(ledger, items)
    if crossings:
        raise LedgerRejected(crossings)
    posted, entry_rows, leg_rows = [], [], []
    for item in items:
        last_seq += 1
        entry_id = new_id("je")
        legs = tuple(
            (ledger[(leg.code, leg.currency)].id, SIDE_CODE[leg.side], leg.amount, leg.currency)
            for leg in item.entry.legs
        )
        sealed = Sealed(
            last_seq, entry_id, item.kind, item.entry.rule, item.entry.cause_id,
            item.entry.subject_id, item.entry.effective_at, item.pending_id, item.reverses, legs,
        )  # fmt: skip
        digest = chain_hash(prev_hash, sealed)
        entry_rows.append(_entry_row(ctx, item, sealed, prev_hash, digest))
        leg_rows += [(ctx.account_id, entry_id, n, *leg) for n, leg in enumerate(legs)]
        posted.append(Posted(entry_id, last_seq, digest))
        prev_hash = digest
    # Legs first: the header's insert seals the entry (the database checks its balance then).
    _insert_many(conn, journal_legs, LEG_COLUMNS, leg_rows)
    _insert_many(conn, journal_entries, ENTRY_COLUMNS, entry_rows)
    _move_totals(conn, deltas)
    conn.execute(
        ledger_heads.update()
        .where(ledger_heads.c.account_id == ctx.account_id)
        .values(last_seq=last_seq, last_hash=prev_hash)
    )
    return posted


LEG_COLUMNS = (
    "account_id",
    "entry_id",
    "leg_no",
    "ledger_account_id",
    "side",
    "amount",
    "currency",
)
ENTRY_COLUMNS = (
    "id", "account_id", "seq", "kind", "rule", "cause_id", "subject_id", "event_id",
    "description", "effective_at", "posted_at", "expires_at", "pending_id", "reverses",
    "prev_hash", "hash",
)  # fmt: skip


def _insert_many(
    conn: sa.Connection, table: sa.Table, columns: Sequence[str], rows: list[tuple[Any, ...]]
) -> None:
    """The bulk path: the driver's own executemany with positional rows.

    Building SQLAlchemy parameter dictionaries costs more per row than the insert
    itself; every value here is already a plain int or str.
    """
    marks = ", ".join(["?" if conn.dialect.paramstyle == "qmark" else "%s"] * len(columns))
    sql = f"INSERT INTO {table.name} ({', '.join(columns)}) VALUES ({marks})"
    conn.exec_driver_sql(sql, rows)


def _normalized(item: _Item) -> _Item:
    """Currencies are stored lower case (Stripe's wire form); most callers already are."""
    if all(leg.currency.islower() for leg in item.entry.legs):
        return item
    legs = tuple(replace(leg, currency=leg.currency.lower()) for leg in item.entry.legs)
    return replace(item, entry=replace(item.entry, legs=legs))


def _entry_row(
    ctx: CallContext, item: _Item, sealed: Sealed, prev_hash: str, digest: str
) -> tuple[Any, ...]:
    entry = item.entry
    return (
        sealed.entry_id, ctx.account_id, sealed.seq, item.kind, entry.rule, entry.cause_id,
        entry.subject_id, entry.event_id, entry.description, entry.effective_at, ctx.now,
        item.expires_at, item.pending_id, item.reverses, prev_hash, digest,
    )  # fmt: skip


def lock_tenant(conn: sa.Connection, account_id: str) -> tuple[str, int]:
    """Lock the tenant's chain head for this transaction, creating it on first use.

    Every ledger write takes this lock; a capability that keeps its own per-tenant
    lock (revenue recognition) takes this one first, so locks are always taken in
    one order and concurrent transactions cannot deadlock on them.
    """
    select = sa.select(ledger_heads).where(ledger_heads.c.account_id == account_id)
    if conn.dialect.name == "postgresql":
        conn.execute(
            pg_insert(ledger_heads)
            .values(account_id=account_id, last_seq=0, last_hash=GENESIS_HASH)
            .on_conflict_do_nothing()
        )
        select = select.with_for_update()
    # On SQLite the transaction already holds the database's write lock.
    head = conn.execute(select).first()
    if head is None:
        conn.execute(
            ledger_heads.insert(),
            {"account_id": account_id, "last_seq": 0, "last_hash": GENESIS_HASH},
        )
        return GENESIS_HASH, 0
    return str(head.last_hash), int(head.last_seq)


def _duplicate_causes(
    conn: sa.Connection, account_id: str, items: Sequence[_Item]
) -> list[Finding]:
    keys = [(i.entry.rule, i.entry.cause_id) for i in items]
    findings = [
        Finding("ledger_duplicate_cause", f"{rule} for {cause} appears twice in this batch.")
        for (rule, cause), count in _counts(keys).items()
        if count > 1
    ]
    by_rule: dict[str, list[str]] = defaultdict(list)
    for rule, cause in set(keys):
        by_rule[rule].append(cause)
    for rule, causes in by_rule.items():
        for start in range(0, len(causes), 500):
            taken = conn.execute(
                sa.select(journal_entries.c.cause_id).where(
                    journal_entries.c.account_id == account_id,
                    journal_entries.c.rule == rule,
                    journal_entries.c.cause_id.in_(causes[start : start + 500]),
                )
            ).scalars()
            findings += [
                Finding("ledger_duplicate_cause", f"{rule} was already posted for {cause}.")
                for cause in taken
            ]
    return findings


def _counts(keys: Sequence[tuple[str, str]]) -> dict[tuple[str, str], int]:
    counts: dict[tuple[str, str], int] = defaultdict(int)
    for key in keys:
        counts[key] += 1
    return counts


_TOTALS = ("debits_posted", "credits_posted", "debits_pending", "credits_pending")


def _apply(
    ledger: dict[tuple[str, str], LedgerAccount], items: Sequence[_Item]
) -> tuple[dict[str, list[int]], list[Finding]]:
    """Move the in-memory totals entry by entry, in posting order.

    Limits must hold after every entry, not only at the end of a batch: the entries
    are history in seq order, and a payout ordered before the settlement that funds
    it spent money the balance did not have. Returns the deltas per account id and
    a finding for each first crossing.
    """
    deltas: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    crossed: dict[str, Finding] = {}
    for item in items:
        touched: dict[str, LedgerAccount] = {}
        bucket = 2 if item.kind == "pending" else 0
        moves = [(leg, bucket, 1) for leg in item.entry.legs if item.kind in _MOVING]
        moves += [(leg, 2, -1) for leg in item.releases]
        for leg, base, sign in moves:
            account = ledger[(leg.code, leg.currency)]
            slot = base + (0 if leg.side == "debit" else 1)
            deltas[account.id][slot] += sign * leg.amount
            setattr(account, _TOTALS[slot], getattr(account, _TOTALS[slot]) + sign * leg.amount)
            touched[account.id] = account
        for account in touched.values():
            if account.id not in crossed and account.crosses_limit():
                crossed[account.id] = Finding(
                    "ledger_limit_exceeded",
                    f"{account.code} ({account.currency}) would break {account.limit_rule} "
                    f"at {item.entry.rule} for {item.entry.cause_id}.",
                )
    return deltas, list(crossed.values())


_MOVING = frozenset({"pending", "posted", "post_pending"})


def _move_totals(conn: sa.Connection, deltas: dict[str, list[int]]) -> None:
    t = ledger_accounts.c
    statement = (
        ledger_accounts.update()
        .where(t.id == sa.bindparam("b_id"))
        .values(
            debits_posted=t.debits_posted + sa.bindparam("b_dp", type_=sa.BigInteger),
            credits_posted=t.credits_posted + sa.bindparam("b_cp", type_=sa.BigInteger),
            debits_pending=t.debits_pending + sa.bindparam("b_dq", type_=sa.BigInteger),
            credits_pending=t.credits_pending + sa.bindparam("b_cq", type_=sa.BigInteger),
        )
    )
    conn.execute(
        statement,
        [
            {"b_id": account_id, "b_dp": d[0], "b_cp": d[1], "b_dq": d[2], "b_cq": d[3]}
            for account_id, d in sorted(deltas.items())
        ],
    )
