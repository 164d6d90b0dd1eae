"""Event summaries equal hand-computed values, before, after and across applier runs.

The story: a sum meter, a count meter and a last meter on the same events of one
customer over three UTC days ending at NOW (2026-01-01T00:00Z). Every expectation below
is worked out by hand from the event table.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from metering_support import context, decimal_json, make_customer, make_meter

from api.test_contract import assert_matches
from remit.metering import rollups
from remit.metering.ingest import EventInput, ingest
from remit.primitives.clock import FixedClock

NOW = 1_767_225_600  # 2026-01-01T00:00:00Z
DAY, HOUR = 86400, 3600
D2, D1 = NOW - 2 * DAY, NOW - DAY  # the starts of the two full days before NOW

EVENTS = [  # (identifier, timestamp, value)
    ("e1", D2 + 30, "1.5"),  # D-2 00:00:30
    ("e2", D2 + 5 * HOUR + 59, "2"),  # D-2 05:00:59
    ("e3", D1 - 1, "0.25"),  # D-2 23:59:59
    ("e4", D1, "10"),  # D-1 00:00:00
    ("e5", D1 + 2 * HOUR + 61, "-3"),  # D-1 02:01:01
    ("e6", NOW - 600, "100.000000000001"),  # D-1 23:50:00
    ("e7", NOW + 60, "7"),  # D 00:01:00, a minute ahead of NOW
]
LATE = ("e8", D2 + 5 * HOUR + 10, "4")  # D-2 05:00:10, arrives last


@pytest.fixture
def story(api, store, account, request):
    """The meters and customer, events ingested; ``request.param`` says how far the
    applier got: never, over everything, or before the late event arrived."""
    meters = {f: make_meter(api, f"calls_{f}", formula=f) for f in ("sum", "count", "last")}
    customer = make_customer(api, email="ada@example.com")
    ctx = context(store, account.account.id, NOW)

    def send(batch):
        events = [
            EventInput(f"calls_{f}", {"stripe_customer_id": customer, "value": v}, f"{f}-{i}", t)
            for f in meters
            for i, t, v in batch
        ]
        with store.write() as conn:
            assert len(ingest(conn, ctx, events, source="test").accepted) == len(events)

    def apply(batch_events):
        while rollups.apply_pending(store, FixedClock(NOW), None, batch_events):
            pass

    if request.param == "raw":
        send([*EVENTS, LATE])
    elif request.param == "applied":
        send([*EVENTS, LATE])
        apply(3)  # small batches: later batches merge into stored rollups
    else:
        send(EVENTS)
        apply(1000)
        send([LATE])  # only in the tail
    return meters, customer


def _summaries(api, meter, customer, start, end, **params):
    response = api.get(
        f"/v1/billing/meters/{meter['id']}/event_summaries",
        params={"customer": customer, "start_time": start, "end_time": end, **params},
    )
    assert response.status_code == 200, response.text
    return decimal_json(response)


def _values(listed):
    return [(s["start_time"], s["end_time"], s["aggregated_value"]) for s in listed["data"]]


SCENARIOS = ["raw", "applied", "late_after_applier"]


@pytest.mark.parametrize("story", SCENARIOS, indirect=True)
def test_daily_summaries(api, story):
    meters, customer = story
    d = Decimal
    by_formula = {
        "sum": [d("7"), d("107.000000000001"), d("7.75")],  # D, D-1, D-2 (e8 adds 4)
        "count": [d(1), d(3), d(4)],
        "last": [d("7"), d("100.000000000001"), d("0.25")],
    }
    for formula, expected in by_formula.items():
        listed = _summaries(
            api, meters[formula], customer, D2, NOW + DAY, value_grouping_window="day"
        )
        assert _values(listed) == list(
            zip([NOW, D1, D2], [NOW + DAY, NOW, D1], expected, strict=True)
        ), formula
        assert listed["has_more"] is False
    # The wire shape, read as plain JSON: a count is a JSON integer, as in the fixture.
    params = {"customer": customer, "start_time": D2, "end_time": NOW + DAY}
    url = f"/v1/billing/meters/{meters['count']['id']}/event_summaries"
    count_today = api.get(url, params={**params, "value_grouping_window": "day"}).json()["data"][0]
    assert_matches(count_today, "billing.meter_event_summary")
    assert count_today["meter"] == meters["count"]["id"]


@pytest.mark.parametrize("story", SCENARIOS, indirect=True)
def test_hourly_summaries_leave_out_hours_without_events(api, story):
    meters, customer = story
    listed = _summaries(api, meters["sum"], customer, D2, NOW, value_grouping_window="hour")
    assert _values(listed) == [
        (NOW - HOUR, NOW, Decimal("100.000000000001")),
        (D1 + 2 * HOUR, D1 + 3 * HOUR, Decimal(-3)),
        (D1, D1 + HOUR, Decimal(10)),
        (D1 - HOUR, D1, Decimal("0.25")),
        (D2 + 5 * HOUR, D2 + 6 * HOUR, Decimal(6)),  # e2 + the late e8
        (D2, D2 + HOUR, Decimal("1.5")),
    ]
    last = _summaries(api, meters["last"], customer, D2, NOW, value_grouping_window="hour")
    # e2 (05:00:59) is later than e8 (05:00:10) although it arrived first.
    assert _values(last)[-2] == (D2 + 5 * HOUR, D2 + 6 * HOUR, Decimal(2))


@pytest.mark.parametrize("story", SCENARIOS, indirect=True)
def test_windows_not_aligned_to_hours_or_days(api, story):
    meters, customer = story
    # From D-2 00:01 to 23:59 on D-1: all but e1 (00:00:30) and e7 (after NOW).
    start, end = D2 + 60, NOW - 60
    expected = {
        "sum": Decimal("113.250000000001"),
        "count": Decimal(6),
        "last": Decimal("100.000000000001"),
    }
    for formula, value in expected.items():
        assert _values(_summaries(api, meters[formula], customer, start, end)) == [
            (start, end, value)
        ], formula
    # Two minutes either side of D-1's start: e3, e4 and nothing else.
    around = _summaries(api, meters["sum"], customer, D1 - 120, D1 + 120)
    assert _values(around) == [(D1 - 120, D1 + 120, Decimal("10.25"))]
    # A window holding no event has no summary.
    assert _summaries(api, meters["sum"], customer, D1 + 3 * HOUR, D1 + 4 * HOUR)["data"] == []


@pytest.mark.parametrize("story", ["late_after_applier"], indirect=True)
def test_hourly_summaries_page_newest_first(api, story):
    meters, customer = story
    meter = meters["count"]
    window = {"value_grouping_window": "hour"}
    first = _summaries(api, meter, customer, D2, NOW, limit=2, **window)
    assert [s["start_time"] for s in first["data"]] == [NOW - HOUR, D1 + 2 * HOUR]
    assert first["has_more"] is True
    after = first["data"][-1]["id"]
    second = _summaries(api, meter, customer, D2, NOW, limit=3, starting_after=after, **window)
    assert [s["start_time"] for s in second["data"]] == [D1, D1 - HOUR, D2 + 5 * HOUR]
    assert second["has_more"] is True
    before = second["data"][0]["id"]
    back = _summaries(api, meter, customer, D2, NOW, limit=10, ending_before=before, **window)
    assert [s["start_time"] for s in back["data"]] == [NOW - HOUR, D1 + 2 * HOUR]
    assert back["has_more"] is False
    assert (
        first["data"][0]["id"]
        == _summaries(api, meter, customer, D2, NOW, **window)["data"][0]["id"]
    ), "ids are stable between calls"


def test_summary_requests_are_checked_after_the_meter_is_found(api):
    meter = make_meter(api, "calls")
    customer = make_customer(api)
    url = f"/v1/billing/meters/{meter['id']}/event_summaries"
    window = {"customer": customer, "start_time": D2, "end_time": NOW}
    cases = [
        ({"start_time": D2, "end_time": NOW}, 400, "customer"),
        ({"customer": customer, "end_time": NOW}, 400, "start_time"),
        ({**window, "start_time": D2 + 30}, 400, "start_time"),
        ({**window, "end_time": NOW - 1}, 400, "end_time"),
        ({**window, "end_time": D2}, 400, "end_time"),
        ({**window, "start_time": D2 + 60, "value_grouping_window": "hour"}, 400, "start_time"),
        ({**window, "end_time": NOW - HOUR, "value_grouping_window": "day"}, 400, "end_time"),
        ({**window, "value_grouping_window": "week"}, 400, "value_grouping_window"),
        ({**window, "customer": "cus_nobody"}, 404, "customer"),
        ({**window, "starting_after": "mtrusg_nonsense"}, 404, "starting_after"),
    ]
    for params, status, param in cases:
        response = api.get(url, params=params)
        assert response.status_code == status, (params, response.text)
        assert response.json()["error"]["param"] == param, params
    missing = api.get("/v1/billing/meters/mtr_nope/event_summaries")
    assert missing.status_code == 404 and missing.json()["error"]["param"] == "id"


def test_a_cursor_names_its_meter_and_customer(api, store, account):
    meter = make_meter(api, "calls")
    ada, bob = make_customer(api), make_customer(api)
    ctx = context(store, account.account.id, NOW)
    with store.write() as conn:
        ingest(
            conn,
            ctx,
            [
                EventInput("calls", {"stripe_customer_id": c, "value": "1"}, c, NOW - 60)
                for c in (ada, bob)
            ],
            source="test",
        )
    url = f"/v1/billing/meters/{meter['id']}/event_summaries"
    window = {"start_time": D2, "end_time": NOW, "value_grouping_window": "hour"}
    (ada_hour,) = api.get(url, params={**window, "customer": ada}).json()["data"]
    assert ada_hour["id"].startswith("mtrusg_")
    stolen = api.get(url, params={**window, "customer": bob, "starting_after": ada_hour["id"]})
    assert stolen.status_code == 404
    assert stolen.json()["error"]["param"] == "starting_after"
    # A cursor names a window of the list it came from: an hour is no day of a daily list.
    last_minutes = {"customer": ada, "start_time": NOW - 120, "end_time": NOW}
    (whole,) = api.get(url, params=last_minutes).json()["data"]
    for cursor, grouping in [(ada_hour["id"], "day"), (whole["id"], "hour")]:
        for key in ("starting_after", "ending_before"):
            params = {**window, "customer": ada, "value_grouping_window": grouping, key: cursor}
            response = api.get(url, params=params)
            assert response.status_code == 404, (grouping, key, response.text)
            assert response.json()["error"]["param"] == key
    # An ungrouped list has one window: any of the meter's cursors just ends it.
    after_hour = api.get(url, params={"customer": ada, "start_time": D2, "end_time": NOW,
                                      "starting_after": ada_hour["id"]})  # fmt: skip
    assert after_hour.status_code == 200 and after_hour.json()["data"] == []


def test_a_meter_of_daily_pre_aggregated_events_answers_by_day_only(api, store, account):
    meter = make_meter(api, "daily", event_time_window="day")
    customer = make_customer(api)
    ctx = context(store, account.account.id, NOW)
    with store.write() as conn:
        ingest(
            conn,
            ctx,
            [
                EventInput(
                    "daily", {"stripe_customer_id": customer, "value": "40"}, "d", D1 + 5 * HOUR
                )
            ],
            source="test",
        )
    url = f"/v1/billing/meters/{meter['id']}/event_summaries"
    window = {"customer": customer, "start_time": D2, "end_time": NOW}
    by_day = api.get(url, params={**window, "value_grouping_window": "day"}).json()["data"]
    assert [(s["start_time"], s["aggregated_value"]) for s in by_day] == [(D1, 40)]
    by_hour = api.get(url, params={**window, "value_grouping_window": "hour"})
    assert by_hour.status_code == 400
    assert by_hour.json()["error"]["param"] == "value_grouping_window"
    assert api.get(url, params={**window, "end_time": NOW - HOUR}).status_code == 400


def test_hourly_summaries_over_35_days_page_through_every_window(api, store, account):
    """840 hourly windows, the older half in rollups and the newer in the raw tail (the
    page at their seam holds both), paged by 100 and by 1, forwards and back."""
    meter = make_meter(api, "calls")
    customer = make_customer(api)
    ctx = context(store, account.account.id, NOW)
    hours = [NOW - (n + 1) * HOUR for n in range(35 * 24)]  # newest first
    events = [
        EventInput(
            "calls", {"stripe_customer_id": customer, "value": str(n % 7)}, f"h{n}", t + n % 60
        )
        for n, t in enumerate(reversed(hours))
    ]
    with store.write() as conn:
        ingest(conn, ctx, events[:420], source="test")
    while rollups.apply_pending(store, FixedClock(NOW), None):
        pass
    with store.write() as conn:
        ingest(conn, ctx, events[420:], source="test")
    expected = [(t, Decimal((len(hours) - 1 - n) % 7)) for n, t in enumerate(hours)]
    window = {"value_grouping_window": "hour"}
    start = NOW - 35 * DAY
    listed, cursor, pages = [], {}, 0
    while True:
        page = _summaries(api, meter, customer, start, NOW, limit=100, **cursor, **window)
        listed += page["data"]
        pages += 1
        if not page["has_more"]:
            break
        cursor = {"starting_after": page["data"][-1]["id"]}
    assert pages == 9
    assert [(s["start_time"], s["aggregated_value"]) for s in listed] == expected
    one = _summaries(api, meter, customer, start, NOW, limit=1, **window)
    second = _summaries(
        api, meter, customer, start, NOW, limit=1, starting_after=one["data"][0]["id"], **window
    )
    assert [s["start_time"] for s in one["data"] + second["data"]] == hours[:2]
    assert one["has_more"] and second["has_more"]
    back = _summaries(
        api, meter, customer, start, NOW, limit=1, ending_before=second["data"][0]["id"], **window
    )
    assert back["data"][0]["id"] == one["data"][0]["id"] and not back["has_more"]
    oldest = _summaries(
        api, meter, customer, start, NOW, limit=100, ending_before=listed[-100]["id"], **window
    )
    assert [s["id"] for s in oldest["data"]] == [s["id"] for s in listed[-200:-100]]
    assert oldest["has_more"]
