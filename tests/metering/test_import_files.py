"""Meter event files as the import reads them: each format's columns and types, files
refused whole before anything is written, malformed records, resumption mid-file."""

from __future__ import annotations

import json
from decimal import Decimal

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import sqlalchemy as sa
from metering_support import raw_log
from test_bulk_import import PLAIN, errors_of, make_setup, write_csv, write_ndjson

from remit.metering.bulk_import import import_file
from remit.metering.import_files import format_of, read_chunks, scan
from remit.metering.tables import meter_events, meter_imports
from remit.primitives.errors import InvalidRequestError

MILLISECONDS = pa.timestamp("ms", "UTC")


@pytest.fixture
def setup(api, store, account, tmp_path):
    return make_setup(api, store, account, tmp_path)


def _nothing_written(store):
    with store.read() as conn:
        for table in (meter_imports, meter_events):
            assert conn.execute(sa.select(sa.func.count()).select_from(table)).scalar() == 0


@pytest.mark.parametrize(
    ("header", "message", "param"),
    [
        (["event_name", "value"], "no timestamp column", "timestamp"),
        (["timestamp", "value"], "no event_name column", "event_name"),
        (["event_name", "timestamp", "payload", "value"], "a payload column and another", "value"),
        (["event_name", "timestamp", "value", "value"], "repeats the column value", "file"),
        (["event_name", "timestamp", *(f"k{i}" for i in range(51))], "at most 50 keys", "payload"),
        (["event_name", "timestamp", "k" * 101], "Payload keys must be 1 to 100", "payload"),
    ],
)
def test_files_that_cannot_be_imported_whole_are_refused_first(
    store, setup, header, message, param
):
    path = write_csv(setup["dir"] / "bad.csv", header, [["api_calls"] * len(header)])
    with pytest.raises(InvalidRequestError, match=message) as raised:
        import_file(store, setup["ctx"], path)
    assert raised.value.param == param
    _nothing_written(store)


def test_formats_come_from_the_extension_or_are_named(tmp_path):
    assert format_of(tmp_path / "a.JSONL", None) == "ndjson"
    assert format_of(tmp_path / "a.txt", "csv") == "csv"
    with pytest.raises(InvalidRequestError, match="pass --format"):
        format_of(tmp_path / "a.txt", None)
    with pytest.raises(InvalidRequestError, match="Unknown format"):
        format_of(tmp_path / "a.csv", "xml")


def test_an_ndjson_file_whose_first_event_lacks_a_timestamp_is_refused(store, setup):
    path = write_ndjson(setup["dir"] / "a.ndjson", [{"event_name": "api_calls", "payload": {}}])
    with pytest.raises(InvalidRequestError, match="first event has no timestamp"):
        import_file(store, setup["ctx"], path)
    _nothing_written(store)


def test_csv_records_with_the_wrong_number_of_fields_are_errors_by_line(store, setup):
    s, ctx = setup, setup["ctx"]
    good = f"api_calls,{ctx.now},{s['alice']},1"
    lines = [",".join(PLAIN), good, "api_calls,1", good, f'api_calls,{ctx.now},"{s["bob"]}",'
             '"2"', good + ",extra", good]  # fmt: skip
    path = s["dir"] / "ragged.csv"
    path.write_text("\n".join(lines) + "\n")
    summary = import_file(store, ctx, path, chunk_rows=2)
    assert (summary.run.rows_read, summary.run.accepted) == (6, 4)
    errors = errors_of(store, ctx.account_id)
    assert [(e.code, e.message[:34]) for e in errors] == [
        ("invalid_event", "Line 3: expected 4 fields, found 2"),
        ("invalid_event", "Line 6: expected 4 fields, found 5"),
    ]
    # Run again from row 1: the malformed lines are still recorded once each.
    with store.write() as conn:
        conn.execute(meter_imports.update().values(status="running", rows_committed=1))
    import_file(store, ctx, path, chunk_rows=2)
    assert len(errors_of(store, ctx.account_id)) == 2


def test_a_csv_payload_column_holds_json_objects(store, setup):
    s, ctx = setup, setup["ctx"]
    rows = [
        ["api_calls", ctx.now, json.dumps({"stripe_customer_id": s["alice"], "value": "2"})],
        ["api_calls", ctx.now, f'{{"stripe_customer_id": "{s["bob"]}", "value": 1.10, "n": null}}'],
        ["api_calls", ctx.now, '{"stripe_customer_id": true}'],
        ["api_calls", ctx.now, "[1]"],
        ["api_calls", ctx.now, "{nope"],
    ]
    path = write_csv(s["dir"] / "json.csv", ["event_name", "timestamp", "payload"], rows)
    summary = import_file(store, ctx, path)
    assert (summary.run.accepted, summary.run.error_codes) == (2, {"invalid_event": 3})
    logged = raw_log(store, ctx.account_id)
    assert [r.value for r in logged] == ["2", "1.10"]
    assert logged[1].payload == {"stripe_customer_id": s["bob"], "value": "1.10"}


def test_csv_values_may_hold_quotes_commas_and_newlines(store, setup):
    s, ctx = setup, setup["ctx"]
    rows = [["api_calls", ctx.now, s["alice"], "3", 'a "quoted",\nmultiline note']]
    path = write_csv(s["dir"] / "q.csv", [*PLAIN, "note"], rows)
    assert import_file(store, ctx, path).run.accepted == 1
    assert raw_log(store, ctx.account_id)[0].payload["note"] == 'a "quoted",\nmultiline note'


def test_parquet_integers_decimals_and_timestamps_are_read_exactly(store, setup):
    s, ctx = setup, setup["ctx"]
    path = s["dir"] / "typed.parquet"
    pq.write_table(
        pa.table({
            "event_name": ["api_calls", "api_calls"],
            "timestamp": pa.array([ctx.now * 1000 + 999, ctx.now * 1000], MILLISECONDS),
            "payload": pa.array(
                [{"stripe_customer_id": s["alice"], "value": Decimal("12.50")},
                 {"stripe_customer_id": s["bob"], "value": Decimal("-3.00")}],
                pa.struct([("stripe_customer_id", pa.string()), ("value", pa.decimal128(10, 2))]),
            ),
        }),
        path,
    )  # fmt: skip
    assert import_file(store, ctx, path).run.accepted == 2
    assert [(r.timestamp, r.value) for r in raw_log(store, ctx.account_id)] == [
        (ctx.now, "12.50"), (ctx.now, "-3.00"),
    ]  # fmt: skip


@pytest.mark.parametrize("kind", [pa.float64(), pa.bool_()])
def test_parquet_columns_without_exact_text_are_refused(store, setup, kind):
    path = setup["dir"] / "floats.parquet"
    pq.write_table(
        pa.table({"event_name": ["a"], "timestamp": [1], "value": pa.array([True], kind)}),
        path,
    )
    with pytest.raises(InvalidRequestError, match="has no exact text") as raised:
        import_file(store, setup["ctx"], path)
    assert raised.value.param == "value"
    _nothing_written(store)


def _rows(path, fmt, chunk_rows, after_row):
    facts = scan(path, fmt)
    return [row for chunk in read_chunks(facts, chunk_rows, after_row)
            for row in chunk.row.to_pylist()]  # fmt: skip


def test_every_format_resumes_on_the_row_after_the_checkpoint(setup):
    s = setup
    events = [{"event_name": "e", "timestamp": i, "payload": {"v": str(i)}} for i in range(23)]
    ndjson = write_ndjson(s["dir"] / "r.ndjson", events)
    csv_path = write_csv(s["dir"] / "r.csv", ["event_name", "timestamp", "v"],
                         [["e", i, i] for i in range(23)])  # fmt: skip
    parquet = s["dir"] / "r.parquet"
    table = pa.table({"event_name": ["e"] * 23, "timestamp": list(range(23)),
                      "v": [str(i) for i in range(23)]})  # fmt: skip
    pq.write_table(table, parquet, row_group_size=5)
    for path, fmt in ((ndjson, "ndjson"), (csv_path, "csv"), (parquet, "parquet")):
        for after in (0, 4, 5, 7, 22, 23):
            assert _rows(path, fmt, 5, after) == list(range(after + 1, 24)), (fmt, after)


def test_ndjson_rows_are_line_numbers_and_blank_lines_are_skipped(setup):
    path = setup["dir"] / "gaps.ndjson"
    line = json.dumps({"event_name": "e", "timestamp": 1, "payload": {}})
    path.write_text(f"{line}\n\n{line}\n   \n{line}\n{line}")
    assert _rows(path, "ndjson", 2, 0) == [1, 3, 5, 6]
    assert _rows(path, "ndjson", 2, 3) == [5, 6]
    assert scan(path, "ndjson").rows_estimate == 6


def test_rows_holding_nul_are_refused_and_recorded_without_it(store, setup):
    s, ctx = setup, setup["ctx"]
    header = ["event_name", "identifier", "timestamp", "stripe_customer_id", "value"]
    rows = [
        ["api\x00calls", "n-1", ctx.now, s["alice"], "1"],
        ["api_calls", "n-\x002", ctx.now, s["alice"], "1"],
        ["api_calls", "n-3", ctx.now, s["alice"], "1\x00"],
        ["api_calls", "n-4", f"{ctx.now}\x00", s["alice"], "1"],
        ["api_calls", "n-5", ctx.now, s["alice"], "1"],
    ]
    summary = import_file(store, ctx, write_csv(s["dir"] / "nul.csv", header, rows))
    assert summary.run.accepted == 1
    assert summary.run.error_codes == {"invalid_event": 3, "invalid_timestamp": 1}
    recorded = errors_of(store, ctx.account_id)
    assert [(e.event_name, e.identifier) for e in recorded][:2] == [
        ("api\ufffdcalls", "n-1"), ("api_calls", "n-\ufffd2"),
    ]  # fmt: skip
    assert recorded[2].message == "Row 3: Payload values must not contain NUL characters."
    assert recorded[2].payload["value"] == "1\ufffd"
    assert "\x00" not in recorded[3].message
