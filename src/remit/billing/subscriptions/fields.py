"""The plain fields of a subscription update: collection, cancellation, pause, taxes,
description and metadata. Checked and turned into column values; nothing is written here.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa

from remit.billing.subscriptions import validate
from remit.billing.taxes import tax_rates
from remit.primitives.errors import invalid_parameter

PAUSE_BEHAVIORS = ("keep_as_draft", "mark_uncollectible", "void")


def values(
    conn: sa.Connection, account_id: str, row: Any, params: Mapping[str, Any], now_ts: int
) -> dict[str, Any]:
    """Column values for the plain fields the update sends (absent fields stay absent)."""
    found: dict[str, Any] = {}
    found.update(_collection(row, params))
    found.update(_cancellation(row, params, now_ts))
    if "pause_collection" in params:
        found["pause_collection"] = _pause(params["pause_collection"], now_ts)
    if "default_tax_rates" in params:
        rates = list(params["default_tax_rates"] or ())
        tax_rates.check_attachable(conn, account_id, rates, "default_tax_rates")
        found["default_tax_rates"] = rates
    if "trial_settings" in params:
        found["trial_settings"] = params["trial_settings"]
    if "description" in params:
        found["description"] = params["description"] or None
    if "metadata" in params:
        found["metadata"] = params["metadata"].apply(dict(row.metadata))
    return found


def _collection(row: Any, params: Mapping[str, Any]) -> dict[str, Any]:
    if "collection_method" not in params and "days_until_due" not in params:
        return {}
    method = params.get("collection_method", row.collection_method)
    days = params.get("days_until_due")
    if days is None and "days_until_due" not in params and method == "send_invoice":
        days = row.days_until_due  # a send_invoice subscription keeps its terms
    checked_method, checked_days = validate.collection(method, days)
    return {"collection_method": checked_method, "days_until_due": checked_days}


def _cancellation(row: Any, params: Mapping[str, Any], now_ts: int) -> dict[str, Any]:
    """``cancel_at`` and ``cancel_at_period_end`` replace each other; "" clears cancel_at."""
    found: dict[str, Any] = {}
    if params.get("cancel_at") is not None and params.get("cancel_at_period_end"):
        raise invalid_parameter(
            "cancel_at_period_end", "You cannot set both cancel_at and cancel_at_period_end."
        )
    if "cancel_at" in params:
        cancel_at = params["cancel_at"]
        if cancel_at is not None:
            validate.cancel_terms({"cancel_at": cancel_at}, now_ts, row.current_period_start)
        found["cancel_at"] = cancel_at
        if cancel_at is not None:
            found["cancel_at_period_end"] = False
    if "cancel_at_period_end" in params:
        found["cancel_at_period_end"] = params["cancel_at_period_end"]
        if params["cancel_at_period_end"]:
            found["cancel_at"] = None
    if "cancellation_details" in params:
        details = params["cancellation_details"] or {}
        found["cancellation_details"] = {
            **row.cancellation_details,
            **{key: value or None for key, value in details.items()},
        }
    return found


def _pause(given: Mapping[str, Any] | None, now_ts: int) -> dict[str, Any] | None:
    if given is None:
        return None
    resumes_at = given.get("resumes_at")
    if resumes_at is not None and resumes_at <= now_ts:
        raise invalid_parameter(
            "pause_collection[resumes_at]", "pause_collection[resumes_at] must be in the future."
        )
    return {"behavior": given["behavior"], "resumes_at": resumes_at}
