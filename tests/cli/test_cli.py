"""The command line, as an operator uses it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import sqlalchemy as sa
from typer.testing import CliRunner

from remit.accounts.service import create_account
from remit.accounts.tables import api_keys
from remit.api.tables import request_log
from remit.billing import customers
from remit.cli.main import app
from remit.context import CallContext
from remit.metering import ingest, meters
from remit.metering.ingest import EventInput
from remit.metering.tables import meter_rollup_watermarks
from remit.plugins.manager import make_manager
from remit.primitives.clock import WallClock
from remit.store import migrate
from remit.store.engine import Store, make_engine

runner = CliRunner()


def test_account_create_prints_the_key_once_and_stores_only_its_hash(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("REMIT_DATABASE_URL", url)
    assert runner.invoke(app, ["migrate"]).exit_code == 0
    result = runner.invoke(app, ["account", "create", "Acme Robotics"])
    assert result.exit_code == 0, result.output
    key = result.output.strip().splitlines()[-1]
    assert key.startswith("sk_test_") and len(key) > 40
    with Store(make_engine(url)).read() as conn:
        stored = conn.execute(sa.select(api_keys)).one()
    assert key not in repr(tuple(stored))
    assert stored.last4 == key[-4:]


def test_requests_shows_the_request_log(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("REMIT_DATABASE_URL", url)
    runner.invoke(app, ["migrate"])
    row = {"method": "POST", "path": "/v1/customers", "status": 200, "latency_us": 1500,
           "params": {}, "object_ids": ["cus_1"], "created": 1}  # fmt: skip
    with Store(make_engine(url)).write() as conn:
        conn.execute(request_log.insert(), [
            {**row, "id": "req_1", "account_id": "acct_a", "idempotency_key": "k-1"},
            {**row, "id": "req_2", "account_id": "acct_b", "idempotency_key": None},
        ])  # fmt: skip
    result = runner.invoke(app, ["requests", "acct_a"])
    assert result.exit_code == 0, result.output
    assert "req_1" in result.output and "k-1" in result.output and "cus_1" in result.output
    assert "req_2" not in result.output


def test_unknown_commands_fail():
    assert runner.invoke(app, ["conjure"]).exit_code != 0


def test_the_worker_command_applies_pending_usage_to_rollups(tmp_path):
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    store = Store(make_engine(url))
    migrate.upgrade(store.engine)
    pm = make_manager()
    now = WallClock().now()
    with store.write() as conn:
        made = create_account(conn, "Acme", now)
        ctx = CallContext(account=made.account, now=now, pm=pm)
        customer = customers.create(conn, ctx, {})
        meters.create(conn, ctx, {"display_name": "Calls", "event_name": "call",
                                  "default_aggregation": {"formula": "sum"}})  # fmt: skip
        payload = {"stripe_customer_id": customer["id"], "value": "2"}
        ingest.ingest(conn, ctx, [EventInput("call", payload)] * 3, source="test")
    env = {**os.environ, "REMIT_DATABASE_URL": url}
    remit = Path(sys.executable).with_name("remit")
    worker = subprocess.Popen([str(remit), "worker"], env=env)
    try:
        deadline = time.monotonic() + 30
        applied = None
        while (applied or 0) < 3 and time.monotonic() < deadline:
            time.sleep(0.2)
            with store.read() as conn:
                applied = conn.execute(sa.select(meter_rollup_watermarks.c.applied_seq)).scalar()
    finally:
        worker.send_signal(signal.SIGTERM)
        worker.wait(timeout=30)
    assert applied is not None and applied >= 3
    store.dispose()
