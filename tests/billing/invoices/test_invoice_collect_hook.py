"""Where the payments capability plugs in: ``pay`` without ``paid_out_of_band`` asks the
``remit_invoice_collect`` hook, which posts its own ledger entries and says what it took."""

from __future__ import annotations

import pluggy
from invoice_support import (
    assert_ledger_clean,
    events_of,
    new_customer,
    new_invoice,
    new_item,
    ok,
)

from remit.billing.invoices import lifecycle
from remit.context import CallContext
from remit.ledger.rules import post_by_rule, rules_from
from remit.plugins.hookspecs import hookimpl
from remit.plugins.manager import make_manager


class Processor:
    """Captures half of the amount due on each attempt (an instalment), as a processor might."""

    def __init__(self, pm: pluggy.PluginManager) -> None:
        self.pm = pm
        self.attempts: list[str] = []

    @hookimpl
    def remit_invoice_collect(self, conn, ctx, invoice, at_ts):  # type: ignore[no-untyped-def]
        self.attempts.append(invoice["id"])
        taken = min(invoice["amount_due"] // 2, invoice["amount_remaining"])
        payload = {
            "id": f"ch_{len(self.attempts)}",
            "invoice": invoice["id"],
            "currency": invoice["currency"],
            "effective_at": at_ts,
            "amount": taken,
        }
        post_by_rule(conn, ctx, rules_from(self.pm), "payment.captured", payload)
        return {"amount_paid": taken}


def test_a_processor_collects_through_the_hook(api, store, account):
    customer = new_customer(api)["id"]
    new_item(api, customer, amount="1000")
    invoice = ok(api.post(f"/v1/invoices/{new_invoice(api, customer)['id']}/finalize"))
    pm = make_manager()
    processor = Processor(pm)
    pm.register(processor, name="test-processor")
    ctx = CallContext(account=account.account, now=invoice["created"], pm=pm)
    with store.write() as conn:
        half = lifecycle.pay(conn, ctx, invoice["id"], ctx.now, paid_out_of_band=False)
    assert (half["status"], half["amount_paid"], half["amount_remaining"]) == ("open", 500, 500)
    assert half["attempt_count"] == 1
    (updated,) = events_of(api, "invoice.updated")
    assert updated["data"]["previous_attributes"]["amount_paid"] == 0
    assert_ledger_clean(store, pm, account.account.id)
    with store.write() as conn:
        rest = lifecycle.pay(conn, ctx, invoice["id"], ctx.now, paid_out_of_band=False)
    assert (rest["status"], rest["amount_paid"], rest["attempt_count"]) == ("paid", 1000, 2)
    assert processor.attempts == [invoice["id"]] * 2
    assert_ledger_clean(store, pm, account.account.id)
