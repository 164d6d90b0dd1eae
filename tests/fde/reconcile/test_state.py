"""State mode on small hand-made copies: a platform's invoices against a CRM's rows.

Each test builds ``left_raw`` (the platform, VARCHAR as the platform source flattens it)
and ``right_raw`` (the CRM's rows) and reads the breaks back by type and object.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import duckdb
import pytest

from remit.analytics.engine import connect
from remit.fde.reconcile.model import DateFormat, FieldMapping, StateRules
from remit.fde.reconcile.state import run_state
from remit.primitives.errors import InvalidRequestError

T0 = 1_700_000_000  # 2023-11-14 22:13:20 UTC, 17:13:20 in New York
LEFT = ("id", "customer", "amount_due", "currency", "status", "created", "updated_at")
RIGHT = ("ref", "stripe_id", "cust", "amount", "cur", "state", "created_at", "synced_at")
RULES = StateRules(
    name="crm-invoices",
    version=1,
    digest="0" * 64,
    object="invoice",
    platform_key="id",
    external_key="stripe_id",
    fields=(
        FieldMapping("customer", "cust"),
        FieldMapping(
            "amount_due", "amount", transform="decimal", currency_column="cur", kind="amount"
        ),
        FieldMapping("currency", "cur", transform="lower", kind="currency"),
        FieldMapping(
            "status",
            "state",
            transform="map",
            values={"OPEN": "open", "PAID": "paid", "VOID": "void", "DRAFT": "draft"},
        ),  # fmt: skip
        FieldMapping(
            "created",
            "created_at",
            transform="timestamp",
            date_format=DateFormat("iso8601", "America/New_York"),
        ),  # fmt: skip
    ),
    external_label="crm",
    synced_at="synced_at",
    synced_format=DateFormat("iso8601"),
)


def platform(object_id: str, **changes: Any) -> tuple[str | None, ...]:
    row = {"id": object_id, "customer": "cus_1", "amount_due": "4000", "currency": "usd",
           "status": "open", "created": str(T0), "updated_at": str(T0 + 10)}  # fmt: skip
    row.update(changes)
    return tuple(row[c] for c in LEFT)


def crm(stripe_id: str | None, **changes: Any) -> tuple[str | None, ...]:
    """The CRM's copy of ``platform(stripe_id)``: its own words, dollars and local time,
    synced after the platform's last change."""
    row = {"ref": f"INV-{stripe_id}", "stripe_id": stripe_id, "cust": "cus_1",
           "amount": "40.00", "cur": "USD", "state": "OPEN",
           "created_at": "2023-11-14 17:13:20", "synced_at": "2023-11-14T22:14:00Z"}  # fmt: skip
    row.update(changes)
    return tuple(row[c] for c in RIGHT)


def load(duck: duckdb.DuckDBPyConnection, name: str, columns: Sequence[str], rows: list) -> None:
    """A raw side as the loaders leave it: line_no and VARCHAR columns."""
    quoted = ", ".join(f'"{c}" VARCHAR' for c in columns)
    duck.execute(f"CREATE OR REPLACE TABLE {name} (line_no BIGINT, {quoted})")
    marks = ", ".join("?" for _ in range(len(columns) + 1))
    if rows:
        numbered = [(n, *row) for n, row in enumerate(rows, start=1)]
        duck.executemany(f"INSERT INTO {name} VALUES ({marks})", numbered)


def run(left: list, right: list, rules: StateRules = RULES) -> duckdb.DuckDBPyConnection:
    duck = connect()
    load(duck, "left_raw", LEFT, left)
    load(duck, "right_raw", RIGHT, right)
    run_state(duck, rules)
    return duck


def breaks(duck: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    cursor = duck.execute("SELECT * FROM breaks ORDER BY break_key")
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def kinds(duck: duckdb.DuckDBPyConnection) -> list[tuple[str, str | None, str | None]]:
    return [(b["type"], b["object_id"], b["field"]) for b in breaks(duck)]


def rejects(duck: duckdb.DuckDBPyConnection) -> list[tuple[int, str, str | None, str]]:
    rows = duck.execute("SELECT line_no, field, value, code FROM rejects ORDER BY line_no, field")
    return [tuple(r) for r in rows.fetchall()]


def test_copies_that_agree_after_transforms_have_no_breaks():
    left = [platform("in_1"), platform("in_2", amount_due="123456", currency="jpy"),
            platform("in_3", status="paid", customer=None)]  # fmt: skip
    right = [
        crm("in_3", state="PAID", cust=""),  # NULL and '' are the same absence
        crm("in_1", created_at="2023-11-14T17:13:20"),
        crm("in_2", amount="123456", cur="JPY"),  # no minor unit in yen
    ]
    duck = run(left, right)
    assert kinds(duck) == []
    assert rejects(duck) == []
    matches = duck.execute(
        "SELECT match_no, pass_name, side, record_id, amount, currency FROM matches"
    ).fetchall()
    assert matches == [
        (1, "key", "left", "in_1", 4000, "usd"), (1, "key", "right", "in_1", 4000, "usd"),
        (2, "key", "left", "in_2", 123456, "jpy"), (2, "key", "right", "in_2", 123456, "jpy"),
        (3, "key", "left", "in_3", 4000, "usd"), (3, "key", "right", "in_3", 4000, "usd"),
    ]  # fmt: skip


def test_summary_counts_records_matches_and_breaks_by_type():
    duck = connect()
    load(duck, "left_raw", LEFT, [platform("in_1"), platform("in_2")])
    load(duck, "right_raw", RIGHT, [crm("in_1"), crm("in_9"), crm("in_9")])
    summary = run_state(duck, RULES)
    assert (summary.records_left, summary.records_right) == (2, 3)
    assert (summary.matched_pairs, summary.matched_left, summary.matched_right) == (1, 1, 1)
    assert summary.breaks_by_type["missing_in_external"] == 1
    assert summary.breaks_by_type["missing_in_platform"] == 1
    assert summary.breaks_by_type["duplicate"] == 1
    assert summary.breaks_by_type["stale"] == summary.breaks_by_type["timing"] == 0
    assert summary.match_rate_bp == 2 * 10_000 // 5


def test_missing_on_either_side():
    duck = run([platform("in_1"), platform("in_2")], [crm("in_1"), crm("in_orphan")])
    found = {b["type"]: b for b in breaks(duck)}
    assert set(found) == {"missing_in_external", "missing_in_platform"}
    missed = found["missing_in_external"]
    assert (missed["object_id"], missed["left_ids"], missed["right_ids"]) == ("in_2", ["in_2"], [])
    assert (missed["left_line"], missed["left_amount"], missed["currency"]) == (2, 4000, "usd")
    assert missed["break_key"] == "missing_in_external|in_2||"
    assert missed["detail"] == "invoice in_2 has no crm row with stripe_id = in_2."
    orphan = found["missing_in_platform"]
    assert (orphan["object_id"], orphan["left_ids"], orphan["right_ids"]) == (
        None,
        [],
        ["in_orphan"],
    )
    assert (orphan["right_line"], orphan["right_amount"]) == (2, 4000)
    assert orphan["break_key"] == "missing_in_platform||in_orphan|"
    assert "line 2" in orphan["detail"]


def test_a_key_on_several_external_rows_is_one_duplicate_and_the_first_line_is_compared():
    right = [crm("in_1", amount="41.00"), crm("in_2"), crm("in_1"), crm("in_1", state="VOID")]
    duck = run([platform("in_1"), platform("in_2")], right)
    found = breaks(duck)
    # Line 1 is compared (its amount differs); lines 3 and 4 are the duplicates.
    assert [(b["type"], b["object_id"]) for b in found] == [
        ("amount_mismatch", "in_1"),
        ("duplicate", "in_1"),
    ]
    duplicate = found[1]
    assert (duplicate["right_ids"], duplicate["right_line"], duplicate["field"]) == (
        ["in_1"], 3, "stripe_id",
    )  # fmt: skip
    assert "lines 1, 3, 4" in duplicate["detail"] and "line 1 is compared" in duplicate["detail"]


def test_platform_objects_sharing_a_metadata_key_are_a_duplicate():
    rules = replace(RULES, platform_key="metadata.crm_id", external_key="ref")
    duck = connect()
    columns = (*LEFT, "metadata.crm_id")
    left = [(*platform("in_1"), "C-1"), (*platform("in_2"), "C-1"), (*platform("in_3"), None)]
    load(duck, "left_raw", columns, left)
    load(duck, "right_raw", RIGHT, [crm("in_1", ref="C-1")])
    run_state(duck, rules)
    found = {(b["type"], b["object_id"]): b for b in breaks(duck)}
    assert set(found) == {("duplicate", "in_1"), ("missing_in_external", "in_3")}
    assert found[("duplicate", "in_1")]["left_ids"] == ["in_1", "in_2"]
    assert "metadata.crm_id is empty" in found[("missing_in_external", "in_3")]["detail"]


def test_each_diverging_field_is_typed_by_its_kind():
    right = [crm("in_1", amount="39.99", cur="EUR", state="PAID", cust="cus_2")]
    rules = replace(RULES, synced_at=None)
    found = {b["field"]: b for b in breaks(run([platform("in_1")], right, rules))}
    assert {f: b["type"] for f, b in found.items()} == {
        "amount_due": "amount_mismatch",
        "currency": "currency_mismatch",
        "status": "field_divergence",
        "customer": "field_divergence",
    }
    amount = found["amount_due"]
    assert (amount["left_amount"], amount["right_amount"]) == (4000, 3999)
    assert (amount["platform_value"], amount["external_value"]) == ("4000", "3999")
    assert amount["break_key"] == "amount_mismatch|in_1|in_1|amount_due"
    assert amount["detail"] == "invoice in_1 amount_due: platform 4000, crm 3999 (line 1)."
    status = found["status"]
    assert (status["platform_value"], status["external_value"]) == ("open", "paid")
    assert status["left_amount"] is None


def test_a_copy_synced_before_the_platform_changed_is_one_stale_break():
    left = [platform("in_1", status="paid", amount_due="0", updated_at=str(T0 + 3600))]
    right = [crm("in_1", synced_at="2023-11-14T22:14:00Z")]  # T0 + 40
    (stale,) = breaks(run(left, right))
    assert (stale["type"], stale["object_id"], stale["field"]) == (
        "stale",
        "in_1",
        "amount_due,status",
    )
    assert stale["platform_value"] == '{"amount_due":"0","status":"paid"}'
    assert stale["external_value"] == '{"amount_due":"4000","status":"open"}'
    assert str(T0 + 3600) in stale["detail"] and str(T0 + 40) in stale["detail"]
    # The same divergence with a copy synced after the change is a disagreement instead.
    synced_late = [crm("in_1", synced_at="2023-11-14T23:30:00Z")]
    assert [(b["type"], b["field"]) for b in breaks(run(left, synced_late))] == [
        ("amount_mismatch", "amount_due"),
        ("field_divergence", "status"),
    ]


def test_time_zones_are_read_as_the_rules_say():
    # 17:13:20 in New York is T0; read as UTC it would be five hours early.
    right = [crm("in_1"), crm("in_2", created_at="2023-11-14 22:13:20")]
    found = breaks(run([platform("in_1"), platform("in_2")], right))
    assert [(b["type"], b["object_id"], b["field"]) for b in found] == [
        ("field_divergence", "in_2", "created")
    ]
    assert (found[0]["platform_value"], found[0]["external_value"]) == (str(T0), str(T0 + 18000))


def test_unreadable_values_are_rejected_with_their_lines_and_not_compared():
    right = [
        crm("in_1", amount="40.001", state="LOST"),  # too many decimals, unknown status
        crm("in_2", created_at="yesterday", cust="cus_9"),
        crm(None),
        crm("in_3", synced_at="soon"),
    ]
    left = [platform("in_1"), platform("in_2"), platform("in_3")]
    duck = run(left, right)
    assert rejects(duck) == [
        (1, "amount", "40.001", "invalid_amount"),
        (1, "state", "LOST", "unmapped_value"),
        (2, "created_at", "yesterday", "invalid_date"),
        (3, "stripe_id", None, "missing_value"),
        (4, "synced_at", "soon", "invalid_date"),
    ]
    message = duck.execute("SELECT message FROM rejects WHERE line_no = 1 AND field = 'amount'")
    assert message.fetchone() == (
        'Line 1, column amount: "40.001" is not an amount the currency allows.',
    )
    # Only what was read is compared: line 2's customer still diverges.
    assert kinds(duck) == [("field_divergence", "in_2", "customer")]


def test_columns_the_rules_name_must_exist_and_nothing_is_written_otherwise():
    rules = replace(
        RULES,
        fields=(*RULES.fields, FieldMapping("description", "memo"), FieldMapping("nope", "cust")),
    )
    duck = connect()
    load(duck, "left_raw", LEFT, [platform("in_1")])
    load(duck, "right_raw", RIGHT, [crm("in_1")])
    with pytest.raises(InvalidRequestError) as refused:
        run_state(duck, rules)
    assert refused.value.code == "missing_columns"
    assert refused.value.param == "fields[5].platform"
    for path in ("fields[5].platform", "fields[5].external", "fields[6].platform"):
        assert path in refused.value.message
    tables = {row[0] for row in duck.execute("SHOW TABLES").fetchall()}
    assert tables == {"left_raw", "right_raw"}


def test_results_do_not_depend_on_row_order():
    left = [platform(f"in_{n}", amount_due=str(n * 100)) for n in range(1, 9)]
    right = [crm(f"in_{n}", amount=f"{n}.00") for n in range(2, 12)] + [crm("in_5", amount="5.00")]
    forward = run(left, right)
    backward = run(left[::-1], right[::-1])
    query = "SELECT * EXCLUDE (left_line, right_line, detail) FROM breaks"
    assert forward.execute(query).fetchall() == backward.execute(query).fetchall()
    assert len(breaks(forward)) == 1 + 3 + 1  # in_1; in_9..in_11; the duplicate in_5
