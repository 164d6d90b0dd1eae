"""What changed between two runs: breaks resolved, breaks new, breaks persisting.

Two runs find "the same" discrepancy when their breaks have the same ``break_key``
(type, the ids on each side, the field): amounts or details may move while the key
stays. The comparison is set-based SQL on the state store (``NOT EXISTS`` on the
``(run_id, break_key)`` index), never the two runs' breaks held in Python; the
lists are bounded and come with their full counts.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from remit.fde.reconcile.render import break_
from remit.fde.reconcile.runs_persist import find
from remit.fde.reconcile.tables import reconciliation_breaks

MAX_LISTED = 100
OBJECT_NAME = "reconciliation.run_diff"


def diff(conn: sa.Connection, account_id: str, run_id: str, against_id: str) -> dict[str, Any]:
    """``run`` seen from ``against`` (usually the run before it): ``resolved`` are breaks
    of ``against`` that ``run`` no longer finds, ``new`` are breaks ``run`` found that
    ``against`` did not, ``persisting`` counts those both found."""
    find(conn, account_id, run_id)
    find(conn, account_id, against_id)
    resolved, resolved_count = _absent(conn, account_id, against_id, run_id)
    new, new_count = _absent(conn, account_id, run_id, against_id)
    return {
        "object": OBJECT_NAME,
        "run": run_id,
        "against": against_id,
        "resolved": resolved,
        "resolved_count": resolved_count,
        "new": new,
        "new_count": new_count,
        "persisting": _persisting(conn, account_id, run_id, against_id),
    }


def _absent(
    conn: sa.Connection, account_id: str, of_run: str, from_run: str
) -> tuple[list[dict[str, Any]], int]:
    """Breaks of ``of_run`` whose key ``from_run`` has not: the first ``MAX_LISTED`` in
    the run's order, and how many there are."""
    b = reconciliation_breaks.c
    other = reconciliation_breaks.alias("other")
    where = (
        b.account_id == account_id,
        b.run_id == of_run,
        ~sa.exists().where(
            other.c.run_id == from_run,
            other.c.account_id == account_id,
            other.c.break_key == b.break_key,
        ),
    )
    rows = conn.execute(
        sa.select(reconciliation_breaks).where(*where).order_by(b.id).limit(MAX_LISTED)
    ).all()
    count = conn.execute(sa.select(sa.func.count()).where(*where)).scalar_one()
    return [break_(row) for row in rows], count


def _persisting(conn: sa.Connection, account_id: str, run_id: str, against_id: str) -> int:
    b = reconciliation_breaks.c
    other = reconciliation_breaks.alias("other")
    return conn.execute(
        sa.select(sa.func.count()).where(
            b.account_id == account_id,
            b.run_id == run_id,
            sa.exists().where(
                other.c.run_id == against_id,
                other.c.account_id == account_id,
                other.c.break_key == b.break_key,
            ),
        )
    ).scalar_one()
