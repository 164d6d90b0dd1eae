"""Every way a rules file can be wrong is reported with its YAML path, all at once."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from rules_support import STATE_YAML, TRANSACTION_YAML, edited, problems_of

from remit.fde.reconcile.rules import MAX_FIELDS, MAX_PASSES

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
