"""Repair plans for a CRM's copy of customers: what each break is proposed to get, that
proposing changes nothing, and that applying needs the approval token and leaves an
audit record per action."""

from __future__ import annotations

import hashlib

import pytest
import sqlalchemy as sa
from repair_support import CUSTOMER_RULES, break_ids, brk, context, persist_run, snapshot

from conftest import new_account
from remit.billing import customers
from remit.billing.tables import customers as customers_table
from remit.events import endpoints
from remit.events.tables import events, webhook_deliveries, webhook_endpoints
from remit.fde.reconcile import repair
from remit.fde.reconcile.repair_apply import MetadataPatch
from remit.fde.reconcile.tables import reconciliation_audit, reconciliation_repair_plans
from remit.jobs.tables import jobs
from remit.primitives.errors import InvalidRequestError, PermissionDenied, ResourceMissing

NOW = 1_700_000_000
CUSTOMER_EVENTS = ("customer.created", "customer.updated")


@pytest.fixture
def crm(store, pm, account):
    """Two customers with their events, an endpoint for customer events, and a run whose
    breaks cover every kind of action a customer can get."""
    ctx = context(account, pm, NOW)
    with store.write() as conn:
        hooks = {"url": "http://127.0.0.1:9/hooks", "enabled_events": list(CUSTOMER_EVENTS)}
        endpoints.create(conn, ctx, hooks)
        ann_params = {"email": "ann@old.example", "name": "Ann",
                      "metadata": MetadataPatch({"tier": "silver"})}  # fmt: skip
        ann = customers.create(conn, ctx, ann_params)["id"]
        bob = customers.create(conn, ctx, {"email": "bob@example.com"})["id"]
    breaks = [
        brk("field_divergence", ann, "email", "ann@old.example", "ann@new.example"),
        brk("field_divergence", ann, "metadata.tier", "silver", "gold"),
        brk("field_divergence", ann, "phone", None, "+1 555 0100"),
        brk("field_divergence", ann, "address.city", None, "Lyon"),
        brk("currency_mismatch", ann, "currency", "usd", "eur"),
        brk("stale", ann, "phone"),
        brk("missing_in_external", bob),
        brk("missing_in_external", "cus_ghost"),
        brk("missing_in_platform", None, key="cus_orphan"),
        brk("duplicate", ann, "stripe_id"),
    ]
    run_id = persist_run(store, account, CUSTOMER_RULES, breaks, now=NOW)
    return {"ann": ann, "bob": bob, "run": run_id, "ctx": ctx}


def _event_of(store, object_id: str) -> str:
    with store.read() as conn:
        return conn.execute(
            sa.select(events.c.id).where(events.c.object_id == object_id).order_by(events.c.id)
        ).scalars().all()[-1]  # fmt: skip


def test_each_break_gets_the_action_its_type_and_authority_call_for(store, crm):
    ann, bob, run_id = crm["ann"], crm["bob"], crm["run"]
    with store.write() as conn:
        plan = repair.propose(conn, crm["ctx"], run_id)
    assert (plan["object"], plan["status"], plan["run"]) == (
        "reconciliation.repair_plan", "proposed", run_id,
    )  # fmt: skip
    ids = break_ids(store, run_id)
    by_key = {a["break"]: a for a in plan["actions"]}
    assert set(by_key) == set(ids.values())
    assert [a["action_no"] for a in plan["actions"]] == list(range(1, 11))

    def action(key: str) -> dict:
        return by_key[ids[key]]

    email = action(f"field_divergence|{ann}|{ann}|email")
    assert (email["type"], email["params"], email["object_id"]) == (
        "update_record", {"email": "ann@new.example"}, ann,
    )  # fmt: skip
    assert "ann@new.example" in email["expected_effect"]
    tier = action(f"field_divergence|{ann}|{ann}|metadata.tier")
    assert (tier["type"], tier["params"]) == ("update_record", {"metadata": {"tier": "gold"}})
    # The platform is right about the phone: its latest event goes to the endpoint again.
    phone = action(f"field_divergence|{ann}|{ann}|phone")
    ann_event = _event_of(store, ann)
    assert (phone["type"], phone["params"]) == (
        "resend_event", {"event": ann_event, "event_type": "customer.created"},
    )  # fmt: skip
    assert "1 webhook endpoint" in phone["expected_effect"]
    # The stale copy of Ann is repaired by that same event: not sent twice.
    stale = action(f"stale|{ann}|{ann}|phone")
    assert stale["type"] == "none"
    assert f"Action {phone['action_no']} re-sends {ann_event}" in stale["expected_effect"]
    bob_sent = action(f"missing_in_external|{bob}||")
    assert (bob_sent["type"], bob_sent["params"]["event"]) == (
        "resend_event",
        _event_of(store, bob),
    )
    ghost = action("missing_in_external|cus_ghost||")
    assert ghost["type"] == "none" and "no event" in ghost["expected_effect"]
    for key, reason in (
        (f"field_divergence|{ann}|{ann}|address.city", "contact fields and metadata"),
        (f"currency_mismatch|{ann}|{ann}|currency", "currency"),
        ("missing_in_platform||cus_orphan|", "does not know"),
        (f"duplicate|{ann}|{ann}|stripe_id", "which copy to keep"),
    ):
        assert (action(key)["type"], action(key)["params"]) == ("none", {})
        assert reason in action(key)["expected_effect"]
    assert plan["digest"] == repair.digest(plan["actions"])


def test_proposing_is_a_dry_run(store, crm):
    watched = (customers_table, events, webhook_deliveries, jobs, reconciliation_audit)
    before = snapshot(store, *watched)
    with store.write() as conn:
        plan = repair.propose(conn, crm["ctx"], crm["run"])
    assert snapshot(store, *watched) == before
    with store.read() as conn:
        plans = conn.execute(sa.select(reconciliation_repair_plans)).all()
        assert [p.id for p in plans] == [plan["id"]]
        assert repair.retrieve(conn, crm["ctx"].account_id, plan["id"]) == plan
    # The same run proposes the same actions again.
    with store.write() as conn:
        again = repair.propose(conn, crm["ctx"], crm["run"])
    assert (again["actions"], again["digest"]) == (plan["actions"], plan["digest"])


def _refused(store, ctx, plan_id: str, token: str | None, error: type, code: str) -> None:
    watched = (customers_table, events, webhook_deliveries, jobs, reconciliation_audit)
    before = snapshot(store, *watched)
    with pytest.raises(error) as refused, store.write() as conn:
        repair.apply(conn, ctx, plan_id, token)
    assert refused.value.code == code
    assert snapshot(store, *watched) == before


def test_applying_needs_approval_and_the_token_then_leaves_an_audit_record(store, crm):
    ctx, ann, bob = crm["ctx"], crm["ann"], crm["bob"]
    with store.write() as conn:
        plan = repair.propose(conn, ctx, crm["run"])
    _refused(store, ctx, plan["id"], None, InvalidRequestError, "plan_not_approved")
    with store.write() as conn:
        token = repair.approve(conn, ctx.account_id, plan["id"], "Dana (finance)", NOW + 5)
        approved = repair.retrieve(conn, ctx.account_id, plan["id"])
    assert (approved["status"], approved["approved_by"], approved["approved_at"]) == (
        "approved", "Dana (finance)", NOW + 5,
    )  # fmt: skip
    with store.read() as conn:
        stored = conn.execute(sa.select(reconciliation_repair_plans)).one()
    token_hash = hashlib.sha256(token.encode()).hexdigest()
    assert stored.approval_token_hash == token_hash and token not in str(stored)
    for wrong in (None, "", token[:-1] + ("A" if token[-1] != "A" else "B")):
        _refused(store, ctx, plan["id"], wrong, PermissionDenied, "approval_token_invalid")
    assert PermissionDenied.http_status == 403

    with store.write() as conn:
        applied = repair.apply(conn, ctx, plan["id"], token)
    assert (applied["status"], applied["applied_at"]) == ("applied", NOW)
    with store.read() as conn:
        after = customers.retrieve(conn, ctx.account_id, ann)
        deliveries = conn.execute(sa.select(webhook_deliveries.c.event_id)).scalars().all()
        audit = repair.audit_records(conn, ctx.account_id, plan["id"])
    assert (after["email"], after["metadata"]) == ("ann@new.example", {"tier": "gold"})
    assert after["phone"] is None, "the platform is right about the phone: unchanged"
    assert {_event_of(store, bob)} < set(deliveries)
    assert [a["action_no"] for a in audit] == list(range(1, 11))
    assert {a["token_fingerprint"] for a in audit} == {token_hash[:16]}
    assert {a["approved_by"] for a in audit} == {"Dana (finance)"}
    by_type = {(a["action"], a["object_id"]): a for a in audit}
    email = next(a for a in audit if a["after"] and a["after"]["email"] == "ann@new.example"
                 and a["before"]["email"] == "ann@old.example")  # fmt: skip
    assert email["result"] == {"updated": ann}
    sent = by_type[("resend_event", bob)]
    assert (
        sent["result"]["event"] == _event_of(store, bob) and len(sent["result"]["deliveries"]) == 1
    )
    assert sent["before"] is None and sent["after"] is None
    assert all(a["result"] is None for a in audit if a["action"] == "none")

    _refused(store, ctx, plan["id"], token, InvalidRequestError, "plan_already_applied")
    with pytest.raises(InvalidRequestError) as again, store.write() as conn:
        repair.approve(conn, ctx.account_id, plan["id"], "Eve", NOW + 9)
    assert again.value.code == "plan_already_applied"


def test_approving_again_voids_the_first_token(store, crm):
    ctx = crm["ctx"]
    with store.write() as conn:
        plan_id = repair.propose(conn, ctx, crm["run"])["id"]
        first = repair.approve(conn, ctx.account_id, plan_id, "Dana", NOW)
        second = repair.approve(conn, ctx.account_id, plan_id, "Eve", NOW + 1)
    assert first != second
    _refused(store, ctx, plan_id, first, PermissionDenied, "approval_token_invalid")
    with store.write() as conn:
        assert repair.apply(conn, ctx, plan_id, second)["approved_by"] == "Eve"


def test_a_plan_edited_after_approval_is_refused(store, crm):
    ctx = crm["ctx"]
    with store.write() as conn:
        plan = repair.propose(conn, ctx, crm["run"])
        token = repair.approve(conn, ctx.account_id, plan["id"], "Dana", NOW)
        edited = [dict(a) for a in plan["actions"]]
        first = next(a for a in edited if a["type"] == "update_record")
        first["params"] = {"email": "mallory@example.com"}
        conn.execute(
            reconciliation_repair_plans.update()
            .where(reconciliation_repair_plans.c.id == plan["id"])
            .values(actions=edited)
        )
    _refused(store, ctx, plan["id"], token, InvalidRequestError, "plan_digest_mismatch")


def test_plans_are_for_succeeded_state_runs_of_the_account(store, pm, account, crm):
    ctx = crm["ctx"]
    failed = persist_run(store, account, CUSTOMER_RULES, [], now=NOW, status="failed")
    other = context(new_account(store, "Other"), pm, NOW)
    with store.write() as conn:
        with pytest.raises(InvalidRequestError) as refused:
            repair.propose(conn, ctx, failed)
        assert refused.value.code == "run_not_repairable"
        with pytest.raises(ResourceMissing):
            repair.propose(conn, other, crm["run"])
        plan_id = repair.propose(conn, ctx, crm["run"])["id"]
        with pytest.raises(ResourceMissing):
            repair.retrieve(conn, other.account_id, plan_id)
        with pytest.raises(ResourceMissing):
            repair.approve(conn, other.account_id, plan_id, "Mallory", NOW)
        with pytest.raises(InvalidRequestError) as nobody:
            repair.approve(conn, ctx.account_id, plan_id, "  ", NOW)
        assert nobody.value.param == "approved_by"
        assert repair.audit_records(conn, ctx.account_id, plan_id) == []


def test_no_endpoint_for_the_event_means_nothing_to_resend(store, crm):
    with store.write() as conn:
        conn.execute(webhook_endpoints.update().values(status="disabled"))
        plan = repair.propose(conn, crm["ctx"], crm["run"])
    resends = [a for a in plan["actions"] if "reach nobody" in a["expected_effect"]]
    assert len(resends) == 3  # Ann's phone (her stale copy points to it) and Bob
    assert all(a["type"] == "none" for a in plan["actions"] if a["type"] != "update_record")
