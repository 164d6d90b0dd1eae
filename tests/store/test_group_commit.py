"""Group commit: concurrent writes share commits, and each one stands or falls alone."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import sqlalchemy as sa

from remit.accounts.tables import accounts
from remit.store.group_commit import DirectWriter, GroupCommitWriter, make_writer


def _insert(name: str):
    def work(conn: sa.Connection) -> str:
        conn.execute(
            accounts.insert(),
            {"id": f"acct_{name}", "name": name, "rounding_mode": "half_up", "created": 1},
        )
        return name

    return work


def _names(store) -> set[str]:
    with store.read() as conn:
        return set(conn.execute(sa.select(accounts.c.name)).scalars())


def test_the_writer_fits_the_database(store):
    writer = make_writer(store)
    assert isinstance(writer, GroupCommitWriter if store.is_sqlite else DirectWriter)
    writer.close()


@pytest.mark.parametrize("writer_class", [GroupCommitWriter, DirectWriter])
def test_concurrent_writes_all_land_and_a_failing_one_leaves_nothing(store, writer_class):
    writer = writer_class(store)
    failures: list[Exception] = []

    def write(n: int) -> str | None:
        if n % 10 == 3:

            def bad(conn: sa.Connection) -> None:
                _insert(f"doomed{n}")(conn)
                raise ValueError(f"refused {n}")

            try:
                writer.run(bad)
            except ValueError as exc:
                failures.append(exc)
            return None
        return writer.run(_insert(f"ok{n}"))

    with ThreadPoolExecutor(max_workers=16) as pool:
        results = list(pool.map(write, range(200)))
    writer.close()

    expected = {f"ok{n}" for n in range(200) if n % 10 != 3}
    assert {r for r in results if r} == expected
    assert _names(store) == expected
    assert len(failures) == 20


def test_writes_waiting_together_share_one_commit(store):
    writer = GroupCommitWriter(store)
    gate, running = threading.Event(), threading.Event()
    commits: list[int] = []
    listener = lambda conn: commits.append(1)  # noqa: E731

    def hold_the_writer(conn: sa.Connection) -> None:
        running.set()
        gate.wait(5)

    sa.event.listen(store.engine, "commit", listener)
    try:
        with ThreadPoolExecutor(max_workers=9) as pool:
            first = pool.submit(writer.run, hold_the_writer)
            # The writer must be inside the first batch before the others queue behind it.
            assert running.wait(5)
            later = [pool.submit(writer.run, _insert(f"batched{n}")) for n in range(8)]
            deadline = time.monotonic() + 5
            while writer._queue.qsize() < 8 and time.monotonic() < deadline:
                time.sleep(0.01)
            gate.set()
            first.result(10)
            assert {f.result(10) for f in later} == {f"batched{n}" for n in range(8)}
    finally:
        sa.event.remove(store.engine, "commit", listener)
        writer.close()
    # One commit for the gate's batch, one for the eight that queued behind it.
    assert len(commits) == 2


def test_a_failed_commit_fails_every_member(store):
    writer = GroupCommitWriter(store)

    def broken_commit(conn: sa.Connection) -> None:
        raise RuntimeError("disk full")

    sa.event.listen(store.engine, "commit", broken_commit)
    try:
        with pytest.raises(RuntimeError, match="disk full"):
            writer.run(_insert("never"))
    finally:
        sa.event.remove(store.engine, "commit", broken_commit)
    writer.close()
    assert "never" not in _names(store)
