"""What the passes leave behind, and ``matches``: the long form (one row per member
record) every reader sees, as a view over the passes' own tables.

A 1:1 pass keeps its accepted pairs in a wide table ``rx_m<n>`` (a left and a right
record per row); a group pass keeps its members in ``rx_g<n>``. ``matches`` unions them
in the long form. Writing ten million pairs as twenty million long rows of four text
columns would cost a quarter of a 10M run; the view gives readers the same rows (with
``ORDER BY match_no, side, record_id``) without that copy. The view and its backing
tables are ordinary (not TEMP) objects, visible to every cursor of the database like
``breaks``, and stay until the next run on the same database replaces them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import duckdb

from remit.fde.reconcile.matching.expr import lit

# The long form's columns and types (common.md): what ``matches`` yields.
MATCH_COLUMNS = (
    ("match_no", "BIGINT"),
    ("pass_name", "VARCHAR"),
    ("side", "VARCHAR"),
    ("record_id", "VARCHAR"),
    ("amount", "BIGINT"),
    ("currency", "VARCHAR"),
    ("alternatives", "BIGINT"),
)


@dataclass(frozen=True, slots=True)
class PassOutcome:
    """One pass's result: the open relations it leaves, what it accepted (matches, and
    how many were chosen among ties), and its matches in the long form as SQL."""

    left: str
    right: str
    matches: int
    ties: int
    members: str | None  # None when the pass matched nothing


def pair_members_sql(table: str, pass_name: str) -> str:
    """Both records of every pair in wide table ``table``: the match's number is its
    left record's line."""
    name = lit(pass_name)
    return f"""SELECT l_key AS match_no, {name} AS pass_name, 'left' AS side,
               l_id AS record_id, l_amount AS amount, currency, alternatives FROM {table}
        UNION ALL
        SELECT l_key, {name}, 'right', r_id, r_amount, currency, alternatives FROM {table}"""


def group_members_sql(table: str, pass_name: str) -> str:
    """The members of every group match in long table ``table``."""
    return f"""SELECT match_no, {lit(pass_name)} AS pass_name, side, record_id, amount,
               currency, alternatives FROM {table}"""


def forget_previous_run(duck: duckdb.DuckDBPyConnection) -> None:
    """Drop ``matches`` and every ``rx_`` intermediate a previous run left on this
    connection, so nothing of it can leak into this one."""
    duck.execute("DROP VIEW IF EXISTS matches")
    for kind, name in duck.execute(
        """SELECT 'VIEW', view_name FROM duckdb_views() WHERE view_name LIKE 'rx\\_%' ESCAPE '\\'
        UNION ALL
        SELECT 'TABLE', table_name FROM duckdb_tables()
        WHERE table_name LIKE 'rx\\_%' ESCAPE '\\' OR table_name = 'matches'
        ORDER BY 1 DESC, 2"""
    ).fetchall():
        duck.execute(f'DROP {kind} IF EXISTS "{name}"')


def create_matches_view(duck: duckdb.DuckDBPyConnection, outcomes: Sequence[PassOutcome]) -> None:
    """``matches`` over every pass that matched something (empty, typed, when none did)."""
    typed = ", ".join(f"CAST(NULL AS {kind}) AS {name}" for name, kind in MATCH_COLUMNS)
    parts = [o.members for o in outcomes if o.members is not None]
    body = " UNION ALL ".join(parts) if parts else f"SELECT {typed} WHERE FALSE"
    duck.execute(f"CREATE OR REPLACE VIEW matches AS {body}")
