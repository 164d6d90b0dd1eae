"""``remit ledger verify [--account acct_...]``: the ledger checked against itself.

Exit status 0 when every check passes, 1 when anything was found. Checks other
capabilities add through the ``remit_ledger_verify`` hook run too, once per tenant.
"""

from __future__ import annotations

from collections import Counter

import pluggy
import sqlalchemy as sa
import typer
from rich.console import Console
from rich.markup import escape

from remit.ledger import verify as ledger_verify
from remit.ledger.domain.entries import Finding
from remit.plugins.manager import make_manager
from remit.runtime import open_store
from remit.settings import Settings

console = Console()
SHOWN = 50  # findings listed; the rest are counted


def verify(
    account: str | None = typer.Option(
        None, "--account", help="one tenant (acct_...); default: every tenant"
    ),
) -> None:
    """Re-derive balances, check every entry, the hash chain and limits; exit 1 on findings."""
    settings = Settings.from_env()
    store = open_store(settings)
    checks = hook_checks(make_manager(settings.plugins_allowed))
    try:
        report = ledger_verify.verify(store, account, extra_checks=checks)
    finally:
        store.dispose()
    scope = f"tenant {account}" if account else f"{report.tenants} tenant(s)"
    console.print(
        f"ledger verify: {scope}, {report.entries:,} entries, {report.legs:,} legs, "
        f"{report.accounts:,} ledger accounts, {report.elapsed_s:.2f} s",
        highlight=False,
    )
    if report.clean:
        console.print("[green]clean[/green]: balances, totals, entries, chain and limits hold")
        raise typer.Exit(0)
    total = len(report.findings) + report.omitted
    by_code = Counter(f.code for f in report.findings)
    console.print(
        f"[red]{total} finding(s)[/red]: "
        + ", ".join(f"{code} x{count}" for code, count in sorted(by_code.items())),
        highlight=False,
    )
    for finding in report.findings[:SHOWN]:
        where = " ".join(filter(None, (finding.account_id, finding.object_id)))
        console.print(
            f"[bold]{finding.check}[/bold] {finding.code} [dim]{where}[/dim]", highlight=False
        )
        console.print(f"  {escape(finding.message)}", highlight=False)
    if total > SHOWN:
        console.print(f"... and {total - SHOWN} more", style="dim")
    raise typer.Exit(1)


def hook_checks(pm: pluggy.PluginManager) -> list[ledger_verify.ExtraCheck]:
    """The ``remit_ledger_verify`` hook as one extra check."""
    hook = pm.hook.remit_ledger_verify

    def plugins(conn: sa.Connection, account_id: str) -> list[Finding]:
        return [f for found in hook(conn=conn, account_id=account_id) for f in found]

    return [plugins]
