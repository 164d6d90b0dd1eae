"""The built-in posting rules, as data, and posting by rule.

Billing and payments call ``post_by_rule(conn, ctx, rules, "invoice.finalized", payload)``
inside the transaction of the state change. A plugin adds or replaces rules through
the ``remit_posting_rules`` hook; the last registered rule of a name wins.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

import pluggy
import sqlalchemy as sa

from remit.context import CallContext
from remit.ledger import service
from remit.ledger.domain.entries import Entry, Finding
from remit.ledger.domain.rules import LegRule, PostingRule, RuleError, apply
from remit.ledger.errors import LedgerRejected
from remit.ledger.service import Posted


def _d(account: str, amount: str, **kw: str) -> LegRule:
    return LegRule("debit", account, amount, **kw)


def _c(account: str, amount: str, **kw: str) -> LegRule:
    return LegRule("credit", account, amount, **kw)


TAXES = {"each": "taxes"}
BUILTIN_RULES: tuple[PostingRule, ...] = (
    # Lines with a service period are deferred and recognized daily; others are revenue now.
    # Amounts are net of discounts; tax is a liability, never revenue.
    PostingRule("invoice.finalized", (
        _d("accounts_receivable", "amount_due"),
        _d("customer_credit_balance", "credit_applied"),
        _c("deferred_revenue", "amount", each="lines", when="deferred"),
        _c("revenue", "amount", each="lines", when="!deferred"),
        _c("tax_payable.{jurisdiction}", "amount", **TAXES),
    ), "Invoice finalized", subject="id"),
    # Recognized revenue comes back out of revenue; the rest out of deferred revenue.
    PostingRule("invoice.voided", (
        _d("deferred_revenue", "deferred_remaining"),
        _d("revenue", "recognized"),
        _d("tax_payable.{jurisdiction}", "amount", **TAXES),
        _c("accounts_receivable", "amount_due"),
        _c("customer_credit_balance", "credit_applied"),
    ), "Invoice voided", subject="id"),
    PostingRule("invoice.marked_uncollectible", (
        _d("bad_debt", "amount_remaining"),
        _c("accounts_receivable", "amount_remaining"),
    ), "Invoice marked uncollectible", subject="id"),
    # Settled outside the processor (a check, a wire): the money is in the bank already.
    PostingRule("invoice.paid_out_of_band", (
        _d("bank", "amount"),
        _c("accounts_receivable", "amount"),
    ), "Invoice paid out of band", subject="id"),
    PostingRule("payment.captured", (
        _d("processor_balance_pending", "amount"),
        _c("accounts_receivable", "amount"),
    ), "Payment captured", subject="invoice"),
    PostingRule("fee.charged", (
        _d("processing_fees", "amount"),
        _c("processor_balance_pending", "amount"),
    ), "Processing fee", subject="source"),
    PostingRule("balance.available", (
        _d("processor_balance_available", "amount"),
        _c("processor_balance_pending", "amount"),
    ), "Funds became available"),
    # The recognized part of what is given back is contra revenue; the rest was never earned.
    PostingRule("refund.created", (
        _d("contra_revenue", "contra"),
        _d("deferred_revenue", "release"),
        _d("tax_payable.{jurisdiction}", "amount", **TAXES),
        _c("processor_balance_available", "amount"),
    ), "Refund", subject="invoice"),
    PostingRule("dispute.funds_withdrawn", (
        _d("dispute_losses", "amount"),
        _d("processing_fees", "fee"),
        _c("processor_balance_available", "total"),
    ), "Dispute: funds withdrawn", subject="charge"),
    PostingRule("dispute.funds_reinstated", (
        _d("processor_balance_available", "amount"),
        _c("dispute_losses", "amount"),
    ), "Dispute won: funds reinstated", subject="charge"),
    PostingRule("payout.created", (
        _d("cash_in_transit", "amount"),
        _c("processor_balance_available", "amount"),
    ), "Payout sent"),
    PostingRule("payout.paid", (
        _d("bank", "amount"),
        _c("cash_in_transit", "amount"),
    ), "Payout arrived"),
    PostingRule("credit_note.issued", (
        _d("contra_revenue", "contra"),
        _d("deferred_revenue", "release"),
        _d("tax_payable.{jurisdiction}", "amount", **TAXES),
        _c("accounts_receivable", "to_receivable"),
        _c("customer_credit_balance", "to_balance"),
        _c("bank", "out_of_band"),
    ), "Credit note", subject="invoice"),
    # A credit granted to the customer (positive) or a debit of their balance (negative).
    PostingRule("customer_balance.adjusted", (
        _d("contra_revenue", "credit"),
        _c("customer_credit_balance", "credit"),
    ), "Customer balance adjustment", subject="customer"),
    # What the customer owed on their balance, moved onto an invoice at finalization
    # (negative: given back to the balance when the invoice is voided).
    PostingRule("customer_balance.invoiced", (
        _d("accounts_receivable", "amount"),
        _c("customer_credit_balance", "amount"),
    ), "Customer balance invoiced", subject="invoice"),
    PostingRule("revenue.recognized", (
        _d("deferred_revenue", "amount"),
        _c("revenue", "amount"),
    ), "Revenue recognized"),
)  # fmt: skip


def rules_from(pm: pluggy.PluginManager) -> dict[str, PostingRule]:
    rules: dict[str, PostingRule] = {}
    # pluggy answers newest plugin first; apply oldest first so later plugins override.
    for group in reversed(pm.hook.remit_posting_rules()):
        for rule in group:
            rules[rule.name] = rule
    return rules


def post_by_rule(
    conn: sa.Connection,
    ctx: CallContext,
    rules: Mapping[str, PostingRule],
    name: str,
    payload: Mapping[str, Any],
    *,
    event_id: str | None = None,
    cause_id: str | None = None,
) -> Posted:
    """``cause_id`` names the entry instead of the payload's cause, for a movement that may
    happen more than once about one subject (an invoice written off again)."""
    entry = _entries(rules, name, [payload])[0]
    if event_id is not None:
        entry = replace(entry, event_id=event_id)
    if cause_id is not None:
        entry = replace(entry, cause_id=cause_id)
    return service.post(conn, ctx, entry)


def post_batch_by_rule(
    conn: sa.Connection,
    ctx: CallContext,
    rules: Mapping[str, PostingRule],
    name: str,
    payloads: Sequence[Mapping[str, Any]],
) -> list[Posted]:
    """Many payloads of one rule as one batch: all posted, or none."""
    return service.post_batch(conn, ctx, _entries(rules, name, payloads)) if payloads else []


def _entries(
    rules: Mapping[str, PostingRule], name: str, payloads: Sequence[Mapping[str, Any]]
) -> list[Entry]:
    rule = rules.get(name)
    if rule is None:
        raise LedgerRejected(
            [Finding("ledger_rule_unknown", f"No posting rule named {name!r}.", "rule")]
        )
    try:
        return [apply(rule, payload) for payload in payloads]
    except RuleError as error:
        raise LedgerRejected(error.findings) from error
