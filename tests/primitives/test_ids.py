from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from remit.primitives.ids import IdGenerator, new_id, prefix_of


def test_ids_carry_their_prefix_and_are_unique():
    ids = [new_id("cus") for _ in range(10_000)]
    assert len(set(ids)) == len(ids)
    assert all(prefix_of(i) == "cus" for i in ids)


def test_ids_sort_in_creation_order_even_within_one_millisecond():
    frozen = IdGenerator(millis=lambda: 1_700_000_000_000)
    ids = [frozen.new("evt") for _ in range(5_000)]
    assert ids == sorted(ids)


@given(st.lists(st.integers(min_value=0, max_value=2**40), min_size=2, max_size=50))
def test_ids_never_go_backwards_even_if_the_time_source_does(times):
    feed = iter(times)
    gen = IdGenerator(millis=lambda: next(feed))
    ids = [gen.new("req") for _ in times]
    assert ids == sorted(ids)


def test_seeded_generators_are_deterministic():
    import random

    def make():
        rng = random.Random(7)
        ticks = iter(range(1000, 2000))
        return IdGenerator(millis=lambda: next(ticks), randbits=rng.getrandbits)

    a, b = make(), make()
    assert [a.new("cus") for _ in range(20)] == [b.new("cus") for _ in range(20)]


def test_unregistered_prefixes_are_refused():
    with pytest.raises(ValueError):
        new_id("cust")
