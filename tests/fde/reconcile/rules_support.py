"""Rules texts and helpers shared by the reconciliation rules tests: the two example
files of the rules' documentation, and a way to derive a broken variant of either."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest
import yaml

from remit.fde.reconcile.rules import parse_rules
from remit.primitives.errors import InvalidRequestError

TRANSACTION_YAML = """
name: processor-vs-bank
version: 4
mode: transaction            # default
left:
  label: platform
  columns: {id: txn_id, amount: amount, currency: currency, date: created, reference: source_id,
            group_ref: payout, description: description}
  amount_format: minor
  date_format: unix
  timezone: UTC
  negate: false
  currencies: [usd, eur]
right:
  label: bank
  columns: {id: line_id, amount: Amount, date: Booked, reference: Ref, group_ref: batch,
            description: Memo}
  amount_format: decimal
  date_format: "%d/%m/%Y"
  timezone: Europe/Paris
  negate: true
  default_currency: USD
  table: statements
passes:                        # strict to loose
  - {name: by_reference, match: reference, amount_tolerance: {minor: 30, basis_points: 350},
     date_window: 5d}
  - {name: by_amount_and_date, match: amount_date, date_window: 3d}
  - {name: payouts, match: group, many: left, amount_tolerance: {minor: 0}}
  - {name: splits, match: group, many: right}
  - {name: near_amount, match: tolerance, amount_tolerance: {basis_points: 100}, date_window: 2d}
  - {name: by_description, match: fuzzy, min_similarity: 85, amount_tolerance: {minor: 100},
     date_window: 7d}
breaks:
  timing_window: 30d
"""

STATE_YAML = """
name: crm-invoices
version: 2
mode: state
object: invoice               # customer | subscription | invoice
key: {platform: metadata.crm_id, external: id}
external: {label: crm, table: invoices, synced_at: synced_at, synced_format: iso8601, timezone: UTC}
fields:
  - {platform: customer, external: customer_stripe_id}
  - {platform: amount_due, external: amount, transform: decimal, currency_column: currency,
     kind: amount}
  - {platform: currency, external: currency, transform: lower, kind: currency}
  - {platform: status, external: state, transform: map,
     values: {OPEN: open, PAID: paid, VOID: void}}
  - {platform: created, external: created_at, transform: timestamp, date_format: iso8601,
     timezone: America/New_York}
  - {platform: email, external: email, authority: external}
"""


def problems_of(text: str) -> InvalidRequestError:
    with pytest.raises(InvalidRequestError) as caught:
        parse_rules(text)
    assert caught.value.code == "invalid_reconciliation_rules"
    return caught.value


def dump(data: dict[str, Any]) -> str:
    return yaml.safe_dump(data, sort_keys=False)


def edited(source: str, edit: Callable[[dict[str, Any]], object]) -> str:
    data = copy.deepcopy(yaml.safe_load(source))
    edit(data)
    return dump(data)
