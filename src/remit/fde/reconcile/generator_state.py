"""State-mode test sets with their ground truth: the platform's invoices and a customer's
own copy of them (a CRM), drifted in known ways, plus the state rules that fit.

The platform file has the columns the platform source gives invoices (``id``,
``customer``, ``amount_due``, ``currency``, ``status``, ``created``, ``updated_at``) so it
loads as ``left_raw`` the way ``platform:invoices`` would. The CRM file has its own ids
(``crm_id``), the platform id as ``stripe_id``, decimal-string amounts, upper-case
currencies and statuses, ``created_at`` in New York time with its offset and
``synced_at`` in UTC (``Z``). A clean row syncs after the platform's last change and
agrees on every field once transformed; each drift case breaks exactly one thing.

Generated set-based like ``generator``: range() and seeded hashes, COPY to a file.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from pathlib import Path

import duckdb

from remit.fde.reconcile.generator_sql import (
    DAY_S,
    YEAR_START_TS,
    connect,
    copy_to,
    validate_shape,
)
from remit.fde.reconcile.generator_truth import Quality, score

__all__ = ["GeneratedState", "StateMix", "generate_state", "score_state"]


@dataclass(frozen=True, slots=True)
class StateMix:
    """The share of invoices (basis points) each drift takes; the rest are clean.
    ``missing_in_platform`` counts CRM rows added on top (orphans)."""

    missing_in_external: int = 100  # a missed webhook: the CRM never got the invoice
    stale: int = 100  # paid on the platform after the CRM last synced: still OPEN there
    amount_mismatch: int = 50  # the CRM's amount is 10-50% off
    currency_mismatch: int = 30  # the CRM's currency is another one
    field_divergence: int = 50  # the CRM points at another customer
    duplicate: int = 30  # the CRM holds the invoice twice
    missing_in_platform: int = 50  # CRM rows for invoices the platform does not have

    def counts(self, n: int) -> dict[str, int]:
        made = {f.name: n * getattr(self, f.name) // 10_000 for f in fields(self)}
        made["clean"] = n - sum(v for k, v in made.items() if k != "missing_in_platform")
        return made


_CASES = (
    "missing_in_external",
    "stale",
    "amount_mismatch",
    "currency_mismatch",
    "field_divergence",
    "duplicate",
)


@dataclass(frozen=True, slots=True)
class GeneratedState:
    platform_path: Path
    external_path: Path
    truth_path: Path  # always Parquet
    rules_text: str
    platform_rows: int
    external_rows: int


STATE_RULES_TEXT = """\
name: generated-crm-invoices
version: 1
mode: state
object: invoice
key: {platform: id, external: stripe_id}
external: {label: crm, synced_at: synced_at, synced_format: iso8601, timezone: UTC}
fields:
  - {platform: customer, external: customer_stripe_id}
  - {platform: amount_due, external: amount, transform: decimal, currency_column: currency,
     kind: amount}
  - {platform: currency, external: currency, transform: lower, kind: currency}
  - {platform: status, external: state, transform: map,
     values: {DRAFT: draft, OPEN: open, PAID: paid, VOID: void, UNCOLLECTIBLE: uncollectible}}
  - {platform: created, external: created_at, transform: timestamp, date_format: iso8601,
     timezone: America/New_York}
"""


def generate_state(
    out_dir: Path, n: int, *, seed: int = 11, fmt: str = "parquet", mix: StateMix = StateMix()
) -> GeneratedState:
    """Write ``invoices.<fmt>`` (platform), ``crm.<fmt>`` and ``state_truth.parquet``."""
    validate_shape(n, seed, fmt, {f.name: getattr(mix, f.name) for f in fields(mix)})
    out_dir.mkdir(parents=True, exist_ok=True)
    ext = "ndjson" if fmt == "ndjson" else fmt
    paths = (out_dir / f"invoices.{ext}", out_dir / f"crm.{ext}", out_dir / "state_truth.parquet")
    duck = connect(seed)
    try:
        _invoices(duck, n, mix)
        _crm(duck, n, mix)
        copy_to(duck, _PLATFORM_EXPORT, paths[0], fmt)
        copy_to(duck, _CRM_EXPORT, paths[1], fmt)
        copy_to(duck, _TRUTH, paths[2], "parquet")
        rows = duck.execute("SELECT (SELECT count(*) FROM inv), (SELECT count(*) FROM crm)")
        counted = rows.fetchone()
        assert counted is not None
    finally:
        duck.close()
    return GeneratedState(*paths, STATE_RULES_TEXT, int(counted[0]), int(counted[1]))


def _case_sql(n: int, mix: StateMix) -> str:
    counts, bound, arms = mix.counts(n), 0, []
    for case in _CASES:
        bound += counts[case]
        arms.append(f"WHEN i < {bound} THEN '{case}'")
    return f"CASE {' '.join(arms)} ELSE 'clean' END"


def _invoices(duck: duckdb.DuckDBPyConnection, n: int, mix: StateMix) -> None:
    """Table ``inv``: the platform's invoices. A stale one was paid after the sync."""
    customers = max(2, n // 3)
    status = (
        "CASE WHEN case_name = 'stale' THEN 'paid' ELSE CASE WHEN hx(i, 51) % 100 < 60 "
        "THEN 'paid' WHEN hx(i, 51) % 100 < 85 THEN 'open' WHEN hx(i, 51) % 100 < 90 "
        "THEN 'void' WHEN hx(i, 51) % 100 < 95 THEN 'uncollectible' ELSE 'draft' END END"
    )
    duck.execute(f"""
        CREATE TABLE inv AS
        SELECT i, case_name, 'in_' || rid(i) AS id, hx(i, 52) % {customers} AS customer_no,
               'cus_' || rid({2 * n} + hx(i, 52) % {customers}) AS customer,
               amount_of(i, 53, 3, 7) AS amount_due, currency_of(i, 54) AS currency,
               {status} AS status, created, created + hx(i, 56) % {30 * DAY_S} AS updated_at
        FROM (SELECT range AS i, {_case_sql(n, mix)} AS case_name,
                     {YEAR_START_TS} + hx(range, 55) % {300 * DAY_S} AS created
              FROM range({n}))
    """)


def _crm(duck: duckdb.DuckDBPyConnection, n: int, mix: StateMix) -> None:
    """Table ``crm``: the customer's rows, in the platform's units (rendered on export)."""
    customers = max(2, n // 3)
    orphans = mix.counts(n)["missing_in_platform"]
    wrong = "amount_due + GREATEST(amount_due * (1000 + hx(i, 61) % 4000) // 10000, 100)"
    rotate = "CASE currency WHEN 'usd' THEN 'eur' WHEN 'eur' THEN 'gbp' ELSE 'usd' END"
    other = f"'cus_' || rid({2 * n} + (customer_no + 1) % {customers})"
    # Clean rows sync a minute to a day after the platform's last change; a stale row
    # synced before its invoice was paid.
    synced = (
        "CASE WHEN case_name = 'stale' THEN updated_at - 60 - hx(i, 62) % 3600 "
        f"ELSE updated_at + 60 + hx(i, 62) % {DAY_S} END"
    )
    duck.execute(f"""
        CREATE TABLE crm AS
        SELECT i * 2 + copy AS ord, case_name, id AS stripe_id,
               CASE case_name WHEN 'field_divergence' THEN {other} ELSE customer END
                   AS customer_stripe_id,
               CASE case_name WHEN 'amount_mismatch' THEN {wrong} ELSE amount_due END
                   AS amount,
               CASE case_name WHEN 'currency_mismatch' THEN {rotate} ELSE currency END
                   AS currency,
               CASE case_name WHEN 'stale' THEN 'open' ELSE status END AS status,
               created, {synced} AS synced_ts
        FROM inv, range(2) c(copy)
        WHERE case_name <> 'missing_in_external' AND (copy = 0 OR case_name = 'duplicate')
        UNION ALL
        SELECT {2 * n} + i, 'missing_in_platform', 'in_' || rid({n} + i),
               'cus_' || rid({2 * n} + hx(i, 63) % {customers}), amount_of(i, 64, 3, 7),
               currency_of(i, 65), 'open', created, created + hx(i, 66) % {DAY_S}
        FROM (SELECT range AS i, {YEAR_START_TS} + hx(range, 67) % {300 * DAY_S} AS created
              FROM range({orphans}))
    """)


_PLATFORM_EXPORT = """
    SELECT id, customer, amount_due, currency, status, created, updated_at
    FROM inv ORDER BY id
"""

# created_at: New York wall time with its offset, so it is unambiguous across DST.
_CRM_EXPORT = """
    SELECT 'INV-' || upper(to_hex(scramble(ord) + 1099511627776)) AS crm_id, stripe_id,
           customer_stripe_id,
           CASE WHEN currency = 'jpy' THEN CAST(amount AS VARCHAR)
                ELSE CAST(amount // 100 AS VARCHAR) || '.'
                     || lpad(CAST(amount % 100 AS VARCHAR), 2, '0') END AS amount,
           upper(currency) AS currency, upper(status) AS state,
           strftime(local, '%Y-%m-%dT%H:%M:%S')
               || CASE WHEN offset_s < 0 THEN '-' ELSE '+' END
               || lpad(CAST(abs(offset_s) // 3600 AS VARCHAR), 2, '0') || ':'
               || lpad(CAST(abs(offset_s) % 3600 // 60 AS VARCHAR), 2, '0') AS created_at,
           strftime(to_timestamp(synced_ts), '%Y-%m-%dT%H:%M:%SZ') AS synced_at
    FROM (SELECT *, date_diff('second', TIMESTAMP '1970-01-01', local) - created AS offset_s
          FROM (SELECT *, timezone('America/New_York', to_timestamp(created)) AS local
                FROM crm))
    ORDER BY synced_ts, ord
"""

_TRUTH = """
    SELECT * FROM (
        SELECT 'pair' AS kind, case_name, NULL AS break_type, NULL AS side, id AS left_id,
               id AS right_id, CAST(NULL AS VARCHAR) AS twin_id, CAST(NULL AS VARCHAR) AS field
        FROM inv WHERE case_name <> 'missing_in_external'
        UNION ALL
        SELECT 'break', case_name, case_name, 'left', id, NULL, NULL,
               CASE case_name WHEN 'amount_mismatch' THEN 'amount_due'
                    WHEN 'currency_mismatch' THEN 'currency' WHEN 'field_divergence'
                    THEN 'customer' WHEN 'stale' THEN 'status' END
        FROM inv WHERE case_name NOT IN ('clean')
        UNION ALL
        SELECT 'break', case_name, case_name, 'right', NULL, stripe_id, NULL, NULL
        FROM crm WHERE case_name = 'missing_in_platform')
    ORDER BY kind, case_name, break_type, side, left_id, right_id
"""


def score_state(duck: duckdb.DuckDBPyConnection, truth_path: Path) -> Quality:
    """Score a state run's ``matches`` and ``breaks``: an expected break is found when a
    break of its type names its invoice (as the platform id or the external key) and,
    for a field's break, that field."""
    return score(duck, truth_path)
