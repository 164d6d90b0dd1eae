"""/v1/coupons: create, retrieve, update, delete and list, and refusals that write nothing."""

from __future__ import annotations

import time

import pytest
from discounts_support import events_of, new_coupon, ok, refused, unchanged


def test_a_percent_off_coupon_is_created_with_stripes_shape(api):
    coupon = new_coupon(api, percent_off="25.5", duration="forever", name="25.5% off")
    assert len(coupon["id"]) == 8 and coupon["id"].isalnum() and coupon["id"].isupper()
    assert coupon["percent_off"] == 25.5
    assert (coupon["amount_off"], coupon["duration"], coupon["name"]) == (
        None,
        "forever",
        "25.5% off",
    )
    assert (coupon["times_redeemed"], coupon["valid"], coupon["livemode"]) == (0, True, False)
    assert "applies_to" not in coupon and "currency_options" not in coupon
    (event,) = events_of(api, "coupon.created")
    assert event["data"]["object"] == coupon


def test_whole_percentages_are_json_integers(api):
    assert new_coupon(api, percent_off="50")["percent_off"] == 50
    assert isinstance(new_coupon(api, percent_off="50.0")["percent_off"], int)
    assert new_coupon(api, percent_off="0.0001")["percent_off"] == 0.0001


def test_an_amount_off_coupon_with_currency_options_and_a_chosen_id(api):
    coupon = new_coupon(
        api,
        id="SUMMER_25",
        amount_off="500",
        currency="USD",
        **{"currency_options[eur][amount_off]": "450"},
        duration="repeating",
        duration_in_months="3",
        max_redemptions="10",
    )
    assert (coupon["id"], coupon["amount_off"], coupon["currency"]) == ("SUMMER_25", 500, "usd")
    assert (coupon["duration_in_months"], coupon["max_redemptions"]) == (3, 10)
    expanded = ok(api.get("/v1/coupons/SUMMER_25", params={"expand[]": "currency_options"}))
    assert expanded["currency_options"] == {"eur": {"amount_off": 450}, "usd": {"amount_off": 500}}


def test_applies_to_names_live_products_and_is_includable(api):
    product = ok(api.post("/v1/products", data={"name": "Seat", "id": "seat"}))
    data = {"percent_off": "10", "applies_to[products][0]": product["id"]}
    coupon = ok(api.post("/v1/coupons", data={**data, "expand[]": "applies_to"}))
    assert coupon["applies_to"] == {"products": ["seat"]}
    listed = ok(api.get("/v1/coupons", params={"expand[]": "data.applies_to"}))
    assert listed["data"][0]["applies_to"] == {"products": ["seat"]}


def test_update_changes_name_and_metadata_only(api):
    coupon = new_coupon(api, percent_off="10", name="Ten")
    updated = ok(
        api.post(f"/v1/coupons/{coupon['id']}", data={"name": "Tenner", "metadata[src]": "ads"})
    )
    assert (updated["name"], updated["metadata"]) == ("Tenner", {"src": "ads"})
    assert updated["percent_off"] == 10
    (event,) = events_of(api, "coupon.updated")
    assert event["data"]["previous_attributes"] == {"metadata": {"src": None}, "name": "Ten"}
    unchanged_again = ok(api.post(f"/v1/coupons/{coupon['id']}", data={"name": "Tenner"}))
    assert unchanged_again == updated
    assert len(events_of(api, "coupon.updated")) == 1


def test_a_deleted_coupon_is_gone_from_retrieve_and_list(api):
    kept, gone = new_coupon(api), new_coupon(api)
    stub = ok(api.delete(f"/v1/coupons/{gone['id']}"))
    assert stub == {"id": gone["id"], "object": "coupon", "deleted": True}
    refused(api.get(f"/v1/coupons/{gone['id']}"), "id", "resource_missing", 404)
    assert [c["id"] for c in ok(api.get("/v1/coupons"))["data"]] == [kept["id"]]
    (event,) = events_of(api, "coupon.deleted")
    assert event["data"]["object"]["valid"] is False
    refused(api.delete(f"/v1/coupons/{gone['id']}"), "id", "resource_missing", 404)


def test_list_is_newest_first_with_cursors_and_created_filter(api):
    ids = [new_coupon(api, id=f"C{n}", percent_off="5")["id"] for n in range(3)]
    page = ok(api.get("/v1/coupons", params={"limit": 2}))
    assert [c["id"] for c in page["data"]] == ["C2", "C1"] and page["has_more"]
    rest = ok(api.get("/v1/coupons", params={"starting_after": "C1"}))
    assert [c["id"] for c in rest["data"]] == ["C0"] and not rest["has_more"]
    created = ok(api.get(f"/v1/coupons/{ids[0]}"))["created"]
    later = ok(api.get("/v1/coupons", params={"created[gt]": created}))
    assert all(c["created"] > created for c in later["data"])


def test_a_coupon_id_is_unique_in_the_account(api):
    new_coupon(api, id="ONCE", percent_off="5")
    with_same = api.post("/v1/coupons", data={"id": "ONCE", "percent_off": "5"})
    refused(with_same, "id", "resource_already_exists")


def _future() -> str:
    return str(int(time.time()) + 86400)


@pytest.mark.parametrize(
    ("data", "param", "code"),
    [
        ({}, "percent_off", "parameter_missing"),
        ({"percent_off": "10", "amount_off": "5"}, "amount_off", "parameters_exclusive"),
        ({"amount_off": "500"}, "currency", "parameter_missing"),
        ({"percent_off": "0"}, "percent_off", "parameter_invalid"),
        ({"percent_off": "100.5"}, "percent_off", "parameter_invalid"),
        ({"percent_off": "10.00001"}, "percent_off", "parameter_invalid"),
        ({"amount_off": "0", "currency": "usd"}, "amount_off", "parameter_invalid_integer"),
        ({"percent_off": "5", "duration": "weekly"}, "duration", "parameter_invalid"),
        ({"percent_off": "5", "duration": "repeating"}, "duration_in_months", "parameter_missing"),
        (
            {"percent_off": "5", "duration_in_months": "2"},
            "duration_in_months",
            "parameter_invalid",
        ),
        ({"percent_off": "5", "redeem_by": "1000"}, "redeem_by", "parameter_invalid"),
        (
            {"percent_off": "5", "max_redemptions": "0"},
            "max_redemptions",
            "parameter_invalid_integer",
        ),
        ({"percent_off": "5", "name": "n" * 41}, "name", "parameter_invalid"),
        ({"percent_off": "5", "id": "has space"}, "id", "parameter_invalid"),
        (
            {"percent_off": "5", "applies_to[products][0]": "prod_missing"},
            "applies_to[products][0]",
            "resource_missing",
        ),
        (
            {"percent_off": "5", "currency_options[eur][amount_off]": "5"},
            "currency_options",
            "parameter_invalid",
        ),
        (
            {"amount_off": "5", "currency": "usd", "currency_options[usd][amount_off]": "5"},
            "currency_options[usd]",
            "parameter_invalid",
        ),
        ({"percent_off": "5", "color": "red"}, "color", "parameter_unknown"),
    ],
)
def test_bad_coupons_are_refused_and_write_nothing(api, store, data, param, code):
    with unchanged(store):
        response = api.post("/v1/coupons", data=data)
    status = 404 if code == "resource_missing" else 400
    refused(response, param, code, status)


def test_redeem_by_in_the_future_is_kept(api):
    redeem_by = _future()
    coupon = new_coupon(api, percent_off="5", redeem_by=redeem_by)
    assert coupon["redeem_by"] == int(redeem_by) and coupon["valid"] is True


def test_updating_terms_is_refused_and_writes_nothing(api, store):
    coupon = new_coupon(api)
    with unchanged(store):
        response = api.post(f"/v1/coupons/{coupon['id']}", data={"percent_off": "50"})
    refused(response, "percent_off", "parameter_unknown")
