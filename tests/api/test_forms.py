"""Stripe's form encoding: what the SDKs and curl users send, and what we refuse to guess."""

from __future__ import annotations

from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

import pytest
from hypothesis import given
from hypothesis import strategies as st

from remit.api.forms import (
    MAX_DEPTH,
    MAX_FIELDS,
    IndexedList,
    as_hash,
    as_list,
    decode_form,
    decode_query,
    encode_form,
    param_path,
)
from remit.primitives.errors import InvalidRequestError


def rejected(body: bytes) -> InvalidRequestError:
    with pytest.raises(InvalidRequestError) as caught:
        decode_form(body)
    return caught.value


# --- decoding: the bracket forms ---------------------------------------------------------


def test_plain_keys_decode_to_strings() -> None:
    assert decode_form(b"email=jo%40example.com&name=Jo+Doe") == {
        "email": "jo@example.com",
        "name": "Jo Doe",
    }


def test_empty_body_and_query_decode_to_nothing() -> None:
    assert decode_form(b"") == {}
    assert decode_query("") == {}


def test_hash_keys_nest() -> None:
    assert decode_form(b"metadata[order]=42&metadata[team]=ops") == {
        "metadata": {"order": "42", "team": "ops"}
    }


def test_deep_hash_keys_nest_level_by_level() -> None:
    assert decode_form(b"a[b][c]=1&a[b][d]=2&a[e]=3") == {
        "a": {"b": {"c": "1", "d": "2"}, "e": "3"}
    }


def test_empty_values_are_kept_because_they_mean_unset() -> None:
    assert decode_form(b"metadata=&description=") == {"metadata": "", "description": ""}
    assert decode_form(b"metadata[k]=") == {"metadata": {"k": ""}}


def test_a_key_without_equals_sign_is_an_empty_value() -> None:
    assert decode_form(b"description") == {"description": ""}


def test_appended_list() -> None:
    assert decode_form(b"expand[]=customer&expand[]=invoice.subscription") == {
        "expand": ["customer", "invoice.subscription"]
    }


def test_indexed_list() -> None:
    assert decode_form(b"expand[0]=customer&expand[1]=invoice") == {
        "expand": ["customer", "invoice"]
    }


def test_indexed_list_is_ordered_by_index_not_by_arrival() -> None:
    decoded = decode_form(b"tags[10]=k&tags[2]=c&tags[0]=a&tags[1]=b")
    assert decoded == {"tags": ["a", "b", "c", "k"]}
    assert decoded["tags"].source_keys == ("0", "1", "2", "10")


def test_list_of_hashes() -> None:
    body = b"items[0][price]=p&items[0][quantity]=2&items[1][price]=q"
    assert decode_form(body) == {"items": [{"price": "p", "quantity": "2"}, {"price": "q"}]}


def test_list_of_lists() -> None:
    assert decode_form(b"a[0][0]=x&a[0][1]=y&a[1][0]=z") == {"a": [["x", "y"], ["z"]]}


def test_percent_encoded_brackets_decode_like_literal_ones() -> None:
    # stripe-python percent-encodes the brackets of every key it sends.
    body = urlencode([("items[0][price]", "price_1"), ("expand[0]", "customer")]).encode()
    assert b"%5B" in body
    assert decode_form(body) == {"items": [{"price": "price_1"}], "expand": ["customer"]}


def test_unicode_values_survive() -> None:
    assert decode_form("name=Zoë&city=東京".encode()) == {"name": "Zoë", "city": "東京"}


def test_query_strings_follow_the_same_rules() -> None:
    assert decode_query("limit=3&created[gte]=100&expand[]=data.customer") == {
        "limit": "3",
        "created": {"gte": "100"},
        "expand": ["data.customer"],
    }


# --- decoding: integer keys and their two readings ---------------------------------------


def test_index_of_1000_or_more_is_a_hash_key_not_a_list_slot() -> None:
    # A sparse list is never materialised: a[999999] cannot allocate anything.
    assert decode_form(b"metadata[12345]=order") == {"metadata": {"12345": "order"}}
    decoded = decode_form(b"a[999]=x&a[1000]=y")
    assert decoded == {"a": {"999": "x", "1000": "y"}}
    assert not isinstance(decoded["a"], list)


def test_non_canonical_digits_are_hash_keys() -> None:
    assert decode_form(b"a[01]=x&a[1]=y") == {"a": {"01": "x", "1": "y"}}


def test_mixed_integer_and_name_keys_make_a_hash() -> None:
    assert decode_form(b"metadata[0]=a&metadata[k]=b") == {"metadata": {"0": "a", "k": "b"}}


def test_top_level_integer_keys_stay_names() -> None:
    assert decode_form(b"0=a&1=b") == {"0": "a", "1": "b"}


def test_indexed_list_can_be_read_back_as_the_hash_it_was_sent_as() -> None:
    decoded = decode_form(b"metadata[7]=x&metadata[3]=y")["metadata"]
    assert decoded == ["y", "x"]
    assert as_hash(decoded) == {"3": "y", "7": "x"}
    assert as_list(decoded) == [(3, "y"), (7, "x")]


def test_readings_of_other_nodes() -> None:
    assert as_hash({"k": "v"}) == {"k": "v"}
    assert as_hash(["x"]) is None
    assert as_hash("x") is None
    assert as_list(["x", "y"]) == [(0, "x"), (1, "y")]
    assert as_list({"k": "v"}) is None
    assert as_list("x") is None


# --- decoding: what is refused ---------------------------------------------------------


def test_a_plain_key_sent_twice_is_rejected() -> None:
    error = rejected(b"email=a%40x.com&email=b%40x.com")
    assert error.param == "email"
    assert error.code == "parameter_invalid"
    assert error.message.startswith("Received duplicate parameter: email.")
    assert error.http_status == 400


def test_a_nested_key_sent_twice_is_rejected_with_its_full_path() -> None:
    error = rejected(b"items[0][price]=p&items[0][price]=q")
    assert error.param == "items[0][price]"
    assert "duplicate" in error.message


def test_value_then_hash_conflict() -> None:
    error = rejected(b"a=1&a[b]=2")
    assert error.param == "a"
    assert error.message == (
        "Invalid parameter a: it was sent both as a value and as a hash or indexed list."
    )


def test_hash_then_value_conflict() -> None:
    error = rejected(b"a[b]=2&a=1")
    assert error.param == "a"
    assert "both as a hash or indexed list and as a value" in error.message


def test_nested_conflict_names_the_conflicting_level() -> None:
    assert rejected(b"a[b]=1&a[b][c]=2").param == "a[b]"
    assert rejected(b"a[b][c]=2&a[b]=1").param == "a[b]"


def test_appended_and_indexed_forms_cannot_be_mixed() -> None:
    error = rejected(b"expand[]=x&expand[0]=y")
    assert error.param == "expand"
    assert "list with []" in error.message
    assert rejected(b"expand[0]=y&expand[]=x").param == "expand"


def test_appended_list_and_value_cannot_be_mixed() -> None:
    assert rejected(b"expand=x&expand[]=y").param == "expand"
    assert rejected(b"expand[]=y&expand=x").param == "expand"


@pytest.mark.parametrize("key", ["a[b", "a]b", "a[b]c", "[a]", "a[b]]", "a[[b]]"])
def test_malformed_names_are_rejected(key: str) -> None:
    error = rejected(f"{key}=1".encode())
    assert error.param == key
    assert error.code == "parameter_invalid"
    assert error.message.startswith(f"Invalid parameter name: '{key}'.")


def test_a_value_without_a_name_is_rejected_without_a_param() -> None:
    error = rejected(b"=orphan")
    assert error.param is None
    assert error.message.startswith("Invalid parameter name: ''.")


def test_append_marker_only_ends_a_name() -> None:
    error = rejected(b"items[][price]=p")
    assert error.param == "items[][price]"
    assert "[] may only end a name" in error.message


def test_non_utf8_body_is_rejected() -> None:
    error = rejected(b"name=\xff\xfe")
    assert error.message == "Invalid request: body is not valid UTF-8."
    assert error.param is None
    assert error.code is None


def test_percent_encoded_non_utf8_is_rejected_too() -> None:
    assert rejected(b"name=%FF").message == "Invalid request: body is not valid UTF-8."
    with pytest.raises(InvalidRequestError) as caught:
        decode_query("name=%C3%28")
    assert caught.value.message == "Invalid request: query string is not valid UTF-8."


def test_nesting_up_to_the_bound_is_accepted() -> None:
    node: Any = decode_form(("a" + "[x]" * MAX_DEPTH + "=1").encode())["a"]
    for _ in range(MAX_DEPTH):
        node = node["x"]
    assert node == "1"


def test_nesting_past_the_bound_is_rejected() -> None:
    error = rejected(("a" + "[x]" * (MAX_DEPTH + 1) + "=1").encode())
    assert error.param == "a"
    assert f"nested more than {MAX_DEPTH} levels deep" in error.message


def test_field_count_up_to_the_bound_is_accepted() -> None:
    body = "&".join(f"k{i}=v" for i in range(MAX_FIELDS)).encode()
    assert len(decode_form(body)) == MAX_FIELDS


def test_field_count_past_the_bound_is_rejected() -> None:
    error = rejected("&".join(f"k{i}=v" for i in range(MAX_FIELDS + 1)).encode())
    assert error.param is None
    assert error.message == "Invalid request: too many parameters; at most 1000 are allowed."


# --- param_path and encoding --------------------------------------------------------------


def test_param_path_renders_brackets() -> None:
    assert param_path(["email"]) == "email"
    assert param_path(("items", 0, "price")) == "items[0][price]"
    assert param_path(("metadata", "k")) == "metadata[k]"


def test_encode_matches_the_stripe_sdk_format() -> None:
    encoded = encode_form(
        {
            "customer": "cus_1",
            "items": [{"price": "p", "quantity": 2}],
            "expand": ["customer"],
            "metadata": {"k": "v"},
            "off_session": True,
            "trial_end": None,
        }
    )
    assert encoded == (
        "customer=cus_1&items[0][price]=p&items[0][quantity]=2&expand[0]=customer"
        "&metadata[k]=v&off_session=true"
    )


def test_encode_escapes_values_and_keys_but_not_brackets() -> None:
    assert encode_form({"name": "a b&c=d", "meta data": {"k": "ü"}}) == (
        "name=a%20b%26c%3Dd&meta%20data[k]=%C3%BC"
    )


def test_encode_omits_empty_containers_and_keeps_empty_strings() -> None:
    assert encode_form({"expand": [], "metadata": {}, "description": ""}) == "description="


def test_encode_writes_false_and_decimals_without_exponents() -> None:
    assert encode_form({"a": False, "u": Decimal("1E-12")}) == "a=false&u=0.000000000001"


def test_encode_refuses_floats() -> None:
    with pytest.raises(TypeError, match="float"):
        encode_form({"amount": 1.5})


@pytest.mark.parametrize("key", ["", "a[b]", "x]"])
def test_encode_refuses_keys_that_would_not_decode_back(key: str) -> None:
    with pytest.raises(ValueError, match="cannot form-encode key"):
        encode_form({"metadata": {key: "v"}})


# Names start with a letter so that no hash looks like a list (see IndexedList); containers
# are non-empty because the SDKs omit empty ones, as encode_form does.
names = st.from_regex(r"[a-z][a-z0-9_.]{0,6}", fullmatch=True)
leaves = st.text(st.characters(codec="utf-8"), max_size=8)
nested = st.recursive(
    leaves,
    lambda inner: (
        st.lists(inner, min_size=1, max_size=12)
        | st.dictionaries(names, inner, min_size=1, max_size=4)
    ),
    max_leaves=30,
).filter(lambda value: _depth(value) <= MAX_DEPTH)


def _depth(value: Any) -> int:
    children = (
        value.values() if isinstance(value, dict) else value if isinstance(value, list) else []
    )
    return 1 + max((_depth(child) for child in children), default=0)


@given(st.dictionaries(names, nested, max_size=5))
def test_decode_inverts_encode(params: dict[str, Any]) -> None:
    assert decode_form(encode_form(params).encode()) == params
    assert decode_query(encode_form(params)) == params


def test_indexed_list_equals_a_plain_list() -> None:
    indexed = IndexedList({"1": "b", "0": "a"})
    assert indexed == ["a", "b"]
    assert indexed.source_keys == ("0", "1")
