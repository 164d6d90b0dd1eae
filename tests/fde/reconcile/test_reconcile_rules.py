"""Reconciliation rules from YAML: what parses into which settings, what the digest
follows and ignores, and that every problem in a file is reported at once, by path.

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

from remit.fde.reconcile import model
from remit.fde.reconcile.rules import (
    MAX_FIELDS,
    MAX_PASSES,
    MAX_RULES_BYTES,
    canonical_rules,
    parse_rules,
)
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


# --- problems -----------------------------------------------------------------------

ERRORS: list[tuple[str, Callable[[dict[str, Any]], object], str, str]] = [
    ("typo at the top", lambda d: d.update(pases=[]), "pases", "did you mean 'passes'"),
    (
        "typo in columns",
        lambda d: d["left"]["columns"].update(amout="x"),
        "left.columns.amout",
        "did you mean 'amount'",
    ),
    (
        "no amount column",
        lambda d: d["right"]["columns"].pop("amount"),
        "right.columns.amount",
        "required",
    ),
    ("version zero", lambda d: d.update(version=0), "version", "between 1"),
    ("version text", lambda d: d.update(version="4"), "version", "integer"),
    ("version bool", lambda d: d.update(version=True), "version", "integer"),
    ("no name", lambda d: d.pop("name"), "name", "required"),
    ("mode", lambda d: d.update(mode="batch"), "mode", "transaction, state"),
    ("kind", lambda d: d["passes"][2].update(match="exact"), "passes[2].match", "must be one of"),
    ("same name", lambda d: d["passes"][3].update(name="payouts"), "passes[3].name", "duplicate"),
    ("bad name", lambda d: d["passes"][0].update(name="by ref"), "passes[0].name", "letters"),
    (
        "many elsewhere",
        lambda d: d["passes"][0].update(many="left"),
        "passes[0].many",
        "only a group",
    ),
    ("group without many", lambda d: d["passes"][2].pop("many"), "passes[2].many", "required"),
    ("many both", lambda d: d["passes"][2].update(many="both"), "passes[2].many", "left, right"),
    (
        "similarity elsewhere",
        lambda d: d["passes"][0].update(min_similarity=80),
        "passes[0].min_similarity",
        "only a fuzzy",
    ),
    (
        "fuzzy without",
        lambda d: d["passes"][5].pop("min_similarity"),
        "passes[5].min_similarity",
        "required",
    ),
    (
        "similarity 101",
        lambda d: d["passes"][5].update(min_similarity=101),
        "passes[5].min_similarity",
        "1 and 100",
    ),
    (
        "tolerance no window",
        lambda d: d["passes"][4].pop("date_window"),
        "passes[4].date_window",
        "required",
    ),
    (
        "tolerance no tolerance",
        lambda d: d["passes"][4].pop("amount_tolerance"),
        "passes[4].amount_tolerance",
        "required",
    ),
    (
        "amount_date no window",
        lambda d: d["passes"][1].pop("date_window"),
        "passes[1].date_window",
        "required",
    ),
    (
        "basis points",
        lambda d: d["passes"][0]["amount_tolerance"].update(basis_points=10_001),
        "passes[0].amount_tolerance.basis_points",
        "10000",
    ),
    (
        "negative minor",
        lambda d: d["passes"][0]["amount_tolerance"].update(minor=-1),
        "passes[0].amount_tolerance.minor",
        "between 0",
    ),
    (
        "tolerance typo",
        lambda d: d["passes"][0]["amount_tolerance"].update(bps=5),
        "passes[0].amount_tolerance.bps",
        "unknown key",
    ),
    (
        "weeks",
        lambda d: d["passes"][0].update(date_window="2w"),
        "passes[0].date_window",
        "like 90s",
    ),
    (
        "negative",
        lambda d: d["passes"][0].update(date_window=-5),
        "passes[0].date_window",
        "between 0",
    ),
    (
        "a year and more",
        lambda d: d["breaks"].update(timing_window="367d"),
        "breaks.timing_window",
        "366d",
    ),
    (
        "bool window",
        lambda d: d["passes"][0].update(date_window=True),
        "passes[0].date_window",
        "like 90s",
    ),
    (
        "zone",
        lambda d: d["right"].update(timezone="Mars/Olympus"),
        "right.timezone",
        "unknown time zone",
    ),
    (
        "local zone",
        lambda d: d["right"].update(timezone="localtime"),
        "right.timezone",
        "unknown time zone",
    ),
    (
        "format",
        lambda d: d["right"].update(date_format="dd/mm/yyyy"),
        "right.date_format",
        "strptime",
    ),
    (
        "no day",
        lambda d: d["right"].update(date_format="%Y-%m"),
        "right.date_format",
        "a month and a day",
    ),
    ("no year", lambda d: d["right"].update(date_format="%d/%m"), "right.date_format", "year"),
    (
        "zone name",
        lambda d: d["right"].update(date_format="%d/%m/%Y %Z"),
        "right.date_format",
        "'%Z'",
    ),
    (
        "12-hour",
        lambda d: d["right"].update(date_format="%d/%m/%Y %I:%M"),
        "right.date_format",
        "%p",
    ),
    (
        "amount format",
        lambda d: d["left"].update(amount_format="cents"),
        "left.amount_format",
        "minor, decimal",
    ),
    ("negate text", lambda d: d["left"].update(negate="no"), "left.negate", "true or false"),
    (
        "currency",
        lambda d: d["right"].update(default_currency="usdx"),
        "right.default_currency",
        "unknown",
    ),
    (
        "two currencies",
        lambda d: d["left"].update(default_currency="usd"),
        "left.default_currency",
        "exactly one",
    ),
    (
        "no currency",
        lambda d: d["right"].pop("default_currency"),
        "right.default_currency",
        "exactly one",
    ),
    (
        "listed twice",
        lambda d: d["left"].update(currencies=["usd", "USD"]),
        "left.currencies[1]",
        "twice",
    ),
    (
        "unknown listed",
        lambda d: d["left"].update(currencies=["usd", "zz"]),
        "left.currencies[1]",
        "unknown",
    ),
    (
        "default not allowed",
        lambda d: d["right"].update(currencies=["eur"]),
        "right.default_currency",
        "not in currencies",
    ),
    (
        "reference pass without references",
        lambda d: d["right"]["columns"].pop("reference"),
        "passes[0].match",
        "right.columns.reference",
    ),
    (
        "group without group_ref",
        lambda d: d["left"]["columns"].pop("group_ref"),
        "passes[2].many",
        "left.columns.group_ref",
    ),
    (
        "fuzzy without descriptions",
        lambda d: d["left"]["columns"].pop("description"),
        "passes[5].match",
        "left.columns.description",
    ),
    ("no passes", lambda d: d.update(passes=[]), "passes", "non-empty"),
    (
        "too many passes",
        lambda d: d.update(passes=d["passes"] * 6),
        "passes",
        f"at most {MAX_PASSES}",
    ),
    ("pass not a mapping", lambda d: d["passes"].append("fuzzy"), "passes[6]", "mapping"),
    ("side not a mapping", lambda d: d.update(left="platform"), "left", "mapping"),
    ("long name", lambda d: d.update(name="x" * 201), "name", "200"),
    ("empty column", lambda d: d["left"]["columns"].update(id=""), "left.columns.id", "non-empty"),
]


@pytest.mark.parametrize(("what", "edit", "path", "says"), ERRORS, ids=[e[0] for e in ERRORS])
def test_transaction_problems_name_their_path(
    what: str, edit: Callable[[dict[str, Any]], object], path: str, says: str
) -> None:
    error = problems_of(edited(TRANSACTION_YAML, edit))
    assert error.param == path
    assert f"{path}: " in error.message and says in error.message


def _field(i: int, **settings: object) -> Callable[[dict[str, Any]], object]:
    return lambda d: d["fields"][i].update(settings)


STATE_ERRORS: list[tuple[str, Callable[[dict[str, Any]], object], str, str]] = [
    ("object", lambda d: d.update(object="payment"), "object", "customer, subscription, invoice"),
    ("no key", lambda d: d.pop("key"), "key", "required"),
    (
        "key path",
        lambda d: d["key"].update(platform="metadata..x"),
        "key.platform",
        "platform field",
    ),
    (
        "external typo",
        lambda d: d["external"].update(synced="x"),
        "external.synced",
        "did you mean",
    ),
    (
        "format without synced_at",
        lambda d: d["external"].pop("synced_at"),
        "external.synced_format",
        "only meaningful with synced_at",
    ),
    ("values elsewhere", _field(2, values={"A": "a"}), "fields[2].values", "only a map"),
    ("map without values", lambda d: d["fields"][3].pop("values"), "fields[3].values", "required"),
    ("empty values", _field(3, values={}), "fields[3].values", "non-empty"),
    ("yes is a bool", _field(3, values={True: "active"}), "fields[3].values.True", "quote"),
    ("numbers", _field(3, values={1: "open"}), "fields[3].values.1", "quote"),
    ("padded key", _field(3, values={" OPEN": "open"}), "fields[3].values. OPEN", "spaces"),
    (
        "decimal without currency",
        lambda d: d["fields"][1].pop("currency_column"),
        "fields[1].currency_column",
        "exactly one",
    ),
    (
        "decimal with both",
        _field(1, default_currency="usd"),
        "fields[1].currency_column",
        "exactly one",
    ),
    (
        "currency elsewhere",
        _field(2, currency_column="c"),
        "fields[2].currency_column",
        "only a decimal",
    ),
    (
        "date elsewhere",
        _field(0, date_format="iso8601"),
        "fields[0].date_format",
        "only a timestamp",
    ),
    ("zone elsewhere", _field(0, timezone="UTC"), "fields[0].timezone", "only a timestamp"),
    ("transform", _field(0, transform="titlecase"), "fields[0].transform", "must be one of"),
    ("kind", _field(0, kind="money"), "fields[0].kind", "amount, currency, other"),
    ("authority", _field(0, authority="crm"), "fields[0].authority", "platform, external"),
    ("compared twice", _field(5, platform="customer"), "fields[5].platform", "compared twice"),
    ("field typo", _field(0, extrenal="x"), "fields[0].extrenal", "did you mean 'external'"),
    ("no fields", lambda d: d.update(fields=[]), "fields", "non-empty"),
    (
        "too many fields",
        lambda d: d.update(
            fields=[{"platform": f"f{i}", "external": "x"} for i in range(MAX_FIELDS + 1)]
        ),
        "fields",
        f"at most {MAX_FIELDS}",
    ),
    ("transaction key in state", lambda d: d.update(passes=[]), "passes", "unknown key"),
]


@pytest.mark.parametrize(
    ("what", "edit", "path", "says"), STATE_ERRORS, ids=[e[0] for e in STATE_ERRORS]
)
def test_state_problems_name_their_path(
    what: str, edit: Callable[[dict[str, Any]], object], path: str, says: str
) -> None:
    error = problems_of(edited(STATE_YAML, edit))
    assert error.param == path
    assert f"{path}: " in error.message and says in error.message


def test_every_problem_is_reported_at_once() -> None:
    def break_three(d: dict[str, Any]) -> None:
        d["passes"][2]["match"] = "exact"
        d["left"]["columns"]["amout"] = d["left"]["columns"].pop("amount")
        d["right"]["timezone"] = "Nowhere"

    error = problems_of(edited(TRANSACTION_YAML, break_three))
    assert "(4 problems)" in error.message
    for path in (
        "passes[2].match",
        "left.columns.amout",
        "left.columns.amount",
        "right.timezone",
    ):
        assert f"{path}: " in error.message
    assert error.param == "left.columns.amout"  # the first found


def test_a_long_list_of_problems_stays_bounded() -> None:
    fields = [{"platform": f"f{i}", "external": "x", "kind": "bad"} for i in range(100)]
    error = problems_of(edited(STATE_YAML, lambda d: d.update(fields=fields)))
    assert "(100 problems)" in error.message and "and 50 more" in error.message


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
