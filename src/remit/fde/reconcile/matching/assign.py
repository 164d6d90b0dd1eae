"""Global one-to-one assignment over one pass's candidates: each record (or group) is used
at most once, and never because it happened to come first.

A candidate is accepted when its two ends are each other's best: the left ranks its
candidates by (c1, c2, c3, right id), the right by (c1, c2, c3, left id). Both rankings
are the one total order (cost, left id, right id) seen from either end, so the globally
best open candidate is always mutual and every round accepts at least one: the rounds
end, and what they accept is exactly the greedy assignment in that order, whatever the
order the rows arrived in.

Most candidates are alone at both ends (one reference, one bank line): they are accepted
at once, and only the contested rest goes through rounds. An accepted candidate records
``alternatives``: how many other open candidates of its two ends cost exactly the same
(ignoring ids), i.e. how many equally good choices the tie-break passed over.
"""

from __future__ import annotations

from collections.abc import Sequence

import duckdb

from remit.fde.reconcile.matching.expr import count, drop

_COSTS = "c1, c2, c3"


def assign(
    duck: duckdb.DuckDBPyConnection, candidates: str, columns: Sequence[str], accepted: str
) -> None:
    """Create table ``accepted``: the chosen rows of ``candidates`` (its ``columns``)
    plus ``alternatives``."""
    cols = ", ".join(columns)
    duck.execute(
        f"""CREATE OR REPLACE TEMP TABLE rx_multi_l AS
        SELECT l_key FROM {candidates} GROUP BY l_key HAVING COUNT(*) > 1"""
    )
    duck.execute(
        f"""CREATE OR REPLACE TEMP TABLE rx_multi_r AS
        SELECT r_key FROM {candidates} GROUP BY r_key HAVING COUNT(*) > 1"""
    )
    contested = """l_key IN (SELECT l_key FROM rx_multi_l)
        OR r_key IN (SELECT r_key FROM rx_multi_r)"""
    duck.execute(
        f"""CREATE OR REPLACE TABLE {accepted} AS
        SELECT {cols}, CAST(0 AS BIGINT) AS alternatives FROM {candidates}
        WHERE NOT ({contested})"""
    )
    duck.execute(
        f"""CREATE OR REPLACE TEMP TABLE rx_contested AS
        SELECT {cols} FROM {candidates} WHERE {contested}"""
    )
    drop(duck, "rx_multi_l", "rx_multi_r")
    resolve(duck, "rx_contested", columns, accepted)


def resolve(
    duck: duckdb.DuckDBPyConnection, contested: str, columns: Sequence[str], accepted: str
) -> None:
    """Accept mutual bests among table ``contested`` into the existing table ``accepted``
    until no candidate is left, then drop ``contested``. Each round removes at least one
    candidate, so the candidate count bounds the rounds."""
    cols = ", ".join(columns)
    remaining = count(duck, contested)
    bound = remaining
    while remaining > 0:
        bound -= 1
        assert bound >= 0, "more rounds than contested candidates"
        duck.execute(
            f"""CREATE OR REPLACE TEMP TABLE rx_round AS
            SELECT {cols}, l_ties + r_ties AS alternatives FROM (
                SELECT {cols},
                    ROW_NUMBER() OVER (PARTITION BY l_key ORDER BY {_COSTS}, r_id, r_key) AS l_rank,
                    ROW_NUMBER() OVER (PARTITION BY r_key ORDER BY {_COSTS}, l_id, l_key) AS r_rank,
                    COUNT(*) OVER (PARTITION BY l_key, {_COSTS}) - 1 AS l_ties,
                    COUNT(*) OVER (PARTITION BY r_key, {_COSTS}) - 1 AS r_ties
                FROM {contested}
            ) ranked
            WHERE l_rank = 1 AND r_rank = 1"""
        )
        won = count(duck, "rx_round")
        assert won > 0, "a round of mutual bests accepted nothing"
        duck.execute(f"INSERT INTO {accepted} SELECT {cols}, alternatives FROM rx_round")
        duck.execute(
            f"""DELETE FROM {contested}
            WHERE l_key IN (SELECT l_key FROM rx_round) OR r_key IN (SELECT r_key FROM rx_round)"""
        )
        remaining = count(duck, contested)
    drop(duck, "rx_round", contested)
