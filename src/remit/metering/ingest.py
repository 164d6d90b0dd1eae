"""The one ingestion path for meter events: v1 API, v2 stream and bulk import.

``ingest`` takes a batch of events already checked for shape by its caller and, in
the caller's transaction:

1. takes the account's metering lock (PostgreSQL; see ``sql.lock_account``) so raw
   events get their seqs in commit order;
2. looks up the meters the batch names (one query) and the customers its payloads
   name, with their test clocks (one query);
3. attributes each event (``domain.attribution``): a meter, a customer, a timestamp
   inside [now - 35 days, now + 5 minutes] of the customer's clock, a valid value;
4. looks up which of the attributed events' identifiers the raw log already holds
   (duplicates), and appends the others (one executemany); within the batch the first
   occurrence of an identifier wins;
5. records every refused event and emits the error reports (``error_reports``).

Cost is a constant number of statements per batch, whatever its size. Bad events
never block good ones; nothing is dropped: each input gets an outcome (accepted,
duplicate, or error with Stripe's code). Callers check shapes first: ``event_name``
and ``identifier`` of 1 to 100 characters, a payload of strings.

Identifiers dedup for the life of the log, stricter than Stripe's rolling 24 hours:
usage is never counted twice however late a retry comes. An event recorded as an
error does not claim its identifier, so a corrected retry can still be accepted.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import orjson
import sqlalchemy as sa

from remit.context import CallContext
from remit.metering import error_reports, formulas, sql
from remit.metering.domain.attribution import (
    Attributed,
    CustomerTime,
    MeterRule,
    Problem,
    Rejected,
    classify,
    customer_key_of,
)
from remit.metering.domain.buckets import WINDOWS_S
from remit.primitives.ids import new_id, register_prefix

MAX_BATCH_EVENTS = 10_000
MAX_NAME_CHARS = 100  # event_name and identifier, as on Stripe
IDENTIFIER_PREFIX = "mevt"
register_prefix(IDENTIFIER_PREFIX)
Status = Literal["accepted", "duplicate", "error"]


@dataclass(frozen=True, slots=True)
class EventInput:
    """One event as a caller received it. ``identifier`` None: one is generated.
    ``timestamp_s`` None: now on the customer's clock. ``problem``: a structural error
    the caller already found (an unparseable v2 timestamp...): the event is recorded
    as an error with it rather than dropped."""

    event_name: str
    payload: Mapping[str, str]
    identifier: str | None = None
    timestamp_s: int | None = None
    problem: Problem | None = None


@dataclass(frozen=True, slots=True)
class EventOutcome:
    index: int
    status: Status
    identifier: str
    meter_id: str | None = None
    timestamp_s: int | None = None
    code: str | None = None
    message: str | None = None


@dataclass(frozen=True, slots=True)
class IngestOutcome:
    events: tuple[EventOutcome, ...]

    def with_status(self, status: Status) -> tuple[EventOutcome, ...]:
        return tuple(e for e in self.events if e.status == status)

    @property
    def accepted(self) -> tuple[EventOutcome, ...]:
        return self.with_status("accepted")

    @property
    def duplicates(self) -> tuple[EventOutcome, ...]:
        return self.with_status("duplicate")

    @property
    def errors(self) -> tuple[EventOutcome, ...]:
        return self.with_status("error")


def new_identifier() -> str:
    return new_id(IDENTIFIER_PREFIX)


def ingest(
    conn: sa.Connection, ctx: CallContext, events: Sequence[EventInput], *, source: str
) -> IngestOutcome:
    assert len(events) <= MAX_BATCH_EVENTS, "split larger batches"
    for event in events:
        # An event already found broken may lack a name; it is only recorded as an error.
        assert len(event.event_name) <= MAX_NAME_CHARS, "callers check event_name"
        assert event.problem is not None or event.event_name, "callers check event_name"
        assert event.identifier is None or 0 < len(event.identifier) <= MAX_NAME_CHARS
    if not events:
        return IngestOutcome(())
    sql.lock_account(conn, ctx.account_id)
    identifiers = [e.identifier or new_identifier() for e in events]
    rules = meter_rules(conn, ctx, {e.event_name for e in events})
    named = {customer_key_of(e.payload, rules.get(e.event_name)) for e in events}
    times = customer_times(conn, ctx, {c for c in named if c is not None})
    verdicts = [
        Rejected(rules[e.event_name].meter_id if e.event_name in rules else None, e.problem)
        if e.problem is not None
        else classify(
            e.event_name, e.payload, e.timestamp_s, rules.get(e.event_name), times, ctx.now
        )
        for e in events
    ]
    inserted = _append(conn, ctx, events, identifiers, verdicts, source)
    outcomes, refused = _outcomes(events, identifiers, verdicts, inserted)
    error_reports.record(conn, ctx, refused, source)
    return IngestOutcome(tuple(outcomes))


# The lookups are driver SQL, their text built once per dialect and batch size: an
# expanding SQLAlchemy parameter is compiled again on every execution, and its rows
# cost more to read than the lookups themselves (~1.5 ms of a 100-event request).
_METERS_SQL = (
    "SELECT id, event_name, status, formula, customer_payload_key, value_payload_key, "
    "event_time_window FROM billing_meters WHERE account_id = {mark} AND event_name IN "
    "({marks}) ORDER BY event_name, (status = 'active') DESC, deactivated_at DESC, id"
)
_CUSTOMERS_SQL = (
    "SELECT c.id, c.deleted, k.frozen_time FROM customers AS c "
    "LEFT OUTER JOIN test_clocks AS k ON k.id = c.test_clock "
    "WHERE c.account_id = {mark} AND c.id IN ({marks})"
)


@functools.lru_cache(maxsize=256)
def _lookup_sql(template: str, mark: str, n: int) -> str:
    return template.format(mark=mark, marks=", ".join([mark] * n))


_LOGGED_SQL = (
    "SELECT identifier FROM meter_events WHERE account_id = {mark} AND identifier IN ({marks})"
)
_EVENT_COLUMNS = (
    "account_id", "meter_id", "customer_id", "event_name", "identifier", "timestamp",
    "value", "payload", "created", "source",
)  # fmt: skip


def meter_rules(
    conn: sa.Connection, ctx: CallContext, names: Iterable[str]
) -> dict[str, MeterRule]:
    """Event name -> its active meter, else its most recently deactivated one."""
    wanted = list(names)
    statement = _lookup_sql(_METERS_SQL, sql.mark(conn), len(wanted))
    rows = conn.exec_driver_sql(statement, (ctx.account_id, *wanted)).all()
    known = formulas.available(ctx.pm)
    rules: dict[str, MeterRule] = {}
    for meter_id, event_name, status, formula, customer_key, value_key, window in rows:
        if event_name in rules:
            continue
        aggregation = known.get(formula)
        rules[event_name] = MeterRule(
            meter_id=meter_id,
            active=status == "active",
            customer_key=customer_key,
            value_key=value_key,
            value_kind=None if aggregation is None else aggregation.value_kind,
            event_time_window_s=WINDOWS_S.get(window or ""),
        )
    return rules


def customer_times(
    conn: sa.Connection, ctx: CallContext, customer_ids: set[str]
) -> dict[str, CustomerTime]:
    """The named customers of this account with their clocks' readings."""
    if not customer_ids:
        return {}
    statement = _lookup_sql(_CUSTOMERS_SQL, sql.mark(conn), len(customer_ids))
    rows = conn.exec_driver_sql(statement, (ctx.account_id, *customer_ids))
    now = ctx.now
    return {
        customer_id: CustomerTime(
            live=not deleted, now_s=now if frozen_time is None else int(frozen_time)
        )
        for customer_id, deleted, frozen_time in rows
    }


def _append(
    conn: sa.Connection,
    ctx: CallContext,
    events: Sequence[EventInput],
    identifiers: Sequence[str],
    verdicts: Sequence[Attributed | Rejected],
    source: str,
) -> set[str]:
    """Insert the attributed events; returns the identifiers that were new.

    The identifiers already logged are looked up first, then the new rows go in with the
    driver's executemany (positional rows: SQLAlchemy's per-row dictionaries, or an
    INSERT ... RETURNING, cost more than the insert itself). No other writer can log one
    of them in between: the caller holds the account's lock (``sql.lock_account``; on
    SQLite, the single write lock taken by BEGIN IMMEDIATE).
    """
    rows: list[tuple[Any, ...]] = []
    seen: set[str] = set()
    for event, identifier, verdict in zip(events, identifiers, verdicts, strict=True):
        if not isinstance(verdict, Attributed) or identifier in seen:
            continue
        seen.add(identifier)
        rows.append(
            (
                ctx.account_id,
                verdict.meter_id,
                verdict.customer_id,
                event.event_name,
                identifier,
                verdict.timestamp_s,
                verdict.value_text,
                orjson.dumps(dict(event.payload)).decode(),
                ctx.now,
                source,
            )  # fmt: skip
        )
    if not rows:
        return set()
    mark = sql.mark(conn)
    found = conn.exec_driver_sql(
        _lookup_sql(_LOGGED_SQL, mark, len(seen)), (ctx.account_id, *seen)
    ).scalars()
    logged = set(found)
    rows = [row for row in rows if row[4] not in logged]
    if rows:
        statement = (
            f"INSERT INTO meter_events ({', '.join(_EVENT_COLUMNS)}) "
            f"VALUES ({', '.join([mark] * len(_EVENT_COLUMNS))})"
        )
        conn.exec_driver_sql(statement, rows)
    return {row[4] for row in rows}


def _outcomes(
    events: Sequence[EventInput],
    identifiers: Sequence[str],
    verdicts: Sequence[Attributed | Rejected],
    inserted: set[str],
) -> tuple[list[EventOutcome], list[error_reports.Refused]]:
    outcomes: list[EventOutcome] = []
    refused: list[error_reports.Refused] = []
    claimed: set[str] = set()
    for index, (event, identifier, verdict) in enumerate(
        zip(events, identifiers, verdicts, strict=True)
    ):
        if isinstance(verdict, Rejected):
            problem = verdict.problem
            outcomes.append(
                EventOutcome(
                    index,
                    "error",
                    identifier,
                    verdict.meter_id,
                    event.timestamp_s,
                    problem.code,
                    problem.message,
                )  # fmt: skip
            )
            refused.append(
                error_reports.Refused(
                    verdict.meter_id,
                    event.event_name,
                    identifier,
                    problem.code,
                    problem.message,
                    dict(event.payload),
                    event.timestamp_s,
                )  # fmt: skip
            )
            continue
        first = identifier in inserted and identifier not in claimed
        claimed.add(identifier)
        status: Status = "accepted" if first else "duplicate"
        outcomes.append(
            EventOutcome(index, status, identifier, verdict.meter_id, verdict.timestamp_s)
        )
    return outcomes, refused
