"""Grouped decimal amounts ("1,234.50", "1.234,50") as banks print them: the rules name the
grouping mark, the loader and state mode's transforms read it, and nothing else passes."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from remit.analytics.engine import connect
from remit.fde.reconcile.load import load_records
from remit.fde.reconcile.model import DateFormat, FieldMapping, SideMapping
from remit.fde.reconcile.rules import parse_rules
from remit.fde.reconcile.sources import SourceContext, parse_source
from remit.fde.reconcile.transforms import create_currency_table, field_expr
from remit.primitives.errors import InvalidRequestError

NO_STORE = SourceContext(store=None, account_id=None, pm=None, now=1_700_000_000)
STATEMENT = SideMapping(
    label="bank", record_id="id", amount="amount", date="date", default_currency="eur",
    amount_format="decimal", thousands=",", date_format=DateFormat("%d/%m/%Y", "Europe/Paris"),
)  # fmt: skip
RULES = """\
name: grouped
version: 1
left: {columns: {amount: a, date: d}, default_currency: eur}
right: {columns: {amount: a, date: d}, default_currency: eur, amount_format: decimal,
        thousands: "%s"}
passes: [{name: by_amount, match: amount_date, date_window: 1d}]
"""


def test_a_statement_with_grouped_amounts_loads_to_minor_units(tmp_path: Path) -> None:
    path = tmp_path / "statement.csv"
    path.write_text(
        'id,amount,date\nA,"1,234.50",05/01/2024\nB,"-12,000",05/01/2024\n'
        'C,"1,23.00",05/01/2024\nD,1234.5,05/01/2024\n'
    )
    duck = connect()
    found = load_records(duck, "right", parse_source(str(path)), STATEMENT, NO_STORE)
    amounts = duck.execute("SELECT record_id, amount FROM right_records ORDER BY 1").fetchall()
    bad = duck.execute("SELECT line_no, code FROM rejects ORDER BY 1").fetchall()
    assert (found.rows, found.rejected) == (4, 1)
    assert amounts == [("A", 123450), ("B", -1200000), ("D", 123450)]
    assert bad == [(4, "invalid_amount")]  # a misplaced group is a typo, not 123.00


def test_without_a_grouping_mark_the_same_amount_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "statement.csv"
    path.write_text('id,amount,date\nA,"1,234.50",05/01/2024\n')
    duck = connect()
    plain = replace(STATEMENT, thousands=None)
    load_records(duck, "right", parse_source(str(path)), plain, NO_STORE)
    assert duck.execute("SELECT line_no, code FROM rejects").fetchall() == [(2, "invalid_amount")]


def test_rules_carry_the_mark_and_refuse_it_where_it_means_nothing() -> None:
    assert parse_rules(RULES % ".").right.thousands == "."
    assert parse_rules(RULES % ",").left.thousands is None
    with pytest.raises(InvalidRequestError) as refused:
        parse_rules(RULES % ";")
    assert refused.value.param == "right.thousands"
    minor_side = RULES.replace("left: {", 'left: {thousands: ",", ') % ","
    with pytest.raises(InvalidRequestError, match="only decimal amounts have a grouping mark"):
        parse_rules(minor_side)


def test_state_mode_fields_read_grouped_amounts() -> None:
    duck = connect()
    create_currency_table(duck)
    field = FieldMapping(
        platform="amount_due", external="amount", transform="decimal",
        default_currency="eur", thousands=".",
    )  # fmt: skip
    parsed = field_expr("v", field, None)
    duck.execute("CREATE TABLE t AS SELECT * FROM (VALUES ('1.234,50'), ('1234,5')) s(v)")
    got = duck.execute(f"SELECT {parsed.value_sql}, {parsed.error_sql} FROM t").fetchall()
    assert got == [("123450", None), ("123450", None)]
