"""Acceptance: a customer's PostgreSQL copy of their invoices, fed by webhooks from the
platform, reconciled in state mode, repaired by an approved plan, reconciled again.

The story: Acme bills two customers through the official Stripe SDK pointed at remit.
Its back office keeps its own invoice table, filled by a webhook receiver. Four things
go wrong, on purpose: the receiver loses every event of one invoice (a missed webhook),
loses the ``invoice.paid`` of another (so that copy still says OPEN, synced before the
payment: stale), someone edits one row's amount by hand (a wrong amount), and an
invoice deleted long ago is still in the table (an orphan row). The run must find
exactly those four, each typed and on the right object, and nothing else. A repair plan
re-sends the three invoices' latest events once a person approves it; the next run finds
only the orphan, which no one but a person can settle.
"""

from __future__ import annotations

import time

import pytest
import sqlalchemy as sa
import stripe
from customer_db_support import Receiver, customer_database, event_summary, execute, rows

from remit.context import CallContext
from remit.fde.reconcile import diff, repair, runs
from remit.fde.reconcile.sources import parse_source
from remit.fde.reconcile.tables import reconciliation_breaks
from remit.jobs.worker import Worker
from remit.plugins.manager import job_handlers
from remit.primitives.clock import WallClock
from remit.primitives.errors import InvalidRequestError, PermissionDenied

RULES = """\
name: back-office-invoices
version: 1
mode: state
object: invoice
key: {platform: id, external: stripe_id}
external: {label: back_office, table: invoices, synced_at: synced_at, synced_format: iso8601}
fields:
  - {platform: customer, external: customer_stripe_id}
  - {platform: number, external: number}
  - {platform: amount_due, external: amount, transform: decimal, currency_column: currency,
     kind: amount}
  - {platform: currency, external: currency, transform: lower, kind: currency}
  - {platform: status, external: state, transform: map,
     values: {DRAFT: draft, OPEN: open, PAID: paid, VOID: void, UNCOLLECTIBLE: uncollectible}}
  - {platform: created, external: issued_local, transform: timestamp, date_format: iso8601,
     timezone: America/New_York}
"""
EVENTS = ("customer.created", "customer.updated", "invoice.created", "invoice.finalized",
          "invoice.paid", "invoice.voided", "invoice.updated")  # fmt: skip
ORPHAN = "in_0DeletedLongAgo0000000"


@pytest.fixture
def crm_url():
    with customer_database() as url:
        yield url


@pytest.fixture
def client(server, account) -> stripe.StripeClient:
    return stripe.StripeClient(
        account.secret_key, base_addresses={"api": server.url}, max_network_retries=0
    )


def _invoice(client: stripe.StripeClient, customer: str, amount: int, then: str = "") -> str:
    client.v1.invoice_items.create(
        params={"customer": customer, "amount": amount, "currency": "usd"}
    )
    invoice = client.v1.invoices.create(
        params={"customer": customer, "pending_invoice_items_behavior": "include",
                "collection_method": "send_invoice", "days_until_due": 30}
    )  # fmt: skip
    if then == "draft":
        return str(invoice.id)
    client.v1.invoices.finalize_invoice(invoice.id)
    if then == "pay":
        client.v1.invoices.pay(invoice.id, params={"paid_out_of_band": True})
    elif then == "void":
        client.v1.invoices.void_invoice(invoice.id)
    return str(invoice.id)


def _deliver(store, pm) -> None:
    """The worker sends every queued webhook (the receiver always answers 200)."""
    worker = Worker(store, job_handlers(pm), WallClock(), lease_s=30)
    for _ in range(100):
        if worker.run_once() == 0:
            return
    raise AssertionError("webhooks still queued after 100 rounds")


def _reconcile(store, ctx: CallContext, crm_url: str) -> dict:
    request = runs.RunRequest(
        rules_text=RULES,
        left=parse_source("platform:invoices"),
        right=parse_source(f"sql:{crm_url}#invoices"),
    )
    run = runs.execute(store, ctx, request)
    assert run["status"] == "succeeded", run
    return run


def _breaks(store, run_id: str) -> list[tuple[str, str | None, str | None]]:
    b = reconciliation_breaks.c
    with store.read() as conn:
        found = conn.execute(
            sa.select(b.type, b.object_id, b.right_ids, b.field)
            .where(b.run_id == run_id)
            .order_by(b.break_key)
        ).all()
    return [(r.type, r.object_id or r.right_ids[0], r.field) for r in found]


class Losses:
    """What the receiver's bug loses: every event of some invoices, the payment of others."""

    def __init__(self) -> None:
        self.invoices: set[str] = set()
        self.payments: set[str] = set()

    def __call__(self, event: dict) -> bool:
        obj = event["data"]["object"]["id"]
        return obj in self.invoices or (event["type"] == "invoice.paid" and obj in self.payments)


def _bill(client: stripe.StripeClient, receiver: Receiver, losses: Losses) -> dict[str, str]:
    """Acme's month: two customers, seven invoices, every webhook sent; three invoices are
    the ones that will drift."""
    endpoint = client.v1.webhook_endpoints.create(
        params={"url": receiver.url, "enabled_events": list(EVENTS)}
    )
    receiver.secret = endpoint.secret
    ann = client.v1.customers.create(params={"email": "ann@example.com", "name": "Ann"}).id
    bob = client.v1.customers.create(params={"email": "bob@example.com", "name": "Bob"}).id
    for customer, amount, then in ((ann, 1200, "pay"), (ann, 990, ""), (bob, 5000, "void"),
                                   (bob, 300, "draft")):  # fmt: skip
        _invoice(client, customer, amount, then)
    ids = {
        "lost": _invoice(client, ann, 4000),
        "wrong_amount": _invoice(client, bob, 2500, "pay"),
        "unpaid_copy": _invoice(client, bob, 7000),
    }
    losses.invoices.add(ids["lost"])
    losses.payments.add(ids["unpaid_copy"])
    # The payment lands a second after the copy synced the finalization.
    time.sleep(1.1)
    client.v1.invoices.pay(ids["unpaid_copy"], params={"paid_out_of_band": True})
    return ids


def _tamper(crm_url: str, wrong_amount: str) -> None:
    """Someone edits an amount by hand; an invoice deleted long ago is still there."""
    execute(
        crm_url, f"UPDATE invoices SET amount = amount - 5.00 WHERE stripe_id = '{wrong_amount}'"
    )
    execute(crm_url, f"""
        INSERT INTO invoices (stripe_id, customer_id, customer_stripe_id, number, state, amount,
                              currency, issued_local, synced_at)
        SELECT '{ORPHAN}', id, stripe_id, 'OLD-0001', 'OPEN', 12.00, 'USD',
               '2024-01-02 09:00:00', '2024-01-02 14:00:00+00' FROM customers LIMIT 1
    """)  # fmt: skip


def _approve_and_apply(store, ctx: CallContext, plan_id: str) -> None:
    """Nothing happens before a person approves, nor without the token they were given."""
    with pytest.raises(InvalidRequestError) as unapproved, store.write() as conn:
        repair.apply(conn, ctx, plan_id, None)
    assert unapproved.value.code == "plan_not_approved"
    with store.write() as conn:
        token = repair.approve(conn, ctx.account_id, plan_id, "Dana (controller)", ctx.now)
    with pytest.raises(PermissionDenied) as no_token, store.write() as conn:
        repair.apply(conn, ctx, plan_id, None)
    assert (no_token.value.http_status, no_token.value.code) == (403, "approval_token_invalid")
    with store.write() as conn:
        assert repair.apply(conn, ctx, plan_id, token)["status"] == "applied"


def test_a_back_office_copy_drifts_is_reconciled_repaired_and_reconciled_again(
    client, store, pm, account, crm_url
):
    losses = Losses()
    with Receiver(crm_url, losses) as receiver:
        ids = _bill(client, receiver, losses)
        lost, wrong_amount, unpaid_copy = ids["lost"], ids["wrong_amount"], ids["unpaid_copy"]
        _deliver(store, pm)
        assert ("invoice.paid", unpaid_copy) in event_summary(receiver.lost)
        assert {obj for _, obj in event_summary(receiver.lost)} == {lost, unpaid_copy}
        _tamper(crm_url, wrong_amount)
        copy = {r["stripe_id"]: r for r in rows(crm_url, "SELECT * FROM invoices ORDER BY id")}
        assert copy[unpaid_copy]["state"] == "OPEN" and lost not in copy and len(copy) == 7
        assert all(r["id"].startswith("INV-") for r in copy.values())

        ctx = CallContext(account=account.account, now=int(time.time()), pm=pm)
        first = _reconcile(store, ctx, crm_url)
        # Every injected discrepancy, typed and on its object; nothing about the others.
        assert _breaks(store, first["id"]) == sorted([
            ("amount_mismatch", wrong_amount, "amount_due"),
            ("missing_in_external", lost, None),
            ("missing_in_platform", ORPHAN, None),
            ("stale", unpaid_copy, "status"),
        ])  # fmt: skip
        assert first["summary"]["records_left"] == first["summary"]["matched_pairs"] + 1 == 7
        assert first["right"]["rejected"] == 0

        with store.write() as conn:
            plan = repair.propose(conn, ctx, first["id"])
        kinds = {a["object_id"] or "orphan": a["type"] for a in plan["actions"]}
        assert kinds == {lost: "resend_event", unpaid_copy: "resend_event",
                         wrong_amount: "resend_event", "orphan": "none"}  # fmt: skip
        _approve_and_apply(store, ctx, plan["id"])
        losses.invoices.clear()  # the receiver's bug is fixed: the re-sent events get through
        losses.payments.clear()
        _deliver(store, pm)

    second = _reconcile(store, ctx, crm_url)
    assert _breaks(store, second["id"]) == [("missing_in_platform", ORPHAN, None)]
    with store.read() as conn:
        changes = diff.diff(conn, ctx.account_id, second["id"], first["id"])
        audit = repair.audit_records(conn, ctx.account_id, plan["id"])
    assert (changes["resolved_count"], changes["new_count"], changes["persisting"]) == (3, 0, 1)
    assert [a["action"] for a in audit].count("resend_event") == 3
    assert {a["approved_by"] for a in audit} == {"Dana (controller)"}
    repaired = {r["stripe_id"]: r for r in rows(crm_url, "SELECT * FROM invoices")}
    assert repaired[unpaid_copy]["state"] == "PAID"
    assert str(repaired[wrong_amount]["amount"]) == "25.00"
    assert repaired[lost]["state"] == "OPEN"
