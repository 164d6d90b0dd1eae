"""The rollup applier: exactly once through crashes, kills and concurrent runs, and
summaries exact at every step whatever the applier did (property-tested)."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import textwrap
import threading
import time
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from metering_support import (
    canceled,
    expected_rollups,
    new_tenant,
    raw_log,
    stored_rollups,
    watermark,
)

from remit.jobs.worker import Worker, background_tasks
from remit.metering import adjustments, formulas, rollups, usage
from remit.metering.domain.values import decimal_text
from remit.metering.ingest import EventInput, ingest
from remit.plugins.manager import make_manager
from remit.primitives.clock import FixedClock

DAY, HOUR, MINUTE = 86400, 3600, 60
NOW = 1_767_225_600 + 3 * DAY
PM = make_manager(frozenset({"usage_aggregations"}))
FORMULAS = ("sum", "count", "last", "max", "unique_count")


def _event(formula, customer, identifier, timestamp, value):
    return EventInput(
        formula, {"stripe_customer_id": customer, "value": value}, identifier, timestamp
    )


def _random_events(rng, customers, n, prefix="e"):
    return [
        _event(
            rng.choice(FORMULAS),
            rng.choice(customers),
            f"{prefix}{i}",
            NOW - rng.randrange(3 * DAY),
            str(rng.randrange(-500, 500) / 4),
        )
        for i in range(n)
    ]


def _ingest(store, ctx, events):
    with store.write() as conn:
        return ingest(conn, ctx, events, source="test")


def _drain(store, batch_events=rollups.BATCH_EVENTS):
    total = 0
    while applied := rollups.apply_pending(store, FixedClock(NOW), PM, batch_events):
        total += applied
    return total


def _brute_force(store, account_id, meter_id, customer, start, end):
    """Fold the raw events of the window one by one: the reference for every summary."""
    aggregation = None
    state, count = None, 0
    skip = canceled(store, account_id)
    for row in raw_log(store, account_id):
        if row.meter_id != meter_id or row.customer_id != customer or row.identifier in skip:
            continue
        if not start <= row.timestamp < end:
            continue
        if aggregation is None:
            aggregation = formulas.require(PM, row.event_name)
            state = aggregation.initial()
        value = rollups.event_value(aggregation, row.value)
        state = aggregation.fold(state, value, row.timestamp, row.seq, row.payload)
        count += 1
    return None if aggregation is None else (aggregation.result(state), count)


def _check_summaries(store, ctx, meter_ids, customers, windows):
    for formula, meter_id in meter_ids.items():
        aggregation = formulas.require(PM, formula)
        for customer in customers:
            for start, end in windows:
                with store.read() as conn:
                    found = usage.aggregate(
                        conn, ctx.account_id, meter_id, customer, aggregation, start, end
                    )
                expected = _brute_force(store, ctx.account_id, meter_id, customer, start, end)
                got = [(w.value, w.event_count) for w in found]
                assert got == ([] if expected is None else [expected]), (formula, start, end)


VALUES = st.decimals(allow_nan=False, allow_infinity=False, places=2, min_value=-999, max_value=999)
EVENT = st.tuples(
    st.sampled_from(FORMULAS),
    st.integers(0, 1),  # customer
    st.integers(0, 15),  # identifier: a small pool, so duplicates happen
    st.integers(0, 3 * DAY - 1),  # seconds before NOW
    VALUES,
    st.sampled_from(["u1", "u2", "u3"]),
)
STEP = st.tuples(
    st.lists(EVENT, max_size=8),
    st.integers(0, 6),  # applier batch size this step (0: the applier does not run)
    st.lists(st.integers(0, 15), max_size=2),  # identifiers to cancel after the step
)
WINDOW = st.tuples(st.integers(0, 3 * DAY), st.integers(0, 3 * DAY))


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(st.lists(STEP, min_size=1, max_size=5), st.lists(WINDOW, min_size=1, max_size=3))
def test_summaries_stay_exact_and_rollups_match_a_fold_from_scratch(store, steps, windows):
    ctx, meter_ids, customers = new_tenant(store, NOW, PM, FORMULAS)
    windows = [(NOW - 3 * DAY + min(a, b), NOW - 3 * DAY + max(a, b)) for a, b in windows]
    windows.append((NOW - 3 * DAY, NOW))
    for events, batch_events, cancels in steps:
        batch = [
            _event(
                formula,
                customers[c],
                f"id{i}",
                NOW - back,
                text if formula == "unique_count" else decimal_text(value),
            )
            for formula, c, i, back, value, text in events
        ]
        _ingest(store, ctx, batch)
        if batch_events:
            rollups.apply_pending(store, FixedClock(NOW), PM, batch_events)
        for i in cancels:
            formula = next(
                (r.event_name for r in raw_log(store, ctx.account_id) if r.identifier == f"id{i}"),
                None,
            )
            if formula is not None:
                with store.write() as conn:
                    adjustments.cancel(conn, ctx, formula, f"id{i}")
        _check_summaries(store, ctx, meter_ids, customers, windows)
        assert stored_rollups(store, ctx.account_id) == expected_rollups(
            store, ctx.account_id, PM, watermark(store, ctx.account_id)
        )
    _drain(store)
    seqs = [r.seq for r in raw_log(store, ctx.account_id)]
    assert watermark(store, ctx.account_id) == max(seqs, default=0)
    assert stored_rollups(store, ctx.account_id) == expected_rollups(store, ctx.account_id, PM)
    _check_summaries(store, ctx, meter_ids, customers, windows)


def test_a_crash_inside_a_batch_rolls_the_batch_back(store, monkeypatch):
    ctx, meter_ids, customers = new_tenant(store, NOW, PM, FORMULAS)
    rng = random.Random(7)
    _ingest(store, ctx, _random_events(rng, customers, 60))
    assert rollups.apply_pending(store, FixedClock(NOW), PM, 25) == 25
    after_first = (stored_rollups(store, ctx.account_id), watermark(store, ctx.account_id))
    original = rollups.merge_into_stored

    def crash(*args, **kwargs):
        original(*args, **kwargs)  # the rollups are written...
        raise RuntimeError("killed before the watermark moved")

    monkeypatch.setattr(rollups, "merge_into_stored", crash)
    with pytest.raises(RuntimeError):
        rollups.apply_pending(store, FixedClock(NOW), PM, 25)
    assert (stored_rollups(store, ctx.account_id), watermark(store, ctx.account_id)) == after_first
    monkeypatch.setattr(rollups, "merge_into_stored", original)
    assert _drain(store, 25) == 35
    assert stored_rollups(store, ctx.account_id) == expected_rollups(store, ctx.account_id, PM)


APPLIER_SCRIPT = textwrap.dedent(
    """
    import sys
    from remit.metering import rollups
    from remit.plugins.manager import make_manager
    from remit.primitives.clock import FixedClock
    from remit.store.engine import Store, make_engine

    store = Store(make_engine(sys.argv[1]))
    pm = make_manager(frozenset({"usage_aggregations"}))
    print("ready", flush=True)
    while rollups.apply_pending(store, FixedClock(int(sys.argv[2])), pm, 3):
        pass
    """
)


def test_an_applier_killed_at_random_points_loses_and_doubles_nothing(store, database_url):
    ctx, meter_ids, customers = new_tenant(store, NOW, PM, FORMULAS)
    rng = random.Random(11)
    _ingest(store, ctx, _random_events(rng, customers, 800))
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    marks: list[int] = []
    for attempt in range(5):
        child = subprocess.Popen(
            [sys.executable, "-c", APPLIER_SCRIPT, database_url, str(NOW)],
            stdout=subprocess.PIPE,
            env=env,
        )
        assert child.stdout is not None and child.stdout.readline().strip() == b"ready"
        time.sleep(rng.uniform(0.0, 0.1))
        child.send_signal(signal.SIGKILL)
        child.wait()
        applied = watermark(store, ctx.account_id)
        marks.append(applied)
        # Whatever the kill interrupted, the rollups are exactly the events up to the mark.
        assert stored_rollups(store, ctx.account_id) == expected_rollups(
            store, ctx.account_id, PM, applied
        ), attempt
    # The kills landed mid-run: some batches were applied, not all of them.
    assert 0 < marks[-1] < max(r.seq for r in raw_log(store, ctx.account_id)), marks
    _drain(store)
    assert stored_rollups(store, ctx.account_id) == expected_rollups(store, ctx.account_id, PM)


def test_concurrent_appliers_apply_every_event_once(store):
    ctx, meter_ids, customers = new_tenant(store, NOW, PM, FORMULAS)
    rng = random.Random(3)
    _ingest(store, ctx, _random_events(rng, customers, 300))
    errors: list[BaseException] = []

    def run():
        try:
            _drain(store, 7)
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert stored_rollups(store, ctx.account_id) == expected_rollups(store, ctx.account_id, PM)


def test_the_worker_runs_the_applier_as_a_background_task(store):
    ctx, meter_ids, customers = new_tenant(store, NOW, PM, FORMULAS)
    outcome = _ingest(store, ctx, _random_events(random.Random(5), customers, 30))
    worker = Worker(store, {}, FixedClock(NOW), tasks=background_tasks(PM))
    assert worker.drain() == 30
    assert watermark(store, ctx.account_id) == max(r.seq for r in raw_log(store, ctx.account_id))
    assert len(outcome.accepted) == 30
    assert stored_rollups(store, ctx.account_id) == expected_rollups(store, ctx.account_id, PM)
    assert worker.drain() == 0


def test_plugin_formulas_summarise_exactly(store):
    ctx, meter_ids, customers = new_tenant(store, NOW, PM, ("max", "unique_count"))
    alice = customers[0]
    _ingest(
        store,
        ctx,
        [
            _event("max", alice, "m1", NOW - 3 * HOUR, "2.5"),
            _event("max", alice, "m2", NOW - 2 * HOUR, "-7"),
            _event("max", alice, "m3", NOW - HOUR, "12.75"),
            _event("unique_count", alice, "u1", NOW - 3 * HOUR, "host-a"),
            _event("unique_count", alice, "u2", NOW - 2 * HOUR, "host-b"),
            _event("unique_count", alice, "u3", NOW - HOUR, "host-a"),
        ],
    )
    for applied in (False, True):
        if applied:
            _drain(store)
        with store.read() as conn:
            for formula, expected_day, expected_hours in [
                ("max", Decimal("12.75"), [Decimal("12.75"), Decimal(-7), Decimal("2.5")]),
                ("unique_count", Decimal(2), [Decimal(1), Decimal(1), Decimal(1)]),
            ]:
                aggregation = formulas.require(PM, formula)
                meter_id = meter_ids[formula]
                whole = usage.aggregate(
                    conn, ctx.account_id, meter_id, alice, aggregation, NOW - DAY, NOW
                )
                hours = usage.aggregate(
                    conn, ctx.account_id, meter_id, alice, aggregation, NOW - DAY, NOW, HOUR
                )
                assert [w.value for w in whole] == [expected_day], formula
                assert [w.value for w in hours] == expected_hours, formula


@pytest.mark.parametrize(
    ("tail_scan_limit", "attempts"),
    [(0, usage.MAX_READ_ATTEMPTS), (usage.TAIL_SCAN_LIMIT, 0)],
    ids=["tail_by_time_range", "watermark_as_subquery"],
)
def test_every_read_path_gives_the_same_answer(store, monkeypatch, tail_scan_limit, attempts):
    ctx, meter_ids, customers = new_tenant(store, NOW, PM, FORMULAS)
    rng = random.Random(17)
    _ingest(store, ctx, _random_events(rng, customers, 120))
    rollups.apply_pending(store, FixedClock(NOW), PM, 70)
    _ingest(store, ctx, _random_events(rng, customers, 40, prefix="late"))
    monkeypatch.setattr(usage, "TAIL_SCAN_LIMIT", tail_scan_limit)
    monkeypatch.setattr(usage, "MAX_READ_ATTEMPTS", attempts)
    windows = [(NOW - 3 * DAY, NOW), (NOW - 2 * DAY + 17, NOW - DAY + 3 * HOUR + 5)]
    _check_summaries(store, ctx, meter_ids, customers, windows)


def test_a_formula_no_longer_loaded_holds_back_its_account_only(store):
    """The watermark cannot pass an event it cannot fold: the account waits at its first
    event of a meter whose plugin is gone (its summaries stay exact from the raw tail),
    while other accounts' events are applied."""
    stuck, stuck_meters, stuck_customers = new_tenant(store, NOW, PM, ("sum", "max"))
    fine, _, fine_customers = new_tenant(store, NOW, PM, ("sum",))
    alice = stuck_customers[0]
    _ingest(store, stuck, [_event("sum", alice, "s1", NOW - HOUR, "1")])
    _ingest(store, stuck, [_event("max", alice, "m1", NOW - HOUR, "5")])
    _ingest(store, stuck, [_event("sum", alice, "s2", NOW - HOUR, "2")])
    _ingest(store, fine, [_event("sum", fine_customers[0], "f1", NOW - HOUR, "3")])
    builtins_only = None
    while rollups.apply_pending(store, FixedClock(NOW), builtins_only):
        pass
    assert watermark(store, fine.account_id) == raw_log(store, fine.account_id)[-1].seq
    held = [r.seq for r in raw_log(store, stuck.account_id)]
    assert watermark(store, stuck.account_id) == held[0], "applied up to the max event"
    with store.read() as conn:
        (window,) = usage.aggregate(
            conn, stuck.account_id, stuck_meters["sum"], alice, formulas.require(None, "sum"),
            NOW - DAY, NOW,
        )  # fmt: skip
    assert window.value == 3
    _drain(store)  # the plugin is back
    assert watermark(store, stuck.account_id) == held[-1]
    assert stored_rollups(store, stuck.account_id) == expected_rollups(store, stuck.account_id, PM)
