"""Reading revenue recognition's rows back as domain values, and the tenant's revrec lock."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert

from remit.context import CallContext
from remit.ledger.domain.entries import Finding
from remit.ledger.errors import LedgerRejected
from remit.ledger.revrec.domain import Schedule, Segment, ServiceDays, Standing, day_of
from remit.ledger.revrec.tables import revrec_adjustments, revrec_obligations, revrec_progress
from remit.ledger.service import lock_tenant

IN_CHUNK = 500


@dataclass(frozen=True, slots=True)
class Obligation:
    """An obligation row with its standing: what the services read and move."""

    id: str
    invoice_id: str
    currency: str
    booked_at: int
    deferred: bool
    adjustments: int
    standing: Standing


def refused(code: str, message: str, param: str | None = None) -> LedgerRejected:
    """The error for one bad input: Stripe-shaped, and nothing was written."""
    return LedgerRejected([Finding(code, message, param)])


def lock_progress(conn: sa.Connection, ctx: CallContext) -> int | None:
    """Lock the tenant's revrec progress row for this transaction; its watermark day.

    Every revrec change of a tenant takes this lock first, so a recognition run never
    reads an obligation a concurrent refund is re-planning (SQLite: the write
    transaction already holds the database lock).
    """
    lock_tenant(conn, ctx.account_id)  # the ledger's lock first: one order for all locks
    t = revrec_progress
    select = sa.select(t.c.through_day).where(t.c.account_id == ctx.account_id)
    if conn.dialect.name == "postgresql":
        conn.execute(
            pg_insert(t)
            .values(account_id=ctx.account_id, through_day=None, updated_at=ctx.now)
            .on_conflict_do_nothing()
        )
        select = select.with_for_update()
    row = conn.execute(select).first()
    if row is None:
        conn.execute(
            t.insert(), {"account_id": ctx.account_id, "through_day": None, "updated_at": ctx.now}
        )
        return None
    return None if row.through_day is None else int(row.through_day)


def load_obligations(
    conn: sa.Connection, account_id: str, where: sa.ColumnElement[bool]
) -> list[Obligation]:
    o = revrec_obligations.c
    rows = list(
        conn.execute(
            sa.select(revrec_obligations)
            .where(o.account_id == account_id, where)
            .order_by(o.invoice_id, o.id)
        )
    )
    segments = _segments(conn, [r.id for r in rows if r.adjustments])
    return [_obligation(row, segments.get(row.id, ())) for row in rows]


def _segments(conn: sa.Connection, obligation_ids: Sequence[str]) -> dict[str, list[Segment]]:
    a = revrec_adjustments.c
    found: dict[str, list[Segment]] = defaultdict(list)
    for start in range(0, len(obligation_ids), IN_CHUNK):
        rows = conn.execute(
            sa.select(a.obligation_id, a.segment_start_day, a.segment_anchor, a.segment_total)
            .where(a.obligation_id.in_(obligation_ids[start : start + IN_CHUNK]))
            .order_by(a.obligation_id, a.seq)
        )
        for row in rows:
            found[row.obligation_id].append(
                Segment(row.segment_start_day, row.segment_anchor, row.segment_total)
            )
    return found


def _obligation(row: Any, segments: Iterable[Segment]) -> Obligation:
    schedule = Schedule.straight_line(
        row.amount, row.currency, ServiceDays(row.start_day, row.end_day)
    )
    for segment in segments:
        schedule = schedule.with_segment(segment)
    standing = Standing(schedule, day_of(row.booked_at), row.recognized, row.contra, row.released)
    return Obligation(
        row.id,
        row.invoice_id,
        row.currency,
        row.booked_at,
        row.deferred,
        row.adjustments,
        standing,
    )
