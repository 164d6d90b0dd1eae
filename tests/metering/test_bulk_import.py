"""Bulk import of meter event files: formats, bad rows, idempotence, resumption, and
agreement with the one ingestion path."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import sqlalchemy as sa
from metering_support import context, make_customer, make_meter, raw_log

from remit.metering.bulk_import import import_file
from remit.metering.import_rows import generated_prefix
from remit.metering.tables import meter_event_errors, meter_events, meter_imports
from remit.primitives.clock import WallClock
from remit.primitives.errors import InvalidRequestError

DAY_S = 86400


def errors_of(store, account_id):
    t = meter_event_errors.c
    with store.read() as conn:
        return list(
            conn.execute(
                sa.select(meter_event_errors).where(t.account_id == account_id).order_by(t.id)
            )
        )


def write_csv(path: Path, header: list[str], rows: list[list[object]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def write_ndjson(path: Path, events: list[dict]) -> Path:
    path.write_text("".join(json.dumps(e) + "\n" for e in events), encoding="utf-8")
    return path


@pytest.fixture
def setup(api, store, account, tmp_path):
    """A meter summing ``value`` and two customers; a context at the wall's now."""
    meter = make_meter(api, "api_calls")
    alice, bob = make_customer(api, email="a@example.com"), make_customer(api, email="b@x.com")
    ctx = context(store, account.account.id, WallClock().now())
    return {"meter": meter, "alice": alice, "bob": bob, "ctx": ctx, "dir": tmp_path}


def test_a_csv_file_is_imported_with_bad_rows_recorded_by_row_number(store, setup):
    s, ctx = setup, setup["ctx"]
    now = ctx.now
    path = write_csv(
        s["dir"] / "usage.csv",
        ["event_name", "identifier", "timestamp", "stripe_customer_id", "value"],
        [
            ["api_calls", "e-1", now - 60, s["alice"], "5"],
            ["api_calls", "e-2", "not a time", s["alice"], "1"],
            ["api_calls", "e-3", now - 60, s["alice"], "lots"],
            ["api_calls", "e-4", now - 60, "cus_nobody", "1"],
            ["api_calls", "", now - 120, s["bob"], "2.5"],
            ["", "e-6", now, s["bob"], "1"],
            ["api_calls", "e-1", now, s["bob"], "9"],
        ],
    )
    summary = import_file(store, ctx, path)
    assert summary.run.rows_read == 7
    assert (summary.run.accepted, summary.run.duplicates) == (2, 1)
    assert summary.run.error_codes == {
        "invalid_event": 1, "invalid_timestamp": 1, "meter_event_customer_not_found": 1,
        "meter_event_invalid_value": 1,
    }  # fmt: skip
    logged = raw_log(store, ctx.account_id)
    generated = generated_prefix(summary.facts.fingerprint) + "5"
    assert [(r.identifier, r.customer_id, r.value, r.timestamp, r.source) for r in logged] == [
        ("e-1", s["alice"], "5", now - 60, "import"),
        (generated, s["bob"], "2.5", now - 120, "import"),
    ]
    assert logged[0].payload == {"stripe_customer_id": s["alice"], "value": "5"}
    errors = {e.identifier: e for e in errors_of(store, ctx.account_id)}
    assert errors["e-2"].message.startswith("Row 2: timestamp must be Unix seconds")
    assert (
        errors["e-3"].message.startswith("Row 3: ") and errors["e-3"].meter_id == s["meter"]["id"]
    )
    assert errors["e-4"].message == "Row 4: No customer with id cus_nobody was found."
    assert errors["e-6"].message == "Row 6: event_name is required and must be a non-empty string"
    with store.read() as conn:
        checkpoint = conn.execute(sa.select(meter_imports)).one()
    assert (checkpoint.status, checkpoint.rows_committed, checkpoint.accepted) == (
        "completed",
        7,
        2,
    )
    assert checkpoint.error_codes == summary.total.error_codes


def test_a_missing_required_column_refuses_the_file_before_anything_is_written(store, setup):
    path = write_csv(setup["dir"] / "bad.csv", ["event_name", "value"], [["api_calls", "1"]])
    with pytest.raises(InvalidRequestError, match="no timestamp column") as raised:
        import_file(store, setup["ctx"], path)
    assert raised.value.param == "timestamp"
    with store.read() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(meter_imports)).scalar() == 0
        assert conn.execute(sa.select(sa.func.count()).select_from(meter_events)).scalar() == 0


def test_formats_give_the_same_events(store, setup):
    s, ctx = setup, setup["ctx"]
    rows = [
        (f"id-{i}", ctx.now - i * 3600, s["alice" if i % 2 else "bob"], str(i)) for i in range(30)
    ]
    header = ["event_name", "identifier", "timestamp", "stripe_customer_id", "value"]
    csv_path = write_csv(s["dir"] / "a.csv", header, [["api_calls", *r] for r in rows])
    ndjson_path = write_ndjson(s["dir"] / "a.ndjson", [
        {"event_name": "api_calls", "identifier": i, "timestamp": t,
         "payload": {"stripe_customer_id": c, "value": v}} for i, t, c, v in rows
    ])  # fmt: skip
    parquet_path = s["dir"] / "a.parquet"
    pq.write_table(
        pa.table({
            "event_name": ["api_calls"] * len(rows), "identifier": [r[0] for r in rows],
            "timestamp": [r[1] for r in rows], "stripe_customer_id": [r[2] for r in rows],
            "value": pa.array([r[3] for r in rows]).cast(pa.int64()),
        }),
        parquet_path, row_group_size=7,
    )  # fmt: skip
    first = import_file(store, ctx, csv_path, chunk_rows=8)
    assert first.run.accepted == 30
    log = [
        (r.identifier, r.customer_id, r.timestamp, r.value, r.payload)
        for r in raw_log(store, ctx.account_id)
    ]
    for path in (ndjson_path, parquet_path):
        again = import_file(store, ctx, path, chunk_rows=8)
        assert (again.run.rows_read, again.run.duplicates, again.run.accepted) == (30, 30, 0)
    assert [
        (r.identifier, r.customer_id, r.timestamp, r.value, r.payload)
        for r in raw_log(store, ctx.account_id)
    ] == log
