"""The SQL of state mode: each builder returns one DuckDB statement as text.

Tables, in the order ``state.run_state`` creates them:

* ``state_left``: one row per platform object: ``object_id``, its ``key``, ``updated_ts``,
  the compared fields ``p0..pN`` as the platform renders them, and ``copy_no`` (1 for the
  object a key is compared with: the lowest id when several objects share a key).
* ``state_right``: one row per external row: ``key``, ``synced_ts``, for each field the raw
  text ``r<i>``, the value in the platform's vocabulary ``v<i>`` and its error ``e<i>``, and
  ``copy_no`` (1 for the first line carrying a key).
* ``state_pairs``: the keys found on both sides (their first copies), numbered.
* ``state_diffs``: one row per (pair, diverging field). A field whose external value
  could not be read is not compared (its reject says why), so a parse failure is never
  reported as a divergence too.

``state_breaks`` turns these into ``breaks``. Comparison and pairing stay in the
portable subset; parsing the external values is the edge and uses the transforms'
DuckDB functions, and reject messages quote values with ``to_json``.
"""

from __future__ import annotations

from remit.fde.reconcile.model import StateRules
from remit.fde.reconcile.transforms import (
    Parsed,
    field_expr,
    quote_ident,
    quote_literal,
    timestamp_expr,
)

# What a reject's message says about each error code the transforms produce.
REJECT_REASONS = {
    "invalid_amount": "is not an amount the currency allows",
    "invalid_date": "is not a date in the declared format",
    "invalid_currency": "is not a currency remit supports",
    "currency_not_allowed": "is a currency the rules do not allow",
    "unmapped_value": "is not one of the values the rules map",
}


def _first_index(rules: StateRules, kind: str) -> int | None:
    """The first compared field of a kind: its values stand for the object's currency or
    amount on breaks that have no field of their own (a missing object)."""
    return next((i for i, f in enumerate(rules.fields) if f.kind == kind), None)


def left_table(rules: StateRules, has_updated_at: bool) -> str:
    """``state_left`` from ``left_raw``: the platform's objects with their keys."""
    key = f"NULLIF(TRIM(CAST({quote_ident(rules.platform_key)} AS VARCHAR)), '')"
    updated = 'TRY_CAST("updated_at" AS BIGINT)' if has_updated_at else "CAST(NULL AS BIGINT)"
    fields = "".join(
        f", CAST({quote_ident(f.platform)} AS VARCHAR) AS p{i}" for i, f in enumerate(rules.fields)
    )
    currency_no, amount_no = _first_index(rules, "currency"), _first_index(rules, "amount")
    currency = "NULL" if currency_no is None else f"lower(p{currency_no})"
    amount = "NULL" if amount_no is None else f"TRY_CAST(p{amount_no} AS BIGINT)"
    return f"""
        CREATE OR REPLACE TABLE state_left AS
        WITH keyed AS (
            SELECT line_no, CAST("id" AS VARCHAR) AS object_id, {key} AS key,
                   {updated} AS updated_ts{fields}
            FROM left_raw
        )
        SELECT *, CAST({currency} AS VARCHAR) AS currency, CAST({amount} AS BIGINT) AS amount,
               ROW_NUMBER() OVER (PARTITION BY key ORDER BY object_id, line_no) AS copy_no
        FROM keyed ORDER BY line_no, object_id
    """


def _external(column: str) -> str:
    """An external column, qualified: parsing expressions contain subqueries (a currency's
    exponent) whose own columns would otherwise shadow a source column of the same name."""
    return f"src.{quote_ident(column)}"


def external_values(rules: StateRules) -> list[Parsed]:
    """Each compared field's external column in the platform's vocabulary."""
    parsed = []
    for mapping in rules.fields:
        currency = None if mapping.currency_column is None else _external(mapping.currency_column)
        parsed.append(field_expr(_external(mapping.external), mapping, currency))
    return parsed


def right_table(rules: StateRules) -> str:
    """``state_right`` from ``right_raw``: the external rows, parsed."""
    key = f"NULLIF(TRIM(CAST({_external(rules.external_key)} AS VARCHAR)), '')"
    if rules.synced_at is None:
        synced = (
            "CAST(NULL AS VARCHAR) AS synced_raw, CAST(NULL AS BIGINT) AS synced_ts,"
            " CAST(NULL AS VARCHAR) AS synced_error"
        )
    else:
        parsed = timestamp_expr(_external(rules.synced_at), rules.synced_format)
        synced = (
            f"CAST({_external(rules.synced_at)} AS VARCHAR) AS synced_raw,"
            f" {parsed.value_sql} AS synced_ts, {parsed.error_sql} AS synced_error"
        )
    fields = "".join(
        f", CAST({_external(f.external)} AS VARCHAR) AS r{i},"
        f" {p.value_sql} AS v{i}, {p.error_sql} AS e{i}"
        for i, (f, p) in enumerate(zip(rules.fields, external_values(rules), strict=True))
    )
    currency_no, amount_no = _first_index(rules, "currency"), _first_index(rules, "amount")
    # A currency field maps with its own transform; lower-casing again keeps the
    # currency column of breaks in the platform's form whatever that transform was.
    currency = "NULL" if currency_no is None else f"lower(v{currency_no})"
    amount = "NULL" if amount_no is None else f"TRY_CAST(v{amount_no} AS BIGINT)"
    return f"""
        CREATE OR REPLACE TABLE state_right AS
        WITH parsed AS (
            SELECT src.line_no, CAST({_external(rules.external_key)} AS VARCHAR) AS raw_key,
                   {key} AS key, {synced}{fields}
            FROM right_raw AS src
        )
        SELECT *, CAST({currency} AS VARCHAR) AS currency, CAST({amount} AS BIGINT) AS amount,
               ROW_NUMBER() OVER (PARTITION BY key ORDER BY line_no) AS copy_no
        FROM parsed ORDER BY line_no
    """


def insert_rejects(rules: StateRules) -> str:
    """Every external value that could not be read, one row per (line, column): a row
    without a key, an unreadable ``synced_at``, a field whose transform failed."""
    parts = [
        f"SELECT line_no, {quote_literal(rules.external_key)} AS field, raw_key AS value,"
        " 'missing_value' AS code, 0 AS ord FROM state_right WHERE key IS NULL"
    ]
    if rules.synced_at is not None:
        parts.append(
            f"SELECT line_no, {quote_literal(rules.synced_at)}, synced_raw, synced_error, 1 "
            "FROM state_right WHERE synced_error IS NOT NULL"
        )
    parts += [
        f"SELECT line_no, {quote_literal(f.external)}, r{i}, e{i}, {i + 2} "
        f"FROM state_right WHERE e{i} IS NOT NULL"
        for i, f in enumerate(rules.fields)
    ]
    reasons = " ".join(
        f"WHEN {quote_literal(code)} THEN {quote_literal(text)}"
        for code, text in REJECT_REASONS.items()
    )
    return f"""
        INSERT INTO rejects (side, line_no, field, value, code, message)
        SELECT 'right', line_no, field, value, code,
               'Line ' || line_no || ', column ' || field || ': '
               || CASE WHEN code = 'missing_value' THEN 'no value, and the rules need one'
                  ELSE CAST(to_json(value) AS VARCHAR) || ' '
                       || CASE code {reasons} ELSE 'could not be read (' || code || ')' END
                  END || '.'
        FROM (
            SELECT *, ROW_NUMBER() OVER (PARTITION BY line_no, field ORDER BY ord) AS copy_no
            FROM ({" UNION ALL ".join(parts)}) AS found
        ) AS ranked
        WHERE copy_no = 1
        ORDER BY line_no, field
    """


PAIRS = """
    CREATE OR REPLACE TABLE state_pairs AS
    SELECT ROW_NUMBER() OVER (ORDER BY l.key) AS match_no, l.key, l.object_id,
           l.line_no AS left_line, r.line_no AS right_line, l.currency,
           l.amount AS left_amount, r.amount AS right_amount
    FROM state_left AS l JOIN state_right AS r ON r.key = l.key
    WHERE l.copy_no = 1 AND r.copy_no = 1
    ORDER BY match_no
"""

MATCHES = """
    CREATE OR REPLACE TABLE matches AS
    SELECT match_no, pass_name, side, record_id, amount, currency, alternatives
    FROM (
        SELECT match_no, 'key' AS pass_name, 'left' AS side, object_id AS record_id,
               left_amount AS amount, currency, CAST(0 AS BIGINT) AS alternatives
        FROM state_pairs
        UNION ALL
        SELECT match_no, 'key', 'right', key, right_amount, currency, CAST(0 AS BIGINT)
        FROM state_pairs
    ) AS sides
    ORDER BY match_no, side
"""


def diffs(rules: StateRules) -> str:
    """``state_diffs``: for each pair, every field whose values differ once both are in the
    platform's vocabulary (NULL and '' alike), with whether the copy is stale."""
    selects = [
        f"SELECT l.object_id, l.key, l.line_no AS left_line, r.line_no AS right_line,"
        f" l.currency, l.updated_ts, r.synced_ts, {i} AS field_no,"
        f" {quote_literal(f.platform)} AS field, {quote_literal(f.kind)} AS kind,"
        f" l.p{i} AS platform_value, r.v{i} AS external_value"
        " FROM state_left AS l JOIN state_right AS r ON r.key = l.key"
        f" WHERE l.copy_no = 1 AND r.copy_no = 1 AND r.e{i} IS NULL"
        f" AND COALESCE(l.p{i}, '') <> COALESCE(r.v{i}, '')"
        for i, f in enumerate(rules.fields)
    ]
    return f"""
        CREATE OR REPLACE TABLE state_diffs AS
        SELECT *, COALESCE(updated_ts > synced_ts, FALSE) AS stale
        FROM ({" UNION ALL ".join(selects)}) AS found
        ORDER BY key, field_no
    """
