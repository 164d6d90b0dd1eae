"""The server killed (SIGKILL) at random points while the v2 stream ingests.

A real ``remit serve`` (its worker, hence the rollup applier, dies too) on the session
database. Client threads stream batches of uniquely tagged events; the server is killed
after a seeded number of answers and restarted; clients re-send most unanswered batches
and abandon the rest. Afterwards every event of an answered request is in the raw log
exactly once; an unanswered one at most once, with its whole request or not at all; the
drained rollups equal a fold of the raw log from scratch; summaries equal hand-computed
totals. Batches carry identifiers, or only an ``Idempotency-Key``: both count once.
"""

from __future__ import annotations

import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa
from metering_support import (
    decimal_json,
    expected_rollups,
    make_customer,
    make_meter,
    raw_log,
    stored_rollups,
)

from remit.metering.domain.buckets import DAY_S
from remit.metering.tables import meter_event_errors, meter_events, meter_rollup_watermarks

REMIT = Path(sys.executable).with_name("remit")
SEED = 20261204
KILLS = 4
CLIENTS, CUSTOMERS = 4, 3
EVENTS_PER_BATCH = 25
FINAL_BATCHES_PER_CLIENT = 3
RESEND_CHANCE = 0.75
ACKS_BEFORE_KILL = (2, 30)  # per round, drawn from the seed
READY_TIMEOUT_S = 30.0
ROUND_TIMEOUT_S = 15.0
DRAIN_TIMEOUT_S = 20.0
REQUEST_TIMEOUT_S = 10.0
HOST = "127.0.0.1"


@dataclass
class Batch:
    name: str
    events: list[dict[str, Any]]
    idempotency_key: str | None  # set on the batches whose events carry no identifier
    # tag -> (customer, timestamp_s, value), as sent
    values: dict[str, tuple[str, int, Decimal]] = field(default_factory=dict)


@dataclass
class Ledger:
    """What the clients know: which requests were answered, which were given up."""

    acked: list[Batch] = field(default_factory=list)
    abandoned: list[Batch] = field(default_factory=list)
    attempts: int = 0
    failures: int = 0
    errors: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


class Lives:
    """The server's lives: clients wait for the next one after a failed request."""

    def __init__(self) -> None:
        self.cond = threading.Condition()
        self.generation = 0  # odd: a server is up
        self.final = False
        self.acks = 0

    def advance(self, final: bool = False) -> None:
        """A server came up (the generation turns odd) or was killed (even)."""
        with self.cond:
            self.generation += 1
            self.final, self.acks = final, 0
            self.cond.notify_all()

    def wait_up(self, after: int) -> tuple[int, bool]:
        """A running server's generation, newer than ``after``, and whether it is the last."""
        with self.cond:
            ok = self.cond.wait_for(
                lambda: self.generation > after and self.generation % 2 == 1,
                timeout=READY_TIMEOUT_S + ROUND_TIMEOUT_S,
            )
            assert ok, "no server came up"
            return self.generation, self.final

    def acked(self) -> None:
        with self.cond:
            self.acks += 1
            self.cond.notify_all()

    def wait_acks(self, count: int) -> None:
        with self.cond:
            self.cond.wait_for(lambda: self.acks >= count, timeout=ROUND_TIMEOUT_S)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def start_server(database_url: str, port: int, log: Path) -> subprocess.Popen:
    env = {**os.environ, "REMIT_DATABASE_URL": database_url, "REMIT_DATA_DIR": str(log.parent)}
    env.pop("REMIT_PLUGINS", None)
    with log.open("ab") as out:
        return subprocess.Popen(
            [str(REMIT), "serve", "--host", HOST, "--port", str(port), "--workers", "1"],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )


def wait_ready(proc: subprocess.Popen, base_url: str, log: Path) -> None:
    deadline = time.monotonic() + READY_TIMEOUT_S
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            httpx.get(f"{base_url}/v1/customers", timeout=1.0)
            return
        except httpx.TransportError:
            time.sleep(0.05)
    raise AssertionError(f"remit serve did not come up:\n{log.read_text()[-2000:]}")


def kill(proc: subprocess.Popen | None) -> None:
    if proc is not None and proc.poll() is None:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)


def make_batch(
    rng: random.Random, client: int, number: int, customers: list[str], now_s: int
) -> Batch:
    name = f"c{client}-b{number}"
    keyed = rng.random() < 0.25
    batch = Batch(name, [], f"crash-{SEED}-{name}" if keyed else None)
    for index in range(EVENTS_PER_BATCH):
        tag = f"{name}-e{index}"
        customer = rng.choice(customers)
        value = Decimal(rng.randrange(1, 10_000)) / 100
        # Sent both ways a client may: a JSON number or the decimal's text.
        sent: Any = int(value) if value == value.to_integral() else str(value)
        timestamp_s = now_s - rng.randrange(0, 2 * DAY_S)
        event = {
            "event_name": "crash_calls",
            "payload": {"stripe_customer_id": customer, "value": sent, "tag": tag},
            "timestamp": datetime.fromtimestamp(timestamp_s, tz=UTC).isoformat(),
        }
        if not keyed:
            event["identifier"] = f"crash-{tag}"
        batch.events.append(event)
        batch.values[tag] = (customer, timestamp_s, value)
    return batch


@dataclass
class Client:
    index: int
    base_url: str
    token: str
    customers: list[str]
    now_s: int
    lives: Lives
    ledger: Ledger
    resend: list[Batch] = field(default_factory=list)
    made: int = 0
    final_sent: int = 0

    def __post_init__(self) -> None:
        self.rng = random.Random(SEED * 1000 + self.index)

    def run(self) -> None:
        try:
            self._run()
        except Exception as exc:  # reported by the test, never swallowed
            with self.ledger.lock:
                self.ledger.errors.append(f"client {self.index}: {type(exc).__name__}: {exc}")

    def _next(self, final: bool) -> Batch | None:
        if self.resend:
            return self.resend.pop(0)
        if final:
            if self.final_sent >= FINAL_BATCHES_PER_CLIENT:
                return None
            self.final_sent += 1
        self.made += 1
        return make_batch(self.rng, self.index, self.made, self.customers, self.now_s)

    def _run(self) -> None:
        generation, final = self.lives.wait_up(0)
        http = httpx.Client(base_url=self.base_url, timeout=REQUEST_TIMEOUT_S)
        try:
            while (batch := self._next(final)) is not None:
                if self._send(http, batch):
                    continue
                if final:
                    raise AssertionError(f"{batch.name} failed while no kill was due")
                if self.rng.random() < RESEND_CHANCE:
                    self.resend.append(batch)
                else:
                    with self.ledger.lock:
                        self.ledger.abandoned.append(batch)
                http.close()
                generation, final = self.lives.wait_up(generation)
                http = httpx.Client(base_url=self.base_url, timeout=REQUEST_TIMEOUT_S)
        finally:
            http.close()

    def _send(self, http: httpx.Client, batch: Batch) -> bool:
        headers = {"Authorization": f"Bearer {self.token}"}
        if batch.idempotency_key is not None:
            headers["Idempotency-Key"] = batch.idempotency_key
        with self.ledger.lock:
            self.ledger.attempts += 1
        try:
            response = http.post(
                "/v2/billing/meter_event_stream", json={"events": batch.events}, headers=headers
            )
        except httpx.TransportError:
            with self.ledger.lock:
                self.ledger.failures += 1
            return False
        assert response.status_code == 200, (batch.name, response.status_code, response.text)
        assert response.json() == {}, response.text
        with self.ledger.lock:
            self.ledger.acked.append(batch)
        self.lives.acked()
        return True


def setup_account(base_url: str, secret_key: str) -> tuple[str, list[str], str]:
    """A sum meter, customers and a stream session, made through the server itself."""
    headers = {"Authorization": f"Bearer {secret_key}"}
    with httpx.Client(base_url=base_url, headers=headers, timeout=REQUEST_TIMEOUT_S) as http:
        meter_id = make_meter(http, "crash_calls")["id"]
        customers = [make_customer(http, email=f"crash{n}@example.com") for n in range(CUSTOMERS)]
        session = http.post("/v2/billing/meter_event_session", json={})
        assert session.status_code == 200, session.text
    return meter_id, customers, session.json()["authentication_token"]


def wait_drained(store: Any, account_id: str) -> None:
    """Until the (restarted) server's applier has folded every raw event."""
    e, w = meter_events.c, meter_rollup_watermarks.c
    deadline = time.monotonic() + DRAIN_TIMEOUT_S
    while time.monotonic() < deadline:
        top = sa.select(sa.func.coalesce(sa.func.max(e.seq), 0)).where(e.account_id == account_id)
        applied = sa.select(w.applied_seq).where(w.account_id == account_id)
        with store.read() as conn:
            if (conn.execute(applied).scalar() or 0) >= conn.execute(top).scalar_one():
                return
        time.sleep(0.1)
    raise AssertionError("the rollup applier did not drain the raw log")


def run_lives(
    proc: subprocess.Popen, database_url: str, port: int, log: Path, lives: Lives,
    clients: list[threading.Thread],
) -> subprocess.Popen:  # fmt: skip
    """KILLS server lives each ended by SIGKILL (the first is ``proc``, running), then a
    last one left running and returned."""
    rng = random.Random(SEED)
    for life in range(KILLS + 1):
        if life > 0:
            proc = start_server(database_url, port, log)
            try:
                wait_ready(proc, f"http://{HOST}:{port}", log)
            except BaseException:
                kill(proc)
                raise
        final = life == KILLS
        lives.advance(final)
        if final:
            return proc
        lives.wait_acks(rng.randint(*ACKS_BEFORE_KILL))
        time.sleep(rng.uniform(0, 0.05))  # lands anywhere in a request or a commit
        kill(proc)
        lives.advance()
        assert any(c.is_alive() for c in clients), "every client stopped early"
    raise AssertionError("unreachable")


def summaries(
    base_url: str, secret_key: str, meter_id: str, customer: str, window: tuple[int, int],
    grouping: str | None,
) -> dict[int, Decimal]:  # fmt: skip
    params: dict[str, Any] = {"customer": customer, "start_time": window[0], "end_time": window[1]}
    if grouping:
        params["value_grouping_window"] = grouping
    response = httpx.get(
        f"{base_url}/v1/billing/meters/{meter_id}/event_summaries",
        params={**params, "limit": 100},
        headers={"Authorization": f"Bearer {secret_key}"},
        timeout=REQUEST_TIMEOUT_S,
    )
    assert response.status_code == 200, response.text
    body = decimal_json(response)
    assert not body["has_more"]
    return {int(s["start_time"]): s["aggregated_value"] for s in body["data"]}


def check_raw_log(store: Any, account_id: str, ledger: Ledger) -> dict[str, Any]:
    """Each acknowledged event once, each unanswered one at most once and with its whole
    request; returns what is present: tag -> (customer, timestamp_s, value) as sent."""
    rows = raw_log(store, account_id)
    tags = Counter(row.payload["tag"] for row in rows)
    assert len({row.identifier for row in rows}) == len(rows), "an identifier was stored twice"
    assert all(n == 1 for n in tags.values()), [t for t, n in tags.items() if n > 1]
    present: dict[str, tuple[str, int, Decimal]] = {}
    for batch in ledger.acked:
        assert set(batch.values) <= tags.keys(), f"acknowledged {batch.name} lost events"
        present.update(batch.values)
    for batch in ledger.abandoned:
        found = set(batch.values) & tags.keys()
        # One request, one transaction: all of an unanswered request committed, or none.
        assert found in (set(), set(batch.values)), batch.name
        present.update(batch.values if found else {})
    assert tags.keys() == present.keys(), "the log holds events no request sent"
    for row in rows:
        stored = (row.customer_id, row.timestamp, Decimal(row.value))
        assert stored == present[row.payload["tag"]], row.identifier
    with store.read() as conn:
        errors = sa.select(sa.func.count()).where(meter_event_errors.c.account_id == account_id)
        assert conn.execute(errors).scalar_one() == 0
    return present


def by_day_of(present: dict[str, Any], customer: str) -> dict[int, Decimal]:
    days: dict[int, Decimal] = {}
    for owner, timestamp_s, value in present.values():
        if owner == customer:
            day = timestamp_s // DAY_S * DAY_S
            days[day] = days.get(day, Decimal(0)) + value
    return days


def test_sigkill_during_stream_ingestion_loses_no_acknowledged_event_and_counts_none_twice(
    store, account, database_url, tmp_path, pm
):
    account_id, secret_key = account.account.id, account.secret_key
    log, port, now_s = tmp_path / "server.log", free_port(), int(time.time())
    base_url = f"http://{HOST}:{port}"
    lives, ledger = Lives(), Ledger()
    window = ((now_s - 3 * DAY_S) // DAY_S * DAY_S, (now_s // DAY_S + 1) * DAY_S)
    proc = start_server(database_url, port, log)
    try:
        wait_ready(proc, base_url, log)
        meter_id, customers, token = setup_account(base_url, secret_key)
        clients = [
            Client(i, base_url, token, customers, now_s, lives, ledger) for i in range(CLIENTS)
        ]
        threads = [threading.Thread(target=c.run, daemon=True) for c in clients]
        for thread in threads:
            thread.start()
        proc = run_lives(proc, database_url, port, log, lives, threads)
        for thread in threads:
            thread.join(timeout=ROUND_TIMEOUT_S)
        assert not any(t.is_alive() for t in threads), "a client never finished"
        assert not ledger.errors, ledger.errors
        assert proc.poll() is None, log.read_text()[-2000:]
        wait_drained(store, account_id)
        answers = {
            (c, grouping): summaries(base_url, secret_key, meter_id, c, window, grouping)
            for c in customers
            for grouping in (None, "day")
        }
    finally:
        kill(proc)

    # The run did what it claims: kills left requests unanswered, and some were re-sent.
    assert ledger.failures >= KILLS, (ledger.failures, log.read_text()[-2000:])
    assert ledger.attempts > len(ledger.acked) + len(ledger.abandoned)
    present = check_raw_log(store, account_id, ledger)
    assert stored_rollups(store, account_id) == expected_rollups(store, account_id, pm)
    for customer in customers:
        days = by_day_of(present, customer)
        whole = {window[0]: sum(days.values(), Decimal(0))} if days else {}
        assert answers[customer, None] == whole
        assert answers[customer, "day"] == days
