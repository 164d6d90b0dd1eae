"""An invoice explains itself: each line's derivation, its discounts, taxes and rounding,
and the invoice's figures beside the same figures re-derived from its lines."""

from __future__ import annotations

import sqlalchemy as sa
from invoice_support import (
    new_coupon,
    new_customer,
    new_invoice,
    new_item,
    new_price,
    new_tax_rate,
    ok,
)
from typer.testing import CliRunner

from remit.billing.invoices.tables import invoices
from remit.cli.main import app


def explained_invoice(api) -> dict:  # type: ignore[no-untyped-def]
    customer = new_customer(api)["id"]
    price = new_price(api, unit_amount_decimal="333.5")["id"]
    coupon = new_coupon(api, percent_off="25")["id"]
    vat = new_tax_rate(api, "19", inclusive=True, jurisdiction="DE")["id"]
    new_item(
        api, customer,
        **{"pricing[price]": price, "quantity": "3", "discounts[0][coupon]": coupon,
           "tax_rates[0]": vat},
    )  # fmt: skip
    invoice = new_invoice(api, customer)
    return ok(api.post(f"/v1/invoices/{invoice['id']}/finalize"))


def test_the_explain_tree_carries_every_step_of_a_line(api):
    invoice = explained_invoice(api)
    found = ok(api.get(f"/v1/invoices/{invoice['id']}/explain"))
    assert found["invoice"] == invoice["id"] and found["number"] == invoice["number"]
    (line,) = found["lines"]
    derivation = line["derivation"]
    # 3 x 333.5 = 1000.5, rounded once (half up) to 1001.
    assert derivation["rating"]["exact_amount"] == "1000.5"
    assert derivation["amount"] == line["amount"] == 1001
    # 25% of 1001 = 250.25 -> 250; 19% extracted from 751 = 119.9... -> 120; net 631.
    (discount,) = derivation["discounts"]
    assert (discount["percent_off"], discount["amount"]) == ("25", 250)
    (tax,) = derivation["taxes"]
    assert (tax["inclusive"], tax["taxable_amount"], tax["amount"]) == (True, 631, 120)
    assert (derivation["rounding"], derivation["net"]) == ("half_up", 631)
    assert found["totals"]["total"] == invoice["total"] == 751
    assert found["checks"] and all(check["holds"] for check in found["checks"])


def test_the_cli_prints_the_tree_and_fails_on_a_broken_identity(
    api, store, database_url, monkeypatch
):
    invoice = explained_invoice(api)
    monkeypatch.setenv("REMIT_DATABASE_URL", database_url)
    runner = CliRunner()
    printed = runner.invoke(app, ["invoice", "explain", invoice["id"]])
    assert printed.exit_code == 0, printed.output
    assert invoice["number"] in printed.output
    assert "1000.5" in printed.output and "holds" in printed.output
    with store.write() as conn:
        conn.execute(invoices.update().where(invoices.c.id == invoice["id"]).values(total=752))
    broken = runner.invoke(app, ["invoice", "explain", invoice["id"]])
    assert broken.exit_code == 1
    assert "BROKEN" in broken.output
    missing = runner.invoke(app, ["invoice", "explain", "in_missing"])
    assert missing.exit_code != 0
    with store.read() as conn:
        assert conn.execute(sa.select(invoices.c.total)).scalar_one() == 752
