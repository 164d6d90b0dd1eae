"""Malformed requests get a clear Stripe-shaped error and write nothing."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from remit.api.app import MAX_BODY_BYTES
from remit.billing.tables import customers
from remit.events.tables import events


@pytest.fixture
def unchanged(store):
    def counts():
        with store.read() as conn:
            return [
                conn.execute(sa.select(sa.func.count()).select_from(t)).scalar_one()
                for t in (customers, events)
            ]

    before = counts()
    yield
    assert counts() == before, "a rejected request wrote something"


def _error(response, status: int) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    assert response.headers["Request-Id"].startswith("req_")
    error = response.json()["error"]
    assert error["type"] and error["message"]
    return error


FORM = {"Content-Type": "application/x-www-form-urlencoded"}


def test_non_utf8_body(api, unchanged):
    _error(api.post("/v1/customers", content=b"name=\xff\xfe", headers=FORM), 400)


def test_json_body_on_a_v1_route(api, unchanged):
    error = _error(api.post("/v1/customers", json={"email": "a@example.com"}), 400)
    assert "Content-Type" in error["message"]


def test_body_over_one_mebibyte(api, unchanged):
    body = b"description=" + b"x" * (MAX_BODY_BYTES + 1)
    _error(api.post("/v1/customers", content=body, headers=FORM), 413)


def test_unknown_route(api):
    error = _error(api.get("/v1/widgets"), 404)
    assert error["code"] == "resource_missing"


def test_wrong_method(api, unchanged):
    error = _error(api.put("/v1/customers", data={"email": "a@example.com"}), 404)
    assert "PUT" in error["message"]


@pytest.mark.parametrize(
    ("limit", "code"),
    [("0", "parameter_invalid_integer"), ("101", "parameter_invalid_integer"),
     ("1000000000000000000000", "parameter_invalid_integer"), ("ten", "parameter_invalid_integer")],
)  # fmt: skip
def test_absurd_limit(api, limit, code):
    error = _error(api.get("/v1/customers", params={"limit": limit}), 400)
    assert error["param"] == "limit"
    assert error["code"] == code


def test_unknown_id(api):
    error = _error(api.get("/v1/customers/cus_nothere"), 404)
    assert (error["code"], error["param"]) == ("resource_missing", "id")
    assert "cus_nothere" in error["message"]


def test_unknown_parameter_names_its_path(api, unchanged):
    error = _error(api.post("/v1/customers", data={"address[planet]": "Mars"}), 400)
    assert (error["code"], error["param"]) == ("parameter_unknown", "address[planet]")


def test_bad_enum_and_bad_email(api, unchanged):
    error = _error(api.post("/v1/customers", data={"tax_exempt": "sometimes"}), 400)
    assert error["param"] == "tax_exempt"
    assert "none, exempt, or reverse" in error["message"]
    error = _error(api.post("/v1/customers", data={"email": "not-an-email"}), 400)
    assert error["param"] == "email"


def test_a_cursor_from_nowhere(api):
    error = _error(api.get("/v1/customers", params={"starting_after": "cus_nothere"}), 404)
    assert error["param"] == "starting_after"


def test_a_failure_after_validation_leaves_nothing_behind(api, store):
    assert api.post("/v1/customers", data={"invoice_prefix": "TAKEN1"}).status_code == 200
    error = _error(
        api.post("/v1/customers", data={"invoice_prefix": "TAKEN1", "email": "b@example.com"}), 400
    )
    assert error["param"] == "invoice_prefix"
    with store.read() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(customers)).scalar_one() == 1
        assert conn.execute(sa.select(sa.func.count()).select_from(events)).scalar_one() == 1


def test_expanding_what_cannot_be_expanded(api):
    customer = api.post("/v1/customers", data={"email": "a@example.com"}).json()
    error = _error(api.get(f"/v1/customers/{customer['id']}", params={"expand[]": "email"}), 400)
    assert error["param"] == "expand"
    error = _error(
        api.get(f"/v1/customers/{customer['id']}", params={"expand[]": "a.b.c.d.e"}), 400
    )
    assert error["param"] == "expand"


def test_advancing_a_clock_backwards(api):
    clock = api.post("/v1/test_helpers/test_clocks", data={"frozen_time": "1700000000"}).json()
    error = _error(
        api.post(
            f"/v1/test_helpers/test_clocks/{clock['id']}/advance",
            data={"frozen_time": "1600000000"},
        ),
        400,
    )
    assert error["param"] == "frozen_time"
    assert (
        api.get(f"/v1/test_helpers/test_clocks/{clock['id']}").json()["frozen_time"] == 1700000000
    )


@pytest.mark.parametrize(
    ("body", "param"),
    [
        (b"name=a%00b", "name"),
        (b"email=a%00b@example.com", "email"),
        (b"metadata[plan]=pro%00", "metadata[plan]"),
        (b"metadata[pl%00an]=pro", "metadata[pl\x00an]"),
    ],
)
def test_nul_characters_are_refused_not_stored(api, unchanged, body, param):
    # PostgreSQL text cannot hold NUL: an unchecked one would be a 500 there.
    error = _error(api.post("/v1/customers", content=body, headers=FORM), 400)
    assert error["param"] == param


def test_a_nul_in_a_meter_event_name_is_refused(api):
    body = b"event_name=calls%00&payload[value]=1&payload[stripe_customer_id]=cus_x"
    error = _error(api.post("/v1/billing/meter_events", content=body, headers=FORM), 400)
    assert error["param"] == "event_name"
