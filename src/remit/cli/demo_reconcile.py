"""The demo's reconciliation chapter: the platform against the cafés' own records.

Two reconciliations close the year, driven through the HTTP API as an agent would. The
back office's copy of the invoices (fed by webhooks all year, ``demo_back_office``) is
compared object by object in state mode, after the drift a bad month leaves: a lost
webhook, a lost ``invoice.paid``, an amount edited by hand and an orphan row. A repair
plan is proposed; the demo's operator approves it (the step no API call can take: it is
the person's), the plan is applied (the lost events are sent again), and a second run
shows what it resolved. Then the statement of the bank account the out-of-band payments
went to, in the bank's own format, is matched against the ledger in transaction mode.
"""

from __future__ import annotations

import csv
import time
from collections import Counter
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx

from remit.analytics.engine import connect
from remit.cli.demo_back_office import PARIS, RULES, BackOffice, iso
from remit.context import CallContext
from remit.fde.reconcile import load, repair
from remit.fde.reconcile.sources import SourceContext, parse_source
from remit.ledger.reports import major_units
from remit.primitives.money import RoundingMode, decimal_string, major_to_minor
from remit.store.engine import Store

# The copy's amounts have the currency's decimals: converting them rounds nothing.
EXACT = RoundingMode.HALF_UP
ORPHAN = "in_0RemovedFromThePlatform00"
REPAIR_WAIT_S = 30
OPERATOR = "demo operator"
DAY_S = 86_400
BANK_FEE_MINOR = -1_500
BANK_RULES = """\
name: bank-statement
version: 1
left:
  label: platform
  columns: {id: id, amount: account_amount, currency: currency, date: effective_at,
            reference: subject_id, description: description}
right:
  label: bank
  columns: {id: ligne, amount: montant, date: date_valeur, reference: reference,
            description: libelle}
  amount_format: decimal
  date_format: "%d/%m/%Y %H:%M"
  timezone: Europe/Paris
  default_currency: usd
passes:
  - {name: by_reference, match: reference, date_window: 3d}
  - {name: by_amount_and_date, match: amount_date, date_window: 3d}
breaks:
  timing_window: 30d
"""


def run_reconcile_chapter(
    api: httpx.Client, store: Store, ctx: CallContext, office: BackOffice, out_dir: Path
) -> dict[str, Any]:
    facts = reconcile_back_office(api, store, ctx, office, inject_drift(office))
    facts.update(reconcile_bank(api, store, ctx, out_dir))
    return facts


def inject_drift(office: BackOffice) -> dict[str, str]:
    """What a bad month leaves in the copy; returns invoice id -> the break it must cause."""
    paid = [r for r in office.rows().values() if r.state == "PAID"]
    lost, stale, edited = paid[3], paid[5], paid[7]
    office.execute("DELETE FROM invoices WHERE stripe_id = :id", id=lost.stripe_id)
    # Its invoice.paid never arrived: the copy still says OPEN, as of before the payment.
    synced = int(datetime.fromisoformat(stale.synced_at).timestamp())
    office.execute(
        "UPDATE invoices SET state = 'OPEN', synced_at = :before WHERE stripe_id = :id",
        id=stale.stripe_id,
        before=iso(synced - 3_600),
    )
    office.execute(
        "UPDATE invoices SET amount = :amount WHERE stripe_id = :id",
        id=edited.stripe_id,
        amount=decimal_string(major_to_minor(Decimal(edited.amount), "usd", EXACT) - 500, "usd"),
    )
    office.execute(
        "INSERT INTO invoices VALUES ('INV-09999', :id, 'OLD-0001', 'cus_gone', '42.00', 'USD',"
        " 'OPEN', '2025-01-02 09:00:00', '2025-01-02T08:00:00+00:00', 'evt_gone')",
        id=ORPHAN,
    )
    return {
        lost.stripe_id: "missing_in_external",
        stale.stripe_id: "stale",
        edited.stripe_id: "amount_mismatch",
        ORPHAN: "missing_in_platform",
    }


def reconcile_back_office(
    api: httpx.Client, store: Store, ctx: CallContext, office: BackOffice, drift: dict[str, str]
) -> dict[str, Any]:
    """Run, plan, approve, apply, wait for the re-sent events, run again, diff."""
    source = {"rules": RULES, "left": "platform:invoices", "right": f"sql:{office.url}#invoices"}
    first = _call(api, "POST", "/v1/reconciliation/runs", source)
    found = _breaks(api, first["id"])
    plan = _call(api, "POST", "/v1/reconciliation/repair_plans", {"run": first["id"]})
    with store.write() as conn:  # the person's call: `remit reconcile approve` does the same
        token = repair.approve(conn, ctx.account_id, plan["id"], OPERATOR, ctx.now)
    applied = _call(
        api, "POST", f"/v1/reconciliation/repair_plans/{plan['id']}/apply",
        {"approval_token": token},
    )  # fmt: skip
    audited = _call(api, "GET", f"/v1/reconciliation/repair_plans/{plan['id']}/audit")
    _wait_until_repaired(office, drift)
    second = _call(api, "POST", "/v1/reconciliation/runs", source)
    changed = _call(
        api, "GET", f"/v1/reconciliation/runs/{second['id']}/diff", {"against": first["id"]}
    )
    return {
        "reconcile: back office invoices compared": first["summary"]["records_right"],
        "reconcile: breaks found": _count(found.values()),
        "reconcile: every injected drift found and typed, nothing else": found == drift,
        "reconcile: repair plan, approved by a person, applied": _count(
            a["type"] for a in applied["actions"]
        ),
        "reconcile: audit records": len(audited["data"]),
        "reconcile: second run, breaks resolved / new / persisting": (
            f"{changed['resolved_count']} / {changed['new_count']} / {changed['persisting']}"
        ),
        "reconcile: left for a person": _count(_breaks(api, second["id"]).values()),
    }


def _wait_until_repaired(office: BackOffice, drift: dict[str, str]) -> None:
    """Until the re-sent events reached the back office (bounded): the worker sends them."""
    deadline = time.monotonic() + REPAIR_WAIT_S
    while time.monotonic() < deadline:
        rows = office.rows()
        if all(
            invoice in rows and rows[invoice].state != "OPEN"
            for invoice, kind in drift.items()
            if kind in ("missing_in_external", "stale")
        ):
            return
        time.sleep(0.2)


def reconcile_bank(
    api: httpx.Client, store: Store, ctx: CallContext, out_dir: Path
) -> dict[str, Any]:
    statement = write_bank_statement(store, ctx, out_dir / "releve_banque.csv")
    run = _call(
        api, "POST", "/v1/reconciliation/runs",
        {"rules": BANK_RULES, "left": "platform:ledger_entries?code=bank",
         "right": f"file:{statement.resolve()}"},
    )  # fmt: skip
    summary = run["summary"]
    drift = {c["currency"]: c["drift"] for c in summary["currencies"]}
    return {
        "reconcile: bank lines / ledger entries on the bank account": (
            f"{summary['records_right']} / {summary['records_left']}"
        ),
        "reconcile: bank, matched pairs (ties reported)": (
            f"{summary['matched_pairs']} ({summary['ties']})"
        ),
        "reconcile: bank, breaks": _count(_breaks(api, run["id"]).values()),
        "reconcile: bank, drift ledger - bank (USD)": major_units(drift.get("usd", 0), "usd"),
    }


def write_bank_statement(store: Store, ctx: CallContext, path: Path) -> Path:
    """The bank's statement of the money that moved, with a bank's habits: the value date a
    day later in Paris time, decimal amounts, a reference dropped now and then, one
    transfer booked twelve days late, one line listed twice, and the account's fee."""
    duck = connect()
    try:
        sctx = SourceContext(store, ctx.account_id, ctx.pm, ctx.now)
        load.load_raw(duck, "left", parse_source("platform:ledger_entries?code=bank"), sctx)
        moved = duck.execute(
            "SELECT subject_id, CAST(account_amount AS BIGINT), CAST(effective_at AS BIGINT) "
            "FROM left_raw ORDER BY line_no"
        ).fetchall()
    finally:
        duck.close()
    lines: list[tuple[str, int, int, str]] = []
    for n, (invoice, amount, at) in enumerate(moved):
        late = 12 * DAY_S if n == 11 else 0
        lines.append(("" if n % 9 == 4 else invoice, amount, at + DAY_S + late, "VIR SEPA"))
    lines.append(lines[20])
    lines.append(("", BANK_FEE_MINOR, moved[-1][2] + DAY_S, "FRAIS TENUE DE COMPTE"))
    with path.open("w", newline="") as handle:
        out = csv.writer(handle)
        out.writerow(["ligne", "date_valeur", "libelle", "reference", "montant"])
        for n, (reference, amount, at, label) in enumerate(lines, start=1):
            day = datetime.fromtimestamp(at, PARIS).strftime("%d/%m/%Y %H:%M")
            out.writerow([f"L{n:05d}", day, f"{label} {reference}".strip(), reference,
                          decimal_string(amount, "usd")])  # fmt: skip
    return path


def _breaks(api: httpx.Client, run_id: str) -> dict[str, str]:
    """Each break's subject (the platform object, else the external line) -> its type."""
    found: dict[str, str] = {}
    params: dict[str, Any] = {"limit": 100}
    while True:
        page = _call(api, "GET", f"/v1/reconciliation/runs/{run_id}/breaks", params)
        for item in page["data"]:
            subject = item["object_id"] or ",".join(item["left"]["ids"] + item["right"]["ids"])
            found[subject] = item["type"]
        if not page["has_more"]:
            return found
        params["starting_after"] = page["data"][-1]["id"]


def _count(kinds: Any) -> str:
    counted = Counter(kinds)
    return ", ".join(f"{kind} {n}" for kind, n in sorted(counted.items())) or "none"


def _call(
    api: httpx.Client, method: str, path: str, params: dict[str, Any] | None = None
) -> dict[str, Any]:
    response = api.get(path, params=params) if method == "GET" else api.post(path, data=params)
    if response.status_code != 200:
        raise RuntimeError(f"{method} {path}: {response.status_code} {response.text}")
    body: dict[str, Any] = response.json()
    return body
