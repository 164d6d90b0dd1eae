"""Reading credit notes back, and rendering them (and previews) with what they name.

Batched: a page of notes loads its lines and tax rates in a few statements.
"""

from __future__ import annotations

from collections.abc import Sequence
from types import SimpleNamespace
from typing import Any

import sqlalchemy as sa

from remit.billing.balance import service as balance
from remit.billing.balance.tables import customer_balance_transactions
from remit.billing.credit_notes import render, rows
from remit.billing.credit_notes.plan import Plan
from remit.billing.credit_notes.tables import credit_note_lines, credit_notes
from remit.billing.invoices.reads import chunks, rendered_rates
from remit.primitives.errors import ResourceMissing

PREVIEW_LINES_URL = "/v1/credit_notes/preview/lines"


def load(
    conn: sa.Connection, account_id: str, note_id: str, param: str = "id", *, lock: bool = False
) -> Any:
    n = credit_notes.c
    query = sa.select(credit_notes).where(n.account_id == account_id, n.id == note_id)
    row = conn.execute(query.with_for_update() if lock else query).first()
    if row is None:
        raise ResourceMissing("credit_note", note_id, param=param)
    return row


def lines_of(conn: sa.Connection, account_id: str, note_ids: Sequence[str]) -> dict[str, list[Any]]:
    """Note id -> its lines in order (every id asked is a key)."""
    found: dict[str, list[Any]] = {note_id: [] for note_id in note_ids}
    t = credit_note_lines.c
    for chunk in chunks(list(found)):
        query = (
            sa.select(credit_note_lines)
            .where(t.account_id == account_id, t.credit_note.in_(chunk))
            .order_by(t.credit_note, t.position)
        )
        for row in conn.execute(query):
            found[row.credit_note].append(row)
    return found


def render_rows(conn: sa.Connection, account_id: str, notes: Sequence[Any]) -> list[dict[str, Any]]:
    lines = lines_of(conn, account_id, [note.id for note in notes])
    rates = rendered_rates(
        conn,
        account_id,
        (rate for note in notes for line in lines[note.id] for rate in line.tax_rates),
    )
    return [
        render.render_note(
            note,
            lines[note.id][: render.LINES_PAGE],
            len(lines[note.id]) > render.LINES_PAGE,
            rates,
        )
        for note in notes
    ]


def render_row(conn: sa.Connection, account_id: str, note: Any) -> dict[str, Any]:
    return render_rows(conn, account_id, [note])[0]


def retrieve(conn: sa.Connection, account_id: str, note_id: str) -> dict[str, Any]:
    return render_row(conn, account_id, load(conn, account_id, note_id))


def note_lines(
    conn: sa.Connection, account_id: str, note_id: str
) -> tuple[list[Any], dict[str, dict[str, Any]]]:
    """A note's lines in order, and the rendered tax rates they name."""
    note = load(conn, account_id, note_id)
    lines = lines_of(conn, account_id, [note.id])[note.id]
    return lines, rendered_rates(conn, account_id, (r for line in lines for r in line.tax_rates))


def _preview_rows(found: Plan, account_id: str) -> tuple[Any, list[Any]]:
    # A preview is stored nowhere: no id; its lines get ids that page the same way each time.
    line_ids = [f"cnli_preview_{position}" for position in range(len(found.lines))]
    note = SimpleNamespace(**rows.note_row(account_id, found, None, None))
    lines = [SimpleNamespace(**line) for line in rows.line_rows(account_id, found, None, line_ids)]
    return note, lines


def render_preview(conn: sa.Connection, account_id: str, found: Plan) -> dict[str, Any]:
    note, lines = _preview_rows(found, account_id)
    rates = rendered_rates(conn, account_id, (rate for line in lines for rate in line.tax_rates))
    first = lines[: render.LINES_PAGE]
    has_more = len(lines) > render.LINES_PAGE
    return render.render_note(note, first, has_more, rates, PREVIEW_LINES_URL)


def preview_lines(
    conn: sa.Connection, account_id: str, found: Plan
) -> tuple[list[Any], dict[str, dict[str, Any]]]:
    _, lines = _preview_rows(found, account_id)
    return lines, rendered_rates(conn, account_id, (r for line in lines for r in line.tax_rates))


def balance_transaction(conn: sa.Connection, account_id: str, txn_id: str) -> dict[str, Any]:
    """The balance transaction a note's ``customer_balance_transaction`` names, for expand."""
    t = customer_balance_transactions.c
    row = conn.execute(
        sa.select(customer_balance_transactions).where(t.account_id == account_id, t.id == txn_id)
    ).first()
    if row is None:
        raise ResourceMissing("customer balance transaction", txn_id)
    return balance.render(row)
