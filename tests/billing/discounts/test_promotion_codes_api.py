"""/v1/promotion_codes: codes for coupons, with restrictions; refusals write nothing."""

from __future__ import annotations

import time

import pytest
from discounts_support import events_of, new_coupon, new_customer, ok, refused, unchanged


def _promo(api, coupon: str, **params: str):  # type: ignore[no-untyped-def]
    data = {"promotion[type]": "coupon", "promotion[coupon]": coupon, **params}
    return ok(api.post("/v1/promotion_codes", data=data))


def test_a_code_for_a_coupon_in_stripes_newest_shape(api):
    coupon = new_coupon(api, id="FALL", percent_off="20")
    promo = _promo(api, "FALL", code="FALL20", **{"metadata[campaign]": "autumn"})
    assert promo["id"].startswith("promo_")
    assert (promo["code"], promo["active"], promo["metadata"]) == (
        "FALL20",
        True,
        {"campaign": "autumn"},
    )
    assert promo["promotion"] == {"coupon": coupon["id"], "type": "coupon"}
    assert promo["restrictions"] == {
        "first_time_transaction": False,
        "minimum_amount": None,
        "minimum_amount_currency": None,
    }
    assert (promo["customer"], promo["customer_account"], promo["times_redeemed"]) == (
        None,
        None,
        0,
    )
    (event,) = events_of(api, "promotion_code.created")
    assert event["data"]["object"] == promo


def test_the_older_coupon_param_is_accepted_too(api):
    new_coupon(api, id="OLD", percent_off="5")
    promo = ok(api.post("/v1/promotion_codes", data={"coupon": "OLD", "code": "old-style"}))
    assert promo["promotion"]["coupon"] == "OLD"


def test_a_code_is_generated_when_not_given(api):
    new_coupon(api, id="GEN", percent_off="5")
    codes = {_promo(api, "GEN")["code"] for _ in range(3)}
    assert len(codes) == 3
    assert all(len(code) == 8 and code.isalnum() for code in codes)


def test_the_coupon_expands_through_the_promotion_hash(api):
    new_coupon(api, id="my_coupon_1", percent_off="5")
    promo = _promo(api, "my_coupon_1")
    got = ok(api.get(f"/v1/promotion_codes/{promo['id']}", params={"expand[]": "promotion.coupon"}))
    assert got["promotion"]["coupon"]["object"] == "coupon"
    assert got["promotion"]["coupon"]["id"] == "my_coupon_1"


def test_codes_are_unique_among_active_codes_regardless_of_case(api, store):
    new_coupon(api, id="A", percent_off="5")
    first = _promo(api, "A", code="Welcome")
    with unchanged(store):
        again = api.post(
            "/v1/promotion_codes",
            data={"promotion[type]": "coupon", "promotion[coupon]": "A", "code": "WELCOME"},
        )
    refused(again, "code", "resource_already_exists")
    ok(api.post(f"/v1/promotion_codes/{first['id']}", data={"active": "false"}))
    second = _promo(api, "A", code="WELCOME")
    with unchanged(store):
        back = api.post(f"/v1/promotion_codes/{first['id']}", data={"active": "true"})
    refused(back, "active")
    assert second["active"] is True


def test_restrictions_and_their_currency_options(api):
    new_coupon(api, id="MIN", amount_off="500", currency="usd")
    customer = new_customer(api)
    promo = _promo(
        api,
        "MIN",
        customer=customer["id"],
        max_redemptions="3",
        **{
            "restrictions[first_time_transaction]": "true",
            "restrictions[minimum_amount]": "1000",
            "restrictions[minimum_amount_currency]": "usd",
            "restrictions[currency_options][eur][minimum_amount]": "900",
        },
    )
    assert promo["restrictions"] == {
        "first_time_transaction": True,
        "minimum_amount": 1000,
        "minimum_amount_currency": "usd",
    }
    assert (promo["customer"], promo["max_redemptions"]) == (customer["id"], 3)
    path = f"/v1/promotion_codes/{promo['id']}"
    expanded = ok(api.get(path, params={"expand[]": "restrictions.currency_options"}))
    assert expanded["restrictions"]["currency_options"] == {"eur": {"minimum_amount": 900}}
    updated = ok(
        api.post(
            path,
            data={
                "restrictions[currency_options][gbp][minimum_amount]": "800",
                "expand[]": "restrictions.currency_options",
            },
        )
    )
    assert updated["restrictions"]["currency_options"] == {
        "eur": {"minimum_amount": 900},
        "gbp": {"minimum_amount": 800},
    }
    (event,) = events_of(api, "promotion_code.updated")
    assert event["data"]["previous_attributes"] == {
        "restrictions": {"currency_options": {"gbp": None}}
    }


def test_update_active_and_metadata(api):
    new_coupon(api, id="U", percent_off="5")
    promo = _promo(api, "U")
    off = ok(api.post(f"/v1/promotion_codes/{promo['id']}", data={"active": "false"}))
    assert off["active"] is False
    (event,) = events_of(api, "promotion_code.updated")
    assert event["data"]["previous_attributes"] == {"active": True}
    tagged = ok(api.post(f"/v1/promotion_codes/{promo['id']}", data={"metadata[k]": "v"}))
    assert tagged["metadata"] == {"k": "v"}


def test_list_filters(api):
    new_coupon(api, id="L1", percent_off="5")
    new_coupon(api, id="L2", percent_off="5")
    customer = new_customer(api)
    a = _promo(api, "L1", code="Alpha")
    b = _promo(api, "L2", code="Beta", customer=customer["id"])
    c = _promo(api, "L2", code="Gamma", active="false")

    def ids(**params: str) -> list[str]:
        return [p["id"] for p in ok(api.get("/v1/promotion_codes", params=params))["data"]]

    assert ids() == [c["id"], b["id"], a["id"]]
    assert ids(coupon="L2") == [c["id"], b["id"]]
    assert ids(active="true") == [b["id"], a["id"]]
    assert ids(code="alpha") == [a["id"]]
    assert ids(customer=customer["id"]) == [b["id"]]


def _later(seconds: int) -> str:
    return str(int(time.time()) + seconds)


def test_a_code_cannot_outlive_or_outnumber_its_coupon(api, store):
    new_coupon(api, id="LIMITED", percent_off="5", max_redemptions="2", redeem_by=_later(3600))
    base = {"promotion[type]": "coupon", "promotion[coupon]": "LIMITED"}
    with unchanged(store):
        too_many = api.post("/v1/promotion_codes", data={**base, "max_redemptions": "3"})
        too_late = api.post("/v1/promotion_codes", data={**base, "expires_at": _later(7200)})
        past = api.post("/v1/promotion_codes", data={**base, "expires_at": "1000"})
    refused(too_many, "max_redemptions")
    refused(too_late, "expires_at")
    refused(past, "expires_at")


@pytest.mark.parametrize(
    ("data", "param", "code"),
    [
        ({}, "promotion", "parameter_missing"),
        ({"promotion[type]": "coupon"}, "promotion[coupon]", "parameter_missing"),
        ({"promotion[coupon]": "BASE"}, "promotion[type]", "parameter_missing"),
        (
            {"promotion[type]": "gift", "promotion[coupon]": "BASE"},
            "promotion[type]",
            "parameter_invalid",
        ),
        (
            {"promotion[type]": "coupon", "promotion[coupon]": "BASE", "coupon": "BASE"},
            "promotion",
            "parameters_exclusive",
        ),
        (
            {"promotion[type]": "coupon", "promotion[coupon]": "NOPE"},
            "promotion[coupon]",
            "resource_missing",
        ),
        ({"coupon": "BASE", "code": "has space"}, "code", "parameter_invalid"),
        ({"coupon": "BASE", "code": "x" * 501}, "code", "parameter_invalid"),
        ({"coupon": "BASE", "customer": "cus_missing"}, "customer", "resource_missing"),
        (
            {"coupon": "BASE", "max_redemptions": "0"},
            "max_redemptions",
            "parameter_invalid_integer",
        ),
        (
            {"coupon": "BASE", "restrictions[minimum_amount]": "100"},
            "restrictions[minimum_amount_currency]",
            "parameter_missing",
        ),
        (
            {
                "coupon": "BASE",
                "restrictions[minimum_amount]": "100",
                "restrictions[minimum_amount_currency]": "usd",
                "restrictions[currency_options][usd][minimum_amount]": "100",
            },
            "restrictions[currency_options][usd]",
            "parameter_invalid",
        ),
    ],
)
def test_bad_codes_are_refused_and_write_nothing(api, store, data, param, code):
    new_coupon(api, id="BASE", percent_off="5")
    with unchanged(store):
        response = api.post("/v1/promotion_codes", data=data)
    status = 404 if code == "resource_missing" else 400
    refused(response, param, code, status)


def test_a_deleted_coupon_takes_no_new_codes(api, store):
    new_coupon(api, id="GONE", percent_off="5")
    ok(api.delete("/v1/coupons/GONE"))
    with unchanged(store):
        response = api.post("/v1/promotion_codes", data={"coupon": "GONE"})
    refused(response, "coupon", "resource_missing", 404)
