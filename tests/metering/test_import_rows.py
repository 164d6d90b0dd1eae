"""The import's column-wise checks and decisions, against the one-event rules they
stand for: ``attribution.classify``, the payload text ``ingest`` stores, the v2 stream's
timestamps."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import orjson
import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from remit.metering import import_ndjson
from remit.metering.domain.attribution import (
    Attributed,
    CustomerTime,
    MeterRule,
    classify,
)
from remit.metering.import_attribution import decide
from remit.metering.import_payloads import RawChunk
from remit.metering.import_rows import check, parse_timestamps, payload_json

NOW = 1_767_225_600  # 2026-01-01T00:00:00Z
DAY_S = 86400
FINGERPRINT = "ab" * 32


def chunk_of(events: list[dict], first_row: int = 1) -> RawChunk:
    """Rows as a reader gives them: text columns, a payload column per key seen."""
    keys = list(dict.fromkeys(k for e in events for k in e.get("payload", {})))
    return RawChunk(
        pa.array(range(first_row, first_row + len(events)), pa.int64()),
        pa.array([e.get("event_name") for e in events], pa.string()),
        pa.array([e.get("identifier") for e in events], pa.string()),
        pa.array([e.get("timestamp") for e in events], pa.string()),
        tuple((k, pa.array([e["payload"].get(k) for e in events], pa.string())) for k in keys),
    )


# -- timestamps ---------------------------------------------------------------------------------
def test_timestamps_are_unix_seconds_or_rfc_3339_with_a_zone():
    texts = [
        "1767225600", "2026-01-01T00:00:00Z", "2026-01-01T02:00:00+02:00",
        "2026-01-01T00:00:00.999Z", "2025-12-31T23:59:59.5-00:30", "2026-01-01T00:00:00.1234567Z",
        "2026-02-30T00:00:00Z", "2026-01-01T00:00:00", "2026-01-01", "1.5", "-5", "", None,
        "2026-01-01 00:00:00Z",
    ]  # fmt: skip
    seconds, problems = parse_timestamps(pa.array(texts, pa.string()))
    assert seconds.to_pylist() == [
        NOW, NOW, NOW, NOW, NOW + 1799, NOW, None, None, None, None, None, None, None, None,
    ]  # fmt: skip
    found = problems.to_pylist()
    assert found[:6] == [None] * 6
    assert found[6] == (
        "timestamp must be Unix seconds or an RFC 3339 date-time with a time zone, "
        "got '2026-02-30T00:00:00Z'"
    )
    assert found[12].startswith("timestamp is required")
    assert all(found[6:])


@given(
    st.datetimes(
        min_value=datetime(1971, 1, 1), max_value=datetime(2200, 1, 1),  # noqa: DTZ001
        timezones=st.sampled_from([UTC, *(
            datetime.fromisoformat(f"2000-01-01T00:00:00{o}").tzinfo
            for o in ("+05:30", "-08:00", "+00:00", "-00:45")
        )]),
    ),
    st.sampled_from(["seconds", "milliseconds", "microseconds"]),
)  # fmt: skip
def test_rfc_3339_texts_read_as_the_v2_stream_reads_them(moment, spec):
    text = moment.isoformat(timespec=spec)
    expected = (datetime.fromisoformat(text) - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(
        seconds=1
    )
    for written in (text, text.replace("+00:00", "Z")):
        seconds, problems = parse_timestamps(pa.array([written]))
        assert (seconds[0].as_py(), problems[0].as_py()) == (expected, None), written


# -- payload JSON -------------------------------------------------------------------------------
# NUL is refused by the shape checks before attribution (PostgreSQL's text cannot hold it):
# see test_import_files.
TEXT = st.text(
    st.characters(codec="utf-8", exclude_categories=("Cs",), exclude_characters="\x00"),
    max_size=12,
)


@given(st.lists(st.dictionaries(st.sampled_from(["a", 'b"q', "é", "key"]), TEXT), min_size=1))
def test_payload_json_is_the_text_ingest_stores(rows):
    keys = ["a", 'b"q', "é", "key"]
    payload = tuple((k, pa.array([r.get(k) or None for r in rows], pa.string())) for k in keys)
    expected = [orjson.dumps({k: r[k] for k in keys if r.get(k)}).decode() for r in rows]
    assert payload_json(payload, len(rows)).to_pylist() == expected


# -- decisions ----------------------------------------------------------------------------------
RULES = {
    "api_calls": MeterRule("mtr_sum", True, "stripe_customer_id", "value", "decimal", None),
    "seats": MeterRule("mtr_count", True, "stripe_customer_id", "value", "none", None),
    "labels": MeterRule("mtr_text", True, "customer", "label", "text", None),
    "hourly": MeterRule("mtr_hour", True, "stripe_customer_id", "value", "decimal", 3600),
    "legacy": MeterRule("mtr_old", False, "stripe_customer_id", "value", "decimal", None),
    "plugin": MeterRule("mtr_plugin", True, "stripe_customer_id", "value", None, None),
}
TIMES = {
    "cus_live": CustomerTime(True, NOW),
    "cus_gone": CustomerTime(False, NOW),
    "cus_clock": CustomerTime(True, NOW - 100 * DAY_S),
}
EDGE_VALUES = [
    "1", "0", "-0", "12.5", "-2.25", "007", "1.50", "1e3", " 5", "5 ", "NaN", "١٢", "x", "",
    "123456789012345", "1234567890123456", "-123456789012345", "0.000000000000001",
    "12345678901234.5", "1234567890.123456", "0.0000000000000001", "1" * 40, "1" * 41,
]  # fmt: skip
VALUES = st.one_of(
    st.sampled_from(EDGE_VALUES),
    st.from_regex(r"-?[0-9]{1,20}(\.[0-9]{1,20})?", fullmatch=True), TEXT,
)  # fmt: skip
EVENTS = st.fixed_dictionaries(
    {
        "event_name": st.sampled_from([*RULES, "unknown"]),
        "timestamp": st.one_of(
            st.sampled_from([0, 1, 299, 300, 301, -35 * DAY_S, -35 * DAY_S - 1, -100 * DAY_S]),
            st.integers(-140 * DAY_S, DAY_S),
        ).map(lambda offset: str(NOW + offset)),
        "payload": st.fixed_dictionaries(
            {},
            optional={
                "stripe_customer_id": st.sampled_from([*TIMES, "cus_unknown", ""]),
                "customer": st.sampled_from([*TIMES, "cus_unknown"]),
                "value": VALUES,
                "label": VALUES,
            },
        ),  # fmt: skip
    }
)


@settings(max_examples=300, deadline=None)
@given(st.lists(EVENTS, min_size=1, max_size=30))
def test_column_wise_decisions_are_classifys(events):
    assert_decided_as_classify(events)


def test_values_on_the_edges_are_decided_as_classify_decides():
    events = [
        {"event_name": name, "timestamp": str(NOW),
         "payload": {"stripe_customer_id": "cus_live", "customer": "cus_live", name_key: value}}
        for value in EDGE_VALUES
        for name, name_key in (("api_calls", "value"), ("labels", "label"), ("hourly", "value"))
    ]  # fmt: skip
    assert_decided_as_classify(events)


def assert_decided_as_classify(events: list[dict]) -> None:
    for index, event in enumerate(events):
        event["identifier"] = f"id-{index}"
    checked = check(chunk_of(events), FINGERPRINT)
    decided = decide(checked, RULES, TIMES, NOW)
    accepted = {row["identifier"]: row for row in decided.accepted.to_pylist()}
    refused = {r.identifier: r for r in decided.refused}
    assert len(accepted) + len(refused) == len(events)
    assert [r["row"] for r in decided.accepted.to_pylist()] == sorted(
        r["row"] for r in decided.accepted.to_pylist()
    )
    for index, event in enumerate(events):
        payload = {k: v for k, v in event["payload"].items() if v}
        verdict = classify(
            event["event_name"], payload, int(event["timestamp"]), RULES.get(event["event_name"]),
            TIMES, NOW,
        )  # fmt: skip
        identifier = f"id-{index}"
        if isinstance(verdict, Attributed):
            row = accepted[identifier]
            assert (row["meter_id"], row["customer_id"], row["timestamp"], row["value"]) == (
                verdict.meter_id, verdict.customer_id, verdict.timestamp_s, verdict.value_text,
            )  # fmt: skip
            assert json.loads(row["payload"]) == payload
        else:
            found = refused[identifier]
            problem = verdict.problem
            assert (found.meter_id, found.code, found.message) == (
                verdict.meter_id, problem.code, f"Row {index + 1}: {problem.message}",
            )  # fmt: skip
            assert (found.payload, found.timestamp_s) == (payload, int(event["timestamp"]))


def test_shape_problems_come_before_attribution_and_keep_what_was_sent():
    events = [
        {"event_name": " ", "timestamp": str(NOW), "payload": {"value": "1"}},
        {"event_name": "x" * 101, "timestamp": str(NOW), "payload": {}},
        {"event_name": "api_calls", "identifier": "  ", "timestamp": str(NOW), "payload": {}},
        {"event_name": "api_calls", "identifier": "i" * 101, "timestamp": str(NOW), "payload": {}},
        {"event_name": "api_calls", "timestamp": str(NOW), "payload": {"value": "v" * 501}},
        {"event_name": "api_calls", "timestamp": "soon", "payload": {"value": "1"}},
        {"event_name": "api_calls", "payload": {"value": "1"}},
        {"event_name": "api_calls", "identifier": "", "timestamp": str(NOW), "payload": {}},
    ]
    decided = decide(check(chunk_of(events), FINGERPRINT), RULES, TIMES, NOW)
    assert [(r.code, r.message.split(": ", 1)[1][:30]) for r in decided.refused] == [
        ("invalid_event", "event_name is required and mus"),
        ("invalid_event", "event_name can have at most 10"),
        ("invalid_event", "identifier must be a non-empty"),
        ("invalid_event", "identifier can have at most 10"),
        ("invalid_event", "Payload values can have at mos"),
        ("invalid_timestamp", "timestamp must be Unix seconds"),
        ("invalid_timestamp", "timestamp is required: Unix se"),
        ("meter_event_no_customer_defined", "Customer mapping key stripe_cu"),
    ]
    assert [r.meter_id for r in decided.refused][2:] == ["mtr_sum"] * 6
    assert decided.refused[3].identifier == "i" * 100
    # An empty identifier is none: the row is named by the file and its row number.
    assert decided.refused[7].identifier == f"import_{FINGERPRINT[:32]}_8"


def test_more_than_fifty_payload_keys_is_a_bad_row():
    payload = {f"k{i}": "v" for i in range(51)}
    decided = decide(
        check(chunk_of([{"event_name": "api_calls", "timestamp": str(NOW), "payload": payload}]),
              FINGERPRINT), RULES, TIMES, NOW,
    )  # fmt: skip
    assert decided.refused[0].message == "Row 1: payload can have at most 50 keys"


# -- NDJSON -------------------------------------------------------------------------------------
def columns(chunk: RawChunk) -> dict:
    """A chunk as lists; empty payload values dropped (``check`` makes them absent)."""
    payload = [{} for _ in range(len(chunk))]
    for key, values in chunk.payload:
        for found, value in zip(payload, values.to_pylist(), strict=True):
            if value:
                found[key] = value
    problem = chunk.problem.to_pylist() if chunk.problem is not None else [None] * len(chunk)
    return {
        "row": chunk.row.to_pylist(), "event_name": chunk.event_name.to_pylist(),
        "identifier": chunk.identifier.to_pylist(), "timestamp": chunk.timestamp.to_pylist(),
        "payload": payload, "problem": problem,
    }  # fmt: skip


def test_ndjson_blocks_decode_the_same_by_arrow_and_line_by_line():
    lines = [
        {"event_name": "api_calls", "identifier": "a", "timestamp": NOW,
         "payload": {"stripe_customer_id": "cus_1", "value": "12.50", "n": 7}},
        {"event_name": "api_calls", "timestamp": NOW - 5, "payload": {"value": "", "x": None}},
        {"event_name": None, "timestamp": NOW, "payload": {}},
        {"event_name": "api_calls", "timestamp": NOW},
    ]  # fmt: skip
    block = "".join(json.dumps(line) + "\n" for line in lines).encode()
    fast = import_ndjson._fast(block, 10)
    assert fast is not None, "a plain block is decoded by Arrow"
    assert columns(fast) == columns(import_ndjson._slow(block, 10))
    assert columns(fast)["payload"][0] == {
        "stripe_customer_id": "cus_1",
        "value": "12.50",
        "n": "7",
    }


def test_ndjson_lines_arrow_cannot_keep_exact_are_decoded_line_by_line():
    block = (
        b'{"event_name": "api_calls", "timestamp": 1, "payload": {"value": 1.10}}\n'
        b"\n"
        b'{"event_name": "api_calls", "timestamp": "2026-01-01T00:00:00Z", "payload": {"v": true}}'
        b"\n"
        b"not json\n"
        b'{"event_name": "api_calls", "timestamp": 1, "payload": {}, "extra": 1}\n'
        b"[1, 2]\n"
        b'{"event_name": 5, "timestamp": 1.5, "payload": {"value": 1e2}}'
    )
    found = columns(import_ndjson.decode_block(block, 1))
    assert found["row"] == [1, 3, 4, 5, 6, 7]
    assert found["payload"][0] == {"value": "1.10"}
    assert found["problem"][0] is None
    assert found["problem"][1].startswith("payload must be an object")
    assert found["problem"][2].startswith("The line is not JSON")
    assert found["problem"][3] == "Received unknown parameter: extra"
    assert found["problem"][4] == "Each event must be a JSON object."
    assert (found["problem"][5], found["timestamp"][5]) == ("event_name must be a string", "1.5")
    assert found["payload"][5] == {"value": "1E+2"}
