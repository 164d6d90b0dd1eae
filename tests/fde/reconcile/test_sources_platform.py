"""The platform as a source: a tenant's objects exactly as the API renders them, flattened
to text columns, in id order, with the time of their latest event; and its ledger
entries, optionally those of one ledger account."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from billing.invoices.invoice_support import new_customer, new_invoice, new_item, ok
from billing.subscriptions.subscription_support import new_price, subscribe
from remit.accounts.service import NewAccount
from remit.analytics.engine import connect
from remit.events.tables import events
from remit.fde.reconcile import plugin
from remit.fde.reconcile.load import load_raw
from remit.fde.reconcile.sources import SourceContext, parse_source, platform, source_kinds
from remit.plugins.manager import make_manager
from remit.primitives.errors import InvalidRequestError
from remit.primitives.ids import new_id
from remit.store.engine import Store


def context(store: Store, account: NewAccount) -> SourceContext:
    return SourceContext(store=store, account_id=account.account.id, pm=None, now=0)


def rows_of(sctx: SourceContext, source: str) -> tuple[list[str], list[dict[str, Any]]]:
    duck = connect()
    found = load_raw(duck, "left", parse_source(source), sctx)
    result = duck.execute("SELECT * FROM left_raw ORDER BY line_no")
    names = [d[0] for d in result.description]
    rows = [dict(zip(names, row, strict=True)) for row in result.fetchall()]
    assert found.rows == len(rows)
    return names, rows


def refusal(sctx: SourceContext, source: str) -> InvalidRequestError:
    with pytest.raises(InvalidRequestError) as caught:
        rows_of(sctx, source)
    return caught.value


def paid_invoice(api: httpx.Client, customer: str, amount: str) -> dict[str, Any]:
    new_item(api, customer, amount=amount)
    invoice = new_invoice(api, customer)
    ok(api.post(f"/v1/invoices/{invoice['id']}/finalize"))
    return ok(api.post(f"/v1/invoices/{invoice['id']}/pay", data={"paid_out_of_band": "true"}))


def test_customers_flattened_in_id_order_across_pages(
    api: httpx.Client, store: Store, account: NewAccount, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(platform, "PAGE_ROWS", 1)
    first = new_customer(api, **{"metadata[crm_id]": "X1"})
    second = new_customer(api, **{"metadata[tier]": "gold", "address[city]": "Paris"})
    gone = new_customer(api)
    ok(api.delete(f"/v1/customers/{gone['id']}"))
    with store.write() as conn:
        # A later change of the first customer; the second has no event at all.
        conn.execute(events.insert().values(
            id=new_id("evt"), account_id=account.account.id, type="customer.updated",
            created=first["created"] + 1_000, object_id=first["id"], data={}, pending_webhooks=0,
        ))  # fmt: skip
        conn.execute(events.delete().where(events.c.object_id == second["id"]))
    names, rows = rows_of(context(store, account), "platform:customers")
    assert names[:3] == ["line_no", "id", "object"] and names[-1] == "updated_at"
    assert {"metadata.crm_id", "metadata.tier", "address.city", "invoice_settings.footer"} <= set(
        names
    )
    assert "address" not in names  # an object for one customer, null for the other
    assert [(r["line_no"], r["id"]) for r in rows] == [(1, first["id"]), (2, second["id"])]
    one, two = rows
    assert (one["metadata.crm_id"], one["metadata.tier"], one["address.city"]) == ("X1", None, None)
    assert (two["metadata.tier"], two["address.city"], two["address.line1"]) == (
        "gold",
        "Paris",
        None,
    )
    assert (one["delinquent"], one["balance"], one["preferred_locales"]) == ("false", "0", "[]")
    assert one["updated_at"] == str(first["created"] + 1_000)
    assert two["updated_at"] == str(second["created"])


def test_invoices_and_credit_notes_as_the_api_shows_them(
    api: httpx.Client, store: Store, account: NewAccount
) -> None:
    customer = new_customer(api)["id"]
    paid = paid_invoice(api, customer, "1500")
    new_item(api, customer, amount="2000")
    open_invoice = new_invoice(api, customer)
    ok(api.post(f"/v1/invoices/{open_invoice['id']}/finalize"))
    note = ok(api.post("/v1/credit_notes", data={"invoice": open_invoice["id"], "amount": "500"}))
    sctx = context(store, account)
    _, invoices = rows_of(sctx, "platform:invoices")
    assert [(r["id"], r["status"], r["amount_due"]) for r in invoices] == [
        (paid["id"], "paid", "1500"), (open_invoice["id"], "open", "1500"),
    ]  # fmt: skip
    assert invoices[0]["status_transitions.paid_at"] == str(paid["status_transitions"]["paid_at"])
    assert invoices[1]["status_transitions.paid_at"] is None
    assert [line["amount"] for line in json.loads(invoices[0]["lines.data"])] == [1500]
    assert invoices[0]["lines.url"] == f"/v1/invoices/{paid['id']}/lines"
    _, notes = rows_of(sctx, "platform:credit_notes")
    assert [(r["id"], r["invoice"], r["amount"], r["status"]) for r in notes] == [
        (note["id"], open_invoice["id"], "500", "issued")
    ]


def test_subscriptions_with_their_items(
    api: httpx.Client, store: Store, account: NewAccount
) -> None:
    customer = new_customer(api)["id"]
    subscription = subscribe(api, customer, new_price(api, 2500))
    _, rows = rows_of(context(store, account), "platform:subscriptions")
    assert [(r["id"], r["customer"], r["status"]) for r in rows] == [
        (subscription["id"], customer, subscription["status"])
    ]
    items = json.loads(rows[0]["items.data"])
    assert [item["price"]["unit_amount"] for item in items] == [2500]


def test_ledger_entries_whole_or_of_one_account(
    api: httpx.Client, store: Store, account: NewAccount
) -> None:
    invoice = paid_invoice(api, new_customer(api)["id"], "1500")
    sctx = context(store, account)
    names, entries = rows_of(sctx, "platform:ledger_entries")
    assert names == ["line_no", "id", "rule", "cause_id", "subject_id", "description",
                     "effective_at", "currency", "amount", "updated_at"]  # fmt: skip
    assert [(e["rule"], e["subject_id"], e["currency"], e["amount"]) for e in entries] == [
        ("invoice.finalized", invoice["id"], "usd", "1500"),
        ("invoice.paid_out_of_band", invoice["id"], "usd", "1500"),
    ]
    assert [e["id"] for e in entries] == sorted(e["id"] for e in entries)
    _, receivable = rows_of(sctx, "platform:ledger_entries?code=accounts_receivable")
    assert [(e["id"], e["account_amount"]) for e in receivable] == [
        (entries[0]["id"], "1500"), (entries[1]["id"], "-1500"),
    ]  # fmt: skip
    assert refusal(sctx, "platform:ledger_entries?code=no_such_account").code == "empty_source"


def test_rows_added_or_changed_between_the_passes(
    api: httpx.Client, store: Store, account: NewAccount
) -> None:
    first = new_customer(api)["id"]
    sctx = context(store, account)
    opened = platform.PlatformKind().open(parse_source("platform:customers"), sctx, None)
    assert opened.batches is not None
    later = new_customer(api)["id"]  # after the first pass: not read
    assert [b.column("id").to_pylist() for b in opened.batches()] == [[first]]
    assert later > first
    ok(api.post(f"/v1/customers/{first}", data={"metadata[new_key]": "v"}))
    with pytest.raises(InvalidRequestError) as caught:
        list(opened.batches())
    assert caught.value.code == "source_unreadable"


def test_the_fingerprint_follows_the_objects(
    api: httpx.Client, store: Store, account: NewAccount
) -> None:
    customer = new_customer(api)["id"]
    sctx = context(store, account)
    spec = parse_source("platform:customers")
    before = load_raw(connect(), "left", spec, sctx).fingerprint
    assert platform.PlatformKind().open(spec, sctx, None).fingerprint() == before
    ok(api.post(f"/v1/customers/{customer}", data={"name": "Renamed"}))
    assert load_raw(connect(), "left", spec, sctx).fingerprint != before


def test_refusals(store: Store, account: NewAccount) -> None:
    sctx = context(store, account)
    assert refusal(sctx, "platform:payouts").code == "invalid_source"
    assert refusal(sctx, "platform:credit_notes").code == "empty_source"
    nobody = SourceContext(store=None, account_id=None, pm=None, now=0)
    assert refusal(nobody, "platform:invoices").code == "invalid_source"


def test_the_kinds_come_through_the_plugin_hook() -> None:
    pm = make_manager()
    if not pm.is_registered(plugin):
        pm.register(plugin, name="remit.fde.reconcile.plugin")
    kinds = source_kinds(pm)
    assert sorted(kinds) == ["file", "platform", "sql"]
    assert kinds == source_kinds(None)
