"""Carrying out one approved repair action through the service that owns the object, in
the caller's transaction, and what its audit record keeps: the object before and after
(where the action changes one) and the ids the action made.

Every change goes through the same service an API call would use, so it emits the same
events, books the same ledger entries and is refused by the same checks: a repair is
never a write around the platform's rules.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from remit.billing import customers
from remit.billing.credit_notes import service as credit_notes
from remit.billing.invoices import reads as invoice_reads
from remit.billing.subscriptions import render as subscription_reads
from remit.billing.subscriptions import update as subscription_update
from remit.context import CallContext
from remit.events import service as events


@dataclass(frozen=True)
class Outcome:
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    result: dict[str, Any] | None


@dataclass(frozen=True)
class MetadataPatch:
    """Metadata keys to set, in the shape the update services take (``apply(current)``,
    as the API's parsed ``metadata`` param has). An empty value removes the key, as
    ``metadata[key]=""`` does in Stripe's API."""

    values: Mapping[str, str]

    def apply(self, current: Mapping[str, str]) -> dict[str, str]:
        kept = {k: v for k, v in current.items() if k not in self.values}
        return kept | {k: v for k, v in self.values.items() if v}


def apply_action(
    conn: sa.Connection, ctx: CallContext, action: Mapping[str, Any], object_type: str
) -> Outcome:
    """Carry out one action of a plan whose objects are of ``object_type``."""
    kind = action["type"]
    if kind == "none":
        return Outcome(None, None, None)
    if kind == "resend_event":
        deliveries = events.redeliver(conn, ctx, action["params"]["event"])
        return Outcome(None, None, {"event": action["params"]["event"], "deliveries": deliveries})
    if kind == "update_record":
        return _update(conn, ctx, object_type, action["object_id"], action["params"])
    if kind == "issue_credit_note":
        return _credit(conn, ctx, action["params"])
    raise ValueError(f"unknown repair action {kind!r}")


def _update(
    conn: sa.Connection,
    ctx: CallContext,
    object_type: str,
    object_id: str,
    params: Mapping[str, Any],
) -> Outcome:
    given = dict(params)
    if "metadata" in given:
        given["metadata"] = MetadataPatch(given["metadata"])
    read: Callable[[sa.Connection, str, str], dict[str, Any]]
    if object_type == "customer":
        read = customers.retrieve
        before = read(conn, ctx.account_id, object_id)
        customers.update(conn, ctx, object_id, given)
    elif object_type == "subscription":
        read = subscription_reads.retrieve
        before = read(conn, ctx.account_id, object_id)
        subscription_update.update(conn, ctx, object_id, given)
    else:
        raise ValueError(f"{object_type} records are not updated by repairs")
    return Outcome(before, read(conn, ctx.account_id, object_id), {"updated": object_id})


def _credit(conn: sa.Connection, ctx: CallContext, params: Mapping[str, Any]) -> Outcome:
    invoice_id = params["invoice"]
    before = invoice_reads.retrieve(conn, ctx.account_id, invoice_id)
    note = credit_notes.create(conn, ctx, params)
    after = invoice_reads.retrieve(conn, ctx.account_id, invoice_id)
    return Outcome(before, after, {"credit_note": note["id"]})
