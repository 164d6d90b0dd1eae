"""/v1/billing/meters: create, retrieve, update, list, deactivate, reactivate, and errors."""

from __future__ import annotations

import sqlalchemy as sa
from metering_support import make_meter

from api.test_contract import assert_matches
from remit.events.tables import events


def test_a_meter_is_created_with_stripe_defaults_and_its_fixture_shape(api, store, account):
    meter = make_meter(api, "ai_search_api", display_name="Search API Calls")
    assert meter["id"].startswith("mtr_")
    assert meter["customer_mapping"] == {"event_payload_key": "stripe_customer_id", "type": "by_id"}
    assert meter["value_settings"] == {"event_payload_key": "value"}
    assert meter["default_aggregation"] == {"formula": "sum"}
    assert meter["status"] == "active"
    assert meter["status_transitions"] == {"deactivated_at": None}
    assert meter["event_time_window"] is None
    assert meter["created"] == meter["updated"]
    assert_matches(meter, "billing.meter")
    assert api.get(f"/v1/billing/meters/{meter['id']}").json() == meter
    with store.read() as conn:
        types = conn.execute(
            sa.select(events.c.type).where(events.c.account_id == account.account.id)
        ).scalars()
        assert list(types) == ["billing.meter.created"]


def test_mappings_and_windows_are_taken_as_given(api):
    meter = make_meter(
        api,
        "bytes",
        formula="last",
        **{
            "customer_mapping[event_payload_key]": "account",
            "customer_mapping[type]": "by_id",
            "value_settings[event_payload_key]": "bytes_used",
            "event_time_window": "hour",
        },
    )
    assert meter["customer_mapping"]["event_payload_key"] == "account"
    assert meter["value_settings"]["event_payload_key"] == "bytes_used"
    assert meter["default_aggregation"]["formula"] == "last"
    assert meter["event_time_window"] == "hour"


def test_bad_meter_params_are_refused_with_stripe_errors(api):
    cases = [
        ({"display_name": "x", "event_name": "e"}, "default_aggregation", "parameter_missing"),
        (
            {"display_name": "x", "event_name": "e", "default_aggregation[formula]": "avg"},
            "default_aggregation[formula]",
            "parameter_invalid",
        ),
        (
            {"display_name": "x", "event_name": "e" * 101, "default_aggregation[formula]": "sum"},
            "event_name",
            "parameter_invalid",
        ),
        (
            {
                "display_name": "x",
                "event_name": "e",
                "default_aggregation[formula]": "sum",
                "customer_mapping[type]": "by_email",
                "customer_mapping[event_payload_key]": "k",
            },
            "customer_mapping[type]",
            "parameter_invalid",
        ),
        (
            {
                "display_name": "x",
                "event_name": "e",
                "default_aggregation[formula]": "sum",
                "event_time_window": "week",
            },
            "event_time_window",
            "parameter_invalid",
        ),
    ]
    for body, param, code in cases:
        response = api.post("/v1/billing/meters", data=body)
        assert response.status_code == 400, body
        error = response.json()["error"]
        assert (error["param"], error.get("code")) == (param, code), error
    # The optional plugin's formulas are not there unless the plugin is loaded.
    response = api.post(
        "/v1/billing/meters",
        data={"display_name": "x", "event_name": "e", "default_aggregation[formula]": "max"},
    )
    assert "must be one of count, last, or sum" in response.json()["error"]["message"]
    assert api.get("/v1/billing/meters").json()["data"] == []


def test_event_names_are_unique_among_active_meters(api):
    first = make_meter(api, "api_calls")
    response = api.post(
        "/v1/billing/meters",
        data={
            "display_name": "x",
            "event_name": "api_calls",
            "default_aggregation[formula]": "sum",
        },
    )
    assert response.status_code == 400
    assert response.json()["error"]["param"] == "event_name"
    assert first["id"] in response.json()["error"]["message"]
    deactivated = api.post(f"/v1/billing/meters/{first['id']}/deactivate").json()
    assert deactivated["status"] == "inactive"
    assert deactivated["status_transitions"]["deactivated_at"] is not None
    second = make_meter(api, "api_calls")
    # The name is taken again: the first meter cannot come back while the second is active.
    response = api.post(f"/v1/billing/meters/{first['id']}/reactivate")
    assert response.status_code == 400
    assert second["id"] in response.json()["error"]["message"]
    api.post(f"/v1/billing/meters/{second['id']}/deactivate")
    back = api.post(f"/v1/billing/meters/{first['id']}/reactivate").json()
    assert back["status"] == "active"
    assert back["status_transitions"]["deactivated_at"] is None


def test_status_changes_that_change_nothing_are_refused(api):
    meter = make_meter(api)
    assert api.post(f"/v1/billing/meters/{meter['id']}/reactivate").status_code == 400
    api.post(f"/v1/billing/meters/{meter['id']}/deactivate")
    assert api.post(f"/v1/billing/meters/{meter['id']}/deactivate").status_code == 400


def test_only_the_display_name_can_be_updated(api, store, account):
    meter = make_meter(api)
    updated = api.post(f"/v1/billing/meters/{meter['id']}", data={"display_name": "Calls"})
    assert updated.status_code == 200
    assert updated.json()["display_name"] == "Calls"
    response = api.post(f"/v1/billing/meters/{meter['id']}", data={"event_name": "other"})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "parameter_unknown"
    with store.read() as conn:
        row = conn.execute(
            sa.select(events.c.data)
            .where(events.c.account_id == account.account.id)
            .where(events.c.type == "billing.meter.updated")
        ).scalar_one()
    assert row["previous_attributes"]["display_name"] == meter["display_name"]


def test_meters_list_newest_first_and_filter_by_status(api):
    a = make_meter(api, "a")
    b = make_meter(api, "b")
    c = make_meter(api, "c")
    api.post(f"/v1/billing/meters/{b['id']}/deactivate")
    listed = api.get("/v1/billing/meters").json()
    assert [m["id"] for m in listed["data"]] == [c["id"], b["id"], a["id"]]
    assert listed["url"] == "/v1/billing/meters"
    active = api.get("/v1/billing/meters", params={"status": "active"}).json()["data"]
    assert [m["id"] for m in active] == [c["id"], a["id"]]
    page = api.get("/v1/billing/meters", params={"limit": 1, "starting_after": c["id"]}).json()
    assert [m["id"] for m in page["data"]] == [b["id"]] and page["has_more"]


def test_an_unknown_meter_is_resource_missing(api):
    response = api.get("/v1/billing/meters/mtr_nope")
    assert response.status_code == 404
    assert response.json()["error"]["message"] == "No such billing.meter: 'mtr_nope'"
