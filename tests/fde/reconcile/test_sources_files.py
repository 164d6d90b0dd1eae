"""File sources: CSV, NDJSON and Parquet read by DuckDB into ``<side>_raw`` as exact text,
with the line each row sits on, and the file's bytes as its fingerprint."""

from __future__ import annotations

import hashlib
from pathlib import Path

import duckdb
import pytest

from remit.analytics.engine import connect
from remit.fde.reconcile.load import load_raw
from remit.fde.reconcile.model import SourceSpec
from remit.fde.reconcile.sources import SourceContext, parse_source, source_kinds
from remit.primitives.errors import InvalidRequestError

NO_STORE = SourceContext(store=None, account_id=None, pm=None, now=1_700_000_000)


def raw(path: Path | str, side: str = "left") -> tuple[list[str], list[tuple[object, ...]]]:
    duck = connect()
    load_raw(duck, side, parse_source(str(path)), NO_STORE)  # type: ignore[arg-type]
    result = duck.execute(f"SELECT * FROM {side}_raw ORDER BY line_no")
    names = [d[0] for d in result.description]
    return names, result.fetchall()


def refusal(path: Path | str) -> InvalidRequestError:
    with pytest.raises(InvalidRequestError) as caught:
        raw(path)
    return caught.value


def test_parse_source_reads_every_form() -> None:
    assert parse_source("platform:invoices") == SourceSpec("platform", "invoices")
    assert parse_source(" /data/bank.csv ") == SourceSpec("file", "/data/bank.csv")
    assert parse_source("file:///data/x.txt?format=csv") == SourceSpec(
        "file", "/data/x.txt", {"format": "csv"}
    )
    assert parse_source("platform:ledger_entries?code=bank") == SourceSpec(
        "platform", "ledger_entries", {"code": "bank"}
    )
    # The URL keeps its own query and a '#' in its password; the last '#' names the table.
    assert parse_source("sql:postgresql://u:p#w@h/db?sslmode=require#crm.invoices") == SourceSpec(
        "sql", "postgresql://u:p#w@h/db?sslmode=require", {"table": "crm.invoices"}
    )
    assert parse_source("sql:sqlite:///x.db") == SourceSpec("sql", "sqlite:///x.db")
    for bad in ("", "platform:", "file:/x.csv?format"):
        with pytest.raises(InvalidRequestError) as caught:
            parse_source(bad)
        assert caught.value.code == "invalid_source"


def test_the_built_in_kinds_without_a_plugin_manager() -> None:
    assert sorted(source_kinds(None)) == ["file", "platform", "sql"]


def test_an_unknown_kind_is_named(tmp_path: Path) -> None:
    error = refusal("sftp:bank/statements.csv")
    assert error.code == "unknown_source"
    assert "sftp" in error.message and "file" in error.message


def test_csv_quoting_bom_and_lines_spanning_newlines(tmp_path: Path) -> None:
    path = tmp_path / "bank.csv"
    path.write_bytes(
        b'\xef\xbb\xbfid,amount,"memo, long"\n'
        b'1,12.30,"said ""hi"""\n'
        b'2,0012,"two\nlines"\n'
        b"3,-5,\n"
        b'4,7,"three\r\nmore\nlines"\n'
        b"5,8,last\n"
    )
    duck = connect()
    load_raw(duck, "left", parse_source(str(path)), NO_STORE)
    assert duck.execute("SELECT typeof(line_no) FROM left_raw LIMIT 1").fetchall() == [("BIGINT",)]
    names, rows = raw(path)
    assert names == ["line_no", "id", "amount", "memo, long"]
    assert rows == [
        (2, "1", "12.30", 'said "hi"'),
        (3, "2", "0012", "two\nlines"),
        (5, "3", "-5", None),
        (6, "4", "7", "three\r\nmore\nlines"),
        (9, "5", "8", "last"),
    ]


def test_csv_with_another_delimiter_and_format_option(tmp_path: Path) -> None:
    path = tmp_path / "export.txt"
    path.write_text("id;amount\nA;1\n")
    assert raw(f"{path}?format=csv&delimiter=;") == (["line_no", "id", "amount"], [(2, "A", "1")])
    assert refusal(path).code == "invalid_source"  # no extension to tell the format by


def test_duplicate_header_names_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "dup.csv"
    path.write_text("id,amount,Amount,note\n1,2,3,x\n")
    error = refusal(path)
    assert error.code == "duplicate_columns"
    assert "Amount" in error.message


def test_a_column_named_line_no_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "lines.csv"
    path.write_text("line_no,amount\n1,2\n")
    assert refusal(path).code == "duplicate_columns"


@pytest.mark.parametrize("content", [b"", b"\xef\xbb\xbf\n\n", b"id,amount\n"])
def test_an_empty_file_is_an_empty_source(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "empty.csv"
    path.write_bytes(content)
    error = refusal(path)
    assert (error.code, error.param) == ("empty_source", "left")


def test_missing_and_malformed_files_are_unreadable(tmp_path: Path) -> None:
    assert refusal(tmp_path / "nowhere.csv").code == "source_unreadable"
    ragged = tmp_path / "ragged.csv"
    ragged.write_text("a,b\n1,2\n3,4,5,6\n")
    assert refusal(ragged).code == "source_unreadable"
    broken = tmp_path / "broken.parquet"
    broken.write_bytes(b"not parquet at all")
    assert refusal(broken).code == "source_unreadable"


def test_the_fingerprint_is_the_sha256_of_the_bytes(tmp_path: Path) -> None:
    path = tmp_path / "bank.csv"
    path.write_text("id,amount\n" + "".join(f"{i},{i}\n" for i in range(200_000)))
    load = load_raw(connect(), "right", parse_source(str(path)), NO_STORE)
    assert load.fingerprint == hashlib.sha256(path.read_bytes()).hexdigest()
    assert (load.rows, load.rejected, load.side) == (200_000, 0, "right")


def test_ndjson_values_as_their_text(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    lines = [
        '{"id": "a", "amount": 1230, "paid": true, "meta": {"k": "v", "n": [1, 2]}}',
        '{"id": "b", "amount": "12.30", "paid": null, "note": "quote \\" and \\n newline"}',
        "",
        '{"id": "c", "amount": -5, "tags": ["x", "y"]}',
    ]
    path.write_text("\n".join(lines) + "\n")
    names, rows = raw(path)
    assert names == ["line_no", "id", "amount", "paid", "meta", "note", "tags"]
    assert rows == [
        (1, "a", "1230", "true", '{"k":"v","n":[1,2]}', None, None),
        (2, "b", "12.30", None, None, 'quote " and \n newline', None),
        (3, "c", "-5", None, None, None, '["x","y"]'),
    ]


def test_ndjson_keys_first_seen_late_still_get_a_column(tmp_path: Path) -> None:
    path = tmp_path / "late.ndjson"
    body = "".join(f'{{"id": "{i}"}}\n' for i in range(30_000)) + '{"id": "z", "late": "yes"}\n'
    path.write_text(body)
    names, rows = raw(path)
    assert names == ["line_no", "id", "late"]
    assert rows[-1] == (30_001, "z", "yes")


def test_parquet_columns_cast_to_exact_text(tmp_path: Path) -> None:
    path = tmp_path / "ledger.parquet"
    duck = duckdb.connect()
    duck.execute("SET TimeZone = 'UTC'")
    duck.execute(
        f"""COPY (SELECT * FROM (VALUES
            (1, 12.30::DECIMAL(12, 2), TIMESTAMPTZ '2024-03-01 12:00:00+00',
             TIMESTAMP '2024-03-01 09:30:00.250', DATE '2024-03-01', true,
             {{'a': 1, 'b': 'x'}}, [1, 2], 'text'),
            (2, -0.05::DECIMAL(12, 2), NULL, TIMESTAMP '2024-03-02 00:00:00', NULL, false,
             NULL, [], NULL)
        ) t(id, amount, paid_at, booked, day, ok, meta, list, memo))
        TO '{path}' (FORMAT parquet)"""
    )
    names, rows = raw(path)
    assert names == ["line_no", "id", "amount", "paid_at", "booked", "day", "ok", "meta", "list",
                     "memo"]  # fmt: skip
    assert rows == [
        (1, "1", "12.30", "2024-03-01T12:00:00+00:00", "2024-03-01T09:30:00.250000",
         "2024-03-01", "true", '{"a":1,"b":"x"}', "[1,2]", "text"),
        (2, "2", "-0.05", None, "2024-03-02T00:00:00", None, "false", None, "[]", None),
    ]  # fmt: skip
