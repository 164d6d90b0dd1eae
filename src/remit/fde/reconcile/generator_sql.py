"""The generators' shared DuckDB vocabulary: seeded hashing, ids, amounts, currencies,
customer names, and writing a query out as Parquet, CSV or NDJSON.

Every random choice is ``hx(key, salt)``: DuckDB's ``hash`` of (seed, key, salt), so a
value depends on its slot and never on how threads split the work. Ids are a bijective
scramble of a slot number, so they look random yet are unique by construction.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import duckdb

from remit.analytics import engine
from remit.primitives.errors import InvalidRequestError

DAY_S = 86_400
YEAR_START_TS = 1_704_067_200  # 2024-01-01T00:00:00Z
FORMATS = ("parquet", "csv", "ndjson")
MAX_ROWS = 100_000_000  # ids scramble 40 bits; three slot ranges of this fit with room


def _words(text: str) -> list[str]:
    """Names kept as running text: a few hundred of them stay readable in a few lines."""
    return text.split()


_FIRST = _words(
    "Ada Adrian Aiko Alan Alba Aleksander Alice Amara Ana Andrea Anika Anton Arjun Astrid "
    "Aurora Ayesha Beatriz Ben Bianca Boris Camille Carlos Carmen Chen Chiara Chloe Clara "
    "Dan Daniela Dario David Diego Dmitri Elena Elias Elif Emil Emma Enzo Erik Esther Fatima "
    "Felix Fiona Francesca Gabriel Grace Hana Hannah Hugo Ibrahim Ines Ingrid Isaac Ivan "
    "Jakob James Jana Javier Joao Jonas Jose Julia Kai Karin Kenji Laila Lars Laura Leo "
    "Lina Lucas Lucia Luis Maja Marco Maria Mateo Mei Mia Mohammed Nadia Nils Noah Nora "
    "Olga Oliver Omar Oscar Paula Pedro Priya Rafael Rania Rosa Ruben Sakura Samuel Sara "
    "Sofia Stefan Tariq Theo Tomas Valentina Victor Wei Yara Yusuf Zara Zoe"
)
_LAST = _words(
    "Abbott Achterberg Adeyemi Alvarez Andersen Bauer Becker Benali Bergstrom Bianchi "
    "Brennan Brown Castillo Chen Costa Dahl Dubois Eriksson Esposito Fischer Fontaine "
    "Garcia Gonzalez Greco Gruber Hansen Haddad Hoffmann Horvat Ivanova Jansen Jensen "
    "Kaminski Kato Keller Kowalski Kruger Larsen Laurent Lehmann Lindqvist Lopez Marino "
    "Martin Meyer Moreau Moretti Muller Murphy Nakamura Nguyen Novak Okafor Olsen Ortiz "
    "Pereira Petrov Popescu Quinn Ramos Richter Rossi Rousseau Sanchez Santos Sato Schmidt "
    "Schneider Silva Smith Sorensen Suzuki Tanaka Thompson Torres Vasquez Visser Vogel "
    "Wagner Walsh Weber Wolf Yamamoto Yilmaz Zhang Zimmermann"
)
_MASK40 = (1 << 40) - 1


def _list_sql(words: list[str]) -> str:
    return "[" + ", ".join("'" + w.replace("'", "''") + "'" for w in words) + "]"


def connect(seed: int) -> duckdb.DuckDBPyConnection:
    """A private DuckDB with the macros bound to ``seed``. DuckDB's own progress bar is off:
    a generator called by a test or a benchmark must not draw on their output."""
    duck = engine.connect()
    duck.execute("SET enable_progress_bar = false")
    create_macros(duck, seed)
    return duck


def create_macros(duck: duckdb.DuckDBPyConnection, seed: int) -> None:
    """Macros every generator query uses, bound to ``seed``:

    - ``hx(key, salt)``: a non-negative BIGINT, uniform, from (seed, key, salt);
    - ``rid(x)``: a 12-character id, distinct for distinct x < 2**40;
    - ``amount_of(key, salt, lo, hi)``: minor units, a decade 10**lo .. 10**hi chosen
      uniformly, then uniform within it (wide, so exact collisions stay rare);
    - ``currency_of(key, salt)``: usd 45%, eur 30%, gbp 15%, jpy 10%;
    - ``name_of(key, salt)``: "First Last" from a few hundred names combined.
    """
    # Odd multipliers below 2**23 keep every product under 2**63; each step (add, odd
    # multiply, xor-shift, all modulo 2**40) is a bijection, so the scramble is one too.
    offset = (seed * 0x9E3779B97F4A7C15) & _MASK40
    powers = ", ".join(str(10**k) for k in range(8))
    duck.execute(f"CREATE TEMP MACRO hx(k, s) AS CAST(hash({int(seed)}, k, s) >> 1 AS BIGINT)")
    duck.execute(f"CREATE TEMP MACRO m40(x) AS x & {_MASK40}")
    duck.execute("CREATE TEMP MACRO xs(x, s) AS xor(x, x >> s)")
    duck.execute(
        f"CREATE TEMP MACRO scramble(x) AS "
        f"xs(m40(xs(m40(m40(x + {offset}) * 5111611), 17) * 3186277), 21)"
    )
    # A leading 3 and eleven hex digits: fixed width, cheap to make (base 62 costs 5x).
    duck.execute(f"CREATE TEMP MACRO rid(x) AS lower(to_hex(scramble(x) + {3 << 40}))")
    duck.execute(
        f"CREATE TEMP MACRO amount_of(k, s, lo, hi) AS "
        f"([{powers}][lo + hx(k, s) % (hi - lo + 1) + 1]) * (1 + hx(k, s + 1000) % 9)"
        f" + hx(k, s + 2000) % ([{powers}][lo + hx(k, s) % (hi - lo + 1) + 1])"
    )
    duck.execute(
        "CREATE TEMP MACRO currency_of(k, s) AS CASE WHEN hx(k, s) % 100 < 45 THEN 'usd' "
        "WHEN hx(k, s) % 100 < 75 THEN 'eur' WHEN hx(k, s) % 100 < 90 THEN 'gbp' ELSE 'jpy' END"
    )
    duck.execute(
        f"CREATE TEMP MACRO name_of(k, s) AS {_list_sql(_FIRST)}[hx(k, s) % {len(_FIRST)} + 1]"
        f" || ' ' || {_list_sql(_LAST)}[hx(k, s + 1) % {len(_LAST)} + 1]"
    )


def validate_shape(n: int, seed: int, fmt: str, shares: Mapping[str, int]) -> None:
    """Refuse a request the generator cannot honour, before anything is written."""
    problems: list[tuple[str, str]] = []
    if not 0 < n <= MAX_ROWS:
        problems.append(("n", f"n must be between 1 and {MAX_ROWS:,} (got {n})"))
    if not 0 <= seed < 2**31:
        problems.append(("seed", f"seed must be between 0 and 2**31 - 1 (got {seed})"))
    if fmt not in FORMATS:
        problems.append(("fmt", f"fmt must be one of {', '.join(FORMATS)} (got {fmt!r})"))
    negative = sorted(k for k, v in shares.items() if v < 0)
    if negative:
        problems.append(("mix", f"mix shares cannot be negative: {', '.join(negative)}"))
    if sum(shares.values()) > 10_000:
        problems.append(("mix", f"mix shares add up to {sum(shares.values())} bp, over 10000"))
    if problems:
        raise InvalidRequestError(
            "Cannot generate this set: " + "; ".join(m for _, m in problems) + ".",
            code="invalid_generator_request",
            param=problems[0][0],
        )


def copy_to(duck: duckdb.DuckDBPyConnection, query: str, path: Path, fmt: str) -> None:
    """COPY a query to one file; NDJSON is DuckDB's JSON writer (one object a line)."""
    options = {"parquet": "FORMAT PARQUET", "csv": "FORMAT CSV, HEADER", "ndjson": "FORMAT JSON"}
    target = str(path).replace("'", "''")
    duck.execute(f"COPY ({query}) TO '{target}' ({options[fmt]})")
