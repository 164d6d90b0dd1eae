"""Reconciliation rules from YAML: what parses into which settings, what the digest
follows and ignores, and which texts are not rules at all (problems within a rules
file: test_reconcile_rules_problems.py).

(Named test_reconcile_rules.py: tests/ledger/test_rules.py already owns the basename
and the suite has no __init__.py files.)"""

from __future__ import annotations

import copy
import hashlib
import json
from collections.abc import Callable
from typing import Any

import pytest
import yaml
from rules_support import STATE_YAML, TRANSACTION_YAML, dump, edited, problems_of

from remit.fde.reconcile import model
from remit.fde.reconcile.rules import MAX_RULES_BYTES, canonical_rules, parse_rules

# --- what parses --------------------------------------------------------------------


def test_transaction_rules_map_every_yaml_key_to_the_model() -> None:
    rules = parse_rules(TRANSACTION_YAML)
    assert isinstance(rules, model.TransactionRules)
    assert (rules.name, rules.version, rules.mode) == ("processor-vs-bank", 4, "transaction")
    assert rules.left == model.SideMapping(
        label="platform",
        amount="amount",
        date="created",
        record_id="txn_id",
        currency="currency",
        reference="source_id",
        group_ref="payout",
        description="description",
        currencies=("eur", "usd"),
    )
    right = rules.right
    assert (right.label, right.amount, right.record_id, right.table) == (
        "bank",
        "Amount",
        "line_id",
        "statements",
    )
    assert (right.default_currency, right.currency, right.amount_format, right.negate) == (
        "usd",
        None,
        "decimal",
        True,
    )
    assert right.date_format == model.DateFormat("%d/%m/%Y", "Europe/Paris")
    assert rules.passes == (
        model.Pass("by_reference", "reference", model.AmountTolerance(30, 350), 5 * 86_400),
        model.Pass("by_amount_and_date", "amount_date", date_window_s=3 * 86_400),
        model.Pass("payouts", "group", many="left"),
        model.Pass("splits", "group", many="right"),
        model.Pass("near_amount", "tolerance", model.AmountTolerance(0, 100), 2 * 86_400),
        model.Pass("by_description", "fuzzy", model.AmountTolerance(100, 0), 7 * 86_400, None, 85),
    )
    assert rules.timing_window_s == 30 * 86_400


def test_state_rules_map_every_yaml_key_to_the_model() -> None:
    rules = parse_rules(STATE_YAML)
    assert isinstance(rules, model.StateRules)
    assert (rules.object, rules.platform_key, rules.external_key) == (
        "invoice",
        "metadata.crm_id",
        "id",
    )
    assert (rules.external_label, rules.table, rules.synced_at) == ("crm", "invoices", "synced_at")
    assert rules.synced_format == model.DateFormat("iso8601", "UTC")
    assert [f.platform for f in rules.fields] == [
        "customer",
        "amount_due",
        "currency",
        "status",
        "created",
        "email",
    ]
    assert rules.fields[0] == model.FieldMapping("customer", "customer_stripe_id")
    assert rules.fields[1] == model.FieldMapping(
        "amount_due", "amount", "decimal", currency_column="currency", kind="amount"
    )
    assert dict(rules.fields[3].values) == {"OPEN": "open", "PAID": "paid", "VOID": "void"}
    assert rules.fields[4].date_format == model.DateFormat("iso8601", "America/New_York")
    assert rules.fields[5].authority == "external"


def test_minimal_rules_take_the_documented_defaults() -> None:
    rules = parse_rules(
        "name: n\nversion: 1\n"
        "left: {columns: {amount: a, date: d, currency: c}}\n"
        "right: {columns: {amount: a, date: d}, default_currency: eur}\n"
        "passes: [{name: p, match: amount_date, date_window: 90}]\n"
    )
    assert isinstance(rules, model.TransactionRules)
    assert (rules.left.label, rules.right.label) == ("left", "right")
    assert rules.left.amount_format == "minor" and rules.left.date_format == model.DateFormat()
    assert rules.passes[0].date_window_s == 90
    assert rules.timing_window_s == 30 * 86_400
    state = parse_rules(
        "name: n\nversion: 1\nmode: state\nobject: customer\n"
        "key: {platform: id, external: id}\nfields: [{platform: email, external: email}]\n"
    )
    assert isinstance(state, model.StateRules)
    assert (state.external_label, state.synced_at, state.table) == ("external", None, None)


@pytest.mark.parametrize(
    ("written", "seconds"), [("90s", 90), ("15m", 900), ("36h", 129_600), ("5d", 432_000), (0, 0)]
)
def test_durations(written: object, seconds: int) -> None:
    text = edited(TRANSACTION_YAML, lambda d: d["passes"][1].update(date_window=written))
    rules = parse_rules(text)
    assert isinstance(rules, model.TransactionRules)
    assert rules.passes[1].date_window_s == seconds


# --- the digest ---------------------------------------------------------------------


def test_the_digest_is_sha256_of_the_canonical_json() -> None:
    rules = parse_rules(TRANSACTION_YAML)
    canonical = canonical_rules(rules)
    assert "digest" not in canonical
    body = json.dumps(canonical, sort_keys=True, separators=(",", ":"))
    assert rules.digest == hashlib.sha256(body.encode()).hexdigest()
    assert canonical["passes"][0]["tolerance"] == {"minor": 30, "basis_points": 350}


def _reworded(data: dict[str, Any]) -> str:
    """The same rules written differently: block style, reversed key order, comments,
    defaults spelled out, the allow-list reordered, durations in other units."""
    data = copy.deepcopy(data)
    data["left"]["currencies"] = ["EUR", "usd"]
    data["left"]["amount_format"] = "minor"
    data["passes"][0]["date_window"] = "120h"
    data["passes"][1]["date_window"] = 259_200
    data["passes"][3]["amount_tolerance"] = {"minor": 0, "basis_points": 0}
    reversed_keys = {k: data[k] for k in reversed(list(data))}
    return "# the same rules\n" + yaml.safe_dump(reversed_keys, default_flow_style=False)


def test_formatting_comments_key_order_and_spelled_out_defaults_keep_the_digest() -> None:
    data = yaml.safe_load(TRANSACTION_YAML)
    assert parse_rules(_reworded(data)).digest == parse_rules(TRANSACTION_YAML).digest
    state = yaml.safe_load(STATE_YAML)
    state["fields"][3]["values"] = dict(reversed(list(state["fields"][3]["values"].items())))
    state["fields"][0]["transform"] = "none"
    assert parse_rules(dump(state)).digest == parse_rules(STATE_YAML).digest


SEMANTIC_EDITS: list[tuple[str, Callable[[dict[str, Any]], object]]] = [
    ("version", lambda d: d.update(version=5)),
    ("name", lambda d: d.update(name="other")),
    ("label", lambda d: d["left"].update(label="books")),
    ("column", lambda d: d["right"]["columns"].update(amount="amount")),
    ("timezone", lambda d: d["right"].update(timezone="Europe/Berlin")),
    ("negate", lambda d: d["right"].update(negate=False)),
    ("allow-list", lambda d: d["left"].update(currencies=["usd"])),
    ("pass order", lambda d: d["passes"].reverse()),
    ("tolerance", lambda d: d["passes"][0]["amount_tolerance"].update(minor=31)),
    ("window", lambda d: d["passes"][1].update(date_window="4d")),
    ("similarity", lambda d: d["passes"][5].update(min_similarity=86)),
    ("timing", lambda d: d["breaks"].update(timing_window="31d")),
]


@pytest.mark.parametrize(("what", "edit"), SEMANTIC_EDITS, ids=[w for w, _ in SEMANTIC_EDITS])
def test_any_change_of_meaning_changes_the_digest(
    what: str, edit: Callable[[dict[str, Any]], object]
) -> None:
    assert (
        parse_rules(edited(TRANSACTION_YAML, edit)).digest != parse_rules(TRANSACTION_YAML).digest
    )


def test_a_state_mapping_change_changes_the_digest() -> None:
    changed = edited(STATE_YAML, lambda d: d["fields"][3]["values"].update(VOID="uncollectible"))
    assert parse_rules(changed).digest != parse_rules(STATE_YAML).digest


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("- name: a\n- name: b\n", "YAML mapping"),
        ("just text", "YAML mapping"),
        ("", "YAML mapping"),
        ("name: [unclosed\n", "not valid YAML (line"),
        ("name: a\nversion: 1\nname: b\n", "key 'name' twice"),
        (
            "name: a\nleft: {columns: {amount: a, amount: b}}\n",
            "key 'amount' twice in one mapping (line 2",
        ),
    ],
)
def test_text_that_is_not_a_rules_mapping_is_refused(text: str, says: str) -> None:
    assert says in problems_of(text).message


def test_rules_larger_than_the_bound_are_refused_before_parsing() -> None:
    text = TRANSACTION_YAML + "#" * MAX_RULES_BYTES
    assert "at most" in problems_of(text).message


def test_anchors_and_merge_keys_are_plain_yaml() -> None:
    """A merged key overridden in place is not a duplicate; the result is what YAML says."""
    text = STATE_YAML.replace(
        "  - {platform: email, external: email, authority: external}",
        "  - &email {platform: email, external: email, authority: external}\n"
        "  - {<<: *email, platform: name}",
    )
    rules = parse_rules(text)
    assert isinstance(rules, model.StateRules)
    assert rules.fields[-1] == model.FieldMapping("name", "email", authority="external")
