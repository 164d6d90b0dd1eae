"""Bulk import of meter events (``remit meter import``): events/s per file format, next to
bare appends of the same rows measured in the same run.

Run with remit's venv python:

    .venv/bin/python benchmarks/meter_import.py [--events 1000000] [--customers 1000]
        [--formats csv,ndjson,parquet] [--chunk-rows 50000] [--ingest-events 200000] [--profile]

N events for M customers, spread over the last 30 days, are written to CSV, NDJSON and
Parquet files under a temporary directory (one meter summing ``value``; every row has an
identifier). Each file is imported with ``bulk_import.import_file`` into a fresh SQLite
database (synchronous=FULL, the product's default), and into a fresh PostgreSQL database
when REMIT_BENCH_DATABASE_URL names a server. The import's time includes everything:
fingerprinting the file, reading, checks, attribution, appends, errors, checkpoints.

Baselines, in the same run, from the same rows already in memory:
- SQLite floor: the driver's executemany of the raw log's columns, as tuples, into a
  scratch table with the raw log's key and indexes, one transaction per chunk, with
  the INSERT ... ON CONFLICT DO NOTHING the import issues;
- DuckDB floor: the same columns appended from Arrow into a DuckDB table with the same
  key, unique constraint and indexes, one statement per chunk;
- PostgreSQL floor (with a server): COPY of the same rows into a scratch table like the
  raw log (same indexes), one transaction per chunk;
- ``ingest()`` (the API's path) on the first ``--ingest-events`` rows, in batches of its
  maximum size, for scale.
Figures and ratios are printed; nothing is judged pass/fail.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import sqlalchemy as sa

from remit.accounts.service import create_account
from remit.billing import customers
from remit.context import CallContext
from remit.metering import import_store, ingest, meters
from remit.metering.bulk_import import import_file
from remit.metering.import_rows import payload_json
from remit.metering.tables import meter_events
from remit.primitives.clock import WallClock
from remit.store import migrate
from remit.store.engine import Store, make_engine
from remit.store.registry import load_all, metadata

GOAL_EVENTS_PER_S = 2_000_000
DAY_S = 86400
FORMATS = ("csv", "ndjson", "parquet")


# -- the files ---------------------------------------------------------------------------------
def events_table(count: int, customer_ids: list[str], now: int, seed: int = 7) -> pa.Table:
    """N events: unique identifiers, customers drawn uniformly, times over 30 days."""
    rng = np.random.default_rng(seed)
    numbers = pa.array(np.arange(count, dtype=np.int64)).cast(pa.string())
    drawn = rng.integers(0, len(customer_ids), count)
    return pa.table({
        "event_name": pa.array(["api_calls"] * count, pa.string()),
        "identifier": pc.binary_join_element_wise("evt_", pc.utf8_lpad(numbers, 10, "0"), ""),
        "timestamp": pa.array(now - rng.integers(0, 30 * DAY_S, count), pa.int64()),
        "stripe_customer_id": pa.array(customer_ids).take(drawn),
        "value": pa.array(rng.integers(1, 101, count)).cast(pa.string()),
    })  # fmt: skip


def write_files(table: pa.Table, folder: Path, formats: tuple[str, ...]) -> dict[str, Path]:
    paths = {fmt: folder / f"events.{fmt}" for fmt in formats}
    if "csv" in paths:
        pacsv.write_csv(table, paths["csv"])
    if "parquet" in paths:
        pq.write_table(table, paths["parquet"], row_group_size=131_072)
    if "ndjson" in paths:
        with duckdb.connect() as con:
            con.register("events", table)
            con.execute(
                "COPY (SELECT event_name, identifier, timestamp, {'stripe_customer_id': "
                "stripe_customer_id, 'value': value} AS payload FROM events) "
                f"TO '{paths['ndjson']}' (FORMAT json)"
            )
    return paths


# -- databases ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class Tenant:
    ctx: CallContext
    meter_id: str
    customer_ids: list[str]


def seed_tenant(store: Store, customer_count: int, now: int) -> Tenant:
    with store.write() as conn:
        made = create_account(conn, "bench", now)
        ctx = CallContext(account=made.account, now=now)
        meter = meters.create(conn, ctx, {"display_name": "API calls", "event_name": "api_calls",
                                          "default_aggregation": {"formula": "sum"}})  # fmt: skip
        ids = [customers.create(conn, ctx, {})["id"] for _ in range(customer_count)]
    return Tenant(ctx, meter["id"], ids)


def clone_rows(source: Store, target: Store) -> None:
    """The tenant's rows (account, meter, customers...) copied into another database."""
    load_all()
    with source.read() as src, target.write() as dst:
        for table in metadata.sorted_tables:
            rows = [dict(r._mapping) for r in src.execute(sa.select(table))]
            if rows:
                dst.execute(table.insert(), rows)


@contextmanager
def fresh_sqlite(folder: Path, name: str) -> Iterator[Store]:
    path = folder / f"{name}.db"
    store = Store(make_engine(f"sqlite:///{path}", "FULL"))
    migrate.upgrade(store.engine)
    try:
        yield store
    finally:
        store.dispose()
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)


@contextmanager
def fresh_postgres(url: str) -> Iterator[Store]:
    name = f"remit_bench_{os.getpid()}_{time.monotonic_ns() % 10**9}"
    admin_url = sa.make_url(url).set(drivername="postgresql+psycopg")
    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    store = Store(make_engine(sa.make_url(url).set(database=name).render_as_string(False)))
    try:
        migrate.upgrade(store.engine)
        yield store
    finally:
        store.dispose()
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


# -- measuring ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class Figure:
    name: str
    events: int
    seconds: float

    @property
    def per_s(self) -> float:
        return self.events / self.seconds


def log_columns(table: pa.Table, tenant: Tenant) -> pa.Table:
    """The raw log's columns of every row, as the import appends them."""
    size = table.num_rows
    payload = payload_json(
        (("stripe_customer_id", table.column("stripe_customer_id").combine_chunks()),
         ("value", table.column("value").combine_chunks())), size,
    )  # fmt: skip
    return pa.table({
        "account_id": pa.array([tenant.ctx.account_id] * size),
        "meter_id": pa.array([tenant.meter_id] * size),
        "customer_id": table.column("stripe_customer_id"), "event_name": table.column("event_name"),
        "identifier": table.column("identifier"), "timestamp": table.column("timestamp"),
        "value": table.column("value"), "payload": payload,
        "created": pa.array([tenant.ctx.now] * size, pa.int64()),
        "source": pa.array(["import"] * size),
    })  # fmt: skip


def scratch_table(store: Store) -> sa.Table:
    """An empty table like the raw log: same columns, key, unique constraint, indexes."""
    scratch = meter_events.to_metadata(sa.MetaData(), name="bench_append")
    for index in scratch.indexes:
        index.name = sa.sql.elements.quoted_name(
            "bench_" + "_".join(column.name for column in index.columns), quote=None
        )
    for constraint in scratch.constraints:
        constraint.name = None
    scratch.create(store.engine)
    return scratch


def sqlite_floor(store: Store, rows: pa.Table, chunk_rows: int) -> Figure:
    scratch = scratch_table(store)
    columns = [rows.column(name).to_pylist() for name in import_store.COLUMNS]
    tuples = list(zip(*columns, strict=True))
    statement = import_store.insert_sql(scratch.name)
    started = time.perf_counter()
    for start in range(0, len(tuples), chunk_rows):
        with store.write() as conn:
            import_store.tune(conn)
            cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
            cursor.executemany(statement, tuples[start : start + chunk_rows])
    return Figure("SQLite floor: executemany into a raw-log-shaped table", len(tuples),
                  time.perf_counter() - started)  # fmt: skip


def postgres_floor(store: Store, rows: pa.Table, chunk_rows: int) -> Figure:
    scratch = scratch_table(store)
    names = ", ".join(import_store.COLUMNS)
    blobs = []
    for start in range(0, rows.num_rows, chunk_rows):
        buffer = io.BytesIO()
        pacsv.write_csv(rows.slice(start, chunk_rows).select(list(import_store.COLUMNS)), buffer,
                        pacsv.WriteOptions(include_header=False))  # fmt: skip
        blobs.append(buffer.getvalue())
    started = time.perf_counter()
    for blob in blobs:
        with store.write() as conn:
            cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
            with cursor.copy(f"COPY {scratch.name} ({names}) FROM STDIN (FORMAT csv)") as copy:
                copy.write(blob)
    return Figure("PostgreSQL floor: COPY into a raw-log-shaped table", rows.num_rows,
                  time.perf_counter() - started)  # fmt: skip


def duckdb_floor(folder: Path, rows: pa.Table, chunk_rows: int, indexed: bool) -> Figure:
    """A DuckDB table of the raw log's columns, appended from Arrow chunk by chunk: bare,
    or (``indexed``) with the raw log's key, unique constraint and indexes."""
    path = folder / "floor.duckdb"
    names = ", ".join(import_store.COLUMNS)
    key = "seq BIGINT PRIMARY KEY DEFAULT nextval('seq_ids'), " if indexed else ""
    with duckdb.connect(str(path)) as con:
        con.execute("CREATE SEQUENCE seq_ids")
        con.execute(
            f"CREATE TABLE bench_append ({key}account_id VARCHAR NOT NULL, "
            "meter_id VARCHAR NOT NULL, customer_id VARCHAR NOT NULL, event_name VARCHAR NOT NULL, "
            "identifier VARCHAR NOT NULL, timestamp BIGINT NOT NULL, value VARCHAR, "
            f"payload {'JSON' if indexed else 'VARCHAR'} NOT NULL, created BIGINT NOT NULL, "
            "source VARCHAR NOT NULL" + (", UNIQUE (account_id, identifier))" if indexed else ")")
        )
        if indexed:
            con.execute("CREATE INDEX i_customer ON bench_append (account_id, meter_id, "
                        "customer_id, timestamp)")  # fmt: skip
            con.execute("CREATE INDEX i_seq ON bench_append (account_id, seq)")
        conflict = " ON CONFLICT DO NOTHING" if indexed else ""
        started = time.perf_counter()
        for start in range(0, rows.num_rows, chunk_rows):
            chunk = rows.slice(start, chunk_rows)  # noqa: F841 - read by name by DuckDB
            con.execute(f"INSERT INTO bench_append ({names}) SELECT {names} FROM chunk{conflict}")
        seconds = time.perf_counter() - started
    path.unlink()
    shape = "a raw-log-shaped table (key, unique, indexes)" if indexed else "a plain table"
    return Figure(f"DuckDB floor: Arrow appended into {shape}", rows.num_rows, seconds)


def ingest_path(store: Store, tenant: Tenant, table: pa.Table) -> Figure:
    inputs = [
        ingest.EventInput(name, {"stripe_customer_id": customer, "value": value}, identifier, ts)
        for name, identifier, ts, customer, value in zip(
            *(table.column(n).to_pylist() for n in table.column_names), strict=True
        )
    ]
    started = time.perf_counter()
    for start in range(0, len(inputs), ingest.MAX_BATCH_EVENTS):
        with store.write() as conn:
            ingest.ingest(conn, tenant.ctx, inputs[start : start + ingest.MAX_BATCH_EVENTS],
                          source="bench")  # fmt: skip
    return Figure(f"ingest(): the API's path, batches of {ingest.MAX_BATCH_EVENTS:,}", len(inputs),
                  time.perf_counter() - started)  # fmt: skip


def import_run(
    store: Store, tenant: Tenant, path: Path, chunk_rows: int, profile: Path | None
) -> Figure:
    profiler = cProfile.Profile() if profile else None
    if profiler:
        profiler.enable()
    summary = import_file(store, tenant.ctx, path, chunk_rows=chunk_rows)
    if profiler and profile:
        profiler.disable()
        profiler.dump_stats(profile)
    assert summary.run.accepted == summary.run.rows_read, summary
    return Figure(f"import {path.suffix[1:]}", summary.run.rows_read, summary.elapsed_s)


# -- the run -----------------------------------------------------------------------------------
def report(title: str, figures: list[Figure], floors: dict[str, Figure]) -> None:
    print(f"\n{title}")
    header = f"{'':58} {'events':>11} {'s':>8} {'events/s':>11}"
    for name in floors:
        header += f" {'vs ' + name:>14}"
    print(header + f" {'vs goal':>8}")
    for figure in figures:
        line = (
            f"{figure.name:58} {figure.events:>11,} {figure.seconds:>8.2f} {figure.per_s:>11,.0f}"
        )
        for floor in floors.values():
            line += f" {figure.per_s / floor.per_s:>13.2f}x"
        print(line + f" {figure.per_s / GOAL_EVENTS_PER_S:>7.3f}x")


def run_database(
    kind: str, open_fresh: Callable[[str], AbstractContextManager[Store]], template: Store,
    tenant: Tenant,
    table: pa.Table, paths: dict[str, Path], args: argparse.Namespace, folder: Path,
) -> tuple[list[Figure], Figure]:  # fmt: skip
    rows = log_columns(table, tenant)
    floor_of = sqlite_floor if kind == "sqlite" else postgres_floor
    with open_fresh("floor") as store:
        clone_rows(template, store)
        floor = floor_of(store, rows, args.chunk_rows)
    figures = [floor]
    for fmt, path in paths.items():
        with open_fresh(fmt) as store:
            clone_rows(template, store)
            profile = folder / f"{kind}-{fmt}.prof" if args.profile else None
            figures.append(import_run(store, tenant, path, args.chunk_rows, profile))
            if profile:
                print_profile(profile, f"{kind} {fmt}")
    if args.ingest_events and kind == "sqlite":
        with open_fresh("ingest") as store:
            clone_rows(template, store)
            figures.append(ingest_path(store, tenant, table.slice(0, args.ingest_events)))
    return figures, floor


def print_profile(path: Path, label: str) -> None:
    print(f"\nprofile of the {label} import (top 12 by own time):")
    stats = pstats.Stats(str(path), stream=sys.stdout)
    stats.sort_stats("tottime").print_stats(12)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--customers", type=int, default=1_000)
    parser.add_argument("--formats", default=",".join(FORMATS))
    parser.add_argument("--chunk-rows", type=int, default=50_000)
    parser.add_argument("--ingest-events", type=int, default=200_000,
                        help="rows sent through ingest() for scale (0: skip)")  # fmt: skip
    parser.add_argument("--duckdb-indexed", type=int, default=0,
                        help="rows also appended to an indexed DuckDB table (slow)")  # fmt: skip
    parser.add_argument("--profile", action="store_true", help="cProfile each import")
    parser.add_argument("--postgres", default=os.environ.get("REMIT_BENCH_DATABASE_URL"))
    args = parser.parse_args()
    formats = tuple(f for f in args.formats.split(",") if f)
    assert set(formats) <= set(FORMATS), f"formats: {', '.join(FORMATS)}"
    args.ingest_events = min(args.ingest_events, args.events)
    now = WallClock().now()
    print(f"remit meter import benchmark: {args.events:,} events, {args.customers:,} customers, "
          f"30 days, chunks of {args.chunk_rows:,} rows")  # fmt: skip
    print(f"machine : nproc={os.cpu_count()}, python {sys.version.split()[0]}, "
          f"pyarrow {pa.__version__}, duckdb {duckdb.__version__}")  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="remit-meter-import-") as tmp:
        folder = Path(tmp)
        with fresh_sqlite(folder, "template") as template:
            tenant = seed_tenant(template, args.customers, now)
            started = time.perf_counter()
            table = events_table(args.events, tenant.customer_ids, now)
            paths = write_files(table, folder, formats)
            sizes = ", ".join(f"{f} {p.stat().st_size / 2**20:,.0f} MiB" for f, p in paths.items())
            print(f"files   : {sizes} (written in {time.perf_counter() - started:.1f} s)")
            duck = duckdb_floor(folder, log_columns(table, tenant), args.chunk_rows, False)
            extra = []
            if args.duckdb_indexed:
                rows = log_columns(table, tenant).slice(0, args.duckdb_indexed)
                extra.append(duckdb_floor(folder, rows, args.chunk_rows, True))
            figures, floor = run_database("sqlite", partial(fresh_sqlite, folder), template,
                                          tenant, table, paths, args, folder)  # fmt: skip
            report("SQLite (synchronous=FULL)", [*figures, duck, *extra],
                   {"SQLite floor": floor, "DuckDB floor": duck})  # fmt: skip
            if args.postgres:
                fresh = partial(fresh_postgres, args.postgres)
                figures, floor = run_database("postgresql", lambda _: fresh(), template, tenant,
                                              table, paths, args, folder)  # fmt: skip
                report("PostgreSQL", [*figures, duck], {"PG floor": floor, "DuckDB floor": duck})
    print(
        f"\ngoal: {GOAL_EVENTS_PER_S:,} events/s. Reproduce:\n  .venv/bin/python "
        f"benchmarks/meter_import.py --events {args.events} --customers {args.customers} "
        f"--formats {','.join(formats)} --chunk-rows {args.chunk_rows} --ingest-events "
        f"{args.ingest_events}" + (" (REMIT_BENCH_DATABASE_URL set)" if args.postgres else "")
    )


if __name__ == "__main__":
    main()
