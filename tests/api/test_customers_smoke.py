def test_a_customer_is_created_and_read_back(api):
    created = api.post("/v1/customers", data={"email": "ann@example.com", "metadata[tier]": "gold"})
    assert created.status_code == 200, created.text
    fetched = api.get(f"/v1/customers/{created.json()['id']}")
    assert fetched.json() == created.json()
