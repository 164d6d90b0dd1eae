"""The scheduler: everything due on a clock, in time order, until nothing is due.

What falls due, and when:

- a subscription at its ``next_action_at``: the ``trial_will_end`` notice, the expiry of an
  incomplete subscription, a trial ending without a payment method (paused or canceled as
  its trial settings say), a paused collection resuming, a cancellation, a renewal;
- a draft invoice at its ``automatically_finalizes_at`` (an hour after it was created);
- a ``send_invoice`` subscription's latest invoice still open at its ``due_date``: the
  subscription falls ``past_due`` (``overdue``);
- ``invoice.upcoming``, ``UPCOMING_NOTICE_S`` before a subscription's automatically charged
  renewal. Stripe sends it as many days ahead as the account's settings say (several
  days); remit sends it three days ahead, as ``trial_will_end``. Notices need to know from
  when the clock moved (``since_ts``): a test clock advance says so, and one advance is
  one transaction, so each notice goes out exactly once.

``catch_up`` takes the earliest due moment, does everything due then (drafts first, then
overdue invoices, then subscriptions, each in id order), and repeats: a clock advanced
thirteen months runs thirteen renewals, each at its own moment, each draft finalized an
hour after it. A round
handles at most ``ROUND_LIMIT`` drafts and subscriptions; a moment with more takes several
rounds. On PostgreSQL the rows a round works on are claimed with ``SKIP LOCKED``, so
several workers catching up one account share the work instead of waiting on each other.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa

from remit.billing.invoices.preview import render_draft
from remit.billing.invoices.tables import invoices
from remit.billing.subscriptions import overdue, render, renewal, resume, scheduled
from remit.billing.subscriptions.preview import upcoming
from remit.billing.subscriptions.tables import subscriptions
from remit.context import CallContext
from remit.events import service as events
from remit.events import types as event_types

__all__ = ["ROUND_LIMIT", "UPCOMING_NOTICE_S", "StuckSubscription", "catch_up"]

ROUND_LIMIT = 500  # drafts, and subscriptions, per round
UPCOMING_NOTICE_S = 3 * 86_400
# Subscriptions whose renewal invoice is charged automatically and that will renew.
_NOTIFIED = ("active", "trialing", "past_due")
event_types.register("invoice.upcoming")


class StuckSubscription(RuntimeError):
    """A subscription stayed due after its moment was processed: nothing handles what its
    ``next_action_at`` points at. Raised rather than looping forever."""


def catch_up(
    conn: sa.Connection,
    ctx: CallContext,
    test_clock: str | None,
    until_ts: int,
    *,
    since_ts: int | None = None,
    max_rounds: int | None = None,
) -> int:
    """Process everything due on ``test_clock`` (None: the account's objects on no test
    clock) up to ``until_ts``, in time order; returns how much was done. ``since_ts``
    (where the clock was) enables ``invoice.upcoming``; ``max_rounds`` bounds the call."""
    done, rounds, cursor = 0, 0, since_ts
    while max_rounds is None or rounds < max_rounds:
        moment = _next_moment(conn, ctx.account_id, test_clock, until_ts, cursor)
        if moment is None:
            break
        did = 0
        if cursor is not None:
            did += _notices(conn, ctx, test_clock, cursor, moment)
            cursor = moment
        did += _finalizations(conn, ctx, test_clock, moment)
        did += _overdue(conn, ctx, test_clock, moment)
        did += _subscriptions(conn, ctx, test_clock, moment)
        if not did:
            break  # what is due is claimed by another worker
        done, rounds = done + did, rounds + 1
    return done


def _on(column: sa.Column[Any], test_clock: str | None) -> sa.ColumnElement[bool]:
    return column.is_(None) if test_clock is None else column == test_clock


def _next_moment(
    conn: sa.Connection, account_id: str, test_clock: str | None, until_ts: int, cursor: int | None
) -> int | None:
    s, i = subscriptions.c, invoices.c
    on_clock = _on(s.test_clock, test_clock)
    overdue_due = overdue.due_query(account_id, on_clock, until_ts).order_by(None).subquery()
    candidates = [
        sa.select(sa.func.min(s.next_action_at))
        .where(s.account_id == account_id, _on(s.test_clock, test_clock))
        .where(s.next_action_at <= until_ts)
        .scalar_subquery(),
        sa.select(sa.func.min(i.automatically_finalizes_at))
        .where(i.account_id == account_id, _on(i.test_clock, test_clock))
        .where(i.status == "draft", i.auto_advance.is_(True))
        .where(i.automatically_finalizes_at <= until_ts)
        .scalar_subquery(),
        sa.select(sa.func.min(overdue_due.c.due_date)).scalar_subquery(),
    ]
    if cursor is not None:
        notices = _noticed(account_id, test_clock, cursor, until_ts)
        candidates.append(
            sa.select(sa.func.min(s.current_period_end) - UPCOMING_NOTICE_S)
            .where(*notices)
            .scalar_subquery()
        )
    found = [value for value in conn.execute(sa.select(*candidates)).one() if value is not None]
    return int(min(found)) if found else None


def _noticed(
    account_id: str, test_clock: str | None, after_ts: int, until_ts: int
) -> list[sa.ColumnElement[bool]]:
    """Subscriptions whose ``invoice.upcoming`` moment is in ``(after_ts, until_ts]``: a
    period at least as long as the notice, renewing and charged automatically."""
    s = subscriptions.c
    return [
        s.account_id == account_id,
        _on(s.test_clock, test_clock),
        s.status.in_(_NOTIFIED),
        s.collection_method == "charge_automatically",
        s.cancel_at_period_end.is_(False),
        sa.or_(s.cancel_at.is_(None), s.cancel_at > s.current_period_end),
        s.current_period_end > after_ts + UPCOMING_NOTICE_S,
        s.current_period_end <= until_ts + UPCOMING_NOTICE_S,
        s.current_period_end - UPCOMING_NOTICE_S >= s.current_period_start,
    ]


def _notices(
    conn: sa.Connection, ctx: CallContext, test_clock: str | None, after_ts: int, until_ts: int
) -> int:
    """``invoice.upcoming`` for each renewal noticed in ``(after_ts, until_ts]``: the invoice
    it would issue, with no id (Stripe's upcoming invoice), as a preview renders it."""
    s = subscriptions.c
    rows = conn.execute(
        sa.select(s.id, s.current_period_end)
        .where(*_noticed(ctx.account_id, test_clock, after_ts, until_ts))
        .order_by(s.current_period_end, s.id)
    ).all()
    for row in rows:
        obj = {**render_draft(conn, ctx, upcoming(conn, ctx, row.id, {})), "id": None}
        created = int(row.current_period_end) - UPCOMING_NOTICE_S
        events.emit(conn, ctx, "invoice.upcoming", obj, created=created)
    return len(rows)


def _claim(conn: sa.Connection, query: sa.Select[Any]) -> list[Any]:
    """Rows this round works on: on PostgreSQL, locked, and skipped when another worker
    holds them (SQLite has one writer at a time)."""
    if conn.dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    return list(conn.execute(query.limit(ROUND_LIMIT)))


def _finalizations(
    conn: sa.Connection, ctx: CallContext, test_clock: str | None, moment_ts: int
) -> int:
    i = invoices.c
    due = _claim(
        conn,
        sa.select(i.id)
        .where(i.account_id == ctx.account_id, _on(i.test_clock, test_clock))
        .where(i.status == "draft", i.auto_advance.is_(True))
        .where(i.automatically_finalizes_at <= moment_ts)
        .order_by(i.automatically_finalizes_at, i.id),
    )
    return renewal.finalize_due(conn, ctx, [row.id for row in due], moment_ts)


def _overdue(conn: sa.Connection, ctx: CallContext, test_clock: str | None, moment_ts: int) -> int:
    on_clock = _on(subscriptions.c.test_clock, test_clock)
    due = _claim(conn, overdue.due_query(ctx.account_id, on_clock, moment_ts))
    for row in due:
        overdue.mark_past_due(conn, ctx, row.id, int(row.due_date))
    return len(due)


def _subscriptions(
    conn: sa.Connection, ctx: CallContext, test_clock: str | None, moment_ts: int
) -> int:
    s = subscriptions.c
    due = _claim(
        conn,
        sa.select(subscriptions)
        .where(s.account_id == ctx.account_id, _on(s.test_clock, test_clock))
        .where(s.next_action_at <= moment_ts)
        .order_by(s.next_action_at, s.id),
    )
    for row in due:
        _scheduled_actions(conn, ctx, row, moment_ts)
    ids = [row.id for row in due]
    renewal.renew(conn, ctx, ids, moment_ts)
    _check_moved(conn, ctx.account_id, ids, moment_ts)
    return len(due)


def _scheduled_actions(conn: sa.Connection, ctx: CallContext, row: Any, at_ts: int) -> None:
    """The subscriptions service's own scheduled work, each step on the row as the one
    before left it (each is a no-op when it has nothing to do)."""
    for action in (
        scheduled.expire_incomplete,
        scheduled.send_trial_will_end,
        resume.end_trial_without_payment_method,
        scheduled.resume_collection,
    ):
        if action(conn, ctx, row, at_ts):
            row = render.load(conn, ctx.account_id, row.id)


def _check_moved(conn: sa.Connection, account_id: str, ids: Sequence[str], moment_ts: int) -> None:
    s = subscriptions.c
    for at in range(0, len(ids), renewal.CHUNK_IDS):
        stuck = conn.execute(
            sa.select(s.id, s.status, s.next_action_at)
            .where(s.account_id == account_id, s.id.in_(ids[at : at + renewal.CHUNK_IDS]))
            .where(s.next_action_at <= moment_ts)
            .limit(1)
        ).first()
        if stuck is not None:
            raise StuckSubscription(
                f"subscription {stuck.id} ({stuck.status}) is still due at "
                f"{stuck.next_action_at} after its moment {moment_ts} was processed"
            )
