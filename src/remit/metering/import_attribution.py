"""Attribution of a checked chunk: ``ingest``'s rules, decided column-wise where sure.

The chunk's meters are looked up once (``ingest.meter_rules``) and its customers once
per ``CUSTOMER_LOOKUP`` ids (``ingest.customer_times``). A row is accepted column-wise
when every one of ``attribution.classify``'s conditions visibly holds: an active
meter whose formula is loaded, a live customer named under its customer key, a
timestamp inside that customer's window, and a value that is plain decimal text of
at most 15 characters (so at most 15 significant digits), text of at most 100
characters, or not needed. Every other row (a bad value, an unknown customer, a long
decimal...) goes through ``classify`` itself, so codes, messages and their precedence
are ``ingest``'s by construction.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import sqlalchemy as sa

from remit.context import CallContext
from remit.metering import error_reports
from remit.metering.domain.attribution import (
    FUTURE_WINDOW_S,
    MAX_TEXT_VALUE_CHARS,
    PAST_WINDOW_S,
    Attributed,
    CustomerTime,
    MeterRule,
    classify,
)
from remit.metering.import_rows import NUL, Checked, storable
from remit.metering.ingest import customer_times, meter_rules

CUSTOMER_LOOKUP = 5_000
FAST_DECIMAL_CHARS = 15
_DECIMAL = r"^-?[0-9]+(?:\.[0-9]+)?$"
ACCEPTED_SCHEMA = pa.schema([
    ("row", pa.int64()), ("meter_id", pa.string()), ("customer_id", pa.string()),
    ("event_name", pa.string()), ("identifier", pa.string()), ("timestamp", pa.int64()),
    ("value", pa.string()), ("payload", pa.string()),
])  # fmt: skip


@dataclass(frozen=True, slots=True)
class Attribution:
    """``accepted``: rows to append, in row order (``ACCEPTED_SCHEMA``); ``refused``:
    every other row's error, its message starting with its row number."""

    accepted: pa.Table
    refused: list[error_reports.Refused]


def attribute(conn: sa.Connection, ctx: CallContext, rows: Checked) -> Attribution:
    """Look up the chunk's meters and customers, then ``decide``."""
    # Text holding NUL names nothing (and PostgreSQL cannot be asked about it).
    names = [n for n in pc.unique(rows.event_name).to_pylist() if n and NUL not in n]
    rules = meter_rules(conn, ctx, names) if names else {}
    return decide(rows, rules, _customers(conn, ctx, rules, dict(rows.payload)), ctx.now)


def decide(
    rows: Checked, rules: Mapping[str, MeterRule], times: Mapping[str, CustomerTime],
    account_now_s: int,
) -> Attribution:  # fmt: skip
    """Every row's verdict, given the meters and customers it may name."""
    payload = dict(rows.payload)
    known = pa.array(list(times), pa.string())
    live = pa.array([t.live for t in times.values()], pa.bool_())
    now_s = pa.array([t.now_s for t in times.values()], pa.int64())
    checked_ok = rows.problem_code.is_null()
    parts, fast = [], np.zeros(len(rows), dtype=bool)
    for name, rule in rules.items():
        mask = _fast_mask(rows, rule, payload, known, live, now_s)
        mask = pc.and_(pc.and_(mask, checked_ok), pc.equal(rows.event_name, name).fill_null(False))
        if pc.any(mask).as_py():
            parts.append(_accepted(rows, rule, payload, mask))
            fast |= np.asarray(mask)
    slow, refused = _one_by_one(rows, rules, times, account_now_s, fast)
    if slow:
        parts.append(pa.Table.from_pylist(slow, ACCEPTED_SCHEMA))
    accepted = pa.concat_tables(parts) if parts else ACCEPTED_SCHEMA.empty_table()
    if len(parts) > 1:
        accepted = accepted.take(pc.sort_indices(accepted.column("row")))
    return Attribution(accepted, refused)


def _customers(
    conn: sa.Connection, ctx: CallContext, rules: Mapping[str, MeterRule],
    payload: Mapping[str, pa.Array],
) -> dict[str, CustomerTime]:  # fmt: skip
    ids: set[str] = set()
    for key in {rule.customer_key for rule in rules.values()}:
        if key in payload:
            ids.update(i for i in pc.unique(payload[key].drop_null()).to_pylist() if NUL not in i)
    ordered = sorted(ids)
    found: dict[str, CustomerTime] = {}
    for start in range(0, len(ordered), CUSTOMER_LOOKUP):
        found.update(customer_times(conn, ctx, set(ordered[start : start + CUSTOMER_LOOKUP])))
    return found


def _fast_mask(
    rows: Checked, rule: MeterRule, payload: Mapping[str, pa.Array], known: pa.Array,
    live: pa.Array, now_s: pa.Array,
) -> pa.Array:  # fmt: skip
    size = len(rows)
    if not rule.active or rule.value_kind is None or rule.customer_key not in payload:
        return pa.array(np.zeros(size, dtype=bool))
    where = pc.index_in(payload[rule.customer_key], value_set=known)
    customer_now = pc.take(now_s, where)
    in_window = pc.and_(
        pc.greater_equal(rows.timestamp_s, pc.subtract(customer_now, PAST_WINDOW_S)),
        pc.less_equal(rows.timestamp_s, pc.add(customer_now, FUTURE_WINDOW_S)),
    )
    mask = pc.and_(pc.take(live, where), in_window).fill_null(False)
    if rule.value_kind == "none":
        return mask
    value = payload.get(rule.value_key)
    if value is None:
        return pa.array(np.zeros(size, dtype=bool))
    length = pc.utf8_length(value)
    if rule.value_kind == "text":
        good = pc.less_equal(length, MAX_TEXT_VALUE_CHARS)
    else:
        good = pc.and_(
            pc.less_equal(length, FAST_DECIMAL_CHARS), pc.match_substring_regex(value, _DECIMAL)
        )
    return pc.and_(mask, good.fill_null(False))


def _accepted(
    rows: Checked, rule: MeterRule, payload: Mapping[str, pa.Array], mask: pa.Array
) -> pa.Table:
    count = int(pc.sum(mask).as_py())
    timestamp_s = rows.timestamp_s.filter(mask)
    if rule.event_time_window_s is not None:
        seconds = timestamp_s.to_numpy()
        timestamp_s = pa.array(seconds - seconds % rule.event_time_window_s)
    value = (
        pa.nulls(count, pa.string()) if rule.value_kind == "none"
        else payload[rule.value_key].filter(mask)
    )  # fmt: skip
    return pa.table(
        [
            rows.row.filter(mask), pa.array([rule.meter_id] * count, pa.string()),
            payload[rule.customer_key].filter(mask), rows.event_name.filter(mask),
            rows.identifier.filter(mask), timestamp_s, value, rows.payload_json.filter(mask),
        ],
        schema=ACCEPTED_SCHEMA,
    )  # fmt: skip


def _one_by_one(
    rows: Checked, rules: Mapping[str, MeterRule], times: Mapping[str, CustomerTime],
    account_now_s: int, fast: np.ndarray,
) -> tuple[list[dict[str, object]], list[error_reports.Refused]]:  # fmt: skip
    """Rows not accepted column-wise: refused by the checks, or classified one by one."""
    accepted: list[dict[str, object]] = []
    refused: list[error_reports.Refused] = []
    where = pa.array(np.flatnonzero(~fast), pa.int64())
    if not len(where):
        return accepted, refused
    column = {
        name: getattr(rows, name).take(where).to_pylist()
        for name in ("row", "event_name", "identifier", "timestamp_s", "payload_json",
                     "problem_code", "problem_message")
    }  # fmt: skip
    payloads: list[dict[str, str]] = [{} for _ in range(len(where))]
    for key, values in rows.payload:
        for found, value in zip(payloads, values.take(where).to_pylist(), strict=True):
            if value is not None:
                found[key] = value
    for i, payload in enumerate(payloads):
        row, name, identifier = column["row"][i], column["event_name"][i], column["identifier"][i]
        timestamp_s, code = column["timestamp_s"][i], column["problem_code"][i]
        rule = rules.get(name) if name else None
        if code is not None:
            refused.append(error_reports.Refused(
                None if rule is None else rule.meter_id, storable((name or "")[:100]),
                storable(identifier[:100]), code,
                storable(f"Row {row}: {column['problem_message'][i]}"),
                {storable(k): storable(v) for k, v in payload.items()}, timestamp_s,
            ))  # fmt: skip
            continue
        verdict = classify(name, payload, timestamp_s, rule, times, account_now_s)
        if isinstance(verdict, Attributed):
            accepted.append({
                "row": row, "meter_id": verdict.meter_id, "customer_id": verdict.customer_id,
                "event_name": name, "identifier": identifier, "timestamp": verdict.timestamp_s,
                "value": verdict.value_text, "payload": column["payload_json"][i],
            })  # fmt: skip
        else:
            problem = verdict.problem
            refused.append(error_reports.Refused(
                verdict.meter_id, name, identifier, problem.code,
                f"Row {row}: {problem.message}", payload, timestamp_s,
            ))  # fmt: skip
    return accepted, refused
