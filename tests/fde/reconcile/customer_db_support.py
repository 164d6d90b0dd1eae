"""A customer's own database, kept in sync by a webhook receiver, for the acceptance test.

The database is a real PostgreSQL one with the customer's conventions, not the
platform's: its own ids (``CUS-00001``, ``INV-00001``), its own status words
(DRAFT/OPEN/PAID/VOID), amounts as decimals of the currency's major unit, timestamps as
``timestamptz`` (plus the issue date as New York wall time, the way its back office reads
it), the platform's id in ``stripe_id`` and when the row last synced in ``synced_at``.

The receiver is what such a customer runs: an HTTP endpoint that verifies Stripe's
signature and upserts the event's object, keeping the newest copy (an event older than
the row's ``synced_at`` changes nothing). ``drop`` decides which deliveries it answers
200 but loses: the bug the reconciliation is there to catch.
"""

from __future__ import annotations

import os
import secrets
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import sqlalchemy as sa
import stripe

from remit.primitives.money import decimal_string

ADMIN_URL = os.environ.get(
    "REMIT_TEST_CUSTOMER_DB_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
MAX_BODY_BYTES = 1_000_000
SCHEMA = """
CREATE SEQUENCE customer_numbers;
CREATE SEQUENCE invoice_numbers;
CREATE TABLE customers (
    id text PRIMARY KEY DEFAULT 'CUS-' || lpad(nextval('customer_numbers')::text, 5, '0'),
    stripe_id text NOT NULL UNIQUE,
    email text,
    name text,
    synced_at timestamptz NOT NULL
);
CREATE TABLE invoices (
    id text PRIMARY KEY DEFAULT 'INV-' || lpad(nextval('invoice_numbers')::text, 5, '0'),
    stripe_id text NOT NULL UNIQUE,
    customer_id text REFERENCES customers (id),
    customer_stripe_id text,
    number text,
    state text NOT NULL CHECK (state IN ('DRAFT', 'OPEN', 'PAID', 'VOID', 'UNCOLLECTIBLE')),
    amount numeric(14, 2) NOT NULL,
    currency char(3) NOT NULL,
    issued_local timestamp NOT NULL,
    synced_at timestamptz NOT NULL
);
"""
_UPSERT_CUSTOMER = sa.text("""
    INSERT INTO customers (stripe_id, email, name, synced_at)
    VALUES (:stripe_id, :email, :name, to_timestamp(:synced))
    ON CONFLICT (stripe_id) DO UPDATE SET email = EXCLUDED.email, name = EXCLUDED.name,
        synced_at = EXCLUDED.synced_at
    WHERE customers.synced_at <= EXCLUDED.synced_at
""")
_UPSERT_INVOICE = sa.text("""
    INSERT INTO invoices (stripe_id, customer_id, customer_stripe_id, number, state, amount,
                          currency, issued_local, synced_at)
    VALUES (:stripe_id, (SELECT id FROM customers WHERE stripe_id = :customer), :customer,
            :number, :state, CAST(:amount AS numeric), upper(:currency),
            to_timestamp(:created) AT TIME ZONE 'America/New_York', to_timestamp(:synced))
    ON CONFLICT (stripe_id) DO UPDATE SET customer_id = EXCLUDED.customer_id,
        customer_stripe_id = EXCLUDED.customer_stripe_id, number = EXCLUDED.number,
        state = EXCLUDED.state, amount = EXCLUDED.amount, currency = EXCLUDED.currency,
        issued_local = EXCLUDED.issued_local, synced_at = EXCLUDED.synced_at
    WHERE invoices.synced_at <= EXCLUDED.synced_at
""")


def admin_engine() -> sa.Engine:
    """The server the customer database lives on; skipped when it is unreachable, except in
    CI, where an acceptance test that cannot run is a failure."""
    url = sa.make_url(ADMIN_URL).set(drivername="postgresql+psycopg")
    engine = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect():
            pass
    except sa.exc.OperationalError as exc:
        engine.dispose()
        if os.environ.get("CI"):
            raise
        pytest.skip(f"no PostgreSQL for the customer database at {ADMIN_URL}: {exc}")
    return engine


@contextmanager
def customer_database() -> Iterator[str]:
    """A throwaway PostgreSQL database with the customer's schema; its URL."""
    admin = admin_engine()
    name = f"crm_{os.getpid()}_{secrets.token_hex(3)}"
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    url = sa.make_url(ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    engine = sa.create_engine(sa.make_url(url).set(drivername="postgresql+psycopg"))
    try:
        with engine.begin() as conn:
            conn.exec_driver_sql(SCHEMA)
        yield url
    finally:
        engine.dispose()
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


class Receiver:
    """The customer's webhook endpoint, writing into their database."""

    def __init__(self, database_url: str, drop: Callable[[dict[str, Any]], bool]) -> None:
        self.drop = drop
        self.secret = ""  # the endpoint's, once it exists
        self.received: list[dict[str, Any]] = []
        self.lost: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self._engine = sa.create_engine(
            sa.make_url(database_url).set(drivername="postgresql+psycopg")
        )
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/stripe/webhooks"
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    def __enter__(self) -> Receiver:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)
        self._engine.dispose()

    def handle(self, body: bytes, signature: str) -> int:
        try:
            event = stripe.Webhook.construct_event(body, signature, self.secret).to_dict()
        except (ValueError, stripe.SignatureVerificationError):
            return 400
        with self._lock:
            self.received.append(event)
            if self.drop(event):
                self.lost.append(event)
                return 200
        obj, synced = event["data"]["object"], event["created"]
        with self._engine.begin() as conn:
            if obj["object"] == "customer":
                conn.execute(_UPSERT_CUSTOMER, {"stripe_id": obj["id"], "email": obj["email"],
                                                "name": obj["name"], "synced": synced})  # fmt: skip
            elif obj["object"] == "invoice":
                conn.execute(_UPSERT_INVOICE, {
                    "stripe_id": obj["id"], "customer": obj["customer"], "number": obj["number"],
                    "state": obj["status"].upper(),
                    "amount": decimal_string(obj["amount_due"], obj["currency"]),
                    "currency": obj["currency"], "created": obj["created"], "synced": synced,
                })  # fmt: skip
        return 200


def _handler(receiver: Receiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
            length = min(int(self.headers.get("Content-Length", "0")), MAX_BODY_BYTES)
            body = self.rfile.read(length)
            status = receiver.handle(body, self.headers.get("Stripe-Signature", ""))
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler


def rows(database_url: str, query: str) -> list[dict[str, Any]]:
    engine = sa.create_engine(sa.make_url(database_url).set(drivername="postgresql+psycopg"))
    try:
        with engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(sa.text(query))]
    finally:
        engine.dispose()


def execute(database_url: str, statement: str) -> None:
    engine = sa.create_engine(sa.make_url(database_url).set(drivername="postgresql+psycopg"))
    try:
        with engine.begin() as conn:
            conn.execute(sa.text(statement))
    finally:
        engine.dispose()


def event_summary(events: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return [(e["type"], e["data"]["object"]["id"]) for e in events]
