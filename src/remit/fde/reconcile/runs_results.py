"""What a finished run found, read back out of DuckDB: its digest and its output files.

Both read the engine's tables (``matches``, ``breaks``, ``rejects``; shapes in
``model``) in one total order, so the same inputs and rules give byte-identical
digests and files however DuckDB's threads interleaved. Rows stream as Arrow
batches: a run larger than memory is never held in Python at once.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

BATCH_ROWS = 10_000
OUTPUT_FORMATS = ("csv", "parquet")

# One JSON line per row: unambiguous whatever the values hold (separators, NULLs).
_MATCH_LINES = """
    SELECT to_json({'match_no': match_no, 'pass': pass_name, 'side': side,
                    'record_id': record_id, 'amount': amount, 'currency': currency,
                    'alternatives': alternatives}) || chr(10)
    FROM matches ORDER BY match_no, side, record_id
"""
_BREAK_LINES = """
    SELECT to_json({'break_key': break_key, 'type': type, 'currency': currency,
                    'left_ids': left_ids, 'right_ids': right_ids,
                    'left_amount': left_amount, 'right_amount': right_amount,
                    'left_line': left_line, 'right_line': right_line,
                    'object_id': object_id, 'field': field,
                    'platform_value': platform_value, 'external_value': external_value,
                    'detail': detail}) || chr(10)
    FROM breaks ORDER BY {order}
"""
# break_key names a break within a run; the rest only orders an engine's duplicates.
BREAK_ORDER = (
    "break_key, type, left_line NULLS FIRST, right_line NULLS FIRST, field NULLS FIRST, detail"
)
MATCH_ORDER = "match_no, side, record_id"
REJECT_ORDER = "side, line_no, field"


def results_digest(duck: duckdb.DuckDBPyConnection) -> str:
    """sha256 over every match member, then every break, each as a JSON line."""
    digest = hashlib.sha256()
    for query in (_MATCH_LINES, _BREAK_LINES.replace("{order}", BREAK_ORDER)):
        for batch in duck.sql(query).to_arrow_reader(BATCH_ROWS):
            lines = batch.column(0)
            if len(lines) == 0:
                continue
            # Joined by Arrow, not by a Python loop over rows; the bytes hashed do not
            # depend on where DuckDB cut its batches.
            whole = pa.ListArray.from_arrays(pa.array([0, len(lines)], pa.int32()), lines)
            digest.update(pc.binary_join(whole, "")[0].as_buffer())
    return digest.hexdigest()


def write_outputs(
    duck: duckdb.DuckDBPyConnection, run_id: str, directory: Path, output_format: str
) -> list[Path]:
    """``matches``, ``breaks`` and ``rejects`` of the run as files in ``directory``.

    Matches stay in long form (one row per member record), which a spreadsheet reads.
    CSV has no lists, so a break's ids are written there as JSON arrays; Parquet keeps
    them as lists.
    """
    assert output_format in OUTPUT_FORMATS, output_format
    run = _literal(run_id)
    ids = "to_json({0})" if output_format == "csv" else "{0}"
    queries = {
        "matches": f"SELECT {run} AS run, * FROM matches ORDER BY {MATCH_ORDER}",
        "breaks": f"""
            SELECT {run} AS run, break_key, type, currency,
                   {ids.format("left_ids")} AS left_ids, {ids.format("right_ids")} AS right_ids,
                   left_amount, right_amount, left_line, right_line, object_id, field,
                   platform_value, external_value, detail
            FROM breaks ORDER BY {BREAK_ORDER}""",
        "rejects": f"SELECT {run} AS run, * FROM rejects ORDER BY {REJECT_ORDER}",
    }
    options = "FORMAT csv, HEADER true" if output_format == "csv" else "FORMAT parquet"
    written = []
    for name, query in queries.items():
        path = directory / f"{name}.{output_format}"
        duck.execute(f"COPY ({query}) TO {_literal(str(path))} ({options})")
        written.append(path)
    return written


def _literal(text: str) -> str:
    """A SQL string literal: COPY takes no bound parameter for its target."""
    return "'" + text.replace("'", "''") + "'"
