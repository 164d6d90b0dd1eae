"""``remit reconcile ...`` as an operator types it, against the test database."""

from __future__ import annotations

from pathlib import Path

import pluggy
import pytest
import sqlalchemy as sa
from runs_support import BANK_LATER, CRM_RULES, write_crm, write_inputs
from typer.testing import CliRunner

from remit.accounts.service import NewAccount
from remit.billing import customers
from remit.cli.main import app
from remit.context import CallContext
from remit.fde.reconcile.tables import reconciliation_repair_plans, reconciliation_runs
from remit.store.engine import Store

runner = CliRunner()


@pytest.fixture(autouse=True)
def _database(database_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REMIT_DATABASE_URL", database_url)


def run(account: NewAccount, directory: Path, *extra: str, bank: str | None = None) -> list[str]:
    rules, platform, statement = write_inputs(directory, **({"bank": bank} if bank else {}))
    return ["reconcile", "run", "--rules", str(rules), "--left", str(platform),
            "--right", f"file:{statement}", "--account", account.account.id, *extra]  # fmt: skip


def run_ids(store: Store) -> list[str]:
    with store.read() as conn:
        r = reconciliation_runs.c
        return list(conn.execute(sa.select(r.id).order_by(r.id)).scalars())


def test_run_shows_progress_on_stderr_and_the_summary_on_stdout(
    store: Store, account: NewAccount, tmp_path: Path
) -> None:
    result = runner.invoke(app, run(account, tmp_path, "--out", str(tmp_path / "out")))
    assert result.exit_code == 0, result.output
    (run_id,) = run_ids(store)
    assert run_id in result.stdout and "processor-vs-bank v3" in result.stdout
    assert "USD" in result.stdout and "missing_in_external" in result.stdout
    assert "match rate" in result.stdout and "72.72%" in result.stdout  # 8 of 11 records
    assert "load left" in result.stderr and "persist" in result.stderr
    assert "load left" not in result.stdout
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        "breaks.csv",
        "matches.csv",
        "rejects.csv",
    ]


def test_run_writes_parquet_when_asked(store: Store, account: NewAccount, tmp_path: Path) -> None:
    args = run(account, tmp_path, "--out", str(tmp_path / "pq"), "--format", "parquet",
               "--memory-limit", "256MB", "--temp-dir", str(tmp_path / "spill"))  # fmt: skip
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert (tmp_path / "pq" / "breaks.parquet").stat().st_size > 0


def test_bad_rules_exit_1_with_the_error_on_stderr(
    store: Store, account: NewAccount, tmp_path: Path
) -> None:
    args = run(account, tmp_path)
    (tmp_path / "rules.yaml").write_text("name: x\nversion: 1\npasses: [{match: telepathy}]\n")
    result = runner.invoke(app, args)
    assert result.exit_code == 1 and result.stdout == ""
    assert "telepathy" in result.stderr or "passes" in result.stderr
    assert run_ids(store) == []
    unknown = runner.invoke(app, [*run(account, tmp_path)[:-2], "--account", "acct_nobody"])
    assert unknown.exit_code == 1 and "No such account" in unknown.stderr


def test_diff_names_the_resolved_break(store: Store, account: NewAccount, tmp_path: Path) -> None:
    assert runner.invoke(app, run(account, tmp_path / "a")).exit_code == 0
    assert runner.invoke(app, run(account, tmp_path / "b", bank=BANK_LATER)).exit_code == 0
    before, after = run_ids(store)
    result = runner.invoke(app, ["reconcile", "diff", after, before])
    assert result.exit_code == 0, result.output
    assert "1 resolved, 0 new, 2 persisting" in result.stdout
    resolved = [line for line in result.stdout.splitlines() if "resolved " in line]
    assert len(resolved) == 1 and "missing_in" in resolved[0] and "p3" in resolved[0]
    missing = runner.invoke(app, ["reconcile", "diff", "recrun_nope", before])
    assert missing.exit_code == 1 and "No such reconciliation.run" in missing.stderr


def test_plan_approve_prints_the_token_once_and_apply_needs_it(
    store: Store, account: NewAccount, pm: pluggy.PluginManager, tmp_path: Path
) -> None:
    ctx = CallContext(account.account, 1_700_000_000, pm=pm)
    with store.write() as conn:
        bob = customers.create(conn, ctx, {"email": "bob@example.com"})
    crm = write_crm(tmp_path, [(bob["id"], "bob@new.example.com", "")])
    (tmp_path / "crm.yaml").write_text(
        CRM_RULES.replace("  - {platform: phone, external: phone}\n", "")
    )
    ran = runner.invoke(app, ["reconcile", "run", "--rules", str(tmp_path / "crm.yaml"), "--left",
                              "platform:customers", "--right", str(crm), "--account",
                              account.account.id])  # fmt: skip
    assert ran.exit_code == 0, ran.output
    (run_id,) = run_ids(store)
    planned = runner.invoke(app, ["reconcile", "plan", run_id])
    assert planned.exit_code == 0, planned.output
    assert "update_record" in planned.stdout and "reconcile approve" in planned.stderr
    with store.read() as conn:
        plan_id = conn.execute(sa.select(reconciliation_repair_plans.c.id)).scalar_one()
    refused = runner.invoke(app, ["reconcile", "apply", plan_id, "--token", "guess"])
    assert refused.exit_code == 1 and "approve" in refused.stderr
    approved = runner.invoke(app, ["reconcile", "approve", plan_id, "--by", "Dana"])
    assert approved.exit_code == 0, approved.output
    (token,) = approved.stdout.split()  # stdout holds the token and nothing else
    assert "shown once" in approved.stderr
    wrong = runner.invoke(app, ["reconcile", "apply", plan_id, "--token", token + "x"])
    assert wrong.exit_code == 1 and "approval token" in wrong.stderr
    applied = runner.invoke(app, ["reconcile", "apply", plan_id, "--token", token])
    assert applied.exit_code == 0, applied.output
    assert "applied" in applied.stdout
    with store.read() as conn:
        assert (
            customers.retrieve(conn, account.account.id, bob["id"])["email"]
            == "bob@new.example.com"
        )
