"""Financial reports over Northwind's first quarter: exact figures, and the tie-outs that
must hold whatever the figures (trial balance nets to zero, the balance sheet balances,
the rollforward chains month to month, waterfall rows sum to their bookings)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import httpx
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest
from reports_support import (
    Business,
    book_with_revrec,
    by,
    post_journal,
    report,
    reports_app,
    totals,
    ts,
)
from typer.testing import CliRunner

from conftest import new_account
from remit.cli.ledger import ledger_app
from remit.ledger.reports import ReportParams, run_report, to_arrow
from remit.primitives.errors import InvalidRequestError, ResourceMissing
from remit.serving import ServerThread

MARCH_31 = date(2026, 3, 31)
Q1 = ReportParams(MARCH_31, since=date(2026, 1, 1))
runner = CliRunner()


@pytest.fixture
def northwind(store, account) -> Business:
    return post_journal(store, account)


def test_the_trial_balance_at_quarter_end_nets_to_zero_per_currency(store, northwind):
    tb = report(store, northwind, "trial_balance", ReportParams(MARCH_31))
    rows = {
        key: (r["debits"], r["credits"], r["balance"])
        for key, r in by(tb, "currency", "code").items()
    }
    assert rows == {
        ("eur", "accounts_receivable"): (5_950, 0, 5_950),
        ("eur", "revenue"): (0, 5_000, 5_000),
        ("eur", "tax_payable.de"): (0, 950, 950),
        ("usd", "accounts_receivable"): (111_125, 68_900, 42_225),
        ("usd", "bank"): (130_000, 5_000, 125_000),
        ("usd", "cash_in_transit"): (30_000, 30_000, 0),
        ("usd", "processor_balance_available"): (53_248, 36_000, 17_248),
        ("usd", "processor_balance_pending"): (59_900, 54_900, 5_000),
        ("usd", "deferred_revenue"): (67_000, 75_000, 8_000),
        ("usd", "tax_payable.fr"): (6_000, 10_000, 4_000),
        ("usd", "tax_payable.us_ca"): (0, 1_125, 1_125),
        ("usd", "tax_payable.us_ny"): (0, 2_000, 2_000),
        ("usd", "owner_equity"): (0, 100_000, 100_000),
        ("usd", "revenue"): (3_000, 81_000, 78_000),
        ("usd", "contra_revenue"): (2_000, 0, 2_000),
        ("usd", "processing_fees"): (1_652, 0, 1_652),
    }
    # Chart order: assets, liabilities, equity, revenue, expenses.
    usd_codes = [row[1] for row in tb.rows if row[0] == "usd"]
    assert usd_codes[:2] == ["accounts_receivable", "bank"]
    assert usd_codes[-1] == "processing_fees"
    sums = totals(tb)
    assert sums["usd"]["debits"] == sums["usd"]["credits"] == 463_925
    assert sums["usd"]["debit_balance"] == sums["usd"]["credit_balance"] == 193_125
    assert sums["eur"]["debits"] == sums["eur"]["credits"] == 5_950
    assert [t["balance"] for t in sums.values()] == [0, 0]


def test_a_report_at_a_date_sees_entries_of_that_day_and_none_after(store, northwind):
    def receivable(at: date) -> int:
        tb = report(store, northwind, "trial_balance", ReportParams(at, currency="usd"))
        return int(by(tb, "code")[("accounts_receivable",)]["balance"])

    # in_mar_2 at 10:00 on the 31st is in; the April payment only from April 2.
    assert receivable(date(2026, 3, 30)) == 42_225 - 1_075
    assert receivable(MARCH_31) == 42_225
    assert receivable(date(2026, 4, 2)) == 42_225 - 26_000


def test_general_ledger_runs_a_balance_from_the_opening(store, northwind):
    params = ReportParams(MARCH_31, date(2026, 3, 1), "accounts_receivable", "usd")
    gl = report(store, northwind, "general_ledger", params)
    assert [(r[1], r[5], r[7], r[8], r[9]) for r in gl.rows] == [
        ("2026-03-02", "in_mar_1", 4_800, 0, 55_150),
        ("2026-03-10", "ch_3", 0, 5_000, 50_150),
        ("2026-03-12", "in_feb_3", 0, 9_000, 41_150),
        ("2026-03-31", "in_mar_2", 1_075, 0, 42_225),
    ]
    assert [r[4] for r in gl.rows][1:3] == ["payment.captured", "invoice.voided"]
    opening, closing = gl.totals
    assert opening[-1] == 50_350 and opening[4] == "opening"
    assert closing[-3:] == (5_875, 14_000, 42_225)
    assert opening[-1] + closing[-3] - closing[-2] == closing[-1]
    with pytest.raises(InvalidRequestError, match="code"):
        report(store, northwind, "general_ledger", ReportParams(MARCH_31))


def test_the_income_statement_covers_only_its_period(store, northwind):
    income = report(store, northwind, "income_statement", Q1)
    lines = {k: r["amount"] for k, r in by(income, "currency", "code").items()}
    assert lines == {
        ("usd", "revenue"): 75_000,  # December's 30.00 is before the period
        ("usd", "contra_revenue"): 2_000,
        ("usd", "processing_fees"): 1_652,
        ("eur", "revenue"): 5_000,
    }
    figures = {(str(t[0]), str(t[2])): t[4] for t in income.totals}
    assert figures[("usd", "net_revenue")] == 73_000
    assert figures[("usd", "expenses")] == 1_652
    assert figures[("usd", "net_income")] == 71_348
    assert figures[("eur", "net_income")] == 5_000


def test_the_balance_sheet_balances_with_current_earnings(store, northwind):
    sheet = report(store, northwind, "balance_sheet", ReportParams(MARCH_31))
    lines = by(sheet, "currency", "code")
    assert lines[("usd", "current_earnings")]["amount"] == 78_000 - 2_000 - 1_652
    assert lines[("usd", "current_earnings")]["section"] == "equity"
    figures = {(str(t[0]), str(t[2])): t[4] for t in sheet.totals}
    assert figures[("usd", "total_assets")] == 189_473
    assert figures[("usd", "total_liabilities")] == 15_125
    assert figures[("usd", "total_equity")] == 174_348
    assert figures[("usd", "liabilities_and_equity")] == 189_473
    assert figures[("usd", "difference")] == figures[("eur", "difference")] == 0


def test_deferred_revenue_rolls_forward_month_to_month(store, northwind):
    roll = report(store, northwind, "deferred_revenue_rollforward", ReportParams(MARCH_31))
    months = [tuple(r[1:]) for r in roll.rows]
    assert months == [
        ("2026-01", 0, 42_000, 16_000, 0, 26_000),
        ("2026-02", 26_000, 33_000, 27_000, -3_000, 29_000),
        ("2026-03", 29_000, 0, 15_000, -6_000, 8_000),
    ]
    for _, opening, added, recognized, other, ending in months:
        assert opening + added - recognized + other == ending
    for this, following in zip(months, months[1:], strict=False):
        assert this[-1] == following[1]
    assert roll.totals == (("usd", "total", 0, 75_000, 58_000, -9_000, 8_000),)
    tb = report(store, northwind, "trial_balance", ReportParams(MARCH_31, currency="usd"))
    assert by(tb, "code")[("deferred_revenue",)]["balance"] == months[-1][-1]
    # A later start carries the history before it in its opening; empty months still appear.
    later = report(store, northwind, "deferred_revenue_rollforward",
                   ReportParams(date(2026, 5, 31), since=date(2026, 2, 1)))  # fmt: skip
    assert [r[1:3] for r in later.rows] == [
        ("2026-02", 26_000), ("2026-03", 29_000), ("2026-04", 8_000), ("2026-05", 8_000),
    ]  # fmt: skip


def test_waterfall_rows_sum_to_what_was_booked(store, northwind):
    fall = report(store, northwind, "revenue_waterfall", ReportParams(MARCH_31))
    assert fall.column_names == (
        "currency", "booked_month", "booked", "2025-12", "2026-01", "2026-02", "2026-03",
        "released", "unrecognized",
    )  # fmt: skip
    assert [tuple(r) for r in fall.rows] == [
        ("eur", "2026-03", 5_000, 0, 0, 0, 5_000, 0, 0),
        ("usd", "2025-12", 3_000, 3_000, 0, 0, 0, 0, 0),
        ("usd", "2026-01", 49_000, 0, 23_000, 16_000, 7_000, 3_000, 0),
        ("usd", "2026-02", 41_000, 0, 0, 19_000, 5_000, 9_000, 8_000),
        ("usd", "2026-03", 5_000, 0, 0, 0, 5_000, 0, 0),
    ]
    for row in fall.rows:
        assert sum(int(v) for v in row[3:]) == row[2]
    usd_total = totals(fall)["usd"]
    assert usd_total["booked"] == 98_000
    assert usd_total["unrecognized"] == 8_000  # what deferred revenue still holds
    # Recognized net of voids is what the revenue account holds.
    recognized = sum(int(v) for v in [*fall.totals[1][3:7]])
    assert recognized == 78_000


def test_waterfall_flags_recognition_that_disagrees_with_the_journal(store, northwind):
    def short_obligations(conn, account_id, until_ts):  # type: ignore[no-untyped-def]
        table = northwind.obligations()  # revenue recognition lost in_feb_2's obligation
        return table.filter(pc.not_equal(table["id"], "ob_feb_2"))

    sources = northwind.sources()
    with store.read() as conn:
        fall = run_report(conn, northwind.account_id, "revenue_waterfall",
                          ReportParams(MARCH_31, currency="usd"),
                          type(sources)(sources.recognitions, short_obligations))  # fmt: skip
    feb = by(fall, "booked_month")[("2026-02",)]
    assert feb["unrecognized"] == -16_000
    assert sum(int(feb[m]) for m in fall.column_names[3:]) != feb["booked"]


def test_receivables_age_by_invoice(store, northwind):
    aging = report(store, northwind, "ar_aging", ReportParams(MARCH_31))
    items = {k: (r["booked_on"], r["age_days"], r["open"]) for k, r in by(aging, "invoice").items()}
    assert items == {
        ("in_dec_1",): ("2025-12-20", 101, 3_600),
        ("in_jan_3",): ("2026-01-15", 75, 2_150),
        ("in_feb_1",): ("2026-02-03", 56, 4_600),
        ("in_feb_2",): ("2026-02-15", 44, 26_000),
        ("in_mar_1",): ("2026-03-02", 29, 4_800),
        ("in_mar_2",): ("2026-03-31", 0, 1_075),
        ("in_eur_1",): ("2026-03-20", 11, 5_950),
    }
    usd = totals(aging)["usd"]
    buckets = ("current", "days_1_30", "days_31_60", "days_61_90", "days_over_90")
    assert [usd[b] for b in buckets] == [1_075, 4_800, 30_600, 2_150, 3_600]
    tb = report(store, northwind, "trial_balance", ReportParams(MARCH_31, currency="usd"))
    ar_balance = by(tb, "code")[("accounts_receivable",)]["balance"]
    assert sum(int(usd[b]) for b in buckets) == usd["open"] == ar_balance


def test_tax_liability_by_jurisdiction(store, northwind):
    tax = report(store, northwind, "tax_liability", Q1)
    lines = {k: tuple(r[c] for c in ("opening", "credits", "debits", "closing"))
             for k, r in by(tax, "currency", "jurisdiction").items()}  # fmt: skip
    assert lines == {
        ("eur", "de"): (0, 950, 0, 950),
        ("usd", "fr"): (600, 9_400, 6_000, 4_000),
        ("usd", "us_ca"): (0, 1_125, 0, 1_125),
        ("usd", "us_ny"): (0, 2_000, 0, 2_000),
    }
    assert totals(tax)["usd"]["closing"] == 7_125


def test_another_account_sees_nothing(store, northwind):
    stranger = new_account(store, "Stranger")
    for name in ("trial_balance", "ar_aging", "deferred_revenue_rollforward", "tax_liability"):
        with store.read() as conn:
            seen = run_report(conn, stranger.account.id, name, ReportParams(MARCH_31))
        assert seen.rows == () and seen.totals == ()


def test_unknown_reports_and_backwards_periods_are_refused(store, northwind):
    with pytest.raises(ResourceMissing):
        report(store, northwind, "cash_flow", ReportParams(MARCH_31))
    with pytest.raises(InvalidRequestError, match="starts"):
        ReportParams(date(2026, 1, 1), since=MARCH_31)


def test_csv_and_parquet_round_trip(store, northwind, tmp_path):
    from remit.ledger.reports import write_csv, write_parquet

    fall = report(store, northwind, "revenue_waterfall", ReportParams(MARCH_31))
    write_parquet(fall, tmp_path / "fall.parquet")
    back = pq.read_table(tmp_path / "fall.parquet")
    assert back.equals(to_arrow(fall))
    assert str(back.schema.field("booked").type) == "int64"
    records = [tuple(r.values()) for r in back.to_pylist()]
    assert records == [("row", *r) for r in fall.rows] + [("total", *t) for t in fall.totals]
    with (tmp_path / "fall.csv").open("w", newline="") as handle:
        write_csv(fall, handle)
    parsed = pacsv.read_csv(tmp_path / "fall.csv")
    assert parsed.column_names == ["row_type", *fall.column_names]
    assert parsed.column("booked").to_pylist() == [r[2] for r in (*fall.rows, *fall.totals)]


@pytest.mark.parametrize("name", ["revenue_waterfall", "deferred_revenue_rollforward"])
def test_charts_are_written_as_png_and_svg(store, northwind, tmp_path, name):
    from remit.ledger.reports import write_chart

    drawn = report(store, northwind, name, ReportParams(MARCH_31))
    png = write_chart(drawn, tmp_path / f"{name}.png", "usd")
    svg = write_chart(drawn, tmp_path / f"{name}.svg", "usd")
    assert png.read_bytes().startswith(b"\x89PNG\r\n\x1a\n") and png.stat().st_size > 5_000
    head = svg.read_text()[:200]
    assert head.startswith("<?xml") or head.startswith("<svg")
    assert "2026-02" in svg.read_text()
    again = write_chart(drawn, tmp_path / f"{name}-again.svg", "usd")
    assert again.read_bytes() == svg.read_bytes()  # deterministic output
    with pytest.raises(InvalidRequestError):
        write_chart(drawn, tmp_path / f"{name}.jpg")


# -- over HTTP -------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def reports_server(store) -> Iterator[ServerThread]:
    with ServerThread(reports_app(store)) as running:
        yield running


@pytest.fixture
def reports_api(reports_server, account) -> Iterator[httpx.Client]:
    headers = {"Authorization": f"Bearer {account.secret_key}"}
    with httpx.Client(base_url=reports_server.url, headers=headers, timeout=30) as client:
        yield client


@pytest.mark.parametrize(
    ("name", "query", "params"),
    [
        ("trial_balance", {"at": "2026-03-31"}, ReportParams(MARCH_31)),
        ("income_statement", {"from": "2026-01-01", "to": "2026-03-31"}, Q1),
        ("ar_aging", {"at": str(ts(2026, 3, 31, 18)), "currency": "USD"},
         ReportParams(MARCH_31, currency="usd")),
        ("general_ledger", {"at": "2026-03-31", "code": "bank"},
         ReportParams(MARCH_31, code="bank")),
        ("revenue_waterfall", {"at": "2026-03-31"}, ReportParams(MARCH_31)),
    ],
)  # fmt: skip
def test_http_answers_the_same_rows_as_the_function(
    store, northwind, reports_api, name, query, params
):
    answer = reports_api.get(f"/v1/remit/ledger/reports/{name}", params=query)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    with store.read() as conn:
        # The server reads revenue recognition from the state store, as run_report does.
        expected = run_report(conn, northwind.account_id, name, params)
    assert expected.rows
    assert body["object"] == "ledger_report" and body["name"] == name
    assert body["columns"] == list(expected.column_names)
    assert body["rows"] == [list(r) for r in expected.rows]
    assert body["totals"] == [list(t) for t in expected.totals]
    assert isinstance(body["generated_at"], int)


def test_http_refuses_bad_questions(northwind, reports_api):
    base = "/v1/remit/ledger/reports"
    missing = reports_api.get(f"{base}/cash_flow")
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "resource_missing"
    refusals = [
        ("trial_balance", {"at": "2026-02-30"}, "parameter_invalid", "at"),
        ("trial_balance", {"at": "2026-03-31", "to": "2026-03-31"}, "parameters_exclusive", "to"),
        ("trial_balance", {"currency": "zzz"}, "parameter_invalid", "currency"),
        ("trial_balance", {"limit": "3"}, "parameter_unknown", "limit"),
        ("general_ledger", {}, "parameter_missing", "code"),
        ("income_statement", {"from": "2026-04-01", "to": "2026-03-31"}, "parameter_invalid",
         "from"),
    ]  # fmt: skip
    for name, query, code, param in refusals:
        error = reports_api.get(f"{base}/{name}", params=query).json()["error"]
        assert (error["code"], error["param"]) == (code, param), (name, query)
    listed = reports_api.get(base).json()
    assert "revenue_waterfall" in [r["name"] for r in listed["data"]]


def test_http_reports_only_the_callers_ledger(northwind, reports_server, store):
    stranger = new_account(store, "Stranger")
    headers = {"Authorization": f"Bearer {stranger.secret_key}"}
    with httpx.Client(base_url=reports_server.url, headers=headers, timeout=30) as client:
        body = client.get("/v1/remit/ledger/reports/trial_balance?at=2026-03-31").json()
    assert body["rows"] == [] and body["totals"] == []


# -- from the command line -------------------------------------------------------------------
def test_cli_prints_tables_and_writes_files(store, northwind, database_url, tmp_path, monkeypatch):
    monkeypatch.setenv("REMIT_DATABASE_URL", database_url)
    base = ["report", "--account", northwind.account_id, "--at", "2026-03-31"]
    shown = runner.invoke(ledger_app, [*base[:1], "balance_sheet", *base[1:]])
    assert shown.exit_code == 0, shown.output
    assert "1,894.73" in shown.output and "Current earnings" in shown.output
    out = tmp_path / "tb.parquet"
    written = runner.invoke(ledger_app, ["report", "trial_balance", *base[1:], "--format",
                                         "parquet", "--out", str(out)])  # fmt: skip
    assert written.exit_code == 0, written.output
    with store.read() as conn:
        expected = run_report(conn, northwind.account_id, "trial_balance", ReportParams(MARCH_31))
    assert pq.read_table(out).equals(to_arrow(expected))
    csv_out = runner.invoke(ledger_app, ["report", "tax_liability", *base[1:], "--format", "csv"])
    assert csv_out.exit_code == 0, csv_out.output
    assert "row,usd,fr,tax_payable.fr,0,10000,6000,4000" in csv_out.output
    charted = runner.invoke(ledger_app, ["report", "deferred_revenue_rollforward", *base[1:],
                                         "--chart", str(tmp_path / "roll.svg")])  # fmt: skip
    assert charted.exit_code == 0, charted.output
    assert (tmp_path / "roll.svg").read_text().lstrip().startswith(("<?xml", "<svg"))


def test_cli_reports_bad_input_plainly(store, northwind, database_url, monkeypatch):
    monkeypatch.setenv("REMIT_DATABASE_URL", database_url)
    account = ["--account", northwind.account_id]
    unknown = runner.invoke(ledger_app, ["report", "cash_flow", *account])
    assert unknown.exit_code == 1 and "No such ledger report" in unknown.output
    for bad in (["--at", "31/3"], ["--format", "parquet"], ["--chart", "png"]):  # usage errors
        assert runner.invoke(ledger_app, ["report", "trial_balance", *account, *bad]).exit_code == 2


def test_waterfall_ties_out_with_revenue_recognition_as_stored(store, account):
    """The contract with revenue recognition, end to end: its own bookings, daily
    recognition, a refund and a void, read back from its tables by the default source."""
    revrec = pytest.importorskip("remit.ledger.revrec.service")
    book_with_revrec(store, account, revrec)
    with store.read() as conn:
        fall = run_report(conn, account.account.id, "revenue_waterfall", ReportParams(MARCH_31))
        tb = run_report(conn, account.account.id, "trial_balance", ReportParams(MARCH_31))
    assert [r[1] for r in fall.rows] == ["2026-01", "2026-02"]
    for row in fall.rows:
        assert sum(int(v) for v in row[3:]) == row[2], row
    balances = {k[0]: r["balance"] for k, r in by(tb, "code").items()}
    total = totals(fall)["usd"]
    assert total["unrecognized"] == balances["deferred_revenue"] > 0
    months = [name for name in fall.column_names if name[:2] == "20"]
    assert sum(int(total[m]) for m in months) == balances["revenue"]
    assert by(fall, "booked_month")[("2026-02",)]["unrecognized"] == 0  # voided whole
