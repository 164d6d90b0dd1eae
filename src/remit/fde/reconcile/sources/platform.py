"""The platform's own objects as a source: ``platform:invoices`` (customers,
subscriptions, credit_notes) rendered exactly as the API sends them, and
``platform:ledger_entries`` (``?code=accounts_receivable`` for one ledger account).

Objects are read a page of ``PAGE_ROWS`` at a time in id order and flattened into text
columns: nested objects by dotted names (``status_transitions.paid_at``,
``metadata.crm_id``), lists as JSON, booleans true/false, null as NULL. A column
``updated_at`` holds the time of the object's latest event (its ``created`` when it
has none), which is what tells a stale external copy from a divergent one.

The column set must be known before the first row is loaded, and it depends on the
data (metadata keys differ between objects; ``address`` is null for one customer and an
object for another). So objects are read twice: one pass collects every column, the
next streams the rows. The second pass stops at the last id the first one saw, and an
object that gained a new field in between fails the read rather than losing the field.
A customer that was deleted is no longer an object of the platform and is not listed.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
import sqlalchemy as sa

from remit.billing import customers as customer_service
from remit.billing.credit_notes import reads as credit_note_reads
from remit.billing.credit_notes.tables import credit_notes
from remit.billing.invoices import reads as invoice_reads
from remit.billing.invoices.tables import invoices
from remit.billing.subscriptions import render as subscription_render
from remit.billing.subscriptions.tables import subscriptions
from remit.billing.tables import customers
from remit.events.tables import events
from remit.fde.reconcile.model import SourceSpec
from remit.fde.reconcile.sources import ledger_entries
from remit.fde.reconcile.sources.base import (
    RawSource,
    RowDigest,
    SourceContext,
    invalid_source,
    string_batch,
    unreadable,
)
from remit.store.engine import Store

PAGE_ROWS = 1_000
UPDATED_AT = "updated_at"

Render = Callable[[sa.Connection, str, Sequence[Any]], list[dict[str, Any]]]


@dataclass(frozen=True, slots=True)
class PlatformObject:
    """A listable object: its table, its live rows, and the API's renderer for a page."""

    table: sa.Table
    render: Render
    live: Callable[[sa.Table], sa.ColumnElement[bool]] = lambda t: sa.true()


OBJECTS: Mapping[str, PlatformObject] = {
    "customers": PlatformObject(
        customers,
        lambda conn, account_id, rows: [customer_service.render(row) for row in rows],
        lambda t: t.c.deleted == sa.false(),
    ),
    "subscriptions": PlatformObject(subscriptions, subscription_render.render_many),
    "invoices": PlatformObject(invoices, invoice_reads.render_invoices),
    "credit_notes": PlatformObject(credit_notes, credit_note_reads.render_rows),
}


class PlatformKind:
    name = "platform"

    def open(self, spec: SourceSpec, sctx: SourceContext, table: str | None) -> RawSource:
        if sctx.store is None or sctx.account_id is None:
            raise invalid_source("A platform: source reads one account's objects: name it.")
        store, account_id = sctx.store, sctx.account_id
        if spec.location == "ledger_entries":
            return ledger_entries.open_entries(store, account_id, spec.options.get("code"))
        found = OBJECTS.get(spec.location)
        if found is None:
            known = ", ".join([*OBJECTS, "ledger_entries"])
            raise invalid_source(f"platform:{spec.location} is not an object; known: {known}.")
        shape = _discover(store, account_id, spec.location, found)
        digest = RowDigest(lambda: _batches(store, account_id, spec.location, found, shape))
        return RawSource(shape.columns, 1, None, digest.batches, digest.fingerprint)


@dataclass(frozen=True, slots=True)
class _Shape:
    columns: tuple[str, ...]  # the leaves, in first-seen order, then updated_at
    last_id: str | None


def _pages(
    conn: sa.Connection, account_id: str, found: PlatformObject, last_id: str | None
) -> Iterator[list[dict[str, Any]]]:
    """The account's rendered objects, a page at a time, in id order up to ``last_id``."""
    t = found.table
    after: str | None = None
    while True:
        query = sa.select(t).where(t.c.account_id == account_id, found.live(t))
        if after is not None:
            query = query.where(t.c.id > after)
        if last_id is not None:
            query = query.where(t.c.id <= last_id)
        rows = conn.execute(query.order_by(t.c.id).limit(PAGE_ROWS)).all()
        if not rows:
            return
        yield found.render(conn, account_id, rows)
        after = rows[-1].id


def _discover(store: Store, account_id: str, name: str, found: PlatformObject) -> _Shape:
    leaves: dict[str, None] = {}  # an ordered set
    valued: set[str] = set()
    objects: set[str] = set()
    last_id = None
    with store.read() as conn:
        for page in _pages(conn, account_id, found, None):
            for rendered in page:
                flat = flatten(rendered, objects)
                leaves.update(dict.fromkeys(flat))
                valued.update(path for path, value in flat.items() if value is not None)
            last_id = page[-1]["id"]
    # A path that is an object in one row and null in another is the object's columns;
    # one that also holds a value somewhere keeps a column of its own for that value.
    columns = tuple(path for path in leaves if path not in objects or path in valued)
    if UPDATED_AT in columns:
        raise unreadable(f"platform:{name} already has a field {UPDATED_AT}.")
    return _Shape((*columns, UPDATED_AT), last_id)


def flatten(obj: Mapping[str, Any], objects: set[str], prefix: str = "") -> dict[str, str | None]:
    """Leaf path -> text; the paths of nested objects are added to ``objects``."""
    flat: dict[str, str | None] = {}
    for key, value in obj.items():
        path = f"{prefix}{key}"
        if isinstance(value, Mapping):
            objects.add(path)
            flat.update(flatten(value, objects, f"{path}."))
        else:
            flat[path] = as_text(value)
    return flat


def as_text(value: Any) -> str | None:
    """A wire value as text: what a CSV export of the API's JSON would hold."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return str(value)


def _batches(
    store: Store, account_id: str, name: str, found: PlatformObject, shape: _Shape
) -> Iterator[pa.RecordBatch]:
    if shape.last_id is None:
        return
    known = frozenset(shape.columns)
    with store.read() as conn:
        for page in _pages(conn, account_id, found, shape.last_id):
            updated = _updated_at(conn, account_id, [obj["id"] for obj in page])
            rows = [_row(name, rendered, known, updated) for rendered in page]
            yield string_batch(shape.columns, [[r.get(c) for r in rows] for c in shape.columns])


def _row(
    name: str,
    rendered: Mapping[str, Any],
    known: frozenset[str],
    updated: Mapping[str, int],
) -> dict[str, str | None]:
    """One object's columns; a value in a field the first pass did not see fails the
    read (a null there loses nothing)."""
    flat = flatten(rendered, set())
    if any(value is not None and path not in known for path, value in flat.items()):
        raise unreadable(
            f"platform:{name} changed while it was read ({rendered['id']}): run again."
        )
    flat[UPDATED_AT] = str(updated.get(rendered["id"], rendered["created"]))
    return flat


def _updated_at(conn: sa.Connection, account_id: str, ids: Sequence[str]) -> dict[str, int]:
    """Object id -> the time of its latest event (ids without events are absent)."""
    e = events.c
    query = (
        sa.select(e.object_id, sa.func.max(e.created))
        .where(e.account_id == account_id, e.object_id.in_(ids))
        .group_by(e.object_id)
    )
    return {object_id: created for object_id, created in conn.execute(query)}
