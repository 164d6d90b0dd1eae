"""Wire shapes of a reconciliation run and what it found.

Not Stripe objects, but built on Stripe's conventions so the same clients and habits
work: ``id``, ``object``, ``created``, ``livemode: false``, nulls for what is unset.
The state store holds each row once; these functions only reshape what was read, so
an API answer and a CLI table always show the same numbers.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

RUN = "reconciliation.run"
BREAK = "reconciliation.break"
MATCH = "reconciliation.match"
REJECT = "reconciliation.reject"


def run(row: Any) -> dict[str, Any]:
    """A ``reconciliation.run`` from its ``reconciliation_runs`` row."""
    return {
        "id": row.id,
        "object": RUN,
        "created": row.created,
        "livemode": False,
        "mode": row.mode,
        "status": row.status,
        "rules": {"name": row.rules_name, "version": row.rules_version, "digest": row.rules_digest},
        "left": _side(row.left_source),
        "right": _side(row.right_source),
        "cutoff": row.cutoff_ts,
        "summary": row.summary or None,
        # A failed run found nothing to digest: null rather than the digest of nothing.
        "results_digest": row.results_digest or None,
        "failure": row.failure,
    }


def _side(source: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "source": source["source"],
        "kind": source["kind"],
        "label": source["label"],
        "rows": source["rows"],
        "rejected": source["rejected"],
        "fingerprint": source["fingerprint"],
    }


def break_(row: Any) -> dict[str, Any]:
    """A ``reconciliation.break`` from its ``reconciliation_breaks`` row."""
    return {
        "id": row.id,
        "object": BREAK,
        "run": row.run_id,
        "type": row.type,
        "break_key": row.break_key,
        "currency": row.currency,
        "left": {"ids": row.left_ids, "amount": row.left_amount, "line": row.left_line},
        "right": {"ids": row.right_ids, "amount": row.right_amount, "line": row.right_line},
        "object_id": row.object_id,
        "field": row.field,
        "platform_value": row.platform_value,
        "external_value": row.external_value,
        "detail": row.detail,
    }


def match_id(run_id: str, match_no: int) -> str:
    """Matches have no row id of their own: the run and the match number name one, and
    serve as the list cursor the way every other object's id does."""
    return f"{run_id}:{match_no}"


def match(row: Any) -> dict[str, Any]:
    """A ``reconciliation.match``: one matched pair or group, with the pass that matched it."""
    return {
        "id": match_id(row.run_id, row.match_no),
        "object": MATCH,
        "run": row.run_id,
        "match_no": row.match_no,
        "pass": row.pass_name,
        "currency": row.currency,
        "left": {"ids": row.left_ids, "amount": row.left_amount},
        "right": {"ids": row.right_ids, "amount": row.right_amount},
        "alternatives": row.alternatives,
    }


def reject_id(run_id: str, side: str, line_no: int, field: str) -> str:
    """A reject is one (side, line, field) of one run; the field goes last because it
    is the only part that may itself hold a colon."""
    return f"{run_id}:{side}:{line_no}:{field}"


def reject(row: Any) -> dict[str, Any]:
    """A ``reconciliation.reject``: a source value that could not be read, with its line."""
    return {
        "id": reject_id(row.run_id, row.side, row.line_no, row.field),
        "object": REJECT,
        "run": row.run_id,
        "side": row.side,
        "line": row.line_no,
        "field": row.field,
        "value": row.value,
        "code": row.code,
        "message": row.message,
    }
