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


def test_colormap_and_diverging_follow_plotlys_scales():
    from advdl.viz import INFERNO, RDBU, colormap, diverging

    assert colormap(0.0, INFERNO).tolist() == [0, 0, 4] and colormap(1.0, INFERNO).tolist() == [252, 255, 164]
    assert colormap(0.5, RDBU).tolist() == [247, 247, 247]  # the middle anchor: white
    assert colormap(np.zeros((2, 3)), INFERNO).shape == (2, 3, 3)
    img, top = diverging(np.array([[-0.2, 0.0], [0.1, 0.05]]), zoom=4)
    assert top == 0.2 and img.shape == (8, 8, 3)
    assert img[0, 0].tolist() == [103, 0, 31] and img[0, 4].tolist() == [247, 247, 247]  # red below 0, white at 0
    assert img[4, 0, 2] > img[4, 0, 0]  # blue above 0


def test_dots_over_draws_bigger_brighter_dots_for_stronger_values_and_the_frame():
    from advdl.viz import dots_over

    img = np.zeros((28, 28), np.float32)
    out = dots_over(img, np.array([[6, 6], [20, 20]]), np.array([0.0, 1.0]), frame=(0, 0, 16, 16), zoom=8)
    assert out.shape == (224, 224, 3) and out.dtype == np.uint8
    bright = (out == [252, 255, 164]).all(-1)  # Inferno's top: the strong dot at (20, 20)
    assert bright[150:190, 150:190].sum() > 400 and bright[:120, :120].sum() == 0
    assert bright.sum() < 3.2 * (1.7 * 8) ** 2 + 60  # a disc of radius 1.7 cells, no more
    assert out[0, 100].tolist() == [251, 188, 4]  # the frame's top edge


def test_scatter_draws_each_group_in_its_colour_on_one_scale():
    from advdl.viz import scatter

    a = (np.array([[0.0, 0.0], [1.0, 1.0]]), np.array([1.0, 0.1]), np.array([0.5, 0.5]), (217, 48, 37))
    b = (np.array([[-1.0, -1.0]]), np.array([0.5]), np.array([-1.0, -1.0]), (95, 99, 104))
    img = scatter([a, b], size=100, margin=10)
    assert img.shape == (100, 100, 3)
    assert tuple(img[0, 0]) == (255, 255, 255)
    # (1, 1) is the top right corner of the shared box, (-1, -1) the bottom left (y upwards)
    assert img[10, 90, 1] < 240 and img[90, 10, 0] < 240
    assert (img[25:36, 65:76] == [217, 48, 37]).all(-1).sum() > 10  # the first group's bold × at (0.5, 0.5): pixel (70, 30)


def test_histograms_draw_bars_band_and_mark_per_panel():
    from advdl.viz import histograms

    counts = np.array([[0, 5, 10, 5], [1, 1, 1, 1]], np.float64)
    edges = np.array([np.linspace(0, 4, 5), np.linspace(-1, 1, 5)])
    img = histograms(counts, edges, (np.array([1.0, -0.5]), np.array([3.0, 0.5])), np.array([2.0, 0.9]), cols=2,
                     panel=(40, 20), pad=4)
    assert img.shape == (4 + 20 + 4 + 10, 2 * 44 + 4, 3)
    panel = img[14:34, 4:44]  # the first panel
    assert (panel == [154, 160, 166]).all(-1)[:, 20:30].sum() > (panel == [154, 160, 166]).all(-1)[:, 10:20].sum()  # the tall bar
    assert (panel == [217, 48, 37]).all(-1)[:, 19:22].any()  # the mark at 2.0, the panel's middle
    band = (panel == [208, 225, 252]).all(-1)
    assert band[:2, 11:19].all() and not band[:, 32:].any() and not band[:, :9].any()  # the band 1..3 of 0..4
