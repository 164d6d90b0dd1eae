"""Persisting what a run found, its digest, its output files, and diffs of two runs.

The engine's tables are written by hand here (shapes from ``model``), so these tests
pin down the state-store side alone: chunking, sorted id lists, long break keys,
digests that ignore DuckDB's batch boundaries, and diffs computed in SQL.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import duckdb
import pyarrow.parquet as pq
import pytest
import sqlalchemy as sa

from remit.accounts.service import NewAccount
from remit.fde.reconcile import runs_persist
from remit.fde.reconcile.diff import diff
from remit.fde.reconcile.runs_persist import BREAK_KEY_CHARS, persist, retrieve
from remit.fde.reconcile.runs_results import results_digest, write_outputs
from remit.fde.reconcile.tables import (
    reconciliation_breaks,
    reconciliation_matches,
    reconciliation_rejects,
)
from remit.primitives.errors import ResourceMissing
from remit.primitives.ids import new_id, register_prefix
from remit.store.engine import Store

register_prefix("recrun")  # minted by runs.execute; these tests write run rows by hand

MATCHES = """CREATE TABLE matches (match_no BIGINT, pass_name VARCHAR, side VARCHAR,
    record_id VARCHAR, amount BIGINT, currency VARCHAR, alternatives BIGINT)"""
BREAKS = """CREATE TABLE breaks (break_key VARCHAR, type VARCHAR, currency VARCHAR,
    left_ids VARCHAR[], right_ids VARCHAR[], left_amount BIGINT, right_amount BIGINT,
    left_line BIGINT, right_line BIGINT, object_id VARCHAR, field VARCHAR,
    platform_value VARCHAR, external_value VARCHAR, detail VARCHAR)"""
REJECTS = """CREATE TABLE rejects (side VARCHAR, line_no BIGINT, field VARCHAR,
    value VARCHAR, code VARCHAR, message VARCHAR)"""


def engine_tables(breaks: list[tuple[str, list[str], list[str]]]) -> duckdb.DuckDBPyConnection:
    """A DuckDB as an engine leaves it: two matches (a pair and a payout group of
    three), the given breaks (type, left ids, right ids) and one reject."""
    duck = duckdb.connect()
    duck.execute(MATCHES)
    duck.execute(BREAKS)
    duck.execute(REJECTS)
    duck.execute(
        "INSERT INTO matches VALUES (1, 'by_reference', 'right', 'b1', 1000, 'usd', 0),"
        " (1, 'by_reference', 'left', 'p1', 1000, 'usd', 0),"
        " (2, 'payouts', 'left', 'p3', 250, 'usd', 1), (2, 'payouts', 'left', 'p2', 750, 'usd', 1),"
        " (2, 'payouts', 'right', 'b2', 1000, 'usd', 1)"
    )
    for kind, left, right in breaks:
        key = f"{kind}|{','.join(sorted(left))}|{','.join(sorted(right))}|"
        duck.execute(
            "INSERT INTO breaks VALUES (?, ?, 'usd', ?, ?, 500, NULL, 7, NULL, NULL, NULL,"
            " NULL, NULL, ?)",
            [key, kind, left, right, f"{kind} of {left or right}"],
        )
    duck.execute("INSERT INTO rejects VALUES ('right', 4, 'amount', '12,3x', 'invalid_amount',"
                 " 'Not a number: 12,3x.')")  # fmt: skip
    return duck


def run_row(account: NewAccount, digest: str = "d" * 64) -> dict[str, Any]:
    side = {"source": "file:/x.csv", "kind": "file", "label": "bank", "rows": 3, "rejected": 1,
            "fingerprint": "f" * 64}  # fmt: skip
    return {
        "id": new_id("recrun"), "account_id": account.account.id, "mode": "transaction",
        "status": "succeeded", "rules_name": "processor-vs-bank", "rules_version": 4,
        "rules_digest": "r" * 64, "rules_text": "name: processor-vs-bank\n",
        "left_source": side, "right_source": side, "cutoff_ts": None,
        "summary": {"matched_pairs": 2}, "results_digest": digest, "failure": None,
        "created": 1_700_000_000,
    }  # fmt: skip


def persisted(store: Store, account: NewAccount, duck: duckdb.DuckDBPyConnection) -> str:
    row = run_row(account)
    stages: list[tuple[str, int, int | None]] = []
    with store.write() as conn:
        persist(conn, row, duck, lambda *call: stages.append(call))
    expected = sum(runs_persist.counts(duck).values())
    assert stages[0] == ("persist", 0, expected) and stages[-1] == ("persist", expected, expected)
    return str(row["id"])


def test_a_run_keeps_each_match_once_with_its_ids_sorted(store: Store, account: NewAccount) -> None:
    run_id = persisted(store, account, engine_tables([("missing_in_external", ["p9"], [])]))
    with store.read() as conn:
        m = reconciliation_matches.c
        rows = conn.execute(
            sa.select(m.match_no, m.pass_name, m.left_ids, m.right_ids, m.left_amount,
                      m.right_amount, m.alternatives, m.currency)
            .where(m.run_id == run_id).order_by(m.match_no)
        ).all()  # fmt: skip
        assert [tuple(row) for row in rows] == [
            (1, "by_reference", ["p1"], ["b1"], 1000, 1000, 0, "usd"),
            (2, "payouts", ["p2", "p3"], ["b2"], 1000, 1000, 1, "usd"),
        ]
        rejects = conn.execute(
            sa.select(reconciliation_rejects).where(reconciliation_rejects.c.run_id == run_id)
        ).all()
        assert [(r.side, r.line_no, r.field, r.code) for r in rejects] == [
            ("right", 4, "amount", "invalid_amount")
        ]
        shown = retrieve(conn, account.account.id, run_id)
    assert shown["object"] == "reconciliation.run" and shown["livemode"] is False
    assert shown["rules"] == {"name": "processor-vs-bank", "version": 4, "digest": "r" * 64}
    assert shown["left"]["label"] == "bank" and shown["left"]["rejected"] == 1


def test_breaks_are_written_in_chunks_in_key_order(
    store: Store, account: NewAccount, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(runs_persist, "CHUNK_ROWS", 2)
    found: list[tuple[str, list[str], list[str]]] = [
        ("missing_in_platform", [], [f"b{n}"]) for n in (5, 1, 4, 2, 3)
    ]
    run_id = persisted(store, account, engine_tables(found))
    with store.read() as conn:
        b = reconciliation_breaks.c
        rows = conn.execute(sa.select(b.id, b.break_key).where(b.run_id == run_id).order_by(b.id))
        keys = [row.break_key for row in rows]
    assert keys == [f"missing_in_platform||b{n}|" for n in (1, 2, 3, 4, 5)]


def test_a_group_key_longer_than_the_column_keeps_a_prefix_and_its_hash(
    store: Store, account: NewAccount
) -> None:
    many = [f"py_{n:040d}" for n in range(40)]  # 40 ids of 43 characters: > 1,000
    first = persisted(store, account, engine_tables([("amount_mismatch", many, ["b7"])]))
    again = persisted(store, account, engine_tables([("amount_mismatch", many, ["b7"])]))
    with store.read() as conn:
        b = reconciliation_breaks.c
        query = sa.select(b.break_key).where(b.run_id.in_([first, again]))
        keys = list(conn.execute(query).scalars())
        assert len(keys) == 2 and keys[0] == keys[1]
        assert len(keys[0]) == BREAK_KEY_CHARS and keys[0].startswith("amount_mismatch|py_")
        found = diff(conn, account.account.id, again, first)
    assert (found["resolved_count"], found["new_count"], found["persisting"]) == (0, 0, 1)


def test_a_diff_lists_resolved_and_new_breaks_and_counts_persisting(
    store: Store, account: NewAccount
) -> None:
    before = persisted(store, account, engine_tables([
        ("missing_in_external", ["p7"], []), ("timing", ["p8"], ["b8"]),
        ("duplicate", [], ["b9", "b10"]),
    ]))  # fmt: skip
    after = persisted(store, account, engine_tables([
        ("timing", ["p8"], ["b8"]), ("amount_mismatch", ["p11"], ["b11"]),
    ]))  # fmt: skip
    with store.read() as conn:
        found = diff(conn, account.account.id, after, before)
        with pytest.raises(ResourceMissing):
            diff(conn, "acct_other", after, before)
    assert found["object"] == "reconciliation.run_diff"
    assert (found["run"], found["against"]) == (after, before)
    assert [b["break_key"] for b in found["resolved"]] == [
        "duplicate||b10,b9|",
        "missing_in_external|p7||",
    ]
    assert [b["type"] for b in found["new"]] == ["amount_mismatch"]
    assert found["new"][0]["run"] == after and found["new"][0]["left"]["ids"] == ["p11"]
    assert (found["resolved_count"], found["new_count"], found["persisting"]) == (2, 1, 1)


def test_the_digest_is_the_same_however_the_rows_were_inserted() -> None:
    one = engine_tables([("timing", ["p8"], ["b8"]), ("duplicate", [], ["b9", "b10"])])
    other = engine_tables([("duplicate", [], ["b9", "b10"]), ("timing", ["p8"], ["b8"])])
    changed = engine_tables([("timing", ["p8"], ["b8"]), ("duplicate", [], ["b9", "b11"])])
    assert results_digest(one) == results_digest(other)
    assert results_digest(one) != results_digest(changed)
    assert len(results_digest(one)) == 64


def test_outputs_are_written_as_csv_and_as_parquet(tmp_path: Path) -> None:
    duck = engine_tables([("duplicate", [], ["b9", "b10"])])
    (tmp_path / "csv").mkdir()
    written = write_outputs(duck, "recrun_x", tmp_path / "csv", "csv")
    assert sorted(p.name for p in written) == ["breaks.csv", "matches.csv", "rejects.csv"]
    with (tmp_path / "csv" / "breaks.csv").open(newline="") as handle:
        (row,) = list(csv.DictReader(handle))
    assert row["run"] == "recrun_x" and json.loads(row["right_ids"]) == ["b9", "b10"]
    with (tmp_path / "csv" / "matches.csv").open(newline="") as handle:
        members = [(r["match_no"], r["side"], r["record_id"]) for r in csv.DictReader(handle)]
    assert members[:2] == [("1", "left", "p1"), ("1", "right", "b1")]
    (tmp_path / "pq").mkdir()
    write_outputs(duck, "recrun_x", tmp_path / "pq", "parquet")
    table = pq.read_table(tmp_path / "pq" / "breaks.parquet")
    assert table.column("right_ids").to_pylist() == [["b9", "b10"]]
    assert pq.read_table(tmp_path / "pq" / "rejects.parquet").column("line_no").to_pylist() == [4]
