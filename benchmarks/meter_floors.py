"""The floors the metering benchmarks measure remit against, in the same run.

- ``floor_app``/``http_floor``: the HTTP floor, a trivial ASGI app under the uvicorn options
  `remit serve` uses, that reads the body, parses it as remit parses v2 JSON (numbers with
  a fraction as Decimal) and answers ``{}``;
- ``sqlite_append``: the storage floor, rows shaped like the stream's appended by a bare
  sqlite3 executemany into remit's own migrated ``meter_events`` (its indexes and dedup key).
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import shutil
import sqlite3
import sys
import tempfile
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import meter_support as support

INSERT_EVENT = (
    "INSERT INTO meter_events (account_id, meter_id, customer_id, event_name, identifier, "
    "timestamp, value, payload, created, source) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
    "ON CONFLICT (account_id, identifier) DO NOTHING"
)


async def floor_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """Read the body, parse it as remit parses v2 JSON, answer {}."""
    if scope["type"] == "lifespan":
        while (message := await receive())["type"] != "lifespan.shutdown":
            await send({"type": "lifespan.startup.complete"})
        await send({"type": "lifespan.shutdown.complete"})
        return
    body, more = b"", True
    while more:
        message = await receive()
        body, more = body + message.get("body", b""), message.get("more_body", False)
    ok = True
    if body:
        decoded = json.loads(body.decode("utf-8"), parse_float=Decimal)
        ok = isinstance(decoded, dict) and isinstance(decoded.get("events"), list)
    headers = [(b"content-type", b"application/json"), (b"content-length", b"2")]
    await send({"type": "http.response.start", "status": 200 if ok else 400, "headers": headers})
    await send({"type": "http.response.body", "body": b"{}"})


@contextlib.contextmanager
def http_floor(workers: int) -> Iterator[tuple[int, int]]:
    """The floor app served by `workers` uvicorn processes: (port, pid)."""
    work = Path(tempfile.mkdtemp(prefix="bench-floor-"))
    port = support.free_port()
    app_dir = str(support.BENCH_DIR)
    argv = [sys.executable, "-m", "uvicorn", "meter_floors:floor_app", "--app-dir", app_dir]
    argv += ["--host", support.HOST, "--port", str(port), "--workers", str(workers)]
    try:
        with support.spawn([*argv, *support.UVICORN_FLAGS], work, dict(os.environ)) as pid:
            support.wait_ready(port, pid, work)
            yield port, pid
    finally:
        shutil.rmtree(work, ignore_errors=True)


def sqlite_append(customers: int, per_commit: int, duration_s: float) -> tuple[int, float]:
    """Stream-like rows appended for ``duration_s`` in transactions of ``per_commit`` rows,
    synchronous as remit's (REMIT_SQLITE_SYNCHRONOUS, FULL by default): (rows, rows/s of
    database time; making the rows is not timed)."""
    from remit.store import migrate
    from remit.store.engine import make_engine

    work = Path(tempfile.mkdtemp(prefix="bench-sqlite-floor-"))
    try:
        engine = make_engine(f"sqlite:///{work / 'floor.db'}")
        migrate.upgrade(engine)
        engine.dispose()
        db = sqlite3.connect(work / "floor.db", isolation_level=None)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute(f"PRAGMA synchronous={os.environ.get('REMIT_SQLITE_SYNCHRONOUS', 'FULL')}")
        rng, now, rows, spent_s = random.Random(0), int(time.time()), 0, 0.0
        names = [f"cus_{i:024d}" for i in range(customers)]
        while spent_s < duration_s:
            batch = []
            for _ in range(per_commit):
                rows += 1
                customer, value = rng.choice(names), str(rng.randrange(1, 1000))
                payload = json.dumps({"stripe_customer_id": customer, "value": value})
                batch.append(
                    (
                        "acct_bench",
                        "mtr_bench",
                        customer,
                        "bench_calls",
                        f"floor-{rows}",
                        now,
                        value,
                        payload,
                        now,
                        "v2_stream",
                    )
                )
            began = time.perf_counter()
            db.execute("BEGIN IMMEDIATE")
            db.executemany(INSERT_EVENT, batch)
            db.execute("COMMIT")
            spent_s += time.perf_counter() - began
        db.close()
        return rows, rows / spent_s
    finally:
        shutil.rmtree(work, ignore_errors=True)
