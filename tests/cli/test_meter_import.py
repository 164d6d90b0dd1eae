"""``remit meter import`` as an operator runs it, and killed (SIGKILL) mid-import.

These tests run the command against a SQLite file of their own (the crash test needs a
separate process writing to it), whatever database the rest of the suite uses.
"""

from __future__ import annotations

import csv
import hashlib
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from remit.accounts.service import create_account
from remit.billing import customers
from remit.cli.main import app
from remit.context import CallContext
from remit.metering import meters
from remit.metering.import_rows import generated_prefix
from remit.metering.tables import meter_event_errors, meter_events, meter_imports
from remit.primitives.clock import WallClock
from remit.store import migrate
from remit.store.engine import Store, make_engine

runner = CliRunner()
REMIT = Path(sys.executable).parent / "remit"
HEADER = ["event_name", "identifier", "timestamp", "stripe_customer_id", "value"]


def _tenant(url: str) -> tuple[str, list[str]]:
    """An account with a meter summing ``value`` and three customers."""
    store = Store(make_engine(url))
    migrate.upgrade(store.engine)
    now = WallClock().now()
    with store.write() as conn:
        account = create_account(conn, "Importer", now).account
        ctx = CallContext(account, now)
        meters.create(conn, ctx, {"display_name": "Calls", "event_name": "api_calls",
                                  "default_aggregation": {"formula": "sum"}})  # fmt: skip
        ids = [customers.create(conn, ctx, {})["id"] for _ in range(3)]
    store.dispose()
    return account.id, ids


def _rows(count: int, customer_ids: list[str], now: int) -> list[list[object]]:
    """Mostly good rows; every 7th without identifier, every 13th with a bad value, every
    17th repeating the identifier before it."""
    rows: list[list[object]] = []
    for i in range(1, count + 1):
        identifier = "" if i % 7 == 0 else f"id-{i - 1 if i % 17 == 0 else i}"
        value = "x" if i % 13 == 0 else str(i % 100)
        rows.append(["api_calls", identifier, now - i % 86400, customer_ids[i % 3], value])
    return rows


def _expected(rows: list[list[object]], fingerprint: str, through_row: int) -> tuple[set, int]:
    """Identifiers the raw log must hold, and errors recorded, once rows 1..through_row are in."""
    kept, errors = set(), 0
    for number, (_, identifier, _, _, value) in enumerate(rows[:through_row], start=1):
        if value == "x":
            errors += 1
            continue
        kept.add(identifier or f"{generated_prefix(fingerprint)}{number}")
    return kept, errors


def _write(path: Path, rows: list[list[object]]) -> str:
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADER)
        writer.writerows(rows)
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _committed(engine: sa.Engine) -> int:
    with engine.connect() as conn:
        return conn.execute(sa.select(meter_imports.c.rows_committed)).scalar() or 0


def _state(engine: sa.Engine) -> tuple[int, set[str], int, int]:
    with engine.connect() as conn:
        checkpoint = conn.execute(sa.select(meter_imports.c.rows_committed)).scalar() or 0
        identifiers = list(conn.execute(sa.select(meter_events.c.identifier)).scalars())
        errors = conn.execute(sa.select(sa.func.count()).select_from(meter_event_errors)).scalar()
    assert len(identifiers) == len(set(identifiers))
    return checkpoint, set(identifiers), len(identifiers), errors or 0


def test_meter_import_prints_progress_and_a_summary(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("REMIT_DATABASE_URL", url)
    account_id, customer_ids = _tenant(url)
    path = tmp_path / "usage.csv"
    _write(path, _rows(40, customer_ids, WallClock().now()))
    result = runner.invoke(app, ["meter", "import", str(path), "--account", account_id])
    assert result.exit_code == 0, result.output
    lines = {line.split("│")[1].strip(): line.split("│")[2].strip()
             for line in result.stdout.splitlines() if line.count("│") == 4}  # fmt: skip
    assert lines["rows read"] == "40" and lines["errors"] == "3"
    assert lines["accepted"] == "35" and lines["duplicates"] == "2"
    assert lines["meter_event_invalid_value"] == "3"
    again = runner.invoke(app, ["meter", "import", str(path), "--account", account_id])
    assert again.exit_code == 0 and "already imported" in again.stdout


def test_meter_import_refuses_unknown_accounts_and_files(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("REMIT_DATABASE_URL", url)
    account_id, _ = _tenant(url)
    missing = runner.invoke(app, ["meter", "import", "nope.csv", "--account", account_id])
    assert missing.exit_code == 1 and "No such file" in missing.output
    stranger = runner.invoke(app, ["meter", "import", "x.csv", "--account", "acct_nobody"])
    assert stranger.exit_code == 1 and "No such account: acct_nobody" in stranger.output


@pytest.mark.parametrize("seed", [1, 2])
def test_an_import_killed_mid_way_loses_nothing_committed_and_counts_nothing_twice(tmp_path, seed):
    rng = random.Random(seed)
    url = f"sqlite:///{tmp_path / 'crash.db'}"
    account_id, customer_ids = _tenant(url)
    rows = _rows(30_000, customer_ids, WallClock().now())
    path = tmp_path / "events.csv"
    fingerprint = _write(path, rows)
    env = {**os.environ, "REMIT_DATABASE_URL": url}
    command = [str(REMIT), "meter", "import", str(path), "--account", account_id,
               "--chunk-rows", "300"]  # fmt: skip
    engine = make_engine(url)
    killed_at = []
    for threshold in sorted(rng.sample(range(1_000, 28_000), 3)):
        process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL,
                                   stderr=subprocess.DEVNULL)  # fmt: skip
        while _committed(engine) < threshold:
            assert process.poll() is None, "the import ended before it could be killed"
            time.sleep(0.005)
        time.sleep(rng.random() * 0.05)  # between commits, or inside one
        process.send_signal(signal.SIGKILL)
        process.wait()
        through_row, identifiers, _, errors = _state(engine)
        assert 0 < through_row < len(rows)
        assert (identifiers, errors) == _expected(rows, fingerprint, through_row)
        killed_at.append(through_row)
    finished = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    assert finished.returncode == 0, finished.stderr
    assert f"resumed after row {killed_at[-1]:,}" in finished.stdout
    through_row, identifiers, count, errors = _state(engine)
    assert through_row == len(rows)
    assert (identifiers, errors) == _expected(rows, fingerprint, len(rows))
    with engine.connect() as conn:
        checkpoint = conn.execute(sa.select(meter_imports)).one()
    assert (checkpoint.status, checkpoint.accepted, checkpoint.errors) == (
        "completed",
        count,
        errors,
    )
    assert checkpoint.rows_read == len(rows)
    engine.dispose()
