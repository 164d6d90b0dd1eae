"""/v1/products: create, retrieve, update, delete, list, events, and update refusals."""

from __future__ import annotations

import pytest
from catalog_support import events_of, new_price, new_product, ok, refused, unchanged

from api.test_contract import assert_matches
from conftest import new_account

FULL = {
    "name": "T-shirt",
    "description": "Comfortable gray cotton t-shirt",
    "active": "true",
    "images[0]": "https://example.com/shirt.png",
    "marketing_features[0][name]": "Organic cotton",
    "metadata[sku]": "TS-1",
    "package_dimensions[height]": "3",
    "package_dimensions[length]": "12",
    "package_dimensions[weight]": "7",
    "package_dimensions[width]": "10",
    "shippable": "true",
    "statement_descriptor": "ACME SHIRTS",
    "tax_code": "txcd_99999999",
    "type": "good",
    "unit_label": "shirt",
    "url": "https://example.com/shirt",
}


def test_a_product_is_created_with_what_was_sent_and_read_back(api):
    product = new_product(api, **FULL)
    assert_matches(product, "product")
    assert product["id"].startswith("prod_")
    assert product["name"] == "T-shirt"
    assert product["images"] == ["https://example.com/shirt.png"]
    assert product["marketing_features"] == [{"name": "Organic cotton"}]
    assert product["package_dimensions"] == {"height": 3, "length": 12, "weight": 7, "width": 10}
    assert (product["shippable"], product["type"], product["unit_label"]) == (
        True,
        "good",
        "shirt",
    )
    assert product["default_price"] is None
    assert product["updated"] == product["created"]
    assert ok(api.get(f"/v1/products/{product['id']}")) == product
    (event,) = events_of(api, "product.created")
    assert event["data"]["object"] == product


def test_package_dimensions_keep_two_decimal_places_exactly(api):
    dimensions = {"height": "2.5", "length": "0.01", "weight": "7.25", "width": "1000.99"}
    product = new_product(api, **{f"package_dimensions[{k}]": v for k, v in dimensions.items()})
    # Stripe's type is a JSON number; the wire text is the decimal that was sent.
    assert product["package_dimensions"] == {
        "height": 2.5,
        "length": 0.01,
        "weight": 7.25,
        "width": 1000.99,
    }
    raw = api.get(f"/v1/products/{product['id']}").text
    assert '"width": 1000.99' in raw and '"length": 0.01' in raw


def test_a_bare_product_has_stripe_defaults(api):
    product = new_product(api)
    assert_matches(product, "product")
    assert product["active"] is True
    assert product["type"] == "service"
    assert product["images"] == [] and product["marketing_features"] == []
    assert product["package_dimensions"] is None and product["shippable"] is None


def test_a_custom_id_is_kept_and_unique_per_account(api, server, store):
    product = new_product(api, id="gold-plan")
    assert product["id"] == "gold-plan"
    assert ok(api.get("/v1/products/gold-plan"))["name"] == "Widget"
    with unchanged(store):
        refused(
            api.post("/v1/products", data={"name": "Again", "id": "gold-plan"}),
            "id",
            "resource_already_exists",
        )
    other = new_account(store, "Other")
    headers = {"Authorization": f"Bearer {other.secret_key}"}
    with api.__class__(base_url=server.url, headers=headers) as client:
        theirs = ok(client.post("/v1/products", data={"name": "Theirs", "id": "gold-plan"}))
    assert theirs["name"] == "Theirs"
    assert ok(api.get("/v1/products/gold-plan"))["name"] == "Widget"


@pytest.mark.parametrize("bad_id", ["has space", "a/b", "x" * 41, "ünï"])
def test_a_malformed_custom_id_is_refused(api, store, bad_id):
    with unchanged(store):
        refused(api.post("/v1/products", data={"name": "W", "id": bad_id}), "id")


def test_default_price_data_creates_the_default_price(api):
    product = new_product(
        api,
        **{
            "default_price_data[currency]": "eur",
            "default_price_data[unit_amount]": "1500",
            "default_price_data[recurring][interval]": "month",
            "default_price_data[tax_behavior]": "exclusive",
            "default_price_data[metadata][plan]": "pro",
        },
    )
    price = ok(api.get(f"/v1/prices/{product['default_price']}"))
    assert_matches(price, "price")
    assert (price["product"], price["currency"], price["unit_amount"]) == (
        product["id"],
        "eur",
        1500,
    )
    assert price["recurring"]["interval"] == "month"
    assert (price["tax_behavior"], price["metadata"]) == ("exclusive", {"plan": "pro"})
    assert [e["data"]["object"]["id"] for e in events_of(api, "price.created")] == [price["id"]]
    expanded = ok(api.get(f"/v1/products/{product['id']}?expand[]=default_price"))
    assert expanded["default_price"] == price
    assert_matches(expanded, "product")


def test_update_changes_what_was_sent_and_reports_previous_attributes(api):
    product = new_product(api, **FULL)
    updated = ok(
        api.post(
            f"/v1/products/{product['id']}",
            data={
                "name": "Tee",
                "description": "",
                "images": "",
                "metadata[sku]": "",
                "metadata[size]": "L",
                "package_dimensions": "",
                "unit_label": "",
            },
        )
    )
    assert_matches(updated, "product")
    assert (updated["name"], updated["description"], updated["unit_label"]) == ("Tee", None, None)
    assert updated["images"] == [] and updated["package_dimensions"] is None
    assert updated["metadata"] == {"size": "L"}
    assert updated["updated"] >= product["updated"]
    assert ok(api.get(f"/v1/products/{product['id']}")) == updated
    (event,) = events_of(api, "product.updated")
    previous = event["data"]["previous_attributes"]
    assert previous["name"] == "T-shirt"
    assert previous["description"] == "Comfortable gray cotton t-shirt"
    assert previous["metadata"] == {"sku": "TS-1", "size": None}
    assert previous["images"] == ["https://example.com/shirt.png"]


def test_an_update_that_changes_nothing_emits_nothing(api):
    product = new_product(api, name="Same")
    assert ok(api.post(f"/v1/products/{product['id']}", data={"name": "Same"})) == product
    assert events_of(api, "product.updated") == []


def test_default_price_must_be_an_active_price_of_the_product(api, store):
    product = new_product(api)
    mine = new_price(api, product["id"], unit_amount="100")
    theirs = new_price(api, unit_amount="200")
    archived = new_price(api, product["id"], unit_amount="300", active="false")
    url = f"/v1/products/{product['id']}"
    with unchanged(store):
        refused(api.post(url, data={"default_price": theirs["id"]}), "default_price")
        refused(api.post(url, data={"default_price": archived["id"]}), "default_price")
        refused(
            api.post(url, data={"default_price": "price_nope"}),
            "default_price",
            "resource_missing",
            404,
        )
    assert ok(api.post(url, data={"default_price": mine["id"]}))["default_price"] == mine["id"]
    with unchanged(store):
        refused(api.post(f"/v1/prices/{mine['id']}", data={"active": "false"}), "active")
    assert ok(api.post(url, data={"default_price": ""}))["default_price"] is None
    assert ok(api.post(f"/v1/prices/{mine['id']}", data={"active": "false"}))["active"] is False


def test_a_product_without_prices_is_deleted(api):
    product = new_product(api, id="gone")
    deleted = ok(api.delete("/v1/products/gone"))
    assert_matches(deleted, "deleted_product")
    assert deleted == {"id": "gone", "object": "product", "deleted": True}
    refused(api.get("/v1/products/gone"), "id", "resource_missing", 404)
    refused(api.post("/v1/products/gone", data={"name": "x"}), "id", "resource_missing", 404)
    refused(api.delete("/v1/products/gone"), "id", "resource_missing", 404)
    assert ok(api.get("/v1/products"))["data"] == []
    (event,) = events_of(api, "product.deleted")
    assert event["data"]["object"]["id"] == product["id"]
    # The id stays taken: old events keep naming one product.
    refused(
        api.post("/v1/products", data={"name": "W", "id": "gone"}), "id", "resource_already_exists"
    )


def test_a_product_with_prices_cannot_be_deleted(api, store):
    product = new_product(api)
    price = new_price(api, product["id"], unit_amount="100", active="false")
    assert price["active"] is False
    with unchanged(store):
        error = refused(api.delete(f"/v1/products/{product['id']}"), None, None)
    assert "user-created prices" in error["message"]


def test_unknown_products_are_missing(api):
    refused(api.get("/v1/products/prod_nope"), "id", "resource_missing", 404)


def test_list_is_newest_first_whatever_the_ids_and_pages_by_them(api):
    ids = [new_product(api, id=name)["id"] for name in ("zeta", "alpha", "mid")]
    ids.append(new_product(api)["id"])
    listed = ok(api.get("/v1/products", params={"limit": 2}))
    assert [p["id"] for p in listed["data"]] == ids[::-1][:2]
    assert listed["has_more"] is True and listed["url"] == "/v1/products"
    rest = ok(api.get("/v1/products", params={"starting_after": ids[2]}))
    assert [p["id"] for p in rest["data"]] == ["alpha", "zeta"]
    before = ok(api.get("/v1/products", params={"ending_before": "alpha"}))
    assert [p["id"] for p in before["data"]] == ids[::-1][:2]
    refused(
        api.get("/v1/products", params={"starting_after": "nope"}),
        "starting_after",
        "resource_missing",
        404,
    )


def test_list_filters(api):
    shirt = new_product(api, **FULL)
    plain = new_product(api, name="Plain", active="false")
    page = ok(api.get("/v1/products", params={"active": "false"}))["data"]
    assert [p["id"] for p in page] == [plain["id"]]
    assert [p["id"] for p in ok(api.get("/v1/products?shippable=true"))["data"]] == [shirt["id"]]
    by_url = ok(api.get("/v1/products", params={"url": FULL["url"]}))["data"]
    assert [p["id"] for p in by_url] == [shirt["id"]]
    assert [p["id"] for p in ok(api.get("/v1/products?type=good"))["data"]] == [shirt["id"]]
    by_ids = ok(api.get("/v1/products", params={"ids[0]": plain["id"], "ids[1]": "nope"}))
    assert [p["id"] for p in by_ids["data"]] == [plain["id"]]
    created = ok(api.get("/v1/products", params={"created[gt]": str(shirt["created"] + 10**6)}))
    assert created["data"] == []
    for item in ok(api.get("/v1/products"))["data"]:
        assert_matches(item, "product")


def test_events_carry_the_fixture_shape(api):
    from api.test_contract import assert_event_matches

    product = new_product(api, **FULL)
    ok(api.post(f"/v1/products/{product['id']}", data={"name": "Renamed"}))
    ok(api.delete(f"/v1/products/{product['id']}"))
    for event_type in ("product.created", "product.updated", "product.deleted"):
        (event,) = events_of(api, event_type)
        assert_event_matches(event)


def test_concurrent_creates_of_one_custom_id_make_one_product(server, account):
    from concurrent.futures import ThreadPoolExecutor

    import httpx

    headers = {"Authorization": f"Bearer {account.secret_key}"}

    def attempt(n: int) -> httpx.Response:
        with httpx.Client(base_url=server.url, headers=headers, timeout=30) as client:
            return client.post("/v1/products", data={"name": f"P{n}", "id": "only-one"})

    with ThreadPoolExecutor(max_workers=8) as pool:
        responses = list(pool.map(attempt, range(8)))
    assert sorted(r.status_code for r in responses) == [200] + [400] * 7
    codes = {r.json()["error"]["code"] for r in responses if r.status_code == 400}
    assert codes == {"resource_already_exists"}


@pytest.mark.parametrize(
    ("data", "param", "code"),
    [
        ({"name": ""}, "name", "parameter_invalid_empty"),
        ({"active": "maybe"}, "active", None),
        ({"statement_descriptor": "no 'quotes'"}, "statement_descriptor", None),
        ({"images[0]": ""}, "images[0]", "parameter_invalid_empty"),
        ({"package_dimensions[height]": "1"}, "package_dimensions[length]", "parameter_missing"),
        ({"default_price": "price_nope"}, "default_price", "resource_missing"),
        ({"type": "good"}, "type", "parameter_unknown"),
        ({"id": "new-id"}, "id", "parameter_unknown"),
        ({"default_price_data[currency]": "usd"}, "default_price_data", "parameter_unknown"),
        ({"url": "u" * 5001}, "url", None),
    ],
)
def test_bad_update_params_are_refused_and_write_nothing(api, store, data, param, code):
    product = new_product(api, **FULL)
    status = 404 if code == "resource_missing" else 400
    with unchanged(store):
        refused(
            api.post(f"/v1/products/{product['id']}", data=data),
            param,
            code or "parameter_invalid",
            status,
        )
