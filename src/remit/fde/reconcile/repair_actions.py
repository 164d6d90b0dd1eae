"""What a repair plan proposes for each break of a state-mode run. A dry run: this module
reads (the object's latest event, the endpoints, a credit note's preview) and writes
nothing, so a plan can be computed, read and thrown away.

The choice follows who is right about a field (its ``authority`` in the rules):
* the platform is right (a missed webhook, a copy that synced before the last change, a
  field the copy got wrong): re-send the object's latest event, which carries the whole
  object, so the receiver's own upsert repairs its copy (``resend_event``);
* the external copy is right about a customer's contact fields or metadata, or a
  subscription's metadata: take its value through the object's update service
  (``update_record``);
* the external copy is right that an open or paid invoice is worth less: issue a credit
  note for the difference (``issue_credit_note``);
* anything else (an orphan row, a duplicate, a currency, an amount the copy says is
  higher) is not something the platform can settle by itself: ``none``, with the reason,
  and a human decides.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from remit.billing.credit_notes import service as credit_notes
from remit.billing.credit_notes.domain import settle
from remit.billing.invoices import reads as invoice_reads
from remit.context import CallContext
from remit.events.tables import events, webhook_endpoints
from remit.fde.reconcile.model import FieldMapping, StateRules
from remit.primitives.errors import InvalidRequestError

CUSTOMER_FIELDS = frozenset({"name", "email", "description", "phone"})
METADATA = "metadata."
CREDITABLE = ("open", "paid")


@dataclass(frozen=True)
class Found:
    """What the plan reads once for all breaks: each object's latest event and the event
    types some enabled endpoint receives."""

    latest: Mapping[str, tuple[str, str]]  # object id -> (event id, event type)
    subscribed: Mapping[str, int]  # event type -> endpoints receiving it (types asked only)


def plan_actions(
    conn: sa.Connection, ctx: CallContext, run_id: str, rules: StateRules, breaks: Sequence[Any]
) -> list[dict[str, Any]]:
    """One action per break, numbered from 1 in the order given. An object's event is
    re-sent once: a later break it also repairs points to that action."""
    found = _read(conn, ctx.account_id, [b.object_id for b in breaks if b.object_id])
    fields = {f.platform: f for f in rules.fields}
    resent: dict[str, int] = {}
    actions = []
    for number, brk in enumerate(breaks, start=1):
        kind, params, effect = _decide(conn, ctx, run_id, rules, fields, found, resent, brk)
        if kind == "resend_event":
            resent[params["event"]] = number
        actions.append(
            {"action_no": number, "type": kind, "break": brk.id, "object_id": brk.object_id,
             "params": params, "expected_effect": effect}
        )  # fmt: skip
    return actions


Decision = tuple[str, dict[str, Any], str]


def _decide(
    conn: sa.Connection,
    ctx: CallContext,
    run_id: str,
    rules: StateRules,
    fields: Mapping[str, FieldMapping],
    found: Found,
    resent: Mapping[str, int],
    brk: Any,
) -> Decision:
    label, noun = rules.external_label, rules.object
    mapping = fields.get(brk.field or "")
    if brk.type in ("missing_in_external", "stale") or (
        brk.type in ("amount_mismatch", "field_divergence")
        and mapping is not None
        and mapping.authority == "platform"
    ):
        return _resend(rules, found, resent, brk)
    if brk.type == "missing_in_platform":
        return _none(
            f"{label} has a {noun} the platform does not know ({brk.detail}); a human decides "
            f"whether to remove it from {label} or create it on the platform."
        )
    if brk.type == "duplicate":
        return _none(f"{brk.detail} A human decides which copy to keep.")
    if brk.type == "currency_mismatch":
        return _none(
            f"The currency differs ({brk.detail}); an object's currency is not changed by a "
            "repair, a human decides."
        )
    if brk.type == "field_divergence" and mapping is not None:
        return _update(rules, brk)
    if brk.type == "amount_mismatch" and mapping is not None:
        return _credit(conn, ctx, run_id, rules, brk)
    return _none(f"No automatic repair for a {brk.type} break ({brk.detail}); a human decides.")


def _none(reason: str) -> Decision:
    return "none", {}, reason


def _resend(rules: StateRules, found: Found, resent: Mapping[str, int], brk: Any) -> Decision:
    noun, label = rules.object, rules.external_label
    latest = found.latest.get(brk.object_id)
    if latest is None:
        return _none(f"The platform has no event for {noun} {brk.object_id} to re-send.")
    event_id, event_type = latest
    if event_id in resent:
        return _none(f"Action {resent[event_id]} re-sends {event_id}, which repairs this too.")
    endpoints = found.subscribed.get(event_type, 0)
    if not endpoints:
        return _none(
            f"No enabled webhook endpoint receives {event_type}, so re-sending {event_id} "
            f"would reach nobody; {label} needs an endpoint first."
        )
    return (
        "resend_event",
        {"event": event_id, "event_type": event_type},
        f"Re-sends {event_type} {event_id} (the latest event of {noun} {brk.object_id}) to "
        f"{endpoints} webhook endpoint{'s' if endpoints > 1 else ''}, so {label} can store "
        f"the platform's copy ({brk.type}).",
    )


def _update(rules: StateRules, brk: Any) -> Decision:
    field, value, label = brk.field, brk.external_value or "", rules.external_label
    is_metadata = field.startswith(METADATA) and len(field) > len(METADATA)
    updatable = (rules.object == "customer" and (field in CUSTOMER_FIELDS or is_metadata)) or (
        rules.object == "subscription" and is_metadata
    )
    if not updatable:
        return _none(
            f"{label} is authoritative for {rules.object} {field}, but the platform takes "
            f"only contact fields and metadata from it; a human decides ({brk.detail})"
        )
    params = {"metadata": {field[len(METADATA) :]: value}} if is_metadata else {field: value}
    shown = repr(value) if value else "empty"
    return (
        "update_record",
        params,
        f"Sets {rules.object} {brk.object_id}'s {field} to {shown} as {label} has it "
        f"(the platform has {brk.platform_value!r}); the {rules.object}.updated event follows.",
    )


def _credit(
    conn: sa.Connection, ctx: CallContext, run_id: str, rules: StateRules, brk: Any
) -> Decision:
    """A credit note for what the platform charges beyond the external copy, settled as
    the credit notes service requires: first off what the invoice still owes, the rest
    to the customer's balance. Previewed, so a note the service would refuse is a
    ``none`` with the service's reason rather than a plan that fails when applied."""
    label, platform, external = rules.external_label, brk.left_amount, brk.right_amount
    if rules.object != "invoice" or platform is None or external is None:
        return _none(f"Only an invoice's amounts are repaired by a credit note ({brk.detail}).")
    if external >= platform:
        return _none(
            f"{label} has more ({external}) than the platform ({platform}); a credit note "
            "only lowers an invoice, a human decides."
        )
    invoice = invoice_reads.invoices_by_id(conn, ctx.account_id, [brk.object_id]).get(brk.object_id)
    if invoice is None or invoice.status not in CREDITABLE:
        status = "gone" if invoice is None else invoice.status
        return _none(
            f"Invoice {brk.object_id} is {status}: only open or paid invoices are credited."
        )
    difference = platform - external
    pre, post = settle(difference, invoice.amount_remaining)
    params: dict[str, Any] = {
        "invoice": brk.object_id,
        "amount": difference,
        "memo": f"Reconciliation {run_id}: {label} has {brk.field} {external}.",
    }
    if post:
        params["credit_amount"] = post
    try:
        credit_notes.preview(conn, ctx, params)
    except InvalidRequestError as refused:
        return _none(f"A credit note of {difference} would be refused: {refused.message}")
    owed = f"{pre} off what it still owes" if pre else ""
    balance = f"{post} to the customer's credit balance" if post else ""
    return (
        "issue_credit_note",
        params,
        f"Issues a credit note of {difference} {invoice.currency} on invoice {brk.object_id} "
        f"({' and '.join(p for p in (owed, balance) if p)}), as {label} has {brk.field} "
        f"{external} where the platform has {platform}.",
    )


def _read(conn: sa.Connection, account_id: str, object_ids: Iterable[str]) -> Found:
    ids = sorted(set(object_ids))
    latest: dict[str, tuple[str, str]] = {}
    e = events.c
    for at in range(0, len(ids), invoice_reads.CHUNK_IDS):
        chunk = ids[at : at + invoice_reads.CHUNK_IDS]
        ranked = (
            sa.select(
                e.object_id, e.id, e.type,
                sa.func.row_number().over(
                    partition_by=e.object_id, order_by=(e.created.desc(), e.id.desc())
                ).label("recency"),
            )
            .where(e.account_id == account_id, e.object_id.in_(chunk))
            .subquery()
        )  # fmt: skip
        rows = conn.execute(sa.select(ranked).where(ranked.c.recency == 1))
        latest.update((row.object_id, (row.id, row.type)) for row in rows)
    return Found(latest, _subscribed(conn, account_id, {t for _, t in latest.values()}))


def _subscribed(conn: sa.Connection, account_id: str, types: set[str]) -> dict[str, int]:
    w = webhook_endpoints.c
    enabled = [
        set(row.enabled_events)
        for row in conn.execute(
            sa.select(w.enabled_events).where(
                w.account_id == account_id, w.status == "enabled", w.deleted.is_(False)
            )
        )
    ]
    return {t: sum(1 for names in enabled if "*" in names or t in names) for t in types}
