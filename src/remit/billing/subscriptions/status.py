"""The subscription status machine's timing: when the scheduler next has work for one.

Pure: the values of a subscription row in, a time out. ``next_action_at`` is written on
every change of a subscription so the scheduler can find what is due with one indexed
range read instead of looking at every subscription.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

STATUSES = (
    "incomplete",
    "incomplete_expired",
    "trialing",
    "active",
    "past_due",
    "unpaid",
    "canceled",
    "paused",
)
# Nothing happens to these any more: no renewals, no changes, no scheduled work.
TERMINAL = frozenset({"canceled", "incomplete_expired"})
# An incomplete subscription whose first invoice stays unpaid this long expires (Stripe).
INCOMPLETE_EXPIRY_S = 23 * 3600
# customer.subscription.trial_will_end goes out this long before a trial ends (Stripe).
TRIAL_WILL_END_NOTICE_S = 3 * 86_400


def incomplete_expires_at(created_ts: int) -> int:
    return created_ts + INCOMPLETE_EXPIRY_S


def trial_will_end_at(trial_end_ts: int) -> int:
    return trial_end_ts - TRIAL_WILL_END_NOTICE_S


def next_action_at(row: Mapping[str, Any]) -> int | None:
    """The earliest moment the scheduler must look at the subscription ``row`` again.

    The candidates: the end of the current period (renewal, or the end of a
    ``cancel_at_period_end`` subscription), ``cancel_at``, the end of a trial and three
    days before it while ``trial_will_end`` has not gone out, the expiry of an incomplete
    subscription, and the moment a paused collection resumes. None once nothing is due.
    """
    status = row["status"]
    if status in TERMINAL:
        return None
    if status == "incomplete":
        # Only payment (an event, not a time) or expiry moves it; it does not renew.
        return incomplete_expires_at(row["created"])
    candidates: list[int] = [row["current_period_end"]]
    if row.get("cancel_at") is not None:
        candidates.append(row["cancel_at"])
    trial_end = row.get("trial_end")
    if status == "trialing" and trial_end is not None:
        candidates.append(trial_end)
        if not row.get("trial_will_end_sent"):
            # A trial shorter than the notice is noticed when it starts, not before it.
            notice_ts = trial_will_end_at(trial_end)
            trial_start = row.get("trial_start")
            candidates.append(notice_ts if trial_start is None else max(notice_ts, trial_start))
    pause = row.get("pause_collection")
    if pause and pause.get("resumes_at") is not None:
        candidates.append(pause["resumes_at"])
    return min(candidates)
