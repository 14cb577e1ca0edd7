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


def test_gan_view_round_trips_through_the_url():
    from advdl.ui.views import GanView

    z = np.random.default_rng(1).standard_normal(100).astype(np.float32)
    for view in (GanView(), GanView(seed=123, dirs=(20,) * 7 + (40,)), GanView().with_latent(z)):
        back, bad = GanView.from_query_params(view.to_query_params(), 100)
        assert back == view and not bad
    own = GanView(seed=5).with_latent(z)
    assert own.dirs == GanView.dirs and own.basis != GanView(seed=5).basis  # another latent: sliders at the centre
    np.testing.assert_allclose(own.latent(100), z, atol=2e-3)
    np.testing.assert_array_equal(GanView(seed=9).latent(100), GanView(seed=9).latent(100))
    assert not np.array_equal(GanView(seed=9).latent(100), GanView(seed=10).latent(100))


@pytest.mark.parametrize("query", [{"seed": "abc"}, {"seed": "-3"}, {"z": "%%%"}, {"dirs": "1,2"}, {"dirs": ",".join(["99"] * 8)}])
def test_gan_view_garbage_is_reported_and_the_rest_kept(query):
    from advdl.ui.views import GanView

    view, bad = GanView.from_query_params({"seed": "7", **query}, 100)
    assert bad
    assert view.dirs == GanView.dirs and view.z is None
    assert view.seed == (7 if "seed" not in query else 0)


def test_capsule_view_round_trips_and_reports_garbage():
    from advdl.ui.views import CapsView

    assert CapsView().to_query_params() == {}  # the opening view: a clean URL
    view = CapsView(angle=45, dx=-2, scale=1.2, shear=-15, cls=3, spread=0.5, dims=(20,) * 15 + (0,))
    q = view.to_query_params()
    assert q == {"rot": "45", "dx": "-2", "scale": "1.2", "shear": "-15", "cls": "3", "range": "0.5", "dims": ",".join(["20"] * 15 + ["0"])}
    assert CapsView.from_query_params(q) == (view, False)
    assert list(view.steps[[0, 20, 40]]) == [-0.5, 0.0, 0.5]
    for garbage in ({"rot": "400"}, {"dx": "x"}, {"scale": "3"}, {"shear": "60"}, {"cls": "10"}, {"range": "0.3"}, {"dims": "1,2"}):
        back, bad = CapsView.from_query_params({"rot": "30", **garbage})
        assert bad and back.angle == (30 if "rot" not in garbage else 0)


def test_autoencoder_view_round_trips_and_reports_garbage():
    from advdl.ui.views import AE_STRENGTHS, AeView

    assert AeView().to_query_params() == {}
    view = AeView(noise="occlusion", seed=7, clean=True, strength=18)
    q = view.to_query_params()
    assert q == {"noise": "occlusion", "nseed": "7", "clean": "1", "strength": "0.9"} and AE_STRENGTHS[18] == 0.9
    assert AeView.from_query_params(q) == (view, False)
    for garbage in ({"noise": "fog"}, {"nseed": "-1"}, {"clean": "yes"}, {"strength": "0.33"}, {"strength": "x"}):
        back, bad = AeView.from_query_params({"nseed": "3", **garbage})
        assert bad and back.seed == (3 if "nseed" not in garbage else 0)
