"""A business that issues credit notes: customers, tax rates and finalized invoices made
through the invoices capability, and the checks every credit note test makes."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from decimal import Decimal
from typing import Any

import pluggy
import sqlalchemy as sa

from remit.accounts.service import NewAccount
from remit.billing import customers, test_clocks
from remit.billing.balance.tables import customer_balance_transactions
from remit.billing.credit_notes.tables import credit_note_lines, credit_notes
from remit.billing.discounts import coupons, discounts
from remit.billing.invoices import build, lifecycle
from remit.billing.invoices.drafts import InvoiceDraft, LineDraft
from remit.billing.invoices.reads import lines_of
from remit.billing.invoices.tables import invoices
from remit.billing.tables import customers as customers_table
from remit.billing.taxes import tax_rates
from remit.cli.ledger_verify import hook_checks
from remit.context import CallContext
from remit.events.tables import events
from remit.ledger.tables import journal_entries, journal_legs, ledger_accounts
from remit.ledger.verify import verify
from remit.primitives.clock import WallClock
from remit.store.engine import Store

MONTH_S = 30 * 86_400
WATCHED = (
    credit_notes,
    credit_note_lines,
    invoices,
    customers_table,
    customer_balance_transactions,
    events,
    journal_entries,
    journal_legs,
)


def context(account: NewAccount, pm: pluggy.PluginManager, now: int | None = None) -> CallContext:
    return CallContext(
        account=account.account, now=WallClock().now() if now is None else now, pm=pm
    )


def new_customer(conn: sa.Connection, ctx: CallContext, test_clock: str | None = None) -> str:
    params = {"name": "Ann"} if test_clock is None else {"name": "Ann", "test_clock": test_clock}
    return str(customers.create(conn, ctx, params)["id"])


def new_rate(
    conn: sa.Connection, ctx: CallContext, percentage: str, *, inclusive: bool = False,
    jurisdiction: str = "DE",
) -> str:  # fmt: skip
    params = {
        "display_name": "VAT",
        "percentage": Decimal(percentage),
        "inclusive": inclusive,
        "jurisdiction": jurisdiction,
    }
    return str(tax_rates.create(conn, ctx, params)["id"])


def line(
    amount: int, *, quantity: int | None = None, deferred: bool = False, **more: Any
) -> LineDraft:
    """A one-off line (revenue at once) or, ``deferred``, one serving the coming month."""
    now = WallClock().now()
    unit = None if quantity is None else Decimal(amount) / quantity
    return LineDraft(
        amount=amount, currency="usd", description=more.pop("description", "Seats"),
        period_start=now, period_end=now + (MONTH_S if deferred else 0), quantity=quantity,
        unit_amount_decimal=unit, parent_type="invoice_item_details", **more,
    )  # fmt: skip


def finalized_invoice(
    store: Store,
    ctx: CallContext,
    customer: str,
    lines: Sequence[LineDraft],
    *,
    paid: bool,
    default_tax_rates: tuple[str, ...] = (),
    discounts: tuple[str, ...] = (),
    test_clock: str | None = None,
) -> Any:
    """An invoice of ``lines``, finalized (open) and, when ``paid``, paid out of band, at
    the time of the customer's ``test_clock`` when it has one."""
    with store.write() as conn:
        at = test_clocks.now_for(conn, ctx, test_clock)
        draft = InvoiceDraft(
            customer=customer, currency="usd", created=at, period_start=at, period_end=at,
            billing_reason="manual", collection_method="send_invoice", days_until_due=30,
            default_tax_rates=default_tax_rates, discounts=discounts, lines=tuple(lines),
            pending_items=False, test_clock=test_clock,
        )  # fmt: skip
        (invoice_id,) = build.create_many(conn, ctx, [draft])
        lifecycle.finalize(conn, ctx, invoice_id, at)
        if paid:
            lifecycle.pay(conn, ctx, invoice_id, at, paid_out_of_band=True)
        return invoice_row(conn, ctx, invoice_id)


def invoice_row(conn: sa.Connection, ctx: CallContext, invoice_id: str) -> Any:
    i = invoices.c
    return conn.execute(
        sa.select(invoices).where(i.account_id == ctx.account_id, i.id == invoice_id)
    ).one()


def snapshot(store: Store, account_id: str) -> dict[str, list[tuple[Any, ...]]]:
    with store.read() as conn:
        return {
            table.name: sorted(
                map(tuple, conn.execute(sa.select(table).where(table.c.account_id == account_id))),
                key=repr,
            )
            for table in WATCHED
        }


@contextmanager
def unchanged(store: Store, account_id: str) -> Iterator[None]:
    """The block is refused and writes nothing: no note, invoice, balance, event or entry."""
    before = snapshot(store, account_id)
    yield
    assert snapshot(store, account_id) == before, "a refused credit note wrote something"


def assert_ledger_clean(store: Store, pm: pluggy.PluginManager, account_id: str) -> None:
    report = verify(store, account_id, extra_checks=hook_checks(pm))
    assert report.clean, report.findings


def ledger_balance(store: Store, account_id: str, code: str) -> int:
    """Debits minus credits posted to one ledger account of the tenant (0 if never used)."""
    t = ledger_accounts.c
    with store.read() as conn:
        found = conn.execute(
            sa.select(t.debits_posted, t.credits_posted).where(
                t.account_id == account_id, t.code == code
            )
        ).first()
    return 0 if found is None else int(found.debits_posted - found.credits_posted)


def line_ids(store: Store, account_id: str, invoice_id: str) -> list[str]:
    with store.read() as conn:
        return [str(row.id) for row in lines_of(conn, account_id, [invoice_id])[invoice_id]]


def balance_of(store: Store, customer_id: str) -> int:
    with store.read() as conn:
        return int(
            conn.execute(
                sa.select(customers_table.c.balance).where(customers_table.c.id == customer_id)
            ).scalar_one()
        )


def event_types(store: Store, account_id: str) -> list[str]:
    e = events.c
    with store.read() as conn:
        rows = conn.execute(sa.select(e.type).where(e.account_id == account_id).order_by(e.id))
        return [row.type for row in rows]


def new_discount(conn: sa.Connection, ctx: CallContext, customer: str, percent_off: str) -> str:
    """A ``percent_off`` coupon redeemed for ``customer``: the ``di_`` id an invoice names."""
    coupon = coupons.create(conn, ctx, {"percent_off": Decimal(percent_off), "duration": "forever"})
    return discounts.attach(
        conn, ctx, coupon=coupon["id"], promotion_code=None, customer=customer,
        start_ts=ctx.now, param="discounts",
    )  # fmt: skip
