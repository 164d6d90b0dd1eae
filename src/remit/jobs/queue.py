"""A durable job queue in the state store, claimed with leases.

A claimed job belongs to its worker until ``lease_expires_at``; a worker that
dies simply lets the lease lapse and the job is claimed again. Handlers must
therefore be safe to run more than once (at-least-once, deduplicated downstream).
PostgreSQL claims with ``FOR UPDATE SKIP LOCKED`` so workers never block each
other; SQLite serialises writers with ``BEGIN IMMEDIATE`` (see ``store.engine``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from remit.jobs.tables import jobs
from remit.primitives.ids import new_id
from remit.store.engine import Store

MAX_CLAIM_BATCH = 100
MAX_ERROR_CHARS = 1000


@dataclass(frozen=True, slots=True)
class Job:
    id: str
    account_id: str
    kind: str
    payload: dict[str, Any]
    attempts: int
    lease_owner: str


def enqueue(
    conn: sa.Connection,
    *,
    account_id: str,
    kind: str,
    payload: dict[str, Any],
    run_at: int,
    now: int,
) -> str:
    job_id = new_id("job")
    conn.execute(
        jobs.insert().values(
            id=job_id,
            account_id=account_id,
            kind=kind,
            payload=payload,
            status="queued",
            run_at=run_at,
            attempts=0,
            created=now,
        )
    )
    return job_id


def claim(store: Store, owner: str, now: int, lease_s: int, limit: int = 10) -> list[Job]:
    """Lease up to ``limit`` due jobs (queued, or running with a lapsed lease)."""
    limit = max(1, min(limit, MAX_CLAIM_BATCH))
    due = sa.or_(
        sa.and_(jobs.c.status == "queued", jobs.c.run_at <= now),
        sa.and_(jobs.c.status == "running", jobs.c.lease_expires_at < now),
    )
    pick = sa.select(jobs.c.id).where(due).order_by(jobs.c.run_at, jobs.c.id).limit(limit)
    if not store.is_sqlite:
        pick = pick.with_for_update(skip_locked=True)
    with store.read() as conn:
        # An idle poll must not take SQLite's write lock away from the API's writers.
        if conn.execute(sa.select(jobs.c.id).where(due).limit(1)).first() is None:
            return []
    with store.write() as conn:
        rows = conn.execute(
            jobs.update()
            .where(jobs.c.id.in_(pick.scalar_subquery()))
            .values(
                status="running",
                lease_owner=owner,
                lease_expires_at=now + lease_s,
                attempts=jobs.c.attempts + 1,
            )
            .returning(
                jobs.c.id,
                jobs.c.account_id,
                jobs.c.kind,
                jobs.c.payload,
                jobs.c.attempts,
                jobs.c.run_at,
            )  # fmt: skip
        ).all()
    # RETURNING follows no ORDER BY: put the batch back in due order.
    rows = sorted(rows, key=lambda r: (r.run_at, r.id))
    return [Job(r.id, r.account_id, r.kind, r.payload, r.attempts, owner) for r in rows]


def _owned(job: Job) -> sa.ColumnElement[bool]:
    # A worker whose lease lapsed and was taken over must not overwrite the new owner's state.
    return sa.and_(jobs.c.id == job.id, jobs.c.lease_owner == job.lease_owner)


def hold(conn: sa.Connection, job: Job) -> bool:
    """Confirm, inside the caller's transaction, that the job is still ours, and lock it.

    A handler whose effects live in the database calls this first: the row lock
    keeps other claimers off the job until this transaction ends (PostgreSQL's
    SKIP LOCKED passes it by; SQLite has one writer anyway), and a lease that
    lapsed before we began makes it return False, so the work is not done twice.
    """
    result = conn.execute(
        jobs.update()
        .where(_owned(job), jobs.c.status == "running")
        .values(attempts=jobs.c.attempts)
    )
    return result.rowcount == 1


def complete(conn: sa.Connection, job: Job, now: int) -> bool:
    result = conn.execute(
        jobs.update()
        .where(_owned(job))
        .values(status="done", finished_at=now, lease_owner=None, lease_expires_at=None)
    )
    return result.rowcount == 1


def reschedule(conn: sa.Connection, job: Job, run_at: int, error: str) -> bool:
    result = conn.execute(
        jobs.update()
        .where(_owned(job))
        .values(
            status="queued",
            run_at=run_at,
            last_error=error[:MAX_ERROR_CHARS],
            lease_owner=None,
            lease_expires_at=None,
        )
    )
    return result.rowcount == 1


def bury(conn: sa.Connection, job: Job, now: int, error: str) -> bool:
    """Give up on a job for good; it stays in the table for inspection."""
    result = conn.execute(
        jobs.update()
        .where(_owned(job))
        .values(
            status="dead",
            finished_at=now,
            last_error=error[:MAX_ERROR_CHARS],
            lease_owner=None,
            lease_expires_at=None,
        )
    )
    return result.rowcount == 1
