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
