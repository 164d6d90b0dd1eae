"""Invoice numbers: the customer's ``invoice_prefix``, a dash, a 4-digit sequence.

Numbers are taken at finalization from ``customers.next_invoice_sequence``. The counter
moves with one UPDATE per batch (each customer's by the number of its invoices); the row
lock that UPDATE takes serialises concurrent finalizations of one customer, so no number
is ever given twice.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa

from remit.billing.invoices.reads import chunks
from remit.billing.tables import customers


def number(prefix: str, sequence: int) -> str:
    return f"{prefix}-{sequence:04d}"


def assign(conn: sa.Connection, account_id: str, invoices: Sequence[Any]) -> dict[str, str]:
    """Invoice id -> its number, in the order given, for invoices about to be finalized."""
    counts = Counter(row.customer for row in invoices)
    c = customers.c
    conn.execute(
        customers.update()
        .where(c.account_id == account_id, c.id == sa.bindparam("customer_id"))
        .values(next_invoice_sequence=c.next_invoice_sequence + sa.bindparam("taken")),
        [{"customer_id": customer, "taken": n} for customer, n in sorted(counts.items())],
    )
    after: dict[str, tuple[str, int]] = {}
    for chunk in chunks(sorted(counts)):
        rows = conn.execute(
            sa.select(c.id, c.invoice_prefix, c.next_invoice_sequence).where(
                c.account_id == account_id, c.id.in_(chunk)
            )
        )
        after.update((row.id, (row.invoice_prefix, row.next_invoice_sequence)) for row in rows)
    given: Counter[str] = Counter()
    numbers: dict[str, str] = {}
    for row in invoices:
        prefix, next_free = after[row.customer]
        numbers[row.id] = number(prefix, next_free - counts[row.customer] + given[row.customer])
        given[row.customer] += 1
    return numbers
