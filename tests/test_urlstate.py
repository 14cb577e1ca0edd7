"""URL parameters: round trips, and garbage falls back to None."""

import numpy as np
import pytest

from advdl.urlstate import decode_latent, encode_latent, parse_indices, parse_int


@pytest.mark.parametrize("value", ["abc", "", None, "1e9", "-5", "3.5", "99999999999"])
def test_bad_ints(value):
    assert parse_int(value, 0, 2**31 - 1) is None


def test_good_ints_and_indices():
    assert parse_int(" 42 ", 0, 100) == 42
    assert parse_indices("1,2,3", 3, 10) == [1, 2, 3]
    for bad in ["1,2", "1,2,x", "1,2,11", "", None, "1,,3"]:
        assert parse_indices(bad, 3, 10) is None


def test_latent_round_trip_and_garbage():
    z = np.random.default_rng(0).standard_normal(100).astype(np.float32)
    s = encode_latent(z)
    np.testing.assert_allclose(decode_latent(s, 100), z, atol=2e-3)
    assert decode_latent(s, 99) is None  # wrong length
    assert decode_latent("not base64!!", 100) is None
    assert decode_latent(encode_latent(np.full(100, np.inf)), 100) is None
    assert decode_latent(12, 100) is None
    assert decode_latent("A" * 10_000, 100) is None
