"""The breaks of state mode, each type one SELECT over ``state_left``, ``state_right``
and ``state_diffs`` (see ``state_sql``), unioned into ``breaks`` in the shape every mode
writes. ``break_key`` is type, sorted left ids, sorted right ids and field: the same
discrepancy found by two runs has the same key, which is what run diffs compare.

Platform ids are the left ids and the external key the right ids, so a break keeps its
key while the external row moves to another line. Rendering uses DuckDB functions beyond
the portable subset, for output only: list literals, ``list_sort`` and
``array_to_string`` (the id lists), ``string_agg`` (the lines or fields a detail names)
and ``to_json`` (quoting the values a stale break lists).
"""

from __future__ import annotations

from remit.fde.reconcile.model import StateRules
from remit.fde.reconcile.transforms import quote_literal

NO_IDS = "CAST([] AS VARCHAR[])"


def _ids(sql: str) -> str:
    return f"CASE WHEN {sql} IS NULL THEN {NO_IDS} ELSE [{sql}] END"


def breaks(rules: StateRules) -> str:
    """``breaks`` in the shape every mode writes, ordered by ``break_key``."""
    found = " UNION ALL ".join(
        (
            _duplicates_right(rules),
            _duplicates_left(rules),
            _missing_in_external(rules),
            _missing_in_platform(rules),
            _stale(rules),
            _divergences(rules),
        )
    )
    return f"""
        CREATE OR REPLACE TABLE breaks AS
        SELECT type || '|' || array_to_string(list_sort(left_ids), ',') || '|'
               || array_to_string(list_sort(right_ids), ',') || '|' || COALESCE(field, '')
               AS break_key,
               type, currency, left_ids, right_ids, left_amount, right_amount, left_line,
               right_line, object_id, field, platform_value, external_value, detail
        FROM ({found}) AS found
        ORDER BY break_key
    """


def _select(
    type: str,
    detail: str,
    *,
    currency: str = "NULL",
    left_ids: str = NO_IDS,
    right_ids: str = NO_IDS,
    left_amount: str = "NULL",
    right_amount: str = "NULL",
    left_line: str = "NULL",
    right_line: str = "NULL",
    object_id: str = "NULL",
    field: str = "NULL",
    platform_value: str = "NULL",
    external_value: str = "NULL",
) -> str:
    """One SELECT list in the columns' order, each value named, so the union lines up."""
    values = {
        "type": type, "currency": currency, "left_ids": left_ids, "right_ids": right_ids,
        "left_amount": left_amount, "right_amount": right_amount, "left_line": left_line,
        "right_line": right_line, "object_id": object_id, "field": field,
        "platform_value": platform_value, "external_value": external_value, "detail": detail,
    }  # fmt: skip
    return ", ".join(f"CAST({value} AS {_TYPES[name]}) AS {name}" for name, value in values.items())


_TYPES = {
    "type": "VARCHAR", "currency": "VARCHAR", "left_ids": "VARCHAR[]", "right_ids": "VARCHAR[]",
    "left_amount": "BIGINT", "right_amount": "BIGINT", "left_line": "BIGINT",
    "right_line": "BIGINT", "object_id": "VARCHAR", "field": "VARCHAR",
    "platform_value": "VARCHAR", "external_value": "VARCHAR", "detail": "VARCHAR",
}  # fmt: skip


def _duplicates_right(rules: StateRules) -> str:
    label, column = quote_literal(rules.external_label), quote_literal(rules.external_key)
    detail = (
        f"'External key ' || d.key || ' is on ' || d.copies || ' ' || {label} || ' rows"
        " (lines ' || d.lines || '): line ' || d.first_line || ' is compared, the others"
        " are duplicates.'"
    )
    values = _select(
        "'duplicate'", detail, currency="l.currency", left_ids=_ids("l.object_id"),
        right_ids="[d.key]", left_amount="l.amount", left_line="l.line_no",
        right_line="d.second_line", object_id="l.object_id", field=column,
    )  # fmt: skip
    return f"""
        SELECT {values}
        FROM (
            SELECT key, COUNT(*) AS copies, MIN(line_no) AS first_line,
                   MIN(CASE WHEN copy_no = 2 THEN line_no END) AS second_line,
                   string_agg(CAST(line_no AS VARCHAR), ', ' ORDER BY line_no) AS lines
            FROM state_right WHERE key IS NOT NULL GROUP BY key HAVING COUNT(*) > 1
        ) AS d
        LEFT JOIN state_left AS l ON l.key = d.key AND l.copy_no = 1
    """


def _duplicates_left(rules: StateRules) -> str:
    """Several platform objects carrying one key (a metadata key copied by hand): the
    first by id is compared, the break lists them all."""
    column, noun = quote_literal(rules.platform_key), quote_literal(rules.object)
    detail = (
        f"'Platform key ' || d.key || ' (' || {column} || ') is on ' || d.copies || ' '"
        f" || {noun} || 's (' || array_to_string(d.ids, ', ') || '): ' || d.first_id"
        " || ' is compared.'"
    )
    values = _select(
        "'duplicate'", detail, currency="d.currency", left_ids="d.ids",
        left_line="d.first_line", object_id="d.first_id", field=column,
    )  # fmt: skip
    return f"""
        SELECT {values}
        FROM (
            SELECT key, COUNT(*) AS copies, LIST(object_id ORDER BY object_id) AS ids,
                   MIN(object_id) AS first_id, MIN(currency) AS currency,
                   MIN(CASE WHEN copy_no = 1 THEN line_no END) AS first_line
            FROM state_left WHERE key IS NOT NULL GROUP BY key HAVING COUNT(*) > 1
        ) AS d
    """


def _missing_in_external(rules: StateRules) -> str:
    noun, label = quote_literal(rules.object), quote_literal(rules.external_label)
    key_column = quote_literal(rules.external_key)
    detail = (
        f"{noun} || ' ' || l.object_id || ' has no ' || {label} || ' row' || CASE WHEN"
        f" l.key IS NULL THEN ' (its ' || {quote_literal(rules.platform_key)} || ' is empty)'"
        f" ELSE ' with ' || {key_column} || ' = ' || l.key END || '.'"
    )
    values = _select(
        "'missing_in_external'", detail, currency="l.currency", left_ids="[l.object_id]",
        left_amount="l.amount", left_line="l.line_no", object_id="l.object_id",
    )  # fmt: skip
    return f"""
        SELECT {values}
        FROM state_left AS l LEFT JOIN state_right AS r ON r.key = l.key AND r.copy_no = 1
        WHERE r.key IS NULL AND (l.key IS NULL OR l.copy_no = 1)
    """


def _missing_in_platform(rules: StateRules) -> str:
    noun, label = quote_literal(rules.object), quote_literal(rules.external_label)
    detail = (
        f"{label} || ' row on line ' || r.line_no || ' (' || {quote_literal(rules.external_key)}"
        f" || ' = ' || r.key || ') has no platform ' || {noun} || '.'"
    )
    values = _select(
        "'missing_in_platform'", detail, currency="r.currency", right_ids="[r.key]",
        right_amount="r.amount", right_line="r.line_no",
    )  # fmt: skip
    return f"""
        SELECT {values}
        FROM state_right AS r LEFT JOIN state_left AS l ON l.key = r.key AND l.copy_no = 1
        WHERE r.key IS NOT NULL AND r.copy_no = 1 AND l.key IS NULL
    """


def _stale(rules: StateRules) -> str:
    """One break per object whose copy synced before the platform's last change: its
    diverging fields are the sync's lag, not separate disagreements."""
    noun, label = quote_literal(rules.object), quote_literal(rules.external_label)

    def as_json(value: str) -> str:
        pairs = f"to_json(field) || ':' || COALESCE(to_json({value}), 'null')"
        return f"'{{' || string_agg({pairs}, ',' ORDER BY field_no) || '}}'"

    detail = (
        f"{noun} || ' ' || object_id || ' changed on the platform at ' || MAX(updated_ts)"
        f" || ', after ' || {label} || ' last synced it at ' || MAX(synced_ts) || ' (line '"
        " || right_line || '): ' || string_agg(field, ', ' ORDER BY field_no) || ' differ'"
        " || CASE WHEN COUNT(*) = 1 THEN 's' ELSE '' END || '.'"
    )
    values = _select(
        "'stale'", detail, currency="currency", left_ids="[object_id]", right_ids="[key]",
        left_line="left_line", right_line="right_line", object_id="object_id",
        field="string_agg(field, ',' ORDER BY field_no)",
        platform_value=as_json("platform_value"), external_value=as_json("external_value"),
    )  # fmt: skip
    return f"""
        SELECT {values}
        FROM state_diffs WHERE stale
        GROUP BY object_id, key, left_line, right_line, currency
    """


def _divergences(rules: StateRules) -> str:
    label = quote_literal(rules.external_label)
    kind = (
        "CASE kind WHEN 'amount' THEN 'amount_mismatch' WHEN 'currency' THEN"
        " 'currency_mismatch' ELSE 'field_divergence' END"
    )
    amount = "CASE WHEN kind = 'amount' THEN TRY_CAST({v} AS BIGINT) END"
    detail = (
        f"{quote_literal(rules.object)} || ' ' || object_id || ' ' || field || ': platform '"
        f" || COALESCE(platform_value, 'empty') || ', ' || {label} || ' '"
        " || COALESCE(external_value, 'empty') || ' (line ' || right_line || ').'"
    )
    values = _select(
        kind, detail, currency="currency", left_ids="[object_id]", right_ids="[key]",
        left_amount=amount.format(v="platform_value"),
        right_amount=amount.format(v="external_value"), left_line="left_line",
        right_line="right_line", object_id="object_id", field="field",
        platform_value="platform_value", external_value="external_value",
    )  # fmt: skip
    return f"SELECT {values} FROM state_diffs WHERE NOT stale"
