"""Image tiling and conversion shared by the pages and the scripts."""

from __future__ import annotations

import numpy as np

from advdl.viz import grid, grids, to_uint8


def test_grid_places_each_image_in_its_cell_with_padding_between():
    imgs = np.arange(5 * 2 * 3, dtype=np.uint8).reshape(5, 2, 3) + 100
    out = grid(imgs, nrow=3, pad=1, value=7)
    assert out.shape == (2 * (2 + 1) + 1, 3 * (3 + 1) + 1) and out.dtype == np.uint8
    for k in range(5):
        r, c = divmod(k, 3)
        assert np.array_equal(out[1 + r * 3 : 1 + r * 3 + 2, 1 + c * 4 : 1 + c * 4 + 3], imgs[k])
    assert (out[0] == 7).all() and (out[:, 0] == 7).all() and (out[3] == 7).all()  # borders and gaps
    assert (out[4:6, 9:12] == 7).all()  # the missing sixth image stays background


def test_grid_converts_float_images_and_grids_tiles_a_batch_of_sets_alike():
    rng = np.random.default_rng(0)
    floats = rng.random((6, 4, 4), dtype=np.float32)
    assert np.array_equal(grid(floats, 3), grid(np.stack([to_uint8(f) for f in floats]), 3))
    sets = rng.integers(0, 256, (4, 10, 5, 5), dtype=np.uint8)
    batch = grids(sets, nrow=4, pad=2, value=40)
    assert batch.shape == (4, 3 * 7 + 2, 4 * 7 + 2)
    for e in range(4):
        assert np.array_equal(batch[e], grid(sets[e], 4))


def test_to_uint8_scales_floats_and_keeps_uint8_as_it_is():
    assert to_uint8(np.array([[0.0, 0.5, 1.0, 2.0]])).tolist() == [0, 128, 255, 255]
    u = np.array([[3, 200]], dtype=np.uint8)
    assert to_uint8(u[None]).tolist() == [3, 200] and to_uint8(u).dtype == np.uint8
