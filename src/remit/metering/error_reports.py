"""Events that could not be attributed: recorded, reported, never dropped.

Every refused event is a row in ``meter_event_errors`` (Stripe's error code, a
message, the payload as sent). Each ingest call that refused events emits, in its
own transaction, one ``v1.billing.meter.error_report_triggered`` per meter that had
errors and one ``v1.billing.meter.no_meter_found`` for events no meter claims. Their
``data.object`` is an error report shaped after Stripe's thin-event payload
(``developer_message_summary``, ``reason.error_count``, ``reason.error_types[]`` with
per-code counts and sample errors, ``validation_start``/``validation_end``).

Beyond Stripe, which only pushes these reports, ``report`` and ``list_errors`` read
them back: the error report of a meter over any window, and the refused events
themselves, so tests, support and agents can see what was refused and why.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from remit.context import CallContext
from remit.events import service as events
from remit.events import types as event_types
from remit.metering.tables import meter_event_errors
from remit.primitives.ids import new_id, register_prefix

PREFIX = "mterr"
register_prefix(PREFIX)
ERROR_REPORT_TRIGGERED = "v1.billing.meter.error_report_triggered"
NO_METER_FOUND = "v1.billing.meter.no_meter_found"
event_types.register(ERROR_REPORT_TRIGGERED, NO_METER_FOUND)
SAMPLES_PER_CODE = 5


@dataclass(frozen=True, slots=True)
class Refused:
    """One refused event, as the ingest path saw it."""

    meter_id: str | None
    event_name: str
    identifier: str
    code: str
    message: str
    payload: dict[str, str]
    timestamp_s: int | None


def record(conn: sa.Connection, ctx: CallContext, refused: Sequence[Refused], source: str) -> None:
    """Store the refused events and emit one report per meter (and one for no meter)."""
    if not refused:
        return
    conn.execute(
        meter_event_errors.insert(),
        [
            {
                "id": new_id(PREFIX),
                "account_id": ctx.account_id,
                "meter_id": r.meter_id,
                "event_name": r.event_name,
                "identifier": r.identifier,
                "code": r.code,
                "message": r.message[:500],
                "payload": r.payload,
                "timestamp": r.timestamp_s,
                "created": ctx.now,
                "source": source,
            }
            for r in refused
        ],
    )
    by_meter: dict[str | None, list[Refused]] = defaultdict(list)
    for r in refused:
        by_meter[r.meter_id].append(r)
    for meter_id, group in by_meter.items():
        counts = Counter(r.code for r in group)
        samples: dict[str, list[tuple[str, str]]] = defaultdict(list)
        for r in group:
            if len(samples[r.code]) < SAMPLES_PER_CODE:
                samples[r.code].append((r.message, r.identifier))
        obj = render_report(meter_id, counts, samples, ctx.now, ctx.now)
        events.emit(conn, ctx, NO_METER_FOUND if meter_id is None else ERROR_REPORT_TRIGGERED, obj)


def render_report(
    meter_id: str | None,
    counts: Mapping[str, int],
    samples: Mapping[str, Sequence[tuple[str, str]]],
    start_s: int,
    end_s: int,
) -> dict[str, Any]:
    """An error report: counts per code, and ``(message, identifier)`` samples per code."""
    total = sum(counts.values())
    summary = "There is 1 invalid event" if total == 1 else f"There are {total} invalid events"
    return {
        "object": "billing.meter_error_report",
        "meter": meter_id,
        "related_object": None
        if meter_id is None
        else {"id": meter_id, "type": "billing.meter", "url": f"/v1/billing/meters/{meter_id}"},
        "developer_message_summary": summary,
        "reason": {
            "error_count": total,
            "error_types": [
                {
                    "code": code,
                    "error_count": counts[code],
                    "sample_errors": [
                        {"error_message": message, "request": {"identifier": identifier}}
                        for message, identifier in samples.get(code, ())
                    ],
                }
                for code in sorted(counts)
            ],
        },
        "validation_start": start_s,
        "validation_end": end_s,
    }


def report(
    conn: sa.Connection, account_id: str, meter_id: str | None, start_s: int, end_s: int
) -> dict[str, Any]:
    """The error report of one meter (None: events no meter claims) for errors recorded
    in ``[start_s, end_s)``. Counts are exact; samples are the oldest errors of each code."""
    t = meter_event_errors.c
    scope = [
        t.account_id == account_id,
        t.meter_id.is_(None) if meter_id is None else t.meter_id == meter_id,
        t.created >= start_s,
        t.created < end_s,
    ]
    counts: dict[str, int] = {
        code: int(n)
        for code, n in conn.execute(
            sa.select(t.code, sa.func.count()).where(*scope).group_by(t.code)
        ).all()
    }
    samples = {
        code: [
            (row.message, row.identifier)
            for row in conn.execute(
                sa.select(t.message, t.identifier)
                .where(*scope, t.code == code)
                .order_by(t.id)
                .limit(SAMPLES_PER_CODE)
            )
        ]
        for code in counts
    }
    return render_report(meter_id, counts, samples, start_s, end_s)


def render_error(row: Any) -> dict[str, Any]:
    return {
        "id": row.id,
        "object": "billing.meter_event_error",
        "code": row.code,
        "created": row.created,
        "event_name": row.event_name,
        "identifier": row.identifier,
        "livemode": False,
        "message": row.message,
        "meter": row.meter_id,
        "payload": dict(row.payload),
        "source": row.source,
        "timestamp": row.timestamp,
    }
