"""Posting rules as data: each built-in rule posts a balanced entry from its payload."""

from __future__ import annotations

import pytest
from ledger_support import T0, balances, ctx_for

from remit.ledger.domain.rules import LegRule, PostingRule, RuleError, apply
from remit.ledger.errors import LedgerRejected
from remit.ledger.rules import BUILTIN_RULES, post_by_rule, rules_from
from remit.plugins.hookspecs import hookimpl
from remit.plugins.manager import make_manager

RULES = {rule.name: rule for rule in BUILTIN_RULES}
INVOICE = {
    "id": "in_1",
    "currency": "eur",
    "effective_at": T0,
    "amount_due": 9000,
    "credit_applied": 1000,
    "lines": [
        {"id": "il_1", "amount": 6000, "deferred": True},
        {"id": "il_2", "amount": 2000, "deferred": False},
    ],
    "taxes": [{"jurisdiction": "FR", "amount": 1600}, {"jurisdiction": "DE", "amount": 400}],
}
PAYLOADS = {
    "invoice.finalized": INVOICE,
    "invoice.voided": {**INVOICE, "deferred_remaining": 4000, "recognized": 4000},
    "invoice.marked_uncollectible": {**INVOICE, "amount_remaining": 9000},
    "payment.captured": {
        "id": "ch_1",
        "currency": "eur",
        "effective_at": T0,
        "amount": 9000,
        "invoice": "in_1",
    },
    "fee.charged": {
        "id": "fee_1",
        "currency": "eur",
        "effective_at": T0,
        "amount": 290,
        "source": "ch_1",
    },
    "balance.available": {"id": "bt_1", "currency": "eur", "effective_at": T0, "amount": 8710},
    "refund.created": {
        "id": "re_1",
        "currency": "eur",
        "effective_at": T0,
        "amount": 1200,
        "contra": 500,
        "release": 500,
        "taxes": [{"jurisdiction": "FR", "amount": 200}],
        "invoice": "in_1",
    },
    "dispute.funds_withdrawn": {
        "id": "dp_1",
        "currency": "eur",
        "effective_at": T0,
        "amount": 3000,
        "fee": 1500,
        "total": 4500,
        "charge": "ch_1",
    },
    "dispute.funds_reinstated": {
        "id": "dp_1r",
        "currency": "eur",
        "effective_at": T0,
        "amount": 3000,
        "charge": "ch_1",
    },
    "payout.created": {"id": "po_1", "currency": "eur", "effective_at": T0, "amount": 2000},
    "payout.paid": {"id": "po_1", "currency": "eur", "effective_at": T0, "amount": 2000},
    "credit_note.issued": {
        "id": "cn_1",
        "currency": "eur",
        "effective_at": T0,
        "contra": 300,
        "release": 0,
        "taxes": [],
        "to_receivable": 0,
        "to_balance": 300,
        "out_of_band": 0,
        "invoice": "in_1",
    },
    "customer_balance.adjusted": {
        "id": "cbtxn_1",
        "currency": "eur",
        "effective_at": T0,
        "credit": -250,
        "customer": "cus_1",
    },
    "customer_balance.invoiced": {
        "id": "cbtxn_2",
        "currency": "eur",
        "effective_at": T0,
        "amount": 300,
        "invoice": "in_1",
    },
    "invoice.paid_out_of_band": {
        "id": "in_1",
        "currency": "eur",
        "effective_at": T0,
        "amount": 9000,
    },
    "revenue.recognized": {
        "id": "eur:2026-01-01",
        "currency": "eur",
        "effective_at": T0,
        "amount": 200,
    },
}


def test_every_built_in_rule_has_a_scenario_here():
    assert set(PAYLOADS) == set(RULES)


@pytest.mark.parametrize("name", sorted(PAYLOADS))
def test_each_rule_makes_a_balanced_entry_of_its_payload(name):
    made = apply(RULES[name], PAYLOADS[name])
    debits = sum(leg.amount for leg in made.legs if leg.side == "debit")
    credits = sum(leg.amount for leg in made.legs if leg.side == "credit")
    assert debits == credits > 0
    assert made.rule == name and made.cause_id == PAYLOADS[name]["id"]


def test_the_invoice_rule_defers_periods_nets_credit_and_splits_tax_by_jurisdiction():
    made = apply(RULES["invoice.finalized"], INVOICE)
    legs = {(leg.code, leg.side): leg.amount for leg in made.legs}
    assert legs == {
        ("accounts_receivable", "debit"): 9000,
        ("customer_credit_balance", "debit"): 1000,
        ("deferred_revenue", "credit"): 6000,
        ("revenue", "credit"): 2000,
        ("tax_payable.fr", "credit"): 1600,
        ("tax_payable.de", "credit"): 400,
    }
    assert made.subject_id == "in_1"


def test_a_negative_amount_swaps_the_side():
    made = apply(RULES["customer_balance.adjusted"], PAYLOADS["customer_balance.adjusted"])
    assert {(leg.code, leg.side) for leg in made.legs} == {
        ("contra_revenue", "credit"),
        ("customer_credit_balance", "debit"),
    }


def test_payloads_that_do_not_fit_are_named():
    with pytest.raises(RuleError) as misfit:
        apply(RULES["invoice.finalized"], {**INVOICE, "amount_due": "9000", "currency": None})
    messages = " ".join(f.message for f in misfit.value.findings)
    assert "currency" in messages and "amount_due" in messages
    with pytest.raises(RuleError):
        apply(
            RULES["invoice.finalized"], {**INVOICE, "taxes": [{"jurisdiction": "F/R", "amount": 1}]}
        )


def test_posting_by_rule_writes_through_the_ledger(store, account, pm):
    ctx = ctx_for(account)
    rules = rules_from(pm)
    with store.write() as conn:
        for name in ("invoice.finalized", "payment.captured", "fee.charged", "balance.available",
                     "payout.created", "payout.paid"):  # fmt: skip
            post_by_rule(conn, ctx, rules, name, PAYLOADS[name])
        held = balances(conn, account.account.id)
    assert held[("accounts_receivable", "eur")] == (9000, 9000, 0, 0)
    assert held[("bank", "eur")] == (2000, 0, 0, 0)
    assert held[("processor_balance_available", "eur")] == (8710, 2000, 0, 0)
    with pytest.raises(LedgerRejected) as again, store.write() as conn:
        post_by_rule(conn, ctx, rules, "invoice.finalized", INVOICE)
    assert again.value.code == "ledger_duplicate_cause"
    with pytest.raises(LedgerRejected) as unknown, store.write() as conn:
        post_by_rule(conn, ctx, rules, "invoice.paid_in_gold", INVOICE)
    assert unknown.value.code == "ledger_rule_unknown"


class UnbilledFirst:
    """A tailored workflow: finalized invoices first land in unbilled receivable."""

    @hookimpl
    def remit_posting_rules(self) -> list[PostingRule]:
        return [PostingRule("invoice.finalized", (
            LegRule("debit", "unbilled_receivable", "amount_due"),
            LegRule("credit", "revenue", "amount_due"),
        ), subject="id")]  # fmt: skip


def test_a_plugin_rule_replaces_the_built_in_of_the_same_name(store, account):
    pm = make_manager()
    pm.register(UnbilledFirst())
    rules = rules_from(pm)
    assert len(rules) == len(BUILTIN_RULES)
    with store.write() as conn:
        post_by_rule(conn, ctx_for(account), rules, "invoice.finalized", {**INVOICE, "id": "in_2"})
        held = balances(conn, account.account.id)
    assert held[("unbilled_receivable", "eur")] == (9000, 0, 0, 0)
    assert ("accounts_receivable", "eur") not in held
