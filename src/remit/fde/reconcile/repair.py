"""Repair plans: what to do about a state-mode run's breaks, proposed by the machine and
approved by a human before anything changes.

``propose`` is a dry run (``repair_actions``): only the plan row is written. ``approve``
mints a token shown once; only its sha256 is kept, so a copy of the database cannot
apply a plan. ``apply`` needs that token and an unchanged plan (its digest recomputed
from the actions), runs every action in the caller's transaction (``repair_apply``) and
leaves one audit record per action. A refusal raises before anything is written; an
action that fails raises too, and the caller's transaction undoes those before it.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from typing import Any

import sqlalchemy as sa

from remit.context import CallContext
from remit.fde.reconcile.model import StateRules
from remit.fde.reconcile.repair_actions import plan_actions
from remit.fde.reconcile.repair_apply import apply_action
from remit.fde.reconcile.rules import parse_rules
from remit.fde.reconcile.tables import (
    reconciliation_audit,
    reconciliation_breaks,
    reconciliation_repair_plans,
    reconciliation_runs,
)
from remit.primitives.errors import (
    InvalidRequestError,
    PermissionDenied,
    ResourceMissing,
    invalid_parameter,
)
from remit.primitives.ids import new_id, register_prefix

register_prefix("recplan")
register_prefix("recaud")

# A plan is read by a human before it is approved; a run with more breaks than this
# needs its rules or sources fixed, not a plan nobody can review.
MAX_ACTIONS = 10_000
MAX_APPROVER_CHARS = 200
TOKEN_BYTES = 32
FINGERPRINT_CHARS = 16


def digest(actions: list[dict[str, Any]]) -> str:
    """sha256 of the actions' canonical JSON: what an approval vouches for."""
    canonical = json.dumps(actions, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def propose(conn: sa.Connection, ctx: CallContext, run_id: str) -> dict[str, Any]:
    """A plan for every break of a succeeded state-mode run, status ``proposed``."""
    run = _load_run(conn, ctx.account_id, run_id)
    if run.mode != "state" or run.status != "succeeded":
        raise invalid_parameter(
            "run",
            f"Run {run_id} is a {run.status} {run.mode}-mode run; repair plans are made for "
            "succeeded state-mode runs, whose breaks name platform objects.",
            code="run_not_repairable",
        )
    rules = _state_rules(run)
    b = reconciliation_breaks.c
    breaks = conn.execute(
        sa.select(reconciliation_breaks)
        .where(b.account_id == ctx.account_id, b.run_id == run_id)
        .order_by(b.break_key, b.id)
        .limit(MAX_ACTIONS + 1)
    ).all()
    if len(breaks) > MAX_ACTIONS:
        raise invalid_parameter(
            "run",
            f"Run {run_id} has more than {MAX_ACTIONS} breaks, more than a plan a person can "
            "review; fix the rules or the sources and run again.",
            code="too_many_breaks",
        )
    actions = plan_actions(conn, ctx, run_id, rules, breaks)
    plan_id = new_id("recplan")
    row = {
        "id": plan_id,
        "account_id": ctx.account_id,
        "run_id": run_id,
        "status": "proposed",
        "actions": actions,
        "digest": digest(actions),
        "approval_token_hash": None,
        "approved_by": None,
        "approved_at": None,
        "applied_at": None,
        "created": ctx.now,
    }
    conn.execute(reconciliation_repair_plans.insert(), row)
    return retrieve(conn, ctx.account_id, plan_id)


def approve(conn: sa.Connection, account_id: str, plan_id: str, approved_by: str, now: int) -> str:
    """Approve a plan as it stands and return its token (shown this once). Approving an
    approved plan again mints a new token and voids the old one: the way to recover a
    lost token, or take over the approval."""
    who = approved_by.strip()
    if not who or len(who) > MAX_APPROVER_CHARS:
        raise invalid_parameter(
            "approved_by",
            f"approved_by names who approves the plan: 1 to {MAX_APPROVER_CHARS} characters.",
        )
    row = _load(conn, account_id, plan_id, lock=True)
    if row.status == "applied":
        raise _already_applied(plan_id)
    _check_digest(row)
    token = secrets.token_urlsafe(TOKEN_BYTES)
    conn.execute(
        reconciliation_repair_plans.update()
        .where(reconciliation_repair_plans.c.id == row.id)
        .values(
            status="approved", approval_token_hash=_hash(token), approved_by=who, approved_at=now
        )
    )
    return token


def apply(
    conn: sa.Connection, ctx: CallContext, plan_id: str, approval_token: str | None
) -> dict[str, Any]:
    """Carry out an approved plan with its token; every action leaves an audit record."""
    row = _load(conn, ctx.account_id, plan_id, lock=True)
    if row.status == "applied":
        raise _already_applied(plan_id)
    if row.status != "approved":
        raise InvalidRequestError(
            f"Repair plan {plan_id} is {row.status}: a person approves it first "
            "(remit reconcile approve), which gives the approval token apply needs.",
            code="plan_not_approved",
            param="id",
        )
    given = _hash(approval_token) if approval_token else ""
    if not hmac.compare_digest(given, row.approval_token_hash or "-"):
        raise PermissionDenied(
            f"The approval token does not match repair plan {plan_id}'s approval.",
            code="approval_token_invalid",
            param="approval_token",
        )
    _check_digest(row)
    object_type = _state_rules(_load_run(conn, ctx.account_id, row.run_id)).object
    audits = []
    for action in row.actions:
        outcome = apply_action(conn, ctx, action, object_type)
        audits.append(
            {"id": new_id("recaud"), "account_id": ctx.account_id, "plan_id": row.id,
             "action_no": action["action_no"], "action": action["type"],
             "object_id": action["object_id"], "before": outcome.before,
             "after": outcome.after, "result": outcome.result, "approved_by": row.approved_by,
             "token_fingerprint": row.approval_token_hash[:FINGERPRINT_CHARS],
             "applied_at": ctx.now}
        )  # fmt: skip
    if audits:
        conn.execute(reconciliation_audit.insert(), audits)
    conn.execute(
        reconciliation_repair_plans.update()
        .where(reconciliation_repair_plans.c.id == row.id)
        .values(status="applied", applied_at=ctx.now)
    )
    return retrieve(conn, ctx.account_id, plan_id)


def retrieve(conn: sa.Connection, account_id: str, plan_id: str) -> dict[str, Any]:
    return render(_load(conn, account_id, plan_id))


def render(row: Any) -> dict[str, Any]:
    """``reconciliation.repair_plan`` on the wire; the token's hash never leaves."""
    return {
        "id": row.id,
        "object": "reconciliation.repair_plan",
        "actions": list(row.actions),
        "applied_at": row.applied_at,
        "approved_at": row.approved_at,
        "approved_by": row.approved_by,
        "created": row.created,
        "digest": row.digest,
        "livemode": False,
        "run": row.run_id,
        "status": row.status,
    }


def audit_records(conn: sa.Connection, account_id: str, plan_id: str) -> list[dict[str, Any]]:
    """The plan's audit records in action order (none until it is applied)."""
    _load(conn, account_id, plan_id)
    a = reconciliation_audit.c
    rows = conn.execute(
        sa.select(reconciliation_audit)
        .where(a.account_id == account_id, a.plan_id == plan_id)
        .order_by(a.action_no)
    )
    return [
        {"id": r.id, "object": "reconciliation.audit_record", "action": r.action,
         "action_no": r.action_no, "after": r.after, "applied_at": r.applied_at,
         "approved_by": r.approved_by, "before": r.before, "livemode": False,
         "object_id": r.object_id, "plan": r.plan_id, "result": r.result,
         "token_fingerprint": r.token_fingerprint}
        for r in rows
    ]  # fmt: skip


def _load(conn: sa.Connection, account_id: str, plan_id: str, *, lock: bool = False) -> Any:
    p = reconciliation_repair_plans.c
    query = sa.select(reconciliation_repair_plans).where(
        p.account_id == account_id, p.id == plan_id
    )
    row = conn.execute(query.with_for_update() if lock else query).first()
    if row is None:
        raise ResourceMissing("reconciliation.repair_plan", plan_id)
    return row


def _load_run(conn: sa.Connection, account_id: str, run_id: str) -> Any:
    r = reconciliation_runs.c
    row = conn.execute(
        sa.select(reconciliation_runs).where(r.account_id == account_id, r.id == run_id)
    ).first()
    if row is None:
        raise ResourceMissing("reconciliation.run", run_id, param="run")
    return row


def _state_rules(run: Any) -> StateRules:
    """The rules a run kept, parsed again: which object the breaks name, and who is
    right about each field."""
    rules = parse_rules(run.rules_text)
    assert isinstance(rules, StateRules), "a state-mode run keeps state-mode rules"
    return rules


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _check_digest(row: Any) -> None:
    """The actions as stored still hash to the digest: a plan edited after it was
    proposed is not the plan anyone approved."""
    if digest(list(row.actions)) != row.digest:
        raise InvalidRequestError(
            f"Repair plan {row.id} no longer matches its digest; propose a new plan.",
            code="plan_digest_mismatch",
            param="id",
        )


def _already_applied(plan_id: str) -> InvalidRequestError:
    return InvalidRequestError(
        f"Repair plan {plan_id} was applied already; run the reconciliation again and "
        "propose a new plan for what remains.",
        code="plan_already_applied",
        param="id",
    )
