"""A webhook receiver on loopback and readers for the delivery tables.

The receiver is a real HTTP server in a thread: remit's worker posts to it over
TCP exactly as it would to a customer's endpoint. ``answer(index)`` decides the
status of the ``index``-th request (0-based) and may block, to stand in for a
slow receiver.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any

import httpx
import sqlalchemy as sa

from remit.events.tables import webhook_attempts, webhook_deliveries
from remit.jobs.tables import jobs
from remit.store.engine import Store

MAX_BODY_BYTES = 1_000_000


@dataclass
class Received:
    body: bytes
    signature: str | None
    user_agent: str | None
    content_type: str | None
    status: int | None = None  # what the receiver answered; None while it is still deciding

    @property
    def event(self) -> dict[str, Any]:
        return json.loads(self.body)

    @property
    def event_id(self) -> str:
        return self.event["id"]


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
        length = min(int(self.headers.get("Content-Length", "0")), MAX_BODY_BYTES)
        received = Received(
            body=self.rfile.read(length),
            signature=self.headers.get("Stripe-Signature"),
            user_agent=self.headers.get("User-Agent"),
            content_type=self.headers.get("Content-Type"),
        )
        receiver = self.server.receiver
        index = receiver.record(received)
        received.status = receiver.answer(index)
        try:
            self.send_response(received.status)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")
        except OSError:
            pass  # the sender is gone (a killed worker): nothing to answer

    def log_message(self, format: str, *args: Any) -> None:
        pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    receiver: Receiver


class Receiver:
    def __init__(self, answer: Callable[[int], int]) -> None:
        self.answer = answer
        self.requests: list[Received] = []
        self._lock = threading.Lock()
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.receiver = self
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/hooks"
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    def record(self, received: Received) -> int:
        with self._lock:
            self.requests.append(received)
            return len(self.requests) - 1

    def snapshot(self) -> list[Received]:
        with self._lock:
            return list(self.requests)

    def __enter__(self) -> Receiver:
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)


def wait_until(predicate: Callable[[], bool], timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s} s waiting for {what}")
        time.sleep(0.05)


def create_endpoint(api: httpx.Client, url: str, event: str = "customer.created") -> dict:
    response = api.post("/v1/webhook_endpoints", data={"url": url, "enabled_events[]": event})
    assert response.status_code == 200, response.text
    endpoint = response.json()
    assert endpoint["secret"].startswith("whsec_")
    return endpoint


def create_customer(api: httpx.Client, email: str = "ann@example.com") -> tuple[dict, dict]:
    """A customer and the one ``customer.created`` event it caused."""
    response = api.post("/v1/customers", data={"email": email})
    assert response.status_code == 200, response.text
    customer = response.json()
    listed = api.get("/v1/events", params={"type": "customer.created"}).json()["data"]
    matching = [e for e in listed if e["data"]["object"]["id"] == customer["id"]]
    assert len(matching) == 1, listed
    return customer, matching[0]


def get_event(api: httpx.Client, event_id: str) -> dict:
    response = api.get(f"/v1/events/{event_id}")
    assert response.status_code == 200, response.text
    return response.json()


def deliveries_of(store: Store, event_id: str) -> list[Any]:
    with store.read() as conn:
        return list(
            conn.execute(
                sa.select(webhook_deliveries).where(webhook_deliveries.c.event_id == event_id)
            )
        )


def only_delivery(store: Store, event_id: str) -> Any:
    rows = deliveries_of(store, event_id)
    assert len(rows) == 1, rows
    return rows[0]


def attempts_of(store: Store, delivery_id: str) -> list[Any]:
    with store.read() as conn:
        return list(
            conn.execute(
                sa.select(webhook_attempts)
                .where(webhook_attempts.c.delivery_id == delivery_id)
                .order_by(webhook_attempts.c.attempted_at, webhook_attempts.c.id)
            )
        )


def delivery_job(store: Store, delivery_id: str) -> Any:
    with store.read() as conn:
        rows = [
            r
            for r in conn.execute(sa.select(jobs).where(jobs.c.kind == "webhook.deliver"))
            if r.payload["delivery_id"] == delivery_id
        ]
    assert len(rows) == 1, rows
    return rows[0]
