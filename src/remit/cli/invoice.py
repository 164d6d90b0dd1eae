"""``remit invoice explain in_...``: how every figure of an invoice came to be, as a tree.

The same tree ``GET /v1/invoices/{id}/explain`` answers, printed: each line's derivation
(price, quantity, rating, proration window), its discounts, taxes and rounding, then the
invoice's sums beside the same sums re-derived from the stored lines.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
import typer
from rich.console import Console
from rich.markup import escape
from rich.tree import Tree

from remit.billing.invoices import explain as invoice_explain
from remit.billing.invoices.tables import invoices
from remit.primitives.money import format_amount
from remit.runtime import open_store
from remit.settings import Settings

invoice_app = typer.Typer(help="Invoices.", no_args_is_help=True)
console = Console()
MONEY_KEYS = frozenset(
    {"amount", "amount_minor", "taxable_amount", "net", "amount_off", "subtotal", "total",
     "total_excluding_tax", "subtotal_excluding_tax", "starting_balance", "ending_balance",
     "applied", "amount_due", "amount_paid", "amount_remaining", "stated", "rederived"}
)  # fmt: skip


@invoice_app.command("explain")
def explain(invoice_id: str = typer.Argument(..., help="the invoice (in_...)")) -> None:
    """Print the derivation tree of an invoice; exit 1 if an identity does not hold."""
    store = open_store(Settings.from_env())
    try:
        with store.read() as conn:
            account_id = conn.execute(
                sa.select(invoices.c.account_id).where(invoices.c.id == invoice_id)
            ).scalar()
            if account_id is None:
                raise typer.BadParameter(f"no invoice {invoice_id}", param_hint="INVOICE_ID")
            found = invoice_explain.tree(conn, account_id, invoice_id)
    finally:
        store.dispose()
    console.print(as_tree(found), highlight=False)
    if not all(check["holds"] for check in found["checks"]):
        raise typer.Exit(1)


def as_tree(found: dict[str, Any]) -> Tree:
    currency = found["currency"]
    title = (
        f"[bold]invoice {found['invoice']}[/bold] {found['number'] or '(no number yet)'} "
        f"{found['status']} {currency.upper()} customer {found['customer']}"
    )
    root = Tree(escape(title))
    for line in found["lines"]:
        label = f"line {line['id']} {line['description'] or ''}: {_money(line['amount'], currency)}"
        node = root.add(escape(label))
        _add(node, {k: v for k, v in line.items() if k not in ("id", "description", "amount")},
             currency)  # fmt: skip
    _add(root.add("totals"), found["totals"], currency)
    _add(root.add("balance"), found["balance"], currency)
    checks = root.add("checks")
    for check in found["checks"]:
        mark = "[green]holds[/green]" if check["holds"] else "[red]BROKEN[/red]"
        stated = _money(check["stated"], currency)
        again = _money(check["rederived"], currency)
        checks.add(f"{mark} {escape(check['check'])}: {stated} (re-derived {again})")
    return root


def _add(node: Tree, value: Any, currency: str, key: str | None = None) -> None:
    """Hashes and lists become branches; money (ints under money keys) reads as money."""
    if isinstance(value, dict):
        for name, item in value.items():
            if isinstance(item, dict | list) and item:
                _add(node.add(escape(str(name))), item, currency, str(name))
            else:
                _add(node, item, currency, str(name))
        return
    if isinstance(value, list):
        for index, item in enumerate(value):
            branch = node.add(f"[{index}]") if isinstance(item, dict | list) else node
            _add(branch, item, currency, key)
        return
    shown = _money(value, currency) if key in MONEY_KEYS and type(value) is int else value
    node.add(escape(f"{key}: {shown}" if key is not None else str(shown)))


def _money(amount: Any, currency: str) -> str:
    return format_amount(amount, currency) if type(amount) is int else str(amount)
