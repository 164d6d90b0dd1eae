"""The daily recognition run: deferred revenue becomes revenue, one entry per day and currency.

``recognize_through(conn, ctx, rules, day)`` posts ``revenue.recognized`` for every day
after the tenant's watermark through ``day`` (cause ``usd:2026-01-15``), writes what each
obligation recognized that day, and moves the watermark. Running it again, or through an
earlier day, does nothing; a later day continues where the last run stopped.

Late bookings: an invoice booked after the run that closed its first service days (a
backdated proration, or a booking made after the run) owes those days. The next run
that moves the watermark recognizes what they owe on its first day, in one entry per
currency with its own cause (``usd:2026-02-01:catch-up``), so no closed day's entry ever
changes. Revenue is never recognized before its booking day: days of a period that
started earlier are earned on the day the invoice is booked.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from remit.context import CallContext
from remit.ledger.domain.rules import PostingRule
from remit.ledger.revrec.domain import Due, day_end_ts, day_of, due, iso_day
from remit.ledger.revrec.state import Obligation, load_obligations, lock_progress
from remit.ledger.revrec.tables import revrec_obligations, revrec_progress, revrec_recognitions
from remit.ledger.rules import post_batch_by_rule
from remit.primitives.errors import InvalidRequestError

# One call does at most this many days, so its transaction stays bounded; a caller that
# wants more calls again (the result says how far it got).
MAX_RUN_DAYS = 366
INSERT_CHUNK = 5_000


@dataclass(frozen=True, slots=True)
class DayTotal:
    """What one entry posted: a currency's recognition for one day (or its catch-up)."""

    day: int
    currency: str
    amount: int
    kind: str  # daily | catch_up
    entry_id: str | None  # none when the day's amounts netted to zero

    @property
    def cause_id(self) -> str:
        suffix = ":catch-up" if self.kind == "catch_up" else ""
        return f"{self.currency}:{iso_day(self.day)}{suffix}"


@dataclass(frozen=True, slots=True)
class RecognitionRun:
    account_id: str
    first_day: int | None  # first day this call recognized; None when it had nothing to do
    through_day: int  # the watermark after this call
    requested_day: int
    totals: tuple[DayTotal, ...]
    obligations: int  # how many obligations recognized something

    @property
    def finished(self) -> bool:
        return self.through_day >= self.requested_day


def recognize_through(
    conn: sa.Connection, ctx: CallContext, rules: Mapping[str, PostingRule], through_day: int
) -> RecognitionRun:
    """Recognize every day after the watermark through ``through_day`` (at most
    ``MAX_RUN_DAYS`` per call), inside the caller's transaction."""
    if through_day > day_of(ctx.now):
        raise InvalidRequestError(
            f"Revenue for {iso_day(through_day)} is not earned yet: the account's clock "
            f"reads {iso_day(day_of(ctx.now))}.",
            code="revrec_day_in_future",
            param="through",
        )
    watermark = lock_progress(conn, ctx)
    if watermark is not None and through_day <= watermark:
        return RecognitionRun(ctx.account_id, None, watermark, through_day, (), 0)
    o = revrec_obligations.c
    active = load_obligations(
        conn, ctx.account_id, sa.and_(o.status == "active", o.start_day <= through_day)
    )
    first_day = _first_day(active, watermark, through_day)
    last_day = min(through_day, first_day + MAX_RUN_DAYS - 1)
    owed: dict[str, Due] = {}
    for ob in active:
        standing = ob.standing
        owes = due(standing.schedule, standing.recognized, standing.booked_day, watermark, last_day)
        if owes.catch_up or owes.days:
            owed[ob.id] = owes
    totals = _post_totals(conn, ctx, rules, active, owed, first_day)
    _record(conn, ctx, active, owed, totals, first_day)
    conn.execute(
        revrec_progress.update()
        .where(revrec_progress.c.account_id == ctx.account_id)
        .values(through_day=last_day, updated_at=ctx.now)
    )
    return RecognitionRun(
        ctx.account_id, first_day, last_day, through_day, tuple(totals.values()), len(owed)
    )


def _first_day(active: list[Obligation], watermark: int | None, through_day: int) -> int:
    if watermark is not None:
        return watermark + 1
    # The tenant's first run starts where the earliest obligation is first owed.
    starts = [max(ob.standing.schedule.days.first, ob.standing.booked_day) for ob in active]
    return min([*starts, through_day])


def _post_totals(
    conn: sa.Connection,
    ctx: CallContext,
    rules: Mapping[str, PostingRule],
    active: list[Obligation],
    owed: dict[str, Due],
    first_day: int,
) -> dict[tuple[int, str, str], DayTotal]:
    sums: dict[tuple[int, str, str], int] = defaultdict(int)
    for ob in active:
        owes = owed.get(ob.id)
        if owes is None:
            continue
        if owes.catch_up:
            sums[(first_day, ob.currency, "catch_up")] += owes.catch_up
        for day, amount in owes.days:
            sums[(day, ob.currency, "daily")] += amount
    keys = sorted(sums)
    totals = {k: DayTotal(k[0], k[1], sums[k], k[2], None) for k in keys}
    payloads: list[dict[str, Any]] = [
        {
            "id": t.cause_id,
            "currency": t.currency,
            "effective_at": day_end_ts(t.day),
            "amount": t.amount,
        }
        for t in totals.values()
        if t.amount != 0
    ]
    posted = iter(post_batch_by_rule(conn, ctx, rules, "revenue.recognized", payloads))
    for key, total in totals.items():
        if total.amount != 0:
            totals[key] = DayTotal(
                total.day, total.currency, total.amount, total.kind, next(posted).id
            )
    return totals


def _record(
    conn: sa.Connection,
    ctx: CallContext,
    active: list[Obligation],
    owed: dict[str, Due],
    totals: dict[tuple[int, str, str], DayTotal],
    first_day: int,
) -> None:
    rows: list[dict[str, Any]] = []
    moves: list[dict[str, Any]] = []
    for ob in active:
        owes = owed.get(ob.id)
        if owes is None:
            continue
        parts = [(first_day, "catch_up", owes.catch_up)] if owes.catch_up else []
        parts += [(day, "daily", amount) for day, amount in owes.days]
        rows += [
            {
                "account_id": ctx.account_id,
                "obligation_id": ob.id,
                "invoice_id": ob.invoice_id,
                "booked_at": ob.booked_at,
                "currency": ob.currency,
                "day": day,
                "kind": kind,
                "amount": amount,
                "entry_id": totals[(day, ob.currency, kind)].entry_id,
                "created": ctx.now,
            }
            for day, kind, amount in parts
        ]
        recognized = ob.standing.recognized + owes.total
        done = recognized == ob.standing.schedule.final
        moves.append(
            {
                "b_id": ob.id,
                "b_recognized": recognized,
                "b_status": "complete" if done else "active",
            }
        )
    for start in range(0, len(rows), INSERT_CHUNK):
        conn.execute(revrec_recognitions.insert(), rows[start : start + INSERT_CHUNK])
    if moves:
        o = revrec_obligations.c
        conn.execute(
            revrec_obligations.update()
            .where(o.id == sa.bindparam("b_id"))
            .values(recognized=sa.bindparam("b_recognized"), status=sa.bindparam("b_status")),
            moves,
        )
