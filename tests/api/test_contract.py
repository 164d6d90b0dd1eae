"""The wire contract: every object we render has its Stripe fixture's keys, with its types.

Objects are made through the API, then compared with ``fixtures3.json`` recursively:
nested hashes must have exactly the fixture's keys (``metadata`` is free-form), a value of
ours may be null where Stripe's is set ("null when unset"), and where both are set their
JSON types agree. An expandable field may be an id or, once expanded, the object it
names, which is then held to that object's own fixture.
"""

from __future__ import annotations

import copy
import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from conftest import FIXTURES

RESOURCES: dict[str, Any] = json.loads(FIXTURES.read_text())["resources"]
# fixtures3 elides customer.shipping to {}; Stripe documents it as {address, name, phone}.
RESOURCES["customer"] = copy.deepcopy(RESOURCES["customer"])
RESOURCES["customer"]["shipping"] = {
    "address": RESOURCES["customer"]["address"],
    "name": "Jenny Rosen",
    "phone": None,
}
# A test clock's status_details holds {"advancing": {"target_frozen_time"}} only while it
# advances (Stripe's documented shape); the fixture shows a ready clock, so it is checked
# in test_an_advancing_clock_names_its_target instead.
FREE_FORM_KEYS = frozenset({"metadata", "status_details"})
# Stripe's OpenAPI types these as JSON numbers: a whole value is written as an integer (the
# tax_rate fixture's 19), a fractional one with its fraction (the coupon fixture's 25.5).
NUMBER_KEYS = frozenset({"percentage", "percent_off"})
LIST_KEYS = frozenset({"object", "data", "has_more", "url"})
NUMBERS = frozenset({"integer", "number"})


# -- the comparison ---------------------------------------------------------------------------
def json_type(value: Any) -> str:
    # bool before int: in Python a bool is an int, on the wire it is not.
    for kind, name in ((bool, "boolean"), (int, "integer"), (float, "number"), (str, "string")):
        if isinstance(value, kind):
            return name
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return "null" if value is None else type(value).__name__


def shape_problems(
    ours: Any, fixture: Any, path: str = "", allowed_extra: frozenset[str] = frozenset()
) -> list[str]:
    """Every way ``ours`` departs from ``fixture``'s shape, one line each."""
    where = path or "(top level)"
    if ours is None or (fixture is None and not isinstance(ours, dict)):
        return []
    if isinstance(ours, dict) and "object" in ours and not isinstance(fixture, dict):
        # An expanded field: the fixture shows an id (or null); hold it to its own fixture.
        if ours["object"] not in RESOURCES:
            return [f"{where}: expanded to {ours['object']!r}, which has no fixture"]
        return shape_problems(ours, RESOURCES[ours["object"]], path)
    if fixture is None:
        return [f"{where}: a hash where the fixture has null and names no object type"]
    if json_type(ours) != json_type(fixture):
        return [f"{where}: {json_type(ours)} where the fixture has {json_type(fixture)}"]
    if isinstance(ours, list):
        if not fixture or not isinstance(fixture[0], dict):
            return []
        return [
            problem
            for index, item in enumerate(ours)
            for problem in shape_problems(item, fixture[0], f"{path}[{index}]")
        ]
    if not isinstance(ours, dict):
        return []
    return _hash_problems(ours, fixture, path, allowed_extra)


def _hash_problems(
    ours: dict[str, Any], fixture: dict[str, Any], path: str, allowed_extra: frozenset[str]
) -> list[str]:
    where = path or "(top level)"
    problems = []
    missing = sorted(fixture.keys() - ours.keys())
    extra = sorted(ours.keys() - fixture.keys() - allowed_extra)
    if missing:
        problems.append(f"{where}: missing keys {missing}")
    if extra:
        problems.append(f"{where}: extra keys {extra}")
    if "object" in fixture and ours.get("object") != fixture["object"]:
        problems.append(f"{where}: object is {ours.get('object')!r}, not {fixture['object']!r}")
    for key in sorted(ours.keys() & fixture.keys() - FREE_FORM_KEYS):
        if key in NUMBER_KEYS and {json_type(ours[key]), json_type(fixture[key])} <= NUMBERS:
            continue
        problems += shape_problems(ours[key], fixture[key], f"{path}.{key}".lstrip("."))
    return problems


def assert_matches(ours: Mapping[str, Any], fixture_name: str, **kwargs: Any) -> None:
    problems = shape_problems(dict(ours), RESOURCES[fixture_name], **kwargs)
    assert not problems, f"{ours.get('object')} vs fixture {fixture_name!r}:\n  " + "\n  ".join(
        problems
    )


def test_the_comparison_reports_missing_extra_and_mistyped_keys():
    fixture = {"object": "thing", "a": 1, "nested": {"x": "s", "y": None}, "flag": False}
    ours = {"object": "thing", "b": 2, "nested": {"x": 3}, "flag": 0}
    assert shape_problems(ours, fixture) == [
        "(top level): missing keys ['a']",
        "(top level): extra keys ['b']",
        "flag: integer where the fixture has boolean",
        "nested: missing keys ['y']",
        "nested.x: integer where the fixture has string",
    ]
    assert shape_problems({**fixture, "metadata": {"k": "v"}}, {**fixture, "metadata": {}}) == []
    assert shape_problems({**fixture, "nested": None}, fixture) == []
    assert (
        shape_problems({**fixture, "token": "t"}, fixture, allowed_extra=frozenset({"token"})) == []
    )


def test_only_stripes_number_fields_may_be_whole_or_fractional():
    assert shape_problems({"percentage": 8.875}, {"percentage": 19}) == []
    assert shape_problems({"percent_off": 50}, {"percent_off": 25.5}) == []
    assert shape_problems({"amount": 1.5}, {"amount": 100}) == [
        "amount: number where the fixture has integer"
    ]


def test_the_comparison_holds_an_expanded_field_to_its_own_fixture():
    clock = dict(RESOURCES["test_helpers.test_clock"])
    assert shape_problems({"test_clock": clock}, {"test_clock": None}) == []
    assert shape_problems({"test_clock": clock}, {"test_clock": "clock_123"}) == []
    del clock["frozen_time"]
    assert shape_problems({"test_clock": clock}, {"test_clock": "clock_123"}) == [
        "test_clock: missing keys ['frozen_time']"
    ]


# -- making real objects ----------------------------------------------------------------------
def call(api: httpx.Client, method: str, path: str, data: dict[str, str] | None = None) -> Any:
    response = api.request(method, path, data=data)
    assert response.status_code == 200, f"{method} {path}: {response.text}"
    return response.json()


FULL_CUSTOMER = {
    "email": "ann@example.com",
    "name": "Ann Smith",
    "description": "Our first customer",
    "phone": "+15555550100",
    "balance": "-500",
    "tax_exempt": "none",
    "preferred_locales[0]": "en",
    "metadata[tier]": "gold",
    "address[line1]": "1 Main St",
    "address[city]": "Springfield",
    "address[country]": "US",
    "shipping[name]": "Ann Smith",
    "shipping[phone]": "+15555550101",
    "shipping[address][line1]": "2 Dock Rd",
    "shipping[address][postal_code]": "12345",
    "invoice_settings[custom_fields][0][name]": "PO",
    "invoice_settings[custom_fields][0][value]": "4711",
    "invoice_settings[footer]": "Thank you",
    "invoice_settings[rendering_options][amount_tax_display]": "exclude_tax",
    "invoice_settings[rendering_options][template]": "inrtem_123",
}


def new_customer(api: httpx.Client, **extra: str) -> Any:
    return call(api, "POST", "/v1/customers", {**FULL_CUSTOMER, **extra})


def new_clock(api: httpx.Client) -> Any:
    frozen_time = str(int(time.time()) - 3600)
    return call(api, "POST", "/v1/test_helpers/test_clocks", {"frozen_time": frozen_time})


def new_endpoint(api: httpx.Client) -> Any:
    return call(
        api,
        "POST",
        "/v1/webhook_endpoints",
        {"url": "https://example.com/hooks", "enabled_events[0]": "customer.created"},
    )


def customer_on_clock_expanded(api: httpx.Client) -> Any:
    clock = new_clock(api)
    customer = new_customer(api, test_clock=clock["id"])
    expanded = call(api, "GET", f"/v1/customers/{customer['id']}?expand[]=test_clock")
    assert expanded["test_clock"]["id"] == clock["id"]
    return expanded


def retrieved_deleted_customer(api: httpx.Client) -> Any:
    customer = new_customer(api)
    call(api, "DELETE", f"/v1/customers/{customer['id']}")
    return call(api, "GET", f"/v1/customers/{customer['id']}")


def advanced_clock(api: httpx.Client) -> Any:
    clock = new_clock(api)
    later = str(clock["frozen_time"] + 86400)
    path = f"/v1/test_helpers/test_clocks/{clock['id']}/advance"
    return call(api, "POST", path, {"frozen_time": later})


def new_tax_rate(api: httpx.Client) -> Any:
    data = {"display_name": "VAT", "percentage": "8.875", "inclusive": "false", "country": "US",
            "state": "NY", "jurisdiction": "NY", "tax_type": "sales_tax"}  # fmt: skip
    return call(api, "POST", "/v1/tax_rates", data)


def new_coupon(api: httpx.Client) -> Any:
    redeem_by = str(int(time.time()) + 3600)
    data = {"percent_off": "25.5", "duration": "repeating", "duration_in_months": "3",
            "max_redemptions": "5", "redeem_by": redeem_by, "name": "25.5% off"}  # fmt: skip
    return call(api, "POST", "/v1/coupons", data)


def new_promotion_code(api: httpx.Client) -> Any:
    data = {"promotion[type]": "coupon", "promotion[coupon]": new_coupon(api)["id"],
            "restrictions[minimum_amount]": "1000",
            "restrictions[minimum_amount_currency]": "usd"}  # fmt: skip
    return call(api, "POST", "/v1/promotion_codes", data)


def promotion_code_with_coupon_expanded(api: httpx.Client) -> Any:
    promo = new_promotion_code(api)
    path = f"/v1/promotion_codes/{promo['id']}?expand[]=promotion.coupon"
    expanded = call(api, "GET", path)
    assert expanded["promotion"]["coupon"]["object"] == "coupon"
    return expanded


@dataclass(frozen=True)
class Case:
    fixture: str
    make: Callable[[httpx.Client], Any]
    allowed_extra: frozenset[str] = frozenset()


CASES = {
    "customer created with every hash set": Case("customer", new_customer),
    "customer created bare": Case("customer", lambda api: call(api, "POST", "/v1/customers")),
    "customer retrieved": Case(
        "customer", lambda api: call(api, "GET", f"/v1/customers/{new_customer(api)['id']}")
    ),
    "customer updated": Case(
        "customer",
        lambda api: call(
            api, "POST", f"/v1/customers/{new_customer(api)['id']}", {"name": "Ann", "phone": ""}
        ),
    ),
    "customer with rendering_options partly set": Case(
        "customer",
        lambda api: call(
            api,
            "POST",
            "/v1/customers",
            {"invoice_settings[rendering_options][amount_tax_display]": "exclude_tax"},
        ),
    ),
    "customer with test_clock expanded": Case("customer", customer_on_clock_expanded),
    "customer deleted": Case(
        "deleted_customer",
        lambda api: call(api, "DELETE", f"/v1/customers/{new_customer(api)['id']}"),
    ),
    "customer retrieved after deletion": Case("deleted_customer", retrieved_deleted_customer),
    "test clock created": Case("test_helpers.test_clock", new_clock),
    "test clock retrieved": Case(
        "test_helpers.test_clock",
        lambda api: call(api, "GET", f"/v1/test_helpers/test_clocks/{new_clock(api)['id']}"),
    ),
    "test clock advancing": Case("test_helpers.test_clock", advanced_clock),
    "test clock deleted": Case(
        "deleted_test_helpers.test_clock",
        lambda api: call(api, "DELETE", f"/v1/test_helpers/test_clocks/{new_clock(api)['id']}"),
    ),
    # Stripe shows an endpoint's signing secret once, in the create response.
    "webhook endpoint created": Case("webhook_endpoint", new_endpoint, frozenset({"secret"})),
    "webhook endpoint retrieved": Case(
        "webhook_endpoint",
        lambda api: call(api, "GET", f"/v1/webhook_endpoints/{new_endpoint(api)['id']}"),
    ),
    "webhook endpoint updated": Case(
        "webhook_endpoint",
        lambda api: call(
            api,
            "POST",
            f"/v1/webhook_endpoints/{new_endpoint(api)['id']}",
            {"description": "Orders", "metadata[team]": "billing", "disabled": "true"},
        ),
    ),
    "tax rate created": Case("tax_rate", new_tax_rate),
    "tax rate updated": Case(
        "tax_rate",
        lambda api: call(
            api, "POST", f"/v1/tax_rates/{new_tax_rate(api)['id']}", {"active": "false"}
        ),
    ),
    "coupon created": Case("coupon", new_coupon),
    "coupon amount off": Case(
        "coupon",
        lambda api: call(api, "POST", "/v1/coupons", {"amount_off": "500", "currency": "usd"}),
    ),
    "coupon deleted": Case(
        "deleted_coupon",
        lambda api: call(api, "DELETE", f"/v1/coupons/{new_coupon(api)['id']}"),
    ),
    "promotion code created": Case("promotion_code", new_promotion_code),
    "promotion code with coupon expanded": Case(
        "promotion_code", promotion_code_with_coupon_expanded
    ),
    "webhook endpoint deleted": Case(
        "deleted_webhook_endpoint",
        lambda api: call(api, "DELETE", f"/v1/webhook_endpoints/{new_endpoint(api)['id']}"),
    ),
}


@pytest.mark.parametrize("name", CASES)
def test_object_has_the_fixture_shape(api, name):
    case = CASES[name]
    obj = case.make(api)
    assert_matches(obj, case.fixture, allowed_extra=case.allowed_extra)


def test_a_created_webhook_endpoint_carries_its_secret(api):
    assert new_endpoint(api)["secret"].startswith("whsec_")


def test_deleted_stubs_say_deleted_true(api):
    customer = call(api, "DELETE", f"/v1/customers/{new_customer(api)['id']}")
    clock = call(api, "DELETE", f"/v1/test_helpers/test_clocks/{new_clock(api)['id']}")
    endpoint = call(api, "DELETE", f"/v1/webhook_endpoints/{new_endpoint(api)['id']}")
    assert [stub["deleted"] for stub in (customer, clock, endpoint)] == [True, True, True]


# -- list objects -----------------------------------------------------------------------------
LISTS = {
    "/v1/customers": ("customer", new_customer),
    "/v1/test_helpers/test_clocks": ("test_helpers.test_clock", new_clock),
    "/v1/webhook_endpoints": ("webhook_endpoint", new_endpoint),
    "/v1/tax_rates": ("tax_rate", new_tax_rate),
    "/v1/coupons": ("coupon", new_coupon),
    "/v1/promotion_codes": ("promotion_code", new_promotion_code),
}


@pytest.mark.parametrize("url", LISTS)
def test_list_object_has_the_list_shape_and_items_their_fixtures(api, url):
    fixture, make = LISTS[url]
    make(api)
    make(api)
    listed = call(api, "GET", f"{url}?limit=1")
    assert listed.keys() == LIST_KEYS, f"list keys {sorted(listed)}"
    assert (listed["object"], listed["url"], listed["has_more"]) == ("list", url, True)
    assert len(listed["data"]) == 1
    for item in listed["data"]:
        assert_matches(item, fixture)


def test_customer_list_with_expanded_clocks_matches_fixtures(api):
    clock = new_clock(api)
    new_customer(api, test_clock=clock["id"])
    listed = call(api, "GET", "/v1/customers?expand[]=data.test_clock")
    assert listed.keys() == LIST_KEYS
    (customer,) = listed["data"]
    assert isinstance(customer["test_clock"], dict)
    assert_matches(customer, "customer")


# -- events -----------------------------------------------------------------------------------
def assert_event_matches(event: dict[str, Any]) -> None:
    """The envelope against the ``event`` fixture; ``data.object`` against its own fixture
    (the ``event`` fixture's object is a plan)."""
    envelope = {key: value for key, value in event.items() if key != "data"}
    fixture = {key: value for key, value in RESOURCES["event"].items() if key != "data"}
    problems = shape_problems(envelope, fixture)
    # Stripe adds previous_attributes to *.updated events only.
    updated = event["type"].endswith(".updated")
    data_keys = {"object", "previous_attributes"} if updated else {"object"}
    if event["data"].keys() != data_keys:
        problems.append(f"data: keys {sorted(event['data'])}, expected {sorted(data_keys)}")
    inner = event["data"].get("object", {})
    problems += shape_problems(inner, RESOURCES.get(inner.get("object"), {}), "data.object")
    assert not problems, f"event {event['type']}:\n  " + "\n  ".join(problems)


@pytest.mark.parametrize("event_type", ["customer.created", "customer.updated", "customer.deleted"])
def test_event_envelope_has_the_fixture_shape(api, event_type):
    customer = new_customer(api)
    call(api, "POST", f"/v1/customers/{customer['id']}", {"name": "Renamed"})
    call(api, "DELETE", f"/v1/customers/{customer['id']}")
    listed = call(api, "GET", f"/v1/events?type={event_type}")
    assert listed.keys() == LIST_KEYS
    (event,) = listed["data"]
    assert_event_matches(event)
    assert_event_matches(call(api, "GET", f"/v1/events/{event['id']}"))


def test_discount_and_tax_events_have_the_fixture_shape(api):
    rate = new_tax_rate(api)
    call(api, "POST", f"/v1/tax_rates/{rate['id']}", {"display_name": "Sales tax"})
    promo = new_promotion_code(api)
    call(api, "POST", f"/v1/promotion_codes/{promo['id']}", {"active": "false"})
    coupon = promo["promotion"]["coupon"]
    call(api, "POST", f"/v1/coupons/{coupon}", {"name": "Renamed"})
    call(api, "DELETE", f"/v1/coupons/{coupon}")
    kinds = ("tax_rate", "promotion_code", "coupon")
    types = [f"{kind}.{verb}" for kind in kinds for verb in ("created", "updated")]
    for event_type in [*types, "coupon.deleted"]:
        (event,) = call(api, "GET", f"/v1/events?type={event_type}")["data"]
        assert_event_matches(event)


def test_test_clock_event_has_the_fixture_shape(api):
    new_clock(api)
    (event,) = call(api, "GET", "/v1/events?type=test_helpers.test_clock.created")["data"]
    assert_event_matches(event)


def test_an_advancing_clock_names_its_target(api):
    clock = api.post("/v1/test_helpers/test_clocks", data={"frozen_time": "1700000000"}).json()
    assert clock["status_details"] == {}
    advancing = api.post(
        f"/v1/test_helpers/test_clocks/{clock['id']}/advance", data={"frozen_time": "1700086400"}
    ).json()
    assert advancing["status"] == "advancing"
    assert advancing["status_details"] == {"advancing": {"target_frozen_time": 1700086400}}
