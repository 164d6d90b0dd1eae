"""Endpoint schemas: typed values out, or the first problem as a Stripe-shaped error."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest

from remit.api.forms import decode_form, decode_query
from remit.api.params import (
    LIST_PARAMS,
    Bool,
    Email,
    Enum,
    Expand,
    Field,
    Int,
    ListOf,
    Metadata,
    MetadataUpdate,
    Obj,
    RangeFilter,
    Schema,
    Str,
    Timestamp,
    list_schema,
)
from remit.primitives.errors import InvalidRequestError

ADDRESS = Obj({"line1": Str(), "city": Str(), "country": Str(max_length=2)}, nullable=True)
ITEM = Obj({"price": Str(blank_ok=False), "quantity": Int(min=1)}, required={"price"})
CUSTOMER = Schema(
    {
        "email": Email(nullable=True),
        "name": Str(max_length=256, nullable=True),
        "description": Str(),
        "tax_exempt": Enum(("none", "exempt", "reverse")),
        "address": ADDRESS,
        "metadata": Metadata(),
        "items": ListOf(ITEM, max_items=3),
        "livemode": Bool(),
        "trial_end": Timestamp(allow_now=True),
        "expand": Expand(),
    }
)


def one(field: Field, value: Any, name: str = "x") -> Any:
    """Validate a single param named ``name`` under ``field``."""
    return Schema({name: field}).validate({name: value})[name]


def failure(schema: Schema, params: Mapping[str, Any]) -> InvalidRequestError:
    with pytest.raises(InvalidRequestError) as caught:
        schema.validate(params)
    assert caught.value.http_status == 400
    return caught.value


def field_failure(field: Field, value: Any, name: str = "x") -> InvalidRequestError:
    return failure(Schema({name: field}), {name: value})


EMPTY_MESSAGE = (
    "You passed an empty string for '{0}'. We assume empty values are an attempt to unset a "
    "parameter; however '{0}' cannot be unset. You should remove '{0}' from your request or "
    "supply a non-empty value."
)


# --- Schema: keys ---------------------------------------------------------------------------


def test_only_given_keys_come_back_typed() -> None:
    params = decode_form(b"name=Jo&livemode=false&items[0][price]=p&items[0][quantity]=2")
    assert CUSTOMER.validate(params) == {
        "name": "Jo",
        "livemode": False,
        "items": [{"price": "p", "quantity": 2}],
    }


def test_unknown_top_level_key() -> None:
    error = failure(CUSTOMER, {"nmae": "Jo"})
    assert (error.param, error.code) == ("nmae", "parameter_unknown")
    assert error.message == "Received unknown parameter: nmae"


def test_missing_required_key() -> None:
    schema = Schema({"currency": Str(), "amount": Int()}, required=["amount", "currency"])
    error = failure(schema, {})
    assert (error.param, error.code) == ("currency", "parameter_missing")
    assert error.message == "Missing required param: currency."


def test_unknown_keys_are_reported_before_missing_ones_and_bad_values() -> None:
    schema = Schema({"amount": Int()}, required=["amount"])
    assert failure(schema, {"amount": "x", "bogus": "1"}).param == "bogus"
    assert failure(Schema({"a": Int(), "b": Int()}, required=["b"]), {"a": "x"}).param == "b"


def test_value_errors_come_in_the_order_the_params_were_sent() -> None:
    schema = Schema({"a": Int(), "b": Int()})
    assert failure(schema, {"b": "x", "a": "y"}).param == "b"
    assert failure(schema, {"a": "y", "b": "x"}).param == "a"


def test_exclusive_keys() -> None:
    schema = Schema({"a": Str(), "b": Str(), "c": Str()}, exclusive=[("a", "b")])
    assert schema.validate({"a": "1", "c": "3"}) == {"a": "1", "c": "3"}
    error = failure(schema, {"b": "2", "a": "1"})
    assert (error.param, error.code) == ("b", "parameters_exclusive")
    assert error.message == "You may only specify one of these parameters: a, b."


# --- unset semantics ------------------------------------------------------------------------


def test_empty_string_unsets_a_nullable_field() -> None:
    assert CUSTOMER.validate({"name": "", "email": "", "address": ""}) == {
        "name": None,
        "email": None,
        "address": None,
    }


def test_json_null_unsets_a_nullable_field() -> None:
    assert one(Int(nullable=True), None) is None


@pytest.mark.parametrize("field", [Int(), Bool(), Enum(("a",)), Obj({}), ListOf(Str())])
def test_empty_string_is_rejected_where_a_param_cannot_be_unset(field: Field) -> None:
    error = field_failure(field, "", name="trial_period_days")
    assert (error.param, error.code) == ("trial_period_days", "parameter_invalid_empty")
    assert error.message == EMPTY_MESSAGE.format("trial_period_days")


def test_null_is_rejected_where_a_param_cannot_be_unset() -> None:
    error = field_failure(Str(), None, name="description")
    assert error.code == "parameter_invalid_empty"
    assert error.message.startswith("You passed null for 'description'.")


def test_nested_empty_string_names_the_nested_param() -> None:
    error = failure(CUSTOMER, {"items": [{"price": ""}]})
    assert (error.param, error.code) == ("items[0][price]", "parameter_invalid_empty")
    assert error.message == EMPTY_MESSAGE.format("items[0][price]")


# --- Str, Email, Enum -----------------------------------------------------------------------


def test_str_keeps_blank_by_default() -> None:
    assert one(Str(), "") == ""
    assert one(Str(), "plain text") == "plain text"


def test_str_length_bound_is_inclusive() -> None:
    assert one(Str(max_length=5), "abcde") == "abcde"
    error = field_failure(Str(max_length=5), "abcdef", name="name")
    assert (error.param, error.code) == ("name", "parameter_invalid")
    assert error.message == "Invalid string: abcdef; must be at most 5 characters"


def test_str_error_echoes_a_bounded_prefix_of_the_value() -> None:
    error = field_failure(Str(), "a" * 5001)
    assert error.message == "Invalid string: " + "a" * 50 + "...; must be at most 5000 characters"


def test_str_rejects_non_strings() -> None:
    assert field_failure(Str(), {"k": "v"}).message == "Invalid string: a hash"
    assert field_failure(Str(), ["v"]).message == "Invalid string: an array"
    assert field_failure(Str(), 1.5).message == "Invalid string: 1.5"


def test_str_blank_when_blank_not_ok() -> None:
    error = field_failure(Str(blank_ok=False), "   ", name="starting_after")
    assert (error.param, error.code) == ("starting_after", "parameter_invalid_string_blank")
    assert error.message == "Invalid starting_after: must not be blank"
    assert field_failure(Str(blank_ok=False), "").code == "parameter_invalid_empty"


def test_str_choices() -> None:
    assert one(Str(choices=("a", "b")), "b") == "b"
    error = field_failure(Str(choices=("a", "b")), "c", name="mode")
    assert error.message == "Invalid mode: must be one of a or b"


def test_email() -> None:
    assert one(Email(), "jo@example.com") == "jo@example.com"
    for bad in ("jo", "jo@", "@example.com", "jo@example", "jo@@example.com", "j o@example.com"):
        error = field_failure(Email(), bad, name="email")
        assert (error.param, error.code) == ("email", "email_invalid")
        assert error.message == f"Invalid email address: {bad}"


def test_email_length_bound() -> None:
    local = "a" * (512 - len("@example.com"))
    assert one(Email(), local + "@example.com") == local + "@example.com"
    assert field_failure(Email(), "a" + local + "@example.com").code == "email_invalid"


def test_enum_message_matches_stripe() -> None:
    assert CUSTOMER.validate({"tax_exempt": "exempt"}) == {"tax_exempt": "exempt"}
    error = failure(CUSTOMER, {"tax_exempt": "sometimes"})
    assert (error.param, error.code) == ("tax_exempt", "parameter_invalid")
    assert error.message == "Invalid tax_exempt: must be one of none, exempt, or reverse"


def test_enum_rejects_non_strings_and_short_lists_read_naturally() -> None:
    assert field_failure(Enum(("on",)), ["on"], name="m").message == "Invalid m: must be one of on"
    assert (
        field_failure(Enum(("a", "b")), "c", name="m").message == "Invalid m: must be one of a or b"
    )


# --- Int, Bool, Timestamp -------------------------------------------------------------------


@pytest.mark.parametrize(("raw", "value"), [("12", 12), (12, 12), ("-3", -3), ("007", 7)])
def test_int_accepts_digits_and_ints(raw: Any, value: int) -> None:
    assert one(Int(), raw) == value


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("1.5", "1.5"),
        ("abc", "abc"),
        ("1e3", "1e3"),
        (" 1", " 1"),
        ("+1", "+1"),
        ("١٢", "١٢"),  # Arabic-Indic digits: int() would accept them, Stripe does not
        ("9223372036854775808", "9223372036854775808"),
        (1.5, "1.5"),
        (True, "true"),
        ({"a": "1"}, "a hash"),
    ],
)
def test_int_rejects_everything_else(raw: Any, shown: str) -> None:
    error = field_failure(Int(), raw, name="quantity")
    assert (error.param, error.code) == ("quantity", "parameter_invalid_integer")
    assert error.message == f"Invalid integer: {shown}"


def test_int_bounds_are_inclusive_with_stripe_messages() -> None:
    field = Int(min=1, max=100)
    assert one(field, "1") == 1
    assert one(field, "100") == 100
    low = field_failure(field, "0")
    assert (low.code, low.message) == (
        "parameter_invalid_integer",
        "This value must be greater than or equal to 1.",
    )
    high = field_failure(field, "101")
    assert (high.code, high.message) == (
        "parameter_invalid_integer",
        "This value must be less than or equal to 100.",
    )


def test_nested_int_error_names_the_full_path() -> None:
    params = decode_form(b"items[0][price]=p&items[1][price]=q&items[1][quantity]=lots")
    error = failure(CUSTOMER, params)
    assert (error.param, error.code) == ("items[1][quantity]", "parameter_invalid_integer")
    assert error.message == "Invalid integer: lots"


@pytest.mark.parametrize(("raw", "value"), [("true", True), ("false", False), (True, True)])
def test_bool(raw: Any, value: bool) -> None:
    assert one(Bool(), raw) is value


@pytest.mark.parametrize("raw", ["yes", "True", "1", 1])
def test_bool_rejects_anything_but_true_and_false(raw: Any) -> None:
    error = field_failure(Bool(), raw, name="livemode")
    assert (error.param, error.code) == ("livemode", "parameter_invalid")
    assert error.message == f"Invalid boolean: {raw}"


def test_timestamp() -> None:
    assert one(Timestamp(), "1700000000") == 1_700_000_000
    assert one(Timestamp(allow_now=True), "now") == "now"
    assert field_failure(Timestamp(), "now").message == "Invalid integer: now"
    assert field_failure(Timestamp(), "0").message == (
        "This value must be greater than or equal to 1."
    )
    assert field_failure(Timestamp(), "253402300800").message == (
        "This value must be less than or equal to 253402300799."
    )


# --- Metadata -------------------------------------------------------------------------------


def test_metadata_sets_and_unsets_keys() -> None:
    update = CUSTOMER.validate(decode_form(b"metadata[plan]=pro&metadata[old]="))["metadata"]
    assert update == MetadataUpdate(set={"plan": "pro"}, unset=frozenset({"old"}))
    assert update.apply({"old": "1", "kept": "2"}) == {"kept": "2", "plan": "pro"}


def test_empty_metadata_clears_every_key() -> None:
    update = CUSTOMER.validate(decode_form(b"metadata="))["metadata"]
    assert update == MetadataUpdate(clear_all=True)
    assert update.apply({"a": "1", "b": "2"}) == {}


def test_clear_all_then_set_keeps_only_the_new_keys() -> None:
    update = MetadataUpdate(set={"b": "3"}, clear_all=True)
    assert update.apply({"a": "1", "b": "2"}) == {"b": "3"}


def test_create_endpoints_apply_to_nothing() -> None:
    update = one(Metadata(), {"k": "v", "gone": ""})
    assert update.apply({}) == {"k": "v"}


def test_numeric_metadata_keys_survive_list_decoding() -> None:
    update = one(Metadata(), decode_form(b"metadata[2]=b&metadata[1]=a")["metadata"])
    assert update.set == {"1": "a", "2": "b"}


def test_metadata_key_count_bound() -> None:
    fifty = {f"k{i}": "v" for i in range(50)}
    assert len(one(Metadata(), fifty, name="metadata").set) == 50
    error = field_failure(Metadata(), {**fifty, "k50": "v"}, name="metadata")
    assert (error.param, error.code) == ("metadata", "parameter_invalid")
    assert error.message == "Metadata can have up to 50 keys, but you passed in 51 keys."


def test_metadata_update_cannot_grow_past_the_bound() -> None:
    stored = {f"k{i}": "v" for i in range(49)}
    assert len(MetadataUpdate(set={"a": "1"}).apply(stored)) == 50
    with pytest.raises(InvalidRequestError) as caught:
        MetadataUpdate(set={"a": "1", "b": "2"}).apply(stored)
    assert caught.value.param == "metadata"
    assert caught.value.message == (
        "Metadata can have up to 50 keys, but this update would leave 51 keys."
    )


def test_metadata_key_length_bound() -> None:
    assert one(Metadata(), {"k" * 40: "v"}).set == {"k" * 40: "v"}
    error = field_failure(Metadata(), {"k" * 41: "v"}, name="metadata")
    assert error.param == "metadata"
    assert error.message == (
        "Metadata keys can have up to 40 characters, but you passed in a key that is "
        "41 characters. Invalid key: " + "k" * 41
    )


def test_metadata_value_length_bound() -> None:
    assert one(Metadata(), {"k": "v" * 500}).set == {"k": "v" * 500}
    error = field_failure(Metadata(), {"k": "v" * 501}, name="metadata")
    assert error.param == "metadata[k]"
    assert error.message.startswith(
        "Metadata values can have up to 500 characters, but you passed in a value that is "
        "501 characters. Invalid value: " + "v" * 50 + "..."
    )


def test_metadata_values_must_be_strings() -> None:
    error = failure(CUSTOMER, decode_form(b"metadata[k][nested]=v"))
    assert (error.param, error.code) == ("metadata[k]", "parameter_invalid")
    assert error.message == "Invalid metadata value: a hash; must be a string"


def test_metadata_must_be_a_hash() -> None:
    error = failure(CUSTOMER, {"metadata": "k=v"})
    assert error.param == "metadata"
    assert error.message == "Invalid object: metadata must be a hash, sent as metadata[key]=value"


# --- Obj --------------------------------------------------------------------------------------


def test_obj_returns_only_sent_keys() -> None:
    assert CUSTOMER.validate(decode_form(b"address[city]=Lyon")) == {"address": {"city": "Lyon"}}


def test_unknown_nested_key_names_the_full_path() -> None:
    error = failure(CUSTOMER, decode_form(b"address[city]=Lyon&address[foo]=bar"))
    assert (error.param, error.code) == ("address[foo]", "parameter_unknown")
    assert error.message == "Received unknown parameter: address[foo]"


def test_integer_nested_key_is_reported_as_sent() -> None:
    assert failure(CUSTOMER, decode_form(b"address[0]=x")).param == "address[0]"


def test_nested_type_error_names_the_full_path() -> None:
    error = failure(CUSTOMER, decode_form(b"address[country]=France"))
    assert error.param == "address[country]"
    assert error.message == "Invalid string: France; must be at most 2 characters"


def test_missing_nested_required_key() -> None:
    error = failure(CUSTOMER, decode_form(b"items[0][quantity]=1"))
    assert (error.param, error.code) == ("items[0][price]", "parameter_missing")


def test_missing_keys_are_reported_in_declaration_order() -> None:
    obj = Obj({"z": Str(), "a": Str(), "m": Str()}, required=frozenset({"m", "a", "z"}))
    assert field_failure(obj, {"a": "1"}, name="o").param == "o[z]"


def test_obj_that_cannot_be_unset() -> None:
    error = field_failure(Obj({"a": Str()}), "", name="shipping")
    assert (error.param, error.code) == ("shipping", "parameter_invalid_empty")


def test_obj_must_be_a_hash() -> None:
    error = failure(CUSTOMER, {"address": "1 Main St"})
    assert error.param == "address"
    assert error.message == "Invalid object: address must be a hash, sent as address[key]=value"


def test_obj_requires_its_required_keys_to_be_fields() -> None:
    with pytest.raises(AssertionError):
        Obj({"a": Str()}, required={"b"})


# --- ListOf -----------------------------------------------------------------------------------


def test_list_accepts_indexed_and_appended_forms() -> None:
    tags = ListOf(Str())
    assert one(tags, decode_form(b"x[1]=b&x[0]=a")["x"]) == ["a", "b"]
    assert one(tags, decode_form(b"x[]=a&x[]=b")["x"]) == ["a", "b"]


def test_list_item_errors_name_the_index_that_was_sent() -> None:
    params = decode_form(b"items[5][price]=p&items[5][quantity]=0")
    error = failure(CUSTOMER, params)
    assert error.param == "items[5][quantity]"
    assert error.message == "This value must be greater than or equal to 1."


def test_a_single_string_is_not_a_list() -> None:
    error = failure(CUSTOMER, {"items": "price_1"})
    assert (error.param, error.code) == ("items", "parameter_invalid")
    assert error.message == "Invalid array: items must be a list, sent as items[0]=value"


def test_list_indices_of_1000_or_more_are_explained() -> None:
    error = failure(CUSTOMER, decode_form(b"items[1000][price]=p"))
    assert error.param == "items"
    assert error.message.endswith("sent as items[0]=value with indices from 0 to 999")


def test_list_length_bound() -> None:
    assert len(one(ListOf(Str(), max_items=3), ["a", "b", "c"])) == 3
    error = field_failure(ListOf(Str(), max_items=3), ["a", "b", "c", "d"], name="tags")
    assert error.message == "Invalid array: tags can have at most 3 items"


def test_nullable_list_unsets() -> None:
    assert one(ListOf(Str(), nullable=True), "") is None


# --- Expand -----------------------------------------------------------------------------------


def test_expand_forms() -> None:
    assert one(Expand(), ["customer", "invoice.subscription"]) == [
        "customer",
        "invoice.subscription",
    ]
    assert one(Expand(), "customer") == ["customer"]
    assert one(Expand(), "") == []
    assert one(Expand(), decode_form(b"expand[]=a.b.c.d")["expand"]) == ["a.b.c.d"]


def test_expand_depth_bound() -> None:
    error = field_failure(Expand(), ["customer", "a.b.c.d.e"], name="expand")
    assert (error.param, error.code) == ("expand", "parameter_invalid")
    assert error.message == (
        "You cannot expand more than 4 levels of a property. Property: a.b.c.d.e"
    )


def test_expand_item_bounds() -> None:
    assert one(Expand(), ["a" * 200]) == ["a" * 200]
    long = field_failure(Expand(), ["a" * 201], name="expand")
    assert long.param == "expand"
    assert long.message.endswith("...; must be a string of at most 200 characters")
    assert len(one(Expand(), ["a"] * 100)) == 100
    many = field_failure(Expand(), ["a"] * 101, name="expand")
    assert many.message == "You cannot expand more than 100 properties."


@pytest.mark.parametrize("bad", ["a..b", ".a", "a.", ""])
def test_expand_rejects_empty_segments(bad: str) -> None:
    error = field_failure(Expand(), ["ok", bad], name="expand")
    assert (error.param, error.message) == ("expand", f"Invalid expand: {bad}")


def test_expand_rejects_hashes() -> None:
    assert field_failure(Expand(), {"a": "b"}, name="expand").param == "expand"
    assert field_failure(Expand(), [{"a": "b"}], name="expand").message.startswith(
        "Invalid expand: a hash;"
    )


# --- list endpoints -----------------------------------------------------------------------------

INVOICES = list_schema({"customer": Str(), "created": RangeFilter()})


def test_list_params_from_a_query_string() -> None:
    query = "limit=3&starting_after=in_9&customer=cus_1&created[gte]=100&created[lt]=200"
    assert INVOICES.validate(decode_query(query)) == {
        "limit": 3,
        "starting_after": "in_9",
        "customer": "cus_1",
        "created": {"gte": 100, "lt": 200},
    }


def test_limit_stays_absent_when_not_sent() -> None:
    assert INVOICES.validate({}) == {}


@pytest.mark.parametrize(
    ("limit", "message"),
    [
        ("1000", "This value must be less than or equal to 100."),
        ("0", "This value must be greater than or equal to 1."),
        ("ten", "Invalid integer: ten"),
    ],
)
def test_limit_bounds(limit: str, message: str) -> None:
    error = failure(INVOICES, {"limit": limit})
    assert (error.param, error.code, error.message) == (
        "limit",
        "parameter_invalid_integer",
        message,
    )


def test_only_one_cursor_may_be_given() -> None:
    error = failure(INVOICES, {"starting_after": "in_1", "ending_before": "in_2"})
    assert (error.param, error.code) == ("ending_before", "parameters_exclusive")
    assert error.message == (
        "You may only specify one of these parameters: starting_after, ending_before."
    )


def test_blank_cursor_is_rejected() -> None:
    assert failure(INVOICES, {"starting_after": ""}).code == "parameter_invalid_empty"


def test_list_schema_keeps_the_endpoint_required_keys() -> None:
    schema = list_schema({"customer": Str()}, required=["customer"])
    assert failure(schema, {"limit": "3"}).param == "customer"
    assert set(LIST_PARAMS) == {"limit", "starting_after", "ending_before", "expand"}


def test_created_as_an_exact_value() -> None:
    assert INVOICES.validate({"created": "1700000000"}) == {"created": 1_700_000_000}


def test_created_unknown_bound() -> None:
    error = failure(INVOICES, decode_query("created[foo]=1"))
    assert (error.param, error.code) == ("created[foo]", "parameter_unknown")


def test_created_bound_must_be_an_integer() -> None:
    error = failure(INVOICES, decode_query("created[gt]=yesterday"))
    assert (error.param, error.code) == ("created[gt]", "parameter_invalid_integer")
    assert error.message == "Invalid integer: yesterday"


def test_created_rejects_lists() -> None:
    error = failure(INVOICES, decode_query("created[]=1"))
    assert (error.param, error.message) == ("created", "Invalid integer: an array")
