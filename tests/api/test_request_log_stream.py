"""The meter event stream's request log rows: the count and identifiers of the events sent,
not the events (those are in the raw event log); other routes keep their redacted params."""

from __future__ import annotations

import httpx

from remit.api import request_log


def test_a_stream_request_logs_its_events_count_and_identifiers(api, server, store, account):
    api.post(
        "/v1/billing/meters",
        data={
            "display_name": "Calls",
            "event_name": "calls",
            "default_aggregation[formula]": "sum",
        },
    )
    customer = api.post("/v1/customers", data={"name": "Logged"}).json()["id"]
    token = api.post("/v2/billing/meter_event_session", json={}).json()["authentication_token"]
    long_identifier = "x" * 500  # refused as an event, still bounded in the log
    events = [
        {
            "event_name": "calls",
            "identifier": "log-a",
            "payload": {"stripe_customer_id": customer, "value": "1"},
        },
        {"event_name": "calls", "payload": {"stripe_customer_id": customer, "value": "2"}},
        {"event_name": "calls", "identifier": long_identifier, "payload": {}},
        "not an event",
    ]
    sent = httpx.post(
        f"{server.url}/v2/billing/meter_event_stream",
        json={"events": events},
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    )
    assert sent.status_code == 200, sent.text
    server.app.log_writer.flush()
    with store.read() as conn:
        rows = request_log.query(conn, account.account.id, path="/v2/billing/meter_event_stream")
    assert len(rows) == 1
    logged = rows[0]["params"]
    assert logged["events"] == 4
    assert logged["identifiers"][:2] == ["log-a", None]
    assert logged["identifiers"][2].startswith("x" * 100) and len(logged["identifiers"][2]) < 300
    assert logged["identifiers"][3] is None
    assert "payload" not in str(logged)
    with store.read() as conn:
        session = request_log.query(
            conn, account.account.id, path="/v2/billing/meter_event_session"
        )
        meter = request_log.query(conn, account.account.id, path="/v1/billing/meters")
    assert session[0]["params"] == {}
    assert meter[0]["params"]["default_aggregation"] == {"formula": "sum"}
