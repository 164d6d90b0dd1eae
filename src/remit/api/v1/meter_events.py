"""/v1/billing/meter_events, /v1/billing/meter_event_adjustments and (beyond Stripe)
/v1/billing/meter_event_errors.

Meter events are validated synchronously, like Stripe's v1: a malformed request (no
event_name or payload, a payload that is not a hash of strings, an identifier over 100
characters, a timestamp outside [now - 35 days, now + 5 minutes] of the customer's
clock, a value of more than 15 digits as of Stripe's 2026-04-22 changelog) answers
400 and records nothing. So does an identifier already recorded: ``An event already
exists with identifier ...``, as Stripe answers (a retry that reuses its
Idempotency-Key gets the original answer replayed instead). An event that is well
formed but cannot be attributed (no such meter or customer, another bad value) is
accepted and recorded as an error, reported through the meter's error report.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from remit.api.forms import as_hash, param_path
from remit.api.listing import created_filter, page
from remit.api.params import (
    Enum,
    Expand,
    Field,
    Obj,
    Path,
    RangeFilter,
    Schema,
    Str,
    Timestamp,
    list_schema,
)
from remit.api.routing import Route
from remit.context import CallContext
from remit.metering import adjustments, error_reports, ingest
from remit.metering.tables import meter_event_errors
from remit.primitives.errors import InvalidRequestError, invalid_parameter

PAYLOAD_MAX_KEYS, PAYLOAD_KEY_MAX_LENGTH, PAYLOAD_VALUE_MAX_LENGTH = 50, 100, 500
# Problems Stripe's v1 answers with 400 (recording nothing), and the param they name.
SYNCHRONOUS_CODES = {
    "timestamp_too_far_in_past": "timestamp",
    "timestamp_in_future": "timestamp",
    "meter_event_value_too_many_digits": "payload",
}


@dataclass(frozen=True)
class Payload(Field):
    """A meter event's payload: a hash of strings, bounded."""

    def coerce(self, value: Any, path: Path) -> dict[str, str]:
        given = as_hash(value)
        name = param_path(path)
        if given is None:
            raise invalid_parameter(name, f"Invalid object: {name} must be a hash of strings")
        if not given:
            raise invalid_parameter(name, f"Invalid {name}: must not be empty")
        if len(given) > PAYLOAD_MAX_KEYS:
            message = f"Invalid {name}: can have at most {PAYLOAD_MAX_KEYS} keys"
            raise invalid_parameter(name, message)
        for key, item in given.items():
            where = param_path((*path, key))
            # PostgreSQL's text cannot hold NUL; no key or value needs one.
            if not key or len(key) > PAYLOAD_KEY_MAX_LENGTH or "\x00" in key:
                message = f"Payload keys must be 1 to {PAYLOAD_KEY_MAX_LENGTH} characters, no NUL."
                raise invalid_parameter(where, message)
            if not isinstance(item, str) or len(item) > PAYLOAD_VALUE_MAX_LENGTH or "\x00" in item:
                message = (
                    f"Payload values must be strings of at most {PAYLOAD_VALUE_MAX_LENGTH} "
                    "characters, no NUL."
                )
                raise invalid_parameter(where, message)
        return dict(given)


CREATE_EVENT = Schema(
    {
        "event_name": Str(max_length=100, blank_ok=False),
        "expand": Expand(),
        "identifier": Str(max_length=100, blank_ok=False),
        "payload": Payload(),
        "timestamp": Timestamp(),
    },
    required=("event_name", "payload"),
)
CREATE_ADJUSTMENT = Schema(
    {
        "cancel": Obj({"identifier": Str(max_length=100, blank_ok=False)}, ("identifier",)),
        "event_name": Str(max_length=100, blank_ok=False),
        "expand": Expand(),
        "type": Enum(("cancel",)),
    },
    # Stripe requires type; cancel too, since its only type cancels one identifier.
    required=("event_name", "type", "cancel"),
)
LIST_ERRORS = list_schema(
    {
        "meter": Str(max_length=40, blank_ok=False),
        "event_name": Str(max_length=100, blank_ok=False),
        "code": Str(max_length=60, blank_ok=False),
        "created": RangeFilter(),
    }
)


def render_event(
    params: dict[str, Any], identifier: str, timestamp_s: int, now: int
) -> dict[str, Any]:
    return {
        "object": "billing.meter_event",
        "created": now,
        "event_name": params["event_name"],
        "identifier": identifier,
        "livemode": False,
        "payload": params["payload"],
        "timestamp": timestamp_s,
    }


def _create_event(conn: sa.Connection, ctx: CallContext, params: dict[str, Any]) -> dict[str, Any]:
    event = ingest.EventInput(
        event_name=params["event_name"],
        payload=params["payload"],
        identifier=params.get("identifier"),
        timestamp_s=params.get("timestamp"),
    )
    outcome = ingest.ingest(conn, ctx, [event], source="v1").events[0]
    # Raising rolls the whole call back: a refused request records nothing.
    if outcome.status == "duplicate":
        raise InvalidRequestError(
            f"An event already exists with identifier {outcome.identifier}.", param="identifier"
        )
    if outcome.status == "error" and outcome.code in SYNCHRONOUS_CODES:
        param = SYNCHRONOUS_CODES[outcome.code]
        raise invalid_parameter(param, outcome.message or "", code=outcome.code)
    timestamp = params.get("timestamp", outcome.timestamp_s)
    return render_event(params, outcome.identifier, timestamp or ctx.now, ctx.now)


def _create_adjustment(
    conn: sa.Connection, ctx: CallContext, params: dict[str, Any]
) -> dict[str, Any]:
    return adjustments.cancel(conn, ctx, params["event_name"], params["cancel"]["identifier"])


def _list_errors(conn: sa.Connection, ctx: CallContext, params: dict[str, Any]) -> dict[str, Any]:
    """Beyond Stripe: the refused meter events themselves, newest first."""
    t = meter_event_errors.c
    where: list[sa.ColumnElement[bool]] = []
    for key, column in (("meter", t.meter_id), ("event_name", t.event_name), ("code", t.code)):
        if key in params:
            where.append(column == params[key])
    if "created" in params:
        where += created_filter(t.created, params["created"])
    return page(
        conn, ctx.account_id, meter_event_errors, where, params, error_reports.render_error,
        "/v1/billing/meter_event_errors", "billing.meter_event_error",
    )  # fmt: skip


ROUTES = [
    Route("POST", "/v1/billing/meter_events", _create_event, CREATE_EVENT, writes=True),
    Route(
        "POST",
        "/v1/billing/meter_event_adjustments",
        _create_adjustment,
        CREATE_ADJUSTMENT,
        writes=True,
    ),  # fmt: skip
    Route("GET", "/v1/billing/meter_event_errors", _list_errors, LIST_ERRORS),
]
