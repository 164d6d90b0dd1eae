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

from remit.events.tables import events
from remit.metering import error_reports
from remit.metering.bulk_import import import_file
from remit.metering.import_rows import generated_prefix
from remit.metering.ingest import EventInput, ingest
from remit.metering.tables import meter_event_errors, meter_events, meter_imports
from remit.primitives.clock import WallClock
from remit.primitives.errors import InvalidRequestError

DAY_S = 86400
PLAIN = ["event_name", "timestamp", "stripe_customer_id", "value"]


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
    return make_setup(api, store, account, tmp_path)


def make_setup(api, store, account, tmp_path):
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


def _log(conn, account_id):
    """The raw log as stored, the payload's JSON text included byte for byte."""
    e = meter_events.c
    text = sa.cast(e.payload, sa.Text).label("payload_text")
    rows = conn.execute(
        sa.select(meter_events, text).where(e.account_id == account_id).order_by(e.seq)
    )
    return [(r.meter_id, r.customer_id, r.event_name, r.identifier, r.timestamp, r.value,
             r.payload_text, r.created) for r in rows]  # fmt: skip


def _errors(conn, account_id):
    t = meter_event_errors.c
    rows = conn.execute(
        sa.select(meter_event_errors).where(t.account_id == account_id).order_by(t.id)
    )
    return [(r.meter_id, r.event_name, r.identifier, r.code, r.message.split(": ", 1)[-1]
             if r.source == "import" else r.message, r.payload, r.timestamp)
            for r in rows]  # fmt: skip


def test_an_import_records_what_ingest_records_for_the_same_events(api, store, setup):
    """The import's column-wise path against ``ingest()``, from the same starting state."""
    s, ctx = setup, setup["ctx"]
    now, alice = ctx.now, s["alice"]
    make_meter(api, "seats", formula="count")
    make_meter(api, "hourly", event_time_window="hour")
    old = make_meter(api, "legacy")
    api.post(f"/v1/billing/meters/{old['id']}/deactivate")
    gone = make_customer(api)
    api.delete(f"/v1/customers/{gone}")
    frozen = now - 200 * DAY_S
    clock = api.post("/v1/test_helpers/test_clocks", data={"frozen_time": str(frozen)}).json()
    simulated = make_customer(api, test_clock=clock["id"])
    with store.write() as conn:
        ingest(conn, ctx, [EventInput("api_calls", {"stripe_customer_id": alice, "value": "1"},
                                      "already-there", now)], source="test")  # fmt: skip
    cases = [
        ("api_calls", "ok-1", now, alice, "5"), ("nobody_listens", "e-1", now, alice, "1"),
        ("legacy", "e-2", now, alice, "1"), ("api_calls", "e-3", now, None, "1"),
        ("api_calls", "e-4", now, "cus_missing", "1"), ("api_calls", "e-5", now, gone, "1"),
        ("api_calls", "e-6", now, alice, "1.5e3"),
        ("api_calls", "e-7", now, alice, "1234567890.1234567"),
        ("api_calls", "e-8", now, alice, None), ("api_calls", "e-9", now - 36 * DAY_S, alice, "1"),
        ("api_calls", "e-10", now + 301, alice, "1"), ("seats", "ok-2", now, alice, None),
        ("api_calls", "ok-3", now - 35 * DAY_S, alice, "-2.25"),
        ("api_calls", "ok-4", now + 300, alice, "1234567890.12345"),
        ("api_calls", "ok-1", now, alice, "7"), ("api_calls", "already-there", now, alice, "3"),
        ("hourly", "ok-5", now - 10, alice, "3"),
        ("api_calls", "sim-1", frozen - 60, simulated, "2"),
        ("api_calls", "sim-2", now, simulated, "2"), ("api_calls", "ok-6", now, alice, "0012.50"),
    ]  # fmt: skip
    inputs = [
        EventInput(name, {k: v for k, v in (("stripe_customer_id", c), ("value", v)) if v},
                   identifier, ts)
        for name, identifier, ts, c, v in cases
    ]  # fmt: skip
    with store.engine.connect().execution_options(remit_write=True) as conn:
        transaction = conn.begin()
        ingest(conn, ctx, inputs, source="test")
        by_ingest = (_log(conn, ctx.account_id), _errors(conn, ctx.account_id))
        transaction.rollback()
    path = write_csv(s["dir"] / "same.csv",
                     ["event_name", "identifier", "timestamp", "stripe_customer_id", "value"],
                     [[n, i, t, c or "", v or ""] for n, i, t, c, v in cases])  # fmt: skip
    summary = import_file(store, ctx, path, chunk_rows=7)
    with store.read() as conn:
        by_import = (_log(conn, ctx.account_id), _errors(conn, ctx.account_id))
    assert by_import == by_ingest
    assert len(by_import[0]) == 1 + 7 and summary.run.duplicates == 2
    assert summary.run.errors == len(by_import[1]) == 11


def test_a_completed_import_is_not_read_again_and_restart_adds_nothing(store, setup):
    s, ctx = setup, setup["ctx"]
    rows = [["api_calls", ctx.now - i, s["alice"], str(i) if i != 3 else "x"] for i in range(10)]
    path = write_csv(s["dir"] / "plain.csv", PLAIN, rows)
    first = import_file(store, ctx, path, chunk_rows=4)
    assert (first.run.accepted, first.run.errors) == (9, 1)
    again = import_file(store, ctx, path)
    assert again.already_complete and again.run.rows_read == 0 and again.total == first.total
    restarted = import_file(store, ctx, path, restart=True, chunk_rows=3)
    assert (restarted.run.accepted, restarted.run.duplicates, restarted.run.errors) == (0, 9, 1)
    assert len(raw_log(store, ctx.account_id)) == 9
    identifiers = {r.identifier for r in raw_log(store, ctx.account_id)}
    prefix = generated_prefix(first.facts.fingerprint)
    assert identifiers == {f"{prefix}{row}" for row in range(1, 11) if row != 4}


def test_an_interrupted_import_continues_after_its_last_committed_chunk(store, setup):
    s, ctx = setup, setup["ctx"]
    rows = [["api_calls", ctx.now - i, s["bob"], "1"] for i in range(25)]
    path = write_csv(s["dir"] / "long.csv", PLAIN, rows)
    calls = []

    def crash_after_two_chunks(rows_committed, rows_total):
        calls.append((rows_committed, rows_total))
        if len(calls) == 3:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        import_file(store, ctx, path, chunk_rows=6, progress=crash_after_two_chunks)
    assert calls == [(0, 25), (6, 25), (12, 25)]
    assert len(raw_log(store, ctx.account_id)) == 12
    resumed = import_file(store, ctx, path, chunk_rows=6)
    assert resumed.resumed_after_row == 12
    assert (resumed.run.rows_read, resumed.run.accepted, resumed.run.duplicates) == (13, 13, 0)
    assert (resumed.total.rows_read, resumed.total.accepted) == (25, 25)
    assert len(raw_log(store, ctx.account_id)) == 25


def test_refused_rows_are_reported_like_ingests(store, setup):
    s, ctx = setup, setup["ctx"]
    path = write_csv(
        s["dir"] / "bad.csv",
        ["event_name", "timestamp", "stripe_customer_id", "value"],
        [["api_calls", ctx.now, s["alice"], "many"], ["nothing", ctx.now, "", "1"]],
    )
    import_file(store, ctx, path)
    with store.read() as conn:
        reports = conn.execute(
            sa.select(events.c.type, events.c.data).where(
                events.c.account_id == ctx.account_id, events.c.type.like("v1.billing.meter.%")
            )
        ).all()
    by_type = {kind: data["object"] for kind, data in reports}
    triggered = by_type[error_reports.ERROR_REPORT_TRIGGERED]
    assert triggered["meter"] == s["meter"]["id"] and triggered["reason"]["error_count"] == 1
    sample = triggered["reason"]["error_types"][0]["sample_errors"][0]["error_message"]
    assert sample.startswith("Row 1: The value in the event payload must be a decimal number")
    assert by_type[error_reports.NO_METER_FOUND]["reason"]["error_types"][0]["code"] == "no_meter"
