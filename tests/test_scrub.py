"""The scrubber's frame encoding (advdl/ui/scrub.py): the hand-written grey PNG reads back exactly
through PIL, and a strip's data URLs are the frames, whatever its length."""

import base64
import io

import numpy as np
from PIL import Image

from advdl.ui.scrub import _encode_strip, png_data_url, png_grey


def _decode(url: str) -> np.ndarray:
    assert url.startswith("data:image/png;base64,")
    return np.asarray(Image.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1]))))


def test_grey_png_reads_back_exactly():
    rng = np.random.default_rng(0)
    for shape in ((28, 28), (1, 7), (13, 40)):
        u8 = rng.integers(0, 256, shape, dtype=np.uint8)
        img = Image.open(io.BytesIO(png_grey(u8)))
        assert img.mode == "L" and img.size == (shape[1], shape[0])
        assert np.array_equal(np.asarray(img), u8)


def test_data_urls_of_float_and_colour_images():
    x = np.linspace(0, 1, 28 * 28, dtype=np.float32).reshape(28, 28)
    assert np.array_equal(_decode(png_data_url(x)), (x * 255 + 0.5).astype(np.uint8))
    rgb = np.zeros((5, 6, 3), np.uint8)
    rgb[..., 0] = 200
    assert np.array_equal(_decode(png_data_url(rgb)), rgb)  # colour still goes through PIL


def test_a_strip_of_one_frame_is_one_url():
    frames = np.random.default_rng(1).random((1, 28, 28)).astype(np.float32)
    urls = _encode_strip(frames)
    assert len(urls) == 1 and _decode(urls[0]).shape == (28, 28)
    many = _encode_strip(np.stack([frames[0]] * 3 + [1 - frames[0]]))
    assert len(many) == 4 and many[0] == many[1] and many[0] != many[3]


def test_a_pack_holds_every_frame_once_and_is_refused_where_it_cannot_be_written(tmp_path):
    import io
    import os

    from PIL import Image

    from advdl.ui.scrub import STATIC_URL, write_pack

    frames = (np.random.default_rng(0).random((4, 28, 28)) * 255).astype(np.uint8)
    pack = write_pack(frames, "cache/r.pngs", mtime=1_000_000.0, folder=tmp_path)
    path = tmp_path / "cache" / "r.pngs"
    assert pack.url == f"{STATIC_URL}/cache/r.pngs" and len(pack.offsets) == 5 and path.stat().st_size == pack.offsets[-1]
    blob = path.read_bytes()
    for i in range(4):
        assert np.array_equal(np.asarray(Image.open(io.BytesIO(blob[pack.offsets[i]:pack.offsets[i + 1]]))), frames[i])
    assert os.path.getmtime(path) == 1_000_000.0  # Last-Modified: when the frames were made
    assert write_pack(frames, "cache/r.pngs", folder=tmp_path) == pack and os.path.getmtime(path) == 1_000_000.0  # reused
    blocked = tmp_path / "a-file"
    blocked.write_text("")
    assert write_pack(frames, "cache/r.pngs", folder=blocked) is None  # the page sends the frames inline
