"""/v2/billing: meter event sessions and the high-throughput meter event stream.

The stream answers ``{}`` once its events are durably recorded. As on Stripe,
per-event problems do not fail the request: an event that cannot be used is
recorded as a meter event error (and reported through
``v1.billing.meter.error_report_triggered``) while its batch-mates count. Only a
request that is not a list of up to 100 events is refused whole.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

import orjson
import sqlalchemy as sa

from remit.api.params import Field, ListOf, Path, Schema
from remit.api.routing import Route
from remit.context import CallContext
from remit.metering import ingest, sessions
from remit.metering.domain.attribution import Problem
from remit.metering.domain.timestamps import rfc3339_seconds
from remit.metering.ingest import EventInput
from remit.primitives.errors import invalid_parameter

MAX_EVENTS = 100
EVENT_KEYS = frozenset({"event_name", "identifier", "payload", "timestamp"})
EVENT_NAME_MAX, IDENTIFIER_MAX, PAYLOAD_MAX_KEYS, PAYLOAD_TEXT_MAX = 100, 100, 50, 500
NUL = "\x00"


class _AsSent(Field):
    """A JSON value taken as sent; the stream checks each event itself."""

    def coerce(self, value: Any, path: Path) -> Any:
        return value


SESSION = Schema({})
STREAM = Schema({"events": ListOf(_AsSent(), max_items=MAX_EVENTS)}, required=("events",))


def _create_session(
    conn: sa.Connection, ctx: CallContext, params: dict[str, Any]
) -> dict[str, Any]:
    return sessions.create(conn, ctx)


def _stream(conn: sa.Connection, ctx: CallContext, params: dict[str, Any]) -> dict[str, Any]:
    events = params["events"]
    if not events:
        raise invalid_parameter("events", "Invalid array: events must hold at least one event")
    inputs = [_event_input(index, event, ctx.idempotency_key) for index, event in enumerate(events)]
    ingest.ingest(conn, ctx, inputs, source="v2_stream")
    return {}


def _event_input(index: int, event: Any, idempotency_key: str | None) -> EventInput:
    """One sent event as ingestion input; what is wrong with it travels as its problem."""
    if not isinstance(event, dict):
        return _problem(index, None, None, {}, "invalid_event", "Each event must be a JSON object.")
    name = event.get("event_name")
    identifier = event.get("identifier")
    raw_payload = event.get("payload")
    payload = _payload(raw_payload)
    shown_name = name if isinstance(name, str) else None
    shown_id = identifier if isinstance(identifier, str) else None
    unknown = sorted(event.keys() - EVENT_KEYS)
    problem = (
        f"Received unknown parameter: {unknown[0]}" if unknown
        else _name_problem(name) or _identifier_problem(identifier)
        or (None if payload is not None else "payload must be an object of at most "
            f"{PAYLOAD_MAX_KEYS} string keys with string or number values, without NUL")
    )  # fmt: skip
    if problem is not None:
        return _problem(index, shown_name, shown_id, payload or {}, "invalid_event", problem)
    timestamp_s, bad_time = _timestamp(event.get("timestamp"))
    assert payload is not None and isinstance(name, str), "checked above"
    if identifier is None and idempotency_key is not None:
        identifier = _retry_identifier(idempotency_key, index, name, payload, timestamp_s)
    if bad_time is not None:
        return _problem(index, name, identifier, payload, "invalid_timestamp", bad_time)
    return EventInput(name, payload, identifier, timestamp_s)


def _retry_identifier(
    idempotency_key: str, index: int, name: str, payload: dict[str, str], timestamp_s: int | None
) -> str:
    """The identifier of an unnamed event: a retried request (same Idempotency-Key, same
    events) names its events the same way, so the identifier dedup makes the retry count
    once without storing any answer. The event is part of the name: other events sent
    under a reused key are not duplicates and must not vanish as such."""
    sent = orjson.dumps(
        [idempotency_key, index, name, payload, timestamp_s], option=orjson.OPT_SORT_KEYS
    )
    return f"gen_{hashlib.sha256(sent).hexdigest()[:32]}_{index}"


def _problem(
    index: int, name: str | None, identifier: str | None, payload: Mapping[str, str],
    code: str, message: str,
) -> EventInput:  # fmt: skip
    # Kept as sent, cut to the error log's bounds: the record must exist even for junk.
    name, identifier = (name or "")[:EVENT_NAME_MAX], (identifier or None) and identifier[:100]
    return EventInput(
        _storable(name), dict(payload), identifier and _storable(identifier),
        problem=Problem(code, _storable(message)),
    )  # fmt: skip


def _storable(text: str) -> str:
    """Text as the error log can keep it: PostgreSQL's text cannot hold NUL."""
    return text.replace(NUL, "\ufffd")


def _name_problem(name: Any) -> str | None:
    if not isinstance(name, str) or not name.strip():
        return "event_name is required and must be a non-empty string"
    if len(name) > EVENT_NAME_MAX:
        return f"event_name can have at most {EVENT_NAME_MAX} characters"
    return "event_name must not contain NUL characters" if NUL in name else None


def _identifier_problem(identifier: Any) -> str | None:
    if identifier is None:
        return None
    if not isinstance(identifier, str) or not identifier.strip():
        return "identifier must be a non-empty string"
    if len(identifier) > IDENTIFIER_MAX:
        return f"identifier can have at most {IDENTIFIER_MAX} characters"
    return "identifier must not contain NUL characters" if NUL in identifier else None


def _payload(raw: Any) -> dict[str, str] | None:
    if not isinstance(raw, dict) or len(raw) > PAYLOAD_MAX_KEYS:
        return None
    payload: dict[str, str] = {}
    for key, value in raw.items():
        if isinstance(value, bool) or len(key) > PAYLOAD_TEXT_MAX or NUL in key:
            return None
        if isinstance(value, int | Decimal):
            value = str(value)
        if not isinstance(value, str) or len(value) > PAYLOAD_TEXT_MAX or NUL in value:
            return None
        payload[key] = value
    return payload


def _timestamp(raw: Any) -> tuple[int | None, str | None]:
    """RFC 3339 text to Unix seconds; (None, None) when absent, (None, why) when bad."""
    if raw is None:
        return None, None
    seconds = rfc3339_seconds(raw) if isinstance(raw, str) else None
    if seconds is not None:
        return seconds, None
    return None, f"timestamp must be an RFC 3339 date-time with a time zone, got {str(raw)[:40]!r}"


ROUTES = [
    Route("POST", "/v2/billing/meter_event_session", _create_session, SESSION, writes=True),
    Route(
        "POST",
        "/v2/billing/meter_event_stream",
        _stream,
        STREAM,
        writes=True,
        auth="meter_event_session",
        replays=False,
    ),  # fmt: skip
]
