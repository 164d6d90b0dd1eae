"""Rollups: aggregation states per (meter, customer, minute/hour/day bucket), derived
from the raw log by an asynchronous applier.

The applier folds raw events past an account's watermark (``applied_seq``) in large
batches: each event into its minute bucket, then each touched minute's partial state
into its hour and day, so thousands of events become a few rollup writes. The
rollup upserts and the watermark advance commit together: a crash rolls the whole
batch back and the next run applies it again, exactly once. Summaries read the
rollups up to the watermark plus the raw tail past it, so they are exact whether or
not the applier has run; it only makes them cheaper.

Two appliers may run at once (several workers): PostgreSQL hands each account's
watermark row to one of them (``FOR UPDATE SKIP LOCKED``), SQLite's single writer
serialises them and the second re-reads the advanced watermark.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import orjson
import sqlalchemy as sa

from remit.metering import formulas, sql
from remit.metering.domain.aggregations import Aggregation, State, Value
from remit.metering.domain.buckets import DAY_S, HOUR_S, MINUTE_S, floor
from remit.metering.tables import (
    billing_meters,
    meter_event_cancellations,
    meter_events,
    meter_rollup_watermarks,
    meter_rollups,
)
from remit.primitives.clock import Clock
from remit.store.engine import Store

if TYPE_CHECKING:
    import pluggy

log = logging.getLogger("remit.metering")
# Events per applier transaction: large enough to coalesce well, small enough that
# SQLite's single write lock is never held from the API's writers for long (~0.2 s).
BATCH_EVENTS = 5_000
_KEY_CHUNK = 400
Key = tuple[str, str, int, int]  # meter_id, customer_id, grain_s, bucket_start


@dataclass
class Partial:
    state: State
    event_count: int


def dump_state(state: State) -> str:
    return orjson.dumps(state).decode()


def load_state(text: str) -> State:
    return orjson.loads(text)


def event_value(aggregation: Aggregation, text: str | None) -> Value:
    """What ``fold`` receives for a stored value (validated when it was ingested)."""
    if aggregation.value_kind == "decimal":
        assert text is not None
        # Checked by values.parse_value when ingested: plain decimal text, parsed exactly.
        return Decimal(text)
    return text if aggregation.value_kind == "text" else None


def ensure_watermark(conn: sa.Connection, account_id: str, now: int) -> None:
    """Make the account known to the applier (done when its first meter is created)."""
    statement = sql.upsert(conn, meter_rollup_watermarks).values(
        account_id=account_id, applied_seq=0, applied_at=now
    )
    conn.execute(statement.on_conflict_do_nothing())


def canceled_clause(events: Any = meter_events) -> sa.ColumnElement[bool]:
    c = meter_event_cancellations.c
    return (
        sa.exists()
        .where(c.account_id == events.c.account_id, c.identifier == events.c.identifier)
        .correlate(events)
    )


def _events_to_fold() -> sa.Select[Any]:
    """Raw events as folding reads them: value, payload, and whether a cancel hit them."""
    e = meter_events.c
    return sa.select(
        e.seq, e.meter_id, e.customer_id, e.timestamp, e.value, e.payload,
        canceled_clause().label("canceled"),
    )  # fmt: skip


_PENDING = sa.select(meter_rollup_watermarks.c.account_id).where(
    sa.exists().where(
        meter_events.c.account_id == meter_rollup_watermarks.c.account_id,
        meter_events.c.seq > meter_rollup_watermarks.c.applied_seq,
    )
)


def apply_pending(
    store: Store, clock: Clock, pm: pluggy.PluginManager | None, batch_events: int = BATCH_EVENTS
) -> int:
    """One round over every account with unapplied events: one batch each, one
    transaction per batch. Returns how many raw events were applied."""
    with store.read() as conn:
        accounts = list(conn.execute(_PENDING).scalars())
    applied = 0
    for account_id in accounts:
        with store.write() as conn:
            applied += apply_batch(conn, account_id, pm, clock.now(), batch_events)
    return applied


def lock_watermark(conn: sa.Connection, account_id: str, *, skip_locked: bool) -> int | None:
    """The account's applied seq, locked for this transaction (None: no row, or another
    applier holds it and ``skip_locked``). Cancellations wait for it instead."""
    select = sa.select(meter_rollup_watermarks.c.applied_seq).where(
        meter_rollup_watermarks.c.account_id == account_id
    )
    if conn.dialect.name == "postgresql":
        select = select.with_for_update(skip_locked=skip_locked)
    found = conn.execute(select).scalar()
    return None if found is None else int(found)


def apply_batch(
    conn: sa.Connection,
    account_id: str,
    pm: pluggy.PluginManager | None,
    now: int,
    batch_events: int = BATCH_EVENTS,
) -> int:
    watermark = lock_watermark(conn, account_id, skip_locked=True)
    if watermark is None:
        return 0
    e = meter_events.c
    rows = conn.execute(
        _events_to_fold()
        .where(e.account_id == account_id, e.seq > watermark)
        .order_by(e.seq)
        .limit(batch_events)
    ).all()
    if not rows:
        return 0
    aggregations = meter_aggregations(conn, account_id, {r.meter_id for r in rows}, pm)
    rows = _foldable(account_id, rows, aggregations)
    if not rows:
        return 0
    minutes = fold_minutes(rows, aggregations)
    merge_into_stored(conn, account_id, coarsen(minutes, aggregations), aggregations)
    conn.execute(
        meter_rollup_watermarks.update()
        .where(meter_rollup_watermarks.c.account_id == account_id)
        .values(applied_seq=rows[-1].seq, applied_at=now)
    )
    return len(rows)


def meter_aggregations(
    conn: sa.Connection,
    account_id: str,
    meter_ids: Iterable[str],
    pm: pluggy.PluginManager | None,
) -> dict[str, Aggregation]:
    """The aggregations of the meters whose formulas a loaded plugin provides."""
    m = billing_meters.c
    found = conn.execute(
        sa.select(m.id, m.formula, m.event_time_window).where(
            m.account_id == account_id, m.id.in_(list(meter_ids))
        )
    ).all()
    known = formulas.available(pm)
    return {
        row.id: formulas.for_meter(pm, row.formula, row.event_time_window)
        for row in found
        if row.formula in known
    }


def _foldable(
    account_id: str, rows: Sequence[Any], aggregations: Mapping[str, Aggregation]
) -> Sequence[Any]:
    """The rows before the first one whose meter's formula is not loaded (a plugin
    removed since the event was recorded). The watermark cannot pass an event it has
    not folded, so the account waits there, its summaries exact from the raw tail,
    while the applier goes on with other accounts."""
    for n, row in enumerate(rows):
        if row.meter_id not in aggregations:
            log.warning("rollups of %s wait for the formula of meter %s", account_id, row.meter_id)
            return rows[:n]
    return rows


def fold_minutes(
    rows: Iterable[Any], aggregations: Mapping[str, Aggregation]
) -> dict[Key, Partial]:
    """Fold raw rows (in seq order, canceled ones skipped) into minute partials."""
    partials: dict[Key, Partial] = {}
    for row in rows:
        if row.canceled:
            continue
        aggregation = aggregations[row.meter_id]
        key = (row.meter_id, row.customer_id, MINUTE_S, floor(row.timestamp, MINUTE_S))
        partial = partials.get(key)
        if partial is None:
            partial = partials[key] = Partial(aggregation.initial(), 0)
        value = event_value(aggregation, row.value)
        partial.state = aggregation.fold(partial.state, value, row.timestamp, row.seq, row.payload)
        partial.event_count += 1
    return partials


def coarsen(
    minutes: dict[Key, Partial], aggregations: Mapping[str, Aggregation]
) -> dict[Key, Partial]:
    """Minute partials plus the hour and day partials they add up to."""
    result = dict(minutes)
    for grain_s in (HOUR_S, DAY_S):
        for (meter_id, customer_id, _, start), partial in minutes.items():
            key = (meter_id, customer_id, grain_s, floor(start, grain_s))
            merge_partial(result, key, partial, aggregations[meter_id])
    return result


def merge_partial(
    into: dict[Key, Partial], key: Key, partial: Partial, aggregation: Aggregation
) -> None:
    found = into.get(key)
    if found is None:
        into[key] = Partial(partial.state, partial.event_count)
    else:
        found.state = aggregation.merge(found.state, partial.state)
        found.event_count += partial.event_count


_ROLLUP_KEY = "meter_id, customer_id, grain_s, bucket_start"


def _stored(conn: sa.Connection, account_id: str, keys: list[Key]) -> dict[Key, Partial]:
    """The stored rollups among ``keys``, by primary-key lookups, a chunk of keys per
    statement. Driver SQL: SQLAlchemy's expanding tuple parameters cost more than the
    lookups themselves."""
    found: dict[Key, Partial] = {}
    for start in range(0, len(keys), _KEY_CHUNK):
        chunk = keys[start : start + _KEY_CHUNK]
        statement, params = _lookup(conn, account_id, chunk)
        for row in conn.exec_driver_sql(statement, params):
            found[(row[0], row[1], row[2], row[3])] = Partial(load_state(row[4]), row[5])
    return found


def _lookup(conn: sa.Connection, account_id: str, keys: list[Key]) -> tuple[str, tuple[Any, ...]]:
    flat = tuple(part for key in keys for part in key)
    if conn.dialect.name == "postgresql":
        # One index probe per key, whatever the statistics say: a hash join would read
        # every rollup of the account (LIMIT 1 keeps the subquery from being flattened).
        rows = ", ".join(["(%s, %s, %s::integer, %s::bigint)"] * len(keys))
        statement = (
            f"SELECT k.*, r.state, r.event_count FROM (VALUES {rows}) "
            f"AS k({_ROLLUP_KEY}) CROSS JOIN LATERAL (SELECT state, event_count "
            "FROM meter_rollups WHERE account_id = %s AND meter_id = k.meter_id "
            "AND customer_id = k.customer_id AND grain_s = k.grain_s "
            "AND bucket_start = k.bucket_start LIMIT 1) AS r"
        )
        return statement, (*flat, account_id)
    # A join from the keys probes the primary key once per key; a row-value IN (VALUES)
    # made SQLite read every rollup of the account per chunk (quadratic as rollups grow).
    rows = ", ".join(["(?, ?, ?, ?)"] * len(keys))
    statement = (
        f"WITH k({_ROLLUP_KEY}) AS (VALUES {rows}) "
        "SELECT r.meter_id, r.customer_id, r.grain_s, r.bucket_start, r.state, r.event_count "
        "FROM k JOIN meter_rollups AS r ON r.account_id = ? AND r.meter_id = k.meter_id "
        "AND r.customer_id = k.customer_id AND r.grain_s = k.grain_s "
        "AND r.bucket_start = k.bucket_start"
    )
    return statement, (*flat, account_id)


def merge_into_stored(
    conn: sa.Connection,
    account_id: str,
    partials: dict[Key, Partial],
    aggregations: Mapping[str, Aggregation],
) -> None:
    """Read-modify-write: stored state merged with the new partial, then upserted."""
    stored = _stored(conn, account_id, list(partials))
    for key, partial in partials.items():
        old = stored.get(key)
        if old is not None:
            aggregation = aggregations[key[0]]
            partial.state = aggregation.merge(old.state, partial.state)
            partial.event_count += old.event_count
    write(conn, account_id, partials)


def write(conn: sa.Connection, account_id: str, partials: Mapping[Key, Partial]) -> None:
    """Upsert rollups with the driver's executemany (positional rows, no per-row dicts)."""
    if not partials:
        return
    mark = sql.mark(conn)
    statement = (
        f"INSERT INTO meter_rollups (account_id, {_ROLLUP_KEY}, state, event_count) "
        f"VALUES ({', '.join([mark] * 7)}) "
        f"ON CONFLICT (account_id, {_ROLLUP_KEY}) "
        "DO UPDATE SET state = excluded.state, event_count = excluded.event_count"
    )
    conn.exec_driver_sql(
        statement,
        [
            (account_id, *key, dump_state(partial.state), partial.event_count)
            for key, partial in partials.items()
        ],
    )


def recompute_around(
    conn: sa.Connection,
    account_id: str,
    meter_id: str,
    customer_id: str,
    timestamp_s: int,
    aggregation: Aggregation,
    watermark: int,
) -> None:
    """Rebuild the applied minute, hour and day buckets holding ``timestamp_s``, after an
    applied event was canceled: the minute from the raw log (one minute of one
    customer's events), the hour from its minutes, the day from its hours."""
    e = meter_events.c
    minute = floor(timestamp_s, MINUTE_S)
    rows = conn.execute(
        _events_to_fold()
        .where(
            e.account_id == account_id,
            e.meter_id == meter_id,
            e.customer_id == customer_id,
            e.timestamp >= minute,
            e.timestamp < minute + MINUTE_S,
            e.seq <= watermark,
        )
        .order_by(e.seq)
    ).all()
    key = (meter_id, customer_id, MINUTE_S, minute)
    _replace(conn, account_id, key, fold_minutes(rows, {meter_id: aggregation}).get(key))
    r = meter_rollups.c
    for grain_s, finer_s in ((HOUR_S, MINUTE_S), (DAY_S, HOUR_S)):
        start = floor(timestamp_s, grain_s)
        parts = conn.execute(
            sa.select(r.state, r.event_count).where(
                r.account_id == account_id,
                r.meter_id == meter_id,
                r.customer_id == customer_id,
                r.grain_s == finer_s,
                r.bucket_start >= start,
                r.bucket_start < start + grain_s,
            )
        )
        merged: dict[Key, Partial] = {}
        key = (meter_id, customer_id, grain_s, start)
        for part in parts:
            merge_partial(
                merged, key, Partial(load_state(part.state), part.event_count), aggregation
            )
        _replace(conn, account_id, key, merged.get(key))


def _replace(conn: sa.Connection, account_id: str, key: Key, partial: Partial | None) -> None:
    if partial is not None and partial.event_count > 0:
        write(conn, account_id, {key: partial})
        return
    r = meter_rollups.c
    meter_id, customer_id, grain_s, bucket_start = key
    conn.execute(
        meter_rollups.delete().where(
            r.account_id == account_id,
            r.meter_id == meter_id,
            r.customer_id == customer_id,
            r.grain_s == grain_s,
            r.bucket_start == bucket_start,
        )
    )
