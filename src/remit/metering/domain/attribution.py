"""Attribution: which meter and customer an event counts for, or why it cannot count.

Pure: the service looks up the meters and customers a batch names (one query each)
and hands them in with the clock readings. Problems carry Stripe's error codes, as
reported in ``v1.billing.meter.error_report_triggered``; ``meter_formula_unavailable``
is ours (a meter whose formula's plugin is no longer loaded).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from remit.metering.domain import values
from remit.metering.domain.aggregations import ValueKind
from remit.metering.domain.buckets import floor

PAST_WINDOW_S = 35 * 86400
FUTURE_WINDOW_S = 5 * 60
MAX_TEXT_VALUE_CHARS = 100


@dataclass(frozen=True, slots=True)
class Problem:
    code: str
    message: str


@dataclass(frozen=True, slots=True)
class MeterRule:
    """What one meter needs of an event. ``value_kind`` is None when the meter's formula
    is not provided by any loaded plugin."""

    meter_id: str
    active: bool
    customer_key: str
    value_key: str
    value_kind: ValueKind | None
    event_time_window_s: int | None


@dataclass(frozen=True, slots=True)
class CustomerTime:
    """A customer that exists (``live`` unless deleted) and its clock's reading."""

    live: bool
    now_s: int


@dataclass(frozen=True, slots=True)
class Attributed:
    meter_id: str
    customer_id: str
    timestamp_s: int
    value_text: str | None


@dataclass(frozen=True, slots=True)
class Rejected:
    meter_id: str | None
    problem: Problem


def customer_key_of(payload: Mapping[str, str], rule: MeterRule | None) -> str | None:
    """The customer id an event names, if its meter is known and the key is there."""
    if rule is None:
        return None
    return payload.get(rule.customer_key) or None


def classify(
    event_name: str,
    payload: Mapping[str, str],
    timestamp_s: int | None,
    rule: MeterRule | None,
    customers: Mapping[str, CustomerTime],
    account_now_s: int,
) -> Attributed | Rejected:
    """Attribute one event. The timestamp is checked first, against the clock of the
    customer the event names (the account's clock when there is none), so that an
    event outside the window is refused as such whatever else is wrong with it."""
    meter_id = None if rule is None else rule.meter_id
    customer_id = customer_key_of(payload, rule)
    customer = None if customer_id is None else customers.get(customer_id)
    now_s = account_now_s if customer is None else customer.now_s
    at = now_s if timestamp_s is None else timestamp_s
    late = timestamp_problem(at, now_s)
    if late is not None:
        return Rejected(meter_id, late)
    if rule is None:
        message = f"No meter was found for event_name {event_name}."
        return Rejected(None, Problem("no_meter", message))
    if not rule.active:
        message = f"The meter {rule.meter_id} for event_name {event_name} is inactive."
        return Rejected(rule.meter_id, Problem("archived_meter", message))
    if rule.value_kind is None:
        message = (
            f"The aggregation formula of meter {rule.meter_id} is provided by a plugin "
            "that is not loaded."
        )
        return Rejected(rule.meter_id, Problem("meter_formula_unavailable", message))
    if customer_id is None:
        message = f"Customer mapping key {rule.customer_key} not found in payload."
        return Rejected(rule.meter_id, Problem("meter_event_no_customer_defined", message))
    if customer is None or not customer.live:
        message = f"No customer with id {customer_id[:100]} was found."
        return Rejected(rule.meter_id, Problem("meter_event_customer_not_found", message))
    value = value_of(payload, rule)
    if isinstance(value, Problem):
        return Rejected(rule.meter_id, value)
    if rule.event_time_window_s is not None:
        at = floor(at, rule.event_time_window_s)
    return Attributed(rule.meter_id, customer_id, at, value)


def timestamp_problem(timestamp_s: int, now_s: int) -> Problem | None:
    """Stripe's window: 35 days back, 5 minutes ahead of the customer's clock."""
    if timestamp_s < now_s - PAST_WINDOW_S:
        return Problem(
            "timestamp_too_far_in_past",
            f"The timestamp {timestamp_s} is more than 35 days before the current time {now_s}.",
        )
    if timestamp_s > now_s + FUTURE_WINDOW_S:
        return Problem(
            "timestamp_in_future",
            f"The timestamp {timestamp_s} is more than 5 minutes after the current time {now_s}.",
        )
    return None


def value_of(payload: Mapping[str, str], rule: MeterRule) -> str | None | Problem:
    """The value text to store (checked for the meter's formula), or the problem."""
    if rule.value_kind == "none":
        return None
    text = payload.get(rule.value_key)
    if text is None or text == "":
        message = f"Value key {rule.value_key} not found in payload."
        return Problem("meter_event_value_not_found", message)
    if rule.value_kind == "text":
        if len(text) > MAX_TEXT_VALUE_CHARS:
            limit = MAX_TEXT_VALUE_CHARS
            message = f"The value in the event payload can have at most {limit} characters."
            return Problem("meter_event_invalid_value", message)
        return text
    parsed = values.parse_value(text)
    if isinstance(parsed, values.ValueProblem):
        return Problem(parsed.code, parsed.message)
    return text
