"""/v1/events: filters by type, types[] and created, newest first."""

from __future__ import annotations

from remit.events.tables import events


def _types(response) -> list[str]:
    assert response.status_code == 200, response.text
    return [e["type"] for e in response.json()["data"]]


def test_events_filter_by_type_types_and_created(api, store):
    customer = api.post("/v1/customers", data={"email": "a@example.com"}).json()
    api.post(f"/v1/customers/{customer['id']}", data={"name": "Ann"})
    api.post("/v1/test_helpers/test_clocks", data={"frozen_time": "1700000000"})
    api.delete(f"/v1/customers/{customer['id']}")

    assert _types(api.get("/v1/events")) == [
        "customer.deleted",
        "test_helpers.test_clock.created",
        "customer.updated",
        "customer.created",
    ]
    assert _types(api.get("/v1/events", params={"type": "customer.updated"})) == [
        "customer.updated"
    ]
    assert _types(api.get("/v1/events", params={"type": "customer.*"})) == [
        "customer.deleted",
        "customer.updated",
        "customer.created",
    ]
    both = api.get(
        "/v1/events", params={"types[0]": "customer.created", "types[1]": "customer.deleted"}
    )
    assert _types(both) == ["customer.deleted", "customer.created"]

    # Pin distinct creation times so the created filter has something to separate.
    with store.write() as conn:
        for n, event_id in enumerate(
            reversed([e["id"] for e in api.get("/v1/events").json()["data"]])
        ):
            conn.execute(events.update().where(events.c.id == event_id).values(created=1000 + n))
    window = api.get("/v1/events", params={"created[gte]": "1001", "created[lt]": "1003"})
    assert _types(window) == ["test_helpers.test_clock.created", "customer.updated"]
    assert _types(api.get("/v1/events", params={"created": "1000"})) == ["customer.created"]
    bad = api.get("/v1/events", params={"created[since]": "1"})
    assert bad.status_code == 400 and bad.json()["error"]["param"] == "created[since]"


def test_updated_events_carry_previous_attributes(api):
    customer = api.post("/v1/customers", data={"email": "a@example.com", "metadata[a]": "1"}).json()
    api.post(f"/v1/customers/{customer['id']}", data={"email": "b@example.com", "metadata[b]": "2"})
    updated = api.get("/v1/events", params={"type": "customer.updated"}).json()["data"][0]
    assert updated["data"]["object"]["email"] == "b@example.com"
    assert updated["data"]["previous_attributes"] == {
        "email": "a@example.com",
        "metadata": {"b": None},
    }


def test_expand_works_on_create_and_update(api):
    clock = api.post("/v1/test_helpers/test_clocks", data={"frozen_time": "1700000000"}).json()
    created = api.post(
        "/v1/customers", data={"test_clock": clock["id"], "expand[]": "test_clock"}
    ).json()
    assert created["test_clock"]["object"] == "test_helpers.test_clock"
    updated = api.post(
        f"/v1/customers/{created['id']}", data={"name": "N", "expand[0]": "test_clock"}
    ).json()
    assert updated["test_clock"]["id"] == clock["id"]
    event = api.get("/v1/events", params={"type": "customer.created"}).json()["data"][0]
    assert event["data"]["object"]["test_clock"] == clock["id"]  # events keep ids, unexpanded
