"""Objects on no test clock follow the wall clock: the worker's background task renews
and finalizes them at their moments, and several workers at once share the work without
doing any of it twice."""

from __future__ import annotations

import threading

from renewal_support import HOUR_S, JAN_1, cycle_invoices, new_price, service_ctx
from renewal_support import wall_subscriptions as subscribed

from remit.billing.subscriptions import renewals_plugin
from remit.ledger.verify import verify
from remit.primitives.clock import FixedClock

FEB_1 = 1_706_745_600


def _drain(store, pm, now_ts, errors=None):
    total = 0
    try:
        while done := renewals_plugin.run_due(store, FixedClock(now_ts), pm):
            total += done
    except Exception as error:  # a worker thread's failure is the test's
        if errors is None:
            raise
        errors.append(error)
    return total


def test_the_background_task_renews_at_each_moment(api, store, pm, account):
    ctx = service_ctx(store, account, JAN_1, pm)
    # Due on the boundary: unpaid at 30 days, the first invoices would fall past due first.
    made = subscribed(store, ctx, 3, [{"price": new_price(api, 900)}],
                      collection_method="send_invoice", days_until_due=31)  # fmt: skip
    assert _drain(store, pm, FEB_1 - 1) == 0  # nothing is due before the boundary
    assert _drain(store, pm, FEB_1 + 5 * HOUR_S) > 0
    found = cycle_invoices(store, account.account.id)
    assert sorted(i.subscription for i in found) == sorted(sub for sub, _ in made)
    # Processed late, each still happened at its own moment: renewed on the boundary,
    # finalized an hour after it.
    assert {(i.created, i.finalized_at, i.status, i.total) for i in found} == {
        (FEB_1, FEB_1 + HOUR_S, "open", 900)
    }
    assert _drain(store, pm, FEB_1 + 5 * HOUR_S) == 0


def test_two_workers_at_once_renew_each_subscription_once(api, store, pm, account):
    ctx = service_ctx(store, account, JAN_1, pm)
    made = subscribed(store, ctx, 40, [{"price": new_price(api, 1200), "quantity": 2}],
                      collection_method="send_invoice", days_until_due=30)  # fmt: skip
    errors: list[Exception] = []
    workers = [
        threading.Thread(target=_drain, args=(store, pm, FEB_1 + 2 * HOUR_S, errors))
        for _ in range(2)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=120)
    assert not errors, errors
    found = cycle_invoices(store, account.account.id)
    assert sorted(i.subscription for i in found) == sorted(sub for sub, _ in made)
    assert {(i.status, i.total) for i in found} == {("open", 2400)}
    report = verify(store, account.account.id)
    assert report.clean, report.findings
