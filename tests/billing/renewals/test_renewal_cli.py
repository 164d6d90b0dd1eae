"""``remit bill-run``: an operator renews an account's due subscriptions from the shell."""

from __future__ import annotations

from renewal_support import HOUR_S, JAN_1, cycle_invoices, new_price, service_ctx
from renewal_support import wall_subscriptions as subscribed
from typer.testing import CliRunner

from remit.cli.main import app

FEB_1 = 1_706_745_600
runner = CliRunner()


def test_bill_run_renews_in_batches_and_says_what_it_did(
    api, store, pm, account, database_url, monkeypatch
):
    monkeypatch.setenv("REMIT_DATABASE_URL", database_url)
    ctx = service_ctx(store, account, JAN_1, pm)
    subscribed(store, ctx, 5, [{"price": new_price(api, 1500)}],
               collection_method="send_invoice", days_until_due=30)  # fmt: skip
    at = str(FEB_1 + HOUR_S)
    result = runner.invoke(app, ["bill-run", account.account.id, "--at", at, "--batch", "2"])
    assert result.exit_code == 0, result.output
    said = " ".join(result.output.split())  # the console wraps long lines
    assert "batch 3: 1 subscriptions, 1 renewed, 1 finalized" in said
    assert "5 subscriptions in 3 batch(es), 5 renewed, 5 invoices finalized" in said
    assert {(i.status, i.total) for i in cycle_invoices(store, account.account.id)} == {
        ("open", 1500)
    }
    again = runner.invoke(app, ["bill-run", account.account.id, "--at", at])
    said = " ".join(again.output.split())
    assert "0 subscriptions in 0 batch(es), 0 renewed, 0 invoices finalized" in said


def test_an_unknown_account_is_refused(database_url, monkeypatch, store):
    monkeypatch.setenv("REMIT_DATABASE_URL", database_url)
    result = runner.invoke(app, ["bill-run", "acct_nope"])
    assert result.exit_code == 1
    assert "no such account" in result.output
