"""A new subscription's first period: its trial, its billing cycle anchor, and whether the
first period is a whole one or a stub up to a later anchor.

Reads only the request's params and the time; raises Stripe-shaped errors naming the param.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from remit.billing.domain import periods
from remit.primitives.errors import invalid_parameter

DAY_S = 86_400
# Stripe's longest trial.
MAX_TRIAL_DAYS = 730
_ANCHOR_PARAMS = ("billing_cycle_anchor", "billing_cycle_anchor_config")


@dataclass(frozen=True)
class FirstPeriod:
    anchor_ts: int
    anchor_config: Mapping[str, Any] | None
    start_ts: int
    end_ts: int
    trial_end_ts: int | None
    # The whole period on the anchor's grid that ends at the anchor, when the first period
    # is only the stub up to it (a stub is billed as its share of that period).
    full_period: tuple[int, int] | None


def trial_end_of(params: Mapping[str, Any], prices: Sequence[Any], now_ts: int) -> int | None:
    """The trial's end from ``trial_end``, ``trial_period_days`` or ``trial_from_plan``."""
    if params.get("trial_from_plan"):
        for key in ("trial_end", "trial_period_days"):
            if key in params:
                raise invalid_parameter(
                    "trial_from_plan", f"You cannot set trial_from_plan together with {key}."
                )
        days = max((p.recurring_trial_period_days or 0 for p in prices), default=0)
        return now_ts + days * DAY_S if days else None
    if "trial_end" in params and "trial_period_days" in params:
        raise invalid_parameter(
            "trial_period_days", "You cannot set both trial_end and trial_period_days."
        )
    if "trial_period_days" in params:
        days = params["trial_period_days"]
        if days > MAX_TRIAL_DAYS:
            raise invalid_parameter(
                "trial_period_days", f"A trial can last at most {MAX_TRIAL_DAYS} days."
            )
        return now_ts + days * DAY_S if days else None
    return checked_trial_end(params.get("trial_end"), now_ts)


def checked_trial_end(given: int | str | None, now_ts: int) -> int | None:
    """A ``trial_end`` param: "now" (no trial, or end it) or a moment in the coming 730 days."""
    if given is None or given == "now":
        return None
    assert isinstance(given, int)
    if given <= now_ts:
        raise invalid_parameter(
            "trial_end", f"Invalid timestamp: must be in the future (it is now {now_ts})."
        )
    if given > now_ts + MAX_TRIAL_DAYS * DAY_S:
        raise invalid_parameter(
            "trial_end", f"Invalid timestamp: a trial can last at most {MAX_TRIAL_DAYS} days."
        )
    return given


def first_period(
    params: Mapping[str, Any], grid: tuple[str, int], now_ts: int, trial_end_ts: int | None
) -> FirstPeriod:
    """Where the cycle is anchored and what the first period covers."""
    interval, count = grid
    if trial_end_ts is not None:
        for key in _ANCHOR_PARAMS:
            if key in params:
                raise invalid_parameter(
                    key,
                    f"{key} cannot be combined with a trial: the trial's end anchors the cycle.",
                )
        return FirstPeriod(trial_end_ts, None, now_ts, trial_end_ts, trial_end_ts, None)
    config = params.get("billing_cycle_anchor_config")
    anchor_ts = params.get("billing_cycle_anchor", now_ts)
    if config is not None:
        anchor_ts = _anchor_from_config(config, interval, now_ts)
    elif anchor_ts < now_ts:
        raise invalid_parameter(
            "billing_cycle_anchor", "billing_cycle_anchor cannot be in the past."
        )
    natural_end_ts = periods.boundary(now_ts, interval, count, 1)
    if anchor_ts > natural_end_ts:
        raise invalid_parameter(
            "billing_cycle_anchor_config" if config is not None else "billing_cycle_anchor",
            f"billing_cycle_anchor cannot be later than the next natural billing date "
            f"({natural_end_ts}) for this subscription's interval.",
        )
    if anchor_ts == now_ts:
        return FirstPeriod(now_ts, None, now_ts, natural_end_ts, None, None)
    full_period = (periods.boundary(anchor_ts, interval, count, -1), anchor_ts)
    return FirstPeriod(anchor_ts, config, now_ts, anchor_ts, None, full_period)


def _anchor_from_config(config: Mapping[str, Any], interval: str, now_ts: int) -> int:
    if interval not in ("month", "year"):
        raise invalid_parameter(
            "billing_cycle_anchor_config",
            "billing_cycle_anchor_config is only available for monthly and yearly prices.",
        )
    if interval == "month" and config.get("month") is not None:
        raise invalid_parameter(
            "billing_cycle_anchor_config[month]",
            "billing_cycle_anchor_config[month] can only be set for yearly prices.",
        )
    return periods.anchor_from_config(
        now_ts,
        config["day_of_month"],
        config.get("hour"),
        config.get("minute"),
        config.get("second"),
        config.get("month"),
    )
