"""/v1/credit_notes over HTTP: Stripe's shapes, lists and pages, events, and refusals that
write nothing."""

from __future__ import annotations

import copy
from typing import Any

import httpx
import pytest
from credit_note_support import (
    context,
    finalized_invoice,
    line,
    line_ids,
    new_customer,
    new_rate,
    unchanged,
)

from api.test_contract import RESOURCES, assert_event_matches, shape_problems


def _fixture(name: str) -> dict[str, Any]:
    """Stripe's fixture, with each pretax credit amount as Stripe documents it (the fixture
    elides its nullable ``discount`` and ``credit_balance_transaction``)."""
    fixture = copy.deepcopy(RESOURCES[name])
    lines = fixture["lines"]["data"] if name == "credit_note" else []
    for entry in [fixture, *lines]:
        for credit in entry.get("pretax_credit_amounts", ()):
            credit.update(discount="di_123", credit_balance_transaction=None)
    return fixture


def assert_shape(obj: dict[str, Any], name: str) -> None:
    problems = shape_problems(obj, _fixture(name))
    assert not problems, "\n".join(problems)


def ok(response: httpx.Response) -> Any:
    assert response.status_code == 200, response.text
    return response.json()


def refused(response: httpx.Response, param: str | None, code: str = "parameter_invalid") -> Any:
    assert response.status_code in (400, 404), response.text
    error = response.json()["error"]
    assert (error["type"], error.get("param"), error.get("code")) == (
        "invalid_request_error", param, code,
    ), error  # fmt: skip
    return error


@pytest.fixture
def paid(store, account, pm):  # type: ignore[no-untyped-def]
    """An invoice paid out of band: three seats (900) and setup (100), 19% VAT: 1190."""
    ctx = context(account, pm)
    with store.write() as conn:
        customer = new_customer(conn, ctx)
        vat = new_rate(conn, ctx, "19")
    invoice = finalized_invoice(
        store, ctx, customer, [line(900, quantity=3), line(100, description="Setup")],
        paid=True, default_tax_rates=(vat,),
    )  # fmt: skip
    return invoice, line_ids(store, ctx.account_id, invoice.id), vat


def test_a_note_renders_as_stripe_and_its_event_too(api, paid):
    invoice, (seats, _), vat = paid
    data = {
        "invoice": invoice.id, "credit_amount": "476", "reason": "duplicate", "memo": "Sorry",
        "metadata[case]": "7", "lines[0][type]": "invoice_line_item",
        "lines[0][invoice_line_item]": seats, "lines[0][quantity]": "1",
        "lines[0][metadata][seat]": "3", "lines[1][type]": "custom_line_item",
        "lines[1][unit_amount]": "100", "lines[1][description]": "Goodwill",
        "lines[1][tax_rates][0]": vat,
    }  # fmt: skip
    note = ok(api.post("/v1/credit_notes", data=data))
    assert_shape(note, "credit_note")
    for item in note["lines"]["data"]:
        assert_shape(item, "credit_note_line_item")
    assert (note["total"], note["customer_balance_transaction"][:6]) == (476, "cbtxn_")
    assert note["lines"]["data"][0]["metadata"] == {"seat": "3"}
    assert ok(api.get(f"/v1/credit_notes/{note['id']}")) == note
    expand = {"expand[]": ["invoice", "customer_balance_transaction"]}
    expanded = ok(api.get(f"/v1/credit_notes/{note['id']}", params=expand))
    assert expanded["invoice"]["post_payment_credit_notes_amount"] == 476
    txn = expanded["customer_balance_transaction"]
    assert (txn["type"], txn["amount"], txn["credit_note"]) == ("credit_note", -476, note["id"])
    assert_shape(txn, "customer_balance_transaction")
    (event,) = ok(api.get("/v1/events", params={"type": "credit_note.created"}))["data"]
    assert_event_matches(event)
    ok(api.post(f"/v1/credit_notes/{note['id']}", data={"metadata[case]": ""}))
    (updated,) = ok(api.get("/v1/events", params={"type": "credit_note.updated"}))["data"]
    assert updated["data"]["previous_attributes"] == {"metadata": {"case": "7"}}
    assert_event_matches(updated)


def test_notes_list_by_invoice_and_customer_and_lines_page_in_order(api, paid):
    invoice, (seats, setup), _ = paid
    line_params = {f"lines[{i}][type]": "invoice_line_item" for i in range(3)}
    for index, (line_id, amount) in enumerate(((seats, "100"), (setup, "50"), (seats, "200"))):
        line_params[f"lines[{index}][invoice_line_item]"] = line_id
        line_params[f"lines[{index}][amount]"] = amount
    first = ok(api.post("/v1/credit_notes", data={"invoice": invoice.id, "amount": "10",
                                                  "out_of_band_amount": "10"}))  # fmt: skip
    second = ok(api.post("/v1/credit_notes", data={"invoice": invoice.id, **line_params,
                                                   "out_of_band_amount": "417"}))  # fmt: skip
    listed = ok(api.get("/v1/credit_notes", params={"invoice": invoice.id, "limit": 1}))
    assert ([n["id"] for n in listed["data"]], listed["has_more"]) == ([second["id"]], True)
    by_customer = ok(api.get("/v1/credit_notes", params={"customer": invoice.customer}))
    assert [n["id"] for n in by_customer["data"]] == [second["id"], first["id"]]
    for listed_note in by_customer["data"]:
        assert_shape(listed_note, "credit_note")
    url = f"/v1/credit_notes/{second['id']}/lines"
    page = ok(api.get(url, params={"limit": 2}))
    assert ([item["amount"] for item in page["data"]], page["has_more"]) == ([100, 50], True)
    rest = ok(api.get(url, params={"starting_after": page["data"][1]["id"]}))
    assert ([item["amount"] for item in rest["data"]], rest["has_more"]) == ([200], False)
    back = ok(api.get(url, params={"ending_before": rest["data"][0]["id"], "limit": 1}))
    assert [item["amount"] for item in back["data"]] == [50]
    refused(api.get(url, params={"starting_after": first["id"]}), "starting_after",
            "resource_missing")  # fmt: skip


def test_previews_write_nothing(api, store, account, paid):
    invoice, (seats, _), _ = paid
    params = {"invoice": invoice.id, "lines[0][type]": "invoice_line_item",
              "lines[0][invoice_line_item]": seats, "lines[0][amount]": "300"}  # fmt: skip
    with unchanged(store, account.account.id):
        preview = ok(api.get("/v1/credit_notes/preview", params=params))
        lines = ok(api.get("/v1/credit_notes/preview/lines", params=params))
    assert (preview["id"], preview["total"], preview["number"]) == (
        None, 357, f"{invoice.number}-CN-01",
    )  # fmt: skip
    assert_shape(preview, "credit_note")
    assert lines["url"] == "/v1/credit_notes/preview/lines" and lines["data"][0]["amount"] == 300


def test_bad_notes_are_refused_and_write_nothing(api, store, account, paid):
    invoice, (seats, _), _ = paid
    whole = {"invoice": invoice.id, "amount": "100"}
    by_line = {"invoice": invoice.id, "lines[0][type]": "invoice_line_item",
               "lines[0][invoice_line_item]": seats, "credit_amount": "1"}  # fmt: skip
    cases = [
        ({"invoice": "in_missing", "amount": "1"}, "invoice", "resource_missing"),
        ({"invoice": invoice.id}, "amount", "parameter_missing"),
        ({**by_line, "lines[0][amount]": "901"}, "lines[0][amount]", "parameter_invalid"),
        ({**by_line, "lines[0][amount]": "1", "lines[0][quantity]": "1"}, "lines[0]",
         "parameter_invalid"),
        ({**by_line, "lines[0][amount]": "1", "lines[0][description]": "x"},
         "lines[0][description]", "parameter_invalid"),
        ({**by_line, "lines[0][amount]": "1", "lines[0][invoice_line_item]": "il_missing"},
         "lines[0][invoice_line_item]", "resource_missing"),
        ({**whole, "refund_amount": "100"}, "refund_amount", "parameter_invalid"),
        ({**whole, "credit_amount": "99"}, "out_of_band_amount", "parameter_invalid"),
        ({**whole, "credit_amount": "100", "effective_at": "1"}, "effective_at",
         "parameter_invalid"),
        ({**whole, "credit_amount": "100", "reason": "mistake"}, "reason", "parameter_invalid"),
    ]  # fmt: skip
    with unchanged(store, account.account.id):
        for data, param, code in cases:
            refused(api.post("/v1/credit_notes", data=data), param, code)
        refused(api.get("/v1/credit_notes/cn_missing"), "id", "resource_missing")
        refused(api.post("/v1/credit_notes/cn_missing/void"), "id", "resource_missing")
