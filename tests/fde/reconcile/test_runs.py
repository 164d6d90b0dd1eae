"""Runs end to end: files in, a persisted run out, reproducible and diffable."""

from __future__ import annotations

import csv
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import sqlalchemy as sa
from runs_support import BANK_LATER, CRM_RULES, REJECTED_LINE, RULES, write_crm, write_inputs

from remit.accounts.service import NewAccount
from remit.context import CallContext
from remit.fde.reconcile.diff import diff
from remit.fde.reconcile.runs import RunRequest, execute, retrieve, source_text
from remit.fde.reconcile.sources import parse_source
from remit.fde.reconcile.tables import (
    reconciliation_breaks,
    reconciliation_matches,
    reconciliation_rejects,
    reconciliation_runs,
)
from remit.primitives.errors import InvalidRequestError
from remit.store.engine import Store

NOW = 1_702_000_000


def request(directory: Path, bank: str | None = None, **options: object) -> RunRequest:
    rules, platform, statement = write_inputs(directory, **({"bank": bank} if bank else {}))
    return RunRequest(
        rules_text=rules.read_text(), left=parse_source(str(platform)),
        right=parse_source(f"file:{statement}"), **options,  # type: ignore[arg-type]
    )  # fmt: skip


def context(account: NewAccount, pm: object) -> CallContext:
    return CallContext(account.account, NOW, pm=pm)  # type: ignore[arg-type]


def test_a_run_is_persisted_with_its_sources_summary_breaks_and_rejects(
    store: Store, account: NewAccount, pm: object, tmp_path: Path
) -> None:
    stages: list[str] = []
    run = execute(store, context(account, pm), request(tmp_path), lambda s, d, t: stages.append(s))
    assert run["object"] == "reconciliation.run" and run["status"] == "succeeded"
    assert run["rules"]["name"] == "processor-vs-bank" and run["rules"]["version"] == 3
    assert run["left"]["label"] == "platform" and run["right"]["label"] == "bank"
    assert run["left"]["source"] == f"file:{tmp_path / 'platform.csv'}"
    assert run["left"]["rows"] == 6 and run["right"]["rejected"] == 1
    assert len(run["left"]["fingerprint"]) == 64 and len(run["results_digest"]) == 64
    summary = run["summary"]
    assert (summary["matched_pairs"], summary["records_left"]) == (4, 6)
    assert summary["breaks_by_type"]["missing_in_external"] == 2
    assert summary["breaks_by_type"]["missing_in_platform"] == 1
    assert stages[:2] == ["load left", "load left"] and stages[-1] == "persist"
    with store.read() as conn:
        assert retrieve(conn, account.account.id, run["id"]) == run
        b = reconciliation_breaks.c
        found = conn.execute(
            sa.select(b.type, b.left_ids, b.right_ids).where(b.run_id == run["id"]).order_by(b.id)
        ).all()
        pairs = conn.execute(
            sa.select(sa.func.count()).where(reconciliation_matches.c.run_id == run["id"])
        ).scalar_one()
        rejects = conn.execute(
            sa.select(reconciliation_rejects).where(reconciliation_rejects.c.run_id == run["id"])
        ).all()
    assert [tuple(row) for row in found] == [
        ("missing_in_external", ["p3"], []),
        ("missing_in_external", ["p5"], []),
        ("missing_in_platform", [], ["b6"]),
    ]
    assert pairs == 4
    assert [(r.side, r.line_no, r.field, r.value) for r in rejects] == [
        ("right", REJECTED_LINE, "amount", "12.3x")
    ]


def test_the_same_inputs_and_rules_give_the_same_fingerprints_and_digest(
    store: Store, account: NewAccount, pm: object, tmp_path: Path
) -> None:
    first = execute(store, context(account, pm), request(tmp_path / "a"))
    second = execute(store, context(account, pm), request(tmp_path / "b"))
    assert first["id"] != second["id"]
    for key in ("left", "right"):
        assert first[key]["fingerprint"] == second[key]["fingerprint"]
    assert first["results_digest"] == second["results_digest"]
    assert first["summary"] == second["summary"]
    later = execute(store, context(account, pm), request(tmp_path / "c", bank=BANK_LATER))
    assert later["right"]["fingerprint"] != first["right"]["fingerprint"]
    assert later["results_digest"] != first["results_digest"]


def test_a_later_run_resolves_the_break_its_new_data_explains(
    store: Store, account: NewAccount, pm: object, tmp_path: Path
) -> None:
    before = execute(store, context(account, pm), request(tmp_path / "a"))
    after = execute(store, context(account, pm), request(tmp_path / "b", bank=BANK_LATER))
    with store.read() as conn:
        found = diff(conn, account.account.id, after["id"], before["id"])
        backwards = diff(conn, account.account.id, before["id"], after["id"])
    assert [(b["type"], b["left"]["ids"]) for b in found["resolved"]] == [
        ("missing_in_external", ["p3"])
    ]
    assert found["new"] == [] and found["persisting"] == 2
    assert backwards["resolved"] == [] and backwards["new_count"] == 1


@pytest.mark.parametrize(
    ("rules", "right", "code"),
    [
        (RULES.replace("match: reference", "match: telepathy"), "bank.csv", None),
        (RULES, "missing.csv", None),
        (RULES.replace("reference: reference}", "reference: ref}"), "bank.csv", "missing_columns"),
    ],
    ids=["bad rules", "unreadable source", "missing column"],
)
def test_invalid_rules_or_sources_persist_nothing(
    store: Store, account: NewAccount, pm: object, tmp_path: Path, rules: str, right: str,
    code: str | None,
) -> None:  # fmt: skip
    _, platform, _ = write_inputs(tmp_path)
    bad = RunRequest(rules, parse_source(str(platform)), parse_source(str(tmp_path / right)),
                     outputs_dir=tmp_path / "out")  # fmt: skip
    with pytest.raises(InvalidRequestError) as raised:
        execute(store, context(account, pm), bad)
    if code is not None:
        assert raised.value.code == code
    with store.read() as conn:
        for table in (reconciliation_runs, reconciliation_breaks, reconciliation_rejects):
            assert conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one() == 0
    assert not list((tmp_path / "out").glob("*.*"))


def test_an_unknown_output_format_is_refused(
    store: Store, account: NewAccount, pm: object, tmp_path: Path
) -> None:
    with pytest.raises(InvalidRequestError) as raised:
        execute(store, context(account, pm), request(tmp_path, output_format="xlsx"))
    assert raised.value.param == "format"


def test_outputs_are_written_as_csv_or_parquet(
    store: Store, account: NewAccount, pm: object, tmp_path: Path
) -> None:
    as_csv = execute(
        store, context(account, pm), request(tmp_path / "a", outputs_dir=tmp_path / "csv")
    )
    with (tmp_path / "csv" / "breaks.csv").open(newline="") as handle:
        breaks = list(csv.DictReader(handle))
    assert [row["type"] for row in breaks] == ["missing_in_external"] * 2 + ["missing_in_platform"]
    assert {row["run"] for row in breaks} == {as_csv["id"]}
    execute(
        store, context(account, pm),
        request(tmp_path / "b", outputs_dir=tmp_path / "pq", output_format="parquet"),
    )  # fmt: skip
    rejects = pq.read_table(tmp_path / "pq" / "rejects.parquet")
    assert rejects.column("line_no").to_pylist() == [REJECTED_LINE]
    matches = pq.read_table(tmp_path / "pq" / "matches.parquet")
    assert len(set(matches.column("match_no").to_pylist())) == 4
    assert matches.num_rows == 8  # long form: one row per member record


def test_a_run_duckdb_cannot_finish_is_kept_as_failed_with_its_reason(
    store: Store, account: NewAccount, pm: object, tmp_path: Path
) -> None:
    big = tmp_path / "big.csv"
    rows = "".join(f"b{n},{n}.00,usd,2023-11-14T22:13:20Z,ch_{n}\n" for n in range(200_000))
    big.write_text("id,amount,currency,date,reference\n" + rows)
    _, platform, _ = write_inputs(tmp_path)
    starved = RunRequest(RULES, parse_source(str(platform)), parse_source(str(big)),
                         memory_limit="2MB", outputs_dir=tmp_path / "out")  # fmt: skip
    run = execute(store, context(account, pm), starved)
    assert run["status"] == "failed" and run["results_digest"] is None
    assert run["failure"]["code"] == "reconciliation_failed"
    assert "Out of Memory" in run["failure"]["message"]
    assert run["right"]["rows"] is None and run["summary"] is None
    assert not list((tmp_path / "out").glob("*.*"))


def test_state_rules_refuse_a_cutoff_and_a_platform_side_of_another_object(
    store: Store, account: NewAccount, pm: object, tmp_path: Path
) -> None:
    crm = write_crm(tmp_path, [("cus_1", "ann@example.com", "1")])
    for left, cutoff, param in (("platform:customers", NOW, "cutoff"),
                                ("platform:invoices", None, "left")):  # fmt: skip
        bad = RunRequest(CRM_RULES, parse_source(left), parse_source(str(crm)), cutoff_ts=cutoff)
        with pytest.raises(InvalidRequestError) as raised:
            execute(store, context(account, pm), bad)
        assert raised.value.param == param
    with store.read() as conn:
        runs = conn.execute(sa.select(sa.func.count()).select_from(reconciliation_runs))
        assert runs.scalar_one() == 0


def test_a_source_is_shown_as_written_but_for_a_database_password() -> None:
    shown = source_text(parse_source("sql:postgresql://crm:s3cret@db.example.com/crm#invoices"))
    assert shown == "sql:postgresql://crm:***@db.example.com/crm#invoices"
    ledger = source_text(parse_source("platform:ledger_entries?code=1100"))
    assert ledger == "platform:ledger_entries?code=1100"
    assert source_text(parse_source("/x/bank.csv")) == "file:/x/bank.csv"
