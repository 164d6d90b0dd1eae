"""The cafés' back office: their own copy of their invoices, kept by a webhook consumer.

It is what a business running on remit keeps beside it: a SQLite file with its own ids
(``INV-00001``), its own status words (OPEN, PAID, ...), amounts as decimal strings of
the major unit, the issue date as Paris wall time, the platform's id in ``stripe_id`` and,
in ``synced_at``, the time of the event the row was last written from. Deliveries may
arrive out of order, so an event older than the row (by ``created``, then by id) changes
nothing: the newest copy wins, as a careful consumer would have it.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from remit.primitives.money import decimal_string

PARIS = ZoneInfo("Europe/Paris")
STATES = {"draft": "DRAFT", "open": "OPEN", "paid": "PAID", "void": "VOID"}
STATES["uncollectible"] = "UNCOLLECTIBLE"
SCHEMA = """
CREATE TABLE invoices (
    id TEXT PRIMARY KEY,
    stripe_id TEXT NOT NULL UNIQUE,
    number TEXT,
    customer_stripe_id TEXT NOT NULL,
    amount TEXT NOT NULL,
    currency TEXT NOT NULL,
    state TEXT NOT NULL,
    issued_paris TEXT NOT NULL,
    synced_at TEXT NOT NULL,
    last_event TEXT NOT NULL
)
"""
# What the reconciliation compares, and how the back office's words map to the platform's.
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
  - {platform: created, external: issued_paris, transform: timestamp,
     date_format: "%Y-%m-%d %H:%M:%S", timezone: Europe/Paris}
"""


def iso(ts: int) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat()


class BackOffice:
    def __init__(self, path: Path) -> None:
        path.unlink(missing_ok=True)
        self.url = f"sqlite:///{path}"
        self.engine = sa.create_engine(self.url)
        self._lock = threading.Lock()
        with self.engine.begin() as conn:
            conn.exec_driver_sql(SCHEMA)

    def consume(self, event: dict[str, Any]) -> None:
        """Keep the newest copy of each invoice an ``invoice.*`` event carries."""
        if not str(event.get("type", "")).startswith("invoice."):
            return
        invoice = event["data"]["object"]
        if invoice.get("object") != "invoice" or not invoice.get("id"):
            return
        with self._lock, self.engine.begin() as conn:
            known = conn.execute(
                sa.text("SELECT synced_at, last_event FROM invoices WHERE stripe_id = :id"),
                {"id": invoice["id"]},
            ).first()
            if known is not None and (known.synced_at, known.last_event) > (
                iso(event["created"]),
                event["id"],
            ):
                return
            self._upsert(conn, invoice, event, known is None)

    def _upsert(
        self, conn: sa.Connection, invoice: dict[str, Any], event: dict[str, Any], new: bool
    ) -> None:
        values = {
            "stripe_id": invoice["id"],
            "number": invoice.get("number"),
            "customer": invoice["customer"],
            "amount": decimal_string(invoice["amount_due"], invoice["currency"]),
            "currency": invoice["currency"].upper(),
            "state": STATES[invoice["status"]],
            "issued": datetime.fromtimestamp(invoice["created"], PARIS).strftime(
                "%Y-%m-%d %H:%M:%S"
            ),
            "synced": iso(event["created"]),
            "event": event["id"],
        }
        if new:
            count = conn.execute(sa.text("SELECT COUNT(*) FROM invoices")).scalar_one()
            values["id"] = f"INV-{count + 1:05d}"
            conn.execute(_INSERT, values)
        else:
            conn.execute(_UPDATE, values)

    def rows(self) -> dict[str, Any]:
        with self.engine.connect() as conn:
            found = conn.execute(sa.text("SELECT * FROM invoices ORDER BY id")).all()
        return {row.stripe_id: row for row in found}

    def execute(self, statement: str, **params: Any) -> None:
        """Change the copy by hand: how the demo leaves the drift a bad month leaves."""
        with self._lock, self.engine.begin() as conn:
            conn.execute(sa.text(statement), params)


_INSERT = sa.text("""
    INSERT INTO invoices (id, stripe_id, number, customer_stripe_id, amount, currency, state,
                          issued_paris, synced_at, last_event)
    VALUES (:id, :stripe_id, :number, :customer, :amount, :currency, :state, :issued,
            :synced, :event)
""")
_UPDATE = sa.text("""
    UPDATE invoices SET number = :number, customer_stripe_id = :customer, amount = :amount,
        currency = :currency, state = :state, issued_paris = :issued, synced_at = :synced,
        last_event = :event
    WHERE stripe_id = :stripe_id
""")
