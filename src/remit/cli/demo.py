"""``remit demo``: a small business driven through the official Stripe SDK, embedded default.

It creates an account, starts the API server (with its in-process worker) on
loopback, subscribes a local receiver to webhooks, and runs a day of customer
work: sign-ups, profile changes, a churned customer, a test clock, a retried
request and a few mistakes; then a metered catalog and a day of usage on the v2
meter event stream (``demo_usage``), a year of a SaaS business billed on a test
clock (``demo_billing``), the reconciliation of the cafés' own back office (a copy fed
by the demo's webhooks) and of their bank statement against the platform
(``demo_reconcile``), and the ledger's view of that year (``demo_report``). It then
prints what the platform recorded.
"""

from __future__ import annotations

import json
import os
import shutil
import threading
import time
from collections import Counter
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import stripe
from rich.console import Console
from rich.table import Table

from remit.accounts.service import create_account
from remit.api import request_log
from remit.cli.demo_back_office import BackOffice
from remit.cli.demo_billing import run_billing_chapter
from remit.cli.demo_reconcile import run_reconcile_chapter
from remit.cli.demo_report import billing_facts, ledger_facts
from remit.cli.demo_usage import run_usage_chapter
from remit.context import CallContext
from remit.primitives.clock import WallClock
from remit.runtime import build_app, migrate_store
from remit.serving import ServerThread
from remit.settings import Settings

DEMO_DIR = Path(".remit") / "demo"
CUSTOMERS = 120
SUBSCRIBERS = 40
DELIVERY_WAIT_S = 30
console = Console()


class Receiver:
    """A webhook receiver that verifies every signature, as a user's server would."""

    def __init__(self) -> None:
        self.secret = ""
        self.verified: list[str] = []
        self.rejected = 0
        # What the business does with each verified event (its back office keeps a copy).
        self.consumer: Callable[[dict[str, Any]], None] | None = None
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                try:
                    event = stripe.Webhook.construct_event(
                        body, self.headers.get("Stripe-Signature", ""), receiver.secret
                    )
                    receiver.verified.append(event.id)
                    if receiver.consumer is not None:
                        receiver.consumer(json.loads(body))
                    self.send_response(200)
                except (ValueError, stripe.SignatureVerificationError):
                    receiver.rejected += 1
                    self.send_response(400)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/webhooks"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


def _business_day(
    client: stripe.StripeClient, receiver: Receiver
) -> tuple[dict[str, Any], list[str]]:
    facts: dict[str, Any] = {}
    endpoint = client.v1.webhook_endpoints.create(
        params={"url": receiver.url, "enabled_events": ["*"], "description": "demo receiver"}
    )
    receiver.secret = endpoint.secret or ""
    created = [
        client.v1.customers.create(
            params={
                "email": f"buyer{n:03d}@example.com",
                "name": f"Buyer {n:03d}",
                "metadata": {"plan": "pro" if n % 3 else "starter"},
            }
        )
        for n in range(CUSTOMERS)
    ]
    for customer in created[:10]:
        client.v1.customers.update(customer.id, params={"address": {"country": "FR"}})
    client.v1.customers.delete(created[-1].id)
    listed = list(client.v1.customers.list(params={"limit": 100}).auto_paging_iter())
    facts["customers listed (auto-pagination)"] = len(listed)
    facts["found by email"] = len(
        client.v1.customers.list(params={"email": "buyer007@example.com"}).data
    )
    clock = client.v1.test_helpers.test_clocks.create(
        params={"frozen_time": WallClock().now() - 86_400, "name": "demo month"}
    )
    on_clock = client.v1.customers.create(
        params={"email": "sim@example.com", "test_clock": clock.id}
    )
    client.v1.test_helpers.test_clocks.advance(clock.id, params={"frozen_time": WallClock().now()})
    expanded = client.v1.customers.retrieve(on_clock.id, params={"expand": ["test_clock"]})
    facts["expanded test clock"] = expanded.test_clock.id == clock.id  # type: ignore[union-attr]
    first = client.v1.customers.create(
        params={"email": "retry@example.com"}, options={"idempotency_key": "demo-signup-1"}
    )
    again = client.v1.customers.create(
        params={"email": "retry@example.com"}, options={"idempotency_key": "demo-signup-1"}
    )
    facts["idempotent retry returned the same customer"] = first.id == again.id
    mistakes = 0
    attempts: list[Callable[[], object]] = [
        lambda: client.v1.customers.create(params={"tax_exempt": "sometimes"}),
        lambda: client.v1.customers.retrieve("cus_doesnotexist"),
    ]
    for attempt in attempts:
        try:
            attempt()
        except stripe.InvalidRequestError:
            mistakes += 1
    facts["mistakes answered with Stripe errors"] = mistakes
    return facts, [c.id for c in created[:SUBSCRIBERS]]


def _a_year_ago() -> int:
    """The billing year's first moment: midnight UTC, 365 days before today."""
    today = WallClock().now() // 86_400 * 86_400
    return today - 365 * 86_400


def _wait_for_deliveries(client: stripe.StripeClient, receiver: Receiver) -> int:
    """Wait (bounded) until the receiver has every event; returns the events emitted."""
    total = 0
    deadline = time.monotonic() + DELIVERY_WAIT_S
    while time.monotonic() < deadline:
        events = list(client.v1.events.list(params={"limit": 100}).auto_paging_iter())
        total = len(events)
        if len(set(receiver.verified)) >= total:
            break
        time.sleep(0.2)
    return total


def run_demo(port: int = 0) -> int:
    shutil.rmtree(DEMO_DIR, ignore_errors=True)
    settings = Settings.from_env(
        {"REMIT_DATA_DIR": str(DEMO_DIR), "REMIT_DATABASE_URL": f"sqlite:///{DEMO_DIR}/remit.db"}
    )
    receiver = Receiver()
    DEMO_DIR.mkdir(parents=True, exist_ok=True)
    # The reconciliation chapter's runs, created through the API, read the demo's own files.
    os.environ["REMIT_RECONCILE_ROOTS"] = str(DEMO_DIR.resolve())
    office = BackOffice(DEMO_DIR / "back_office.db")
    receiver.consumer = office.consume
    app = build_app(settings, run_worker=True)
    migrate_store(app.store)
    with app.store.write() as conn:
        made = create_account(conn, "Demo Coffee Roasters", WallClock().now())
    started = time.perf_counter()
    with ServerThread(app, port or None) as server:
        client = stripe.StripeClient(made.secret_key, base_addresses={"api": server.url})
        facts, subscribers = _business_day(client, receiver)
        facts.update(run_usage_chapter(client, server.url, subscribers))
        year = run_billing_chapter(client, server.url, _a_year_ago())
        facts.update(billing_facts(client, year))
        events_total = _wait_for_deliveries(client, receiver)
        ctx = CallContext(account=made.account, now=WallClock().now(), pm=app.pm)
        headers = {"Authorization": f"Bearer {made.secret_key}"}
        with httpx.Client(base_url=server.url, headers=headers, timeout=120) as api:
            facts.update(run_reconcile_chapter(api, app.store, ctx, office, DEMO_DIR))
        events_total = _wait_for_deliveries(client, receiver)
    facts.update(ledger_facts(app.store, ctx, app.pm))
    elapsed = time.perf_counter() - started
    app.log_writer.flush()
    with app.store.read() as conn:
        logged = request_log.query(conn, made.account.id, limit=1000)
    _print_summary(made.account.id, facts, events_total, receiver, logged, elapsed)
    ok = len(set(receiver.verified)) >= events_total and receiver.rejected == 0
    ok = ok and all(facts.values()) and "FINDINGS" not in facts.values()
    return 0 if ok else 1


def _print_summary(
    account_id: str,
    facts: dict[str, Any],
    events_total: int,
    receiver: Receiver,
    logged: list[dict[str, Any]],
    elapsed: float,
) -> None:
    table = Table(title=f"remit demo: account {account_id} on {DEMO_DIR}/remit.db")
    table.add_column("what")
    table.add_column("result", justify="right")
    for name, value in facts.items():
        table.add_row(name, str(value))
    table.add_row("events emitted", str(events_total))
    table.add_row("webhooks received and signature-verified", str(len(set(receiver.verified))))
    table.add_row("webhooks rejected by the receiver", str(receiver.rejected))
    statuses = Counter(str(row["status"]) for row in logged)
    table.add_row("requests logged (by status)", json.dumps(dict(sorted(statuses.items()))))
    latencies = sorted(row["latency_us"] for row in logged)
    if latencies:
        p50 = latencies[len(latencies) // 2] / 1000
        table.add_row("server latency p50", f"{p50:.1f} ms")
    table.add_row("wall time", f"{elapsed:.1f} s")
    console.print(table)
