"""``platform:ledger_entries``: the tenant's posted journal entries, one row per entry, for
reconciling the book against a bank or processor statement.

Columns: ``id, rule, cause_id, subject_id, description, effective_at, currency,
amount`` (the sum of the entry's debit legs: what the entry moved), then
``updated_at`` (when it was posted; entries never change). With ``?code=bank`` only
entries with a leg on that ledger account are listed, and ``account_amount`` adds the
entry's signed movement on that account (debits positive, credits negative), which is
what a statement of that account shows. Pending holds moved no posted balance and are
left out, as the financial reports leave them out.

An entry moving two currencies (each balanced on its own) is one row per currency,
under the same id. Rows are read in id order, a page of ``PAGE_ENTRIES`` entries at a
time, and summed by the database.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import pyarrow as pa
import sqlalchemy as sa

from remit.fde.reconcile.sources.base import RawSource, RowDigest, string_batch
from remit.ledger.reports.source import POSTED_KINDS
from remit.ledger.tables import journal_entries, journal_legs, ledger_accounts
from remit.store.engine import Store

PAGE_ENTRIES = 1_000
COLUMNS = (
    "id", "rule", "cause_id", "subject_id", "description", "effective_at", "currency", "amount",
)  # fmt: skip


def open_entries(store: Store, account_id: str, code: str | None) -> RawSource:
    columns = (*COLUMNS, *(("account_amount",) if code else ()), "updated_at")
    digest = RowDigest(lambda: _batches(store, account_id, code, columns))
    return RawSource(columns, 1, None, digest.batches, digest.fingerprint)


def _on_account(account_id: str, code: str) -> sa.Select[tuple[Any]]:
    """Ids of the entries with a leg on the ledger account ``code`` (any currency)."""
    g, a = journal_legs.c, ledger_accounts.c
    return (
        sa.select(g.entry_id)
        .select_from(journal_legs.join(ledger_accounts, a.id == g.ledger_account_id))
        .where(g.account_id == account_id, a.account_id == account_id, a.code == code)
    )


def _page_ids(
    conn: sa.Connection, account_id: str, code: str | None, after: str | None
) -> list[str]:
    e = journal_entries.c
    query = sa.select(e.id).where(e.account_id == account_id, e.kind.in_(POSTED_KINDS))
    if code:
        query = query.where(e.id.in_(_on_account(account_id, code)))
    if after is not None:
        query = query.where(e.id > after)
    return list(conn.execute(query.order_by(e.id).limit(PAGE_ENTRIES)).scalars())


def _rows(
    conn: sa.Connection, account_id: str, code: str | None, ids: Sequence[str]
) -> list[sa.Row[Any]]:
    e, g, a = journal_entries.c, journal_legs.c, ledger_accounts.c
    debit = sa.case((g.side == "D", g.amount), else_=0)
    measures: list[sa.ColumnElement[Any]] = [sa.func.sum(debit)]
    if code:
        signed = sa.case((g.side == "D", g.amount), else_=-g.amount)
        measures.append(sa.func.sum(sa.case((a.code == code, signed), else_=0)))
    keys = (e.id, e.rule, e.cause_id, e.subject_id, e.description, e.effective_at, g.currency)
    query = (
        sa.select(*keys, *measures, e.posted_at)
        .select_from(
            journal_entries.join(journal_legs, g.entry_id == e.id).join(
                ledger_accounts, a.id == g.ledger_account_id
            )
        )
        .where(e.account_id == account_id, g.account_id == account_id, e.id.in_(ids))
        .group_by(*keys, e.posted_at)
        .order_by(e.id, g.currency)
    )
    if code:
        # Only the currencies in which the entry touched that account.
        query = query.having(sa.func.sum(sa.case((a.code == code, 1), else_=0)) > 0)
    return list(conn.execute(query))


def _batches(
    store: Store, account_id: str, code: str | None, columns: tuple[str, ...]
) -> Iterator[pa.RecordBatch]:
    after: str | None = None
    with store.read() as conn:
        while ids := _page_ids(conn, account_id, code, after):
            rows = _rows(conn, account_id, code, ids)
            if rows:
                texts = [
                    [None if v is None else str(v) for v in col] for col in zip(*rows, strict=True)
                ]
                yield string_batch(columns, texts)
            after = ids[-1]
