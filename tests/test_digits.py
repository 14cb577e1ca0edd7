"""The digit pipeline: canvas strokes and uploads become MNIST-style 28 x 28 digits."""

from __future__ import annotations

import io
import struct
import zlib

import numpy as np
import pytest
from PIL import Image, ImageDraw

from advdl.digits import (
    EMPTY,
    ImageTooLargeError,
    UnreadableImageError,
    add_noise,
    centre_of_mass,
    prepare_digit,
)


def draw_seven(size=280, ink=(255, 255, 255, 255), ground=(0, 0, 0, 0), width=18, offset=(0, 0)) -> Image.Image:
    """A '7' drawn off-centre, as a student would on the canvas."""
    img = Image.new("RGBA", (size, size), ground)
    d = ImageDraw.Draw(img)
    ox, oy = offset
    s = size / 280
    pts = [(60 * s + ox, 50 * s + oy), (200 * s + ox, 50 * s + oy), (110 * s + ox, 240 * s + oy)]
    d.line(pts, fill=ink, width=int(width * s), joint="curve")
    return img


def ink_box(img: np.ndarray, thr: float = 0.05) -> tuple[int, int]:
    rows, cols = np.flatnonzero((img > thr).any(1)), np.flatnonzero((img > thr).any(0))
    return rows[-1] - rows[0] + 1, cols[-1] - cols[0] + 1


def png_bytes(img: Image.Image, fmt="PNG", **kw) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format=fmt, **kw)
    return buf.getvalue()


def test_canvas_stroke_is_centred_and_scaled():
    canvas = np.asarray(draw_seven(offset=(-30, 15)))  # (280, 280, 4) RGBA, transparent ground
    assert canvas.shape == (280, 280, 4)
    d = prepare_digit(canvas)
    assert not d.empty
    assert d.image.shape == (28, 28) and d.image.dtype == np.float32
    assert d.image.min() >= 0 and d.image.max() == pytest.approx(1.0)
    cy, cx = centre_of_mass(d.image)
    assert abs(cy - 13.5) <= 1 and abs(cx - 13.5) <= 1
    assert max(ink_box(d.image)) in (19, 20, 21)


def test_dark_on_white_upload_matches_canvas():
    canvas = np.asarray(draw_seven())
    upload = draw_seven(ink=(0, 0, 0, 255), ground=(255, 255, 255, 255)).convert("RGB")
    a = prepare_digit(canvas).image
    b = prepare_digit(png_bytes(upload)).image
    assert np.abs(a - b).max() <= 0.05


def test_upload_of_other_size_matches_canvas():
    a = prepare_digit(np.asarray(draw_seven())).image
    b = prepare_digit(png_bytes(draw_seven(size=560, ink=(20, 20, 20, 255), ground=(250, 250, 250, 255)).convert("L"))).image
    # the same shape drawn at twice the size: the same digit up to resampling
    assert np.abs(a - b).mean() < 0.03


def test_blank_canvas_is_empty():
    assert prepare_digit(np.zeros((280, 280, 4), np.uint8)) is EMPTY
    assert prepare_digit(np.zeros((280, 280, 4), np.uint8)).empty
    black = np.zeros((280, 280, 4), np.uint8)
    black[..., 3] = 255
    assert prepare_digit(black).empty


def test_a_speck_is_empty_but_a_dot_is_not():
    speck = np.zeros((280, 280, 4), np.uint8)
    speck[100:102, 100:102] = 255
    assert prepare_digit(speck).empty
    dot = np.asarray(Image.new("RGBA", (280, 280)))
    dot = dot.copy()
    yy, xx = np.mgrid[:280, :280]
    dot[(yy - 140) ** 2 + (xx - 90) ** 2 < 11**2] = 255
    d = prepare_digit(dot)
    assert not d.empty
    cy, cx = centre_of_mass(d.image)
    assert abs(cy - 13.5) <= 1 and abs(cx - 13.5) <= 1


def _png_header_only(w: int, h: int) -> bytes:
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", w, h, 8, 0, 0, 0, 0)
    # IDAT holds far too little data: decoding would fail, so an "unreadable" error instead of
    # "too large" would show that the pipeline tried to decode it.
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\x00" * 64)) + chunk(b"IEND", b"")


def test_a_canvas_full_of_ink_is_a_scribble_not_a_digit():
    full = np.full((320, 320, 4), 255, np.uint8)  # white strokes everywhere on the canvas
    full[150:170, 150:170] = 0  # a few gaps
    d = prepare_digit(full, light_ink=True)
    assert not d.empty and d.overfilled and d.coverage > 0.9
    seven = prepare_digit(np.asarray(draw_seven()), light_ink=True)
    assert not seven.overfilled and 0.02 < seven.coverage < 0.3


def test_the_canvas_polarity_holds_even_when_strokes_cover_the_border():
    # A digit drawn so large that its strokes run along the canvas edges: guessing the polarity
    # from the border would read the black gaps as ink; the canvas says its ink is light.
    img = Image.new("RGBA", (280, 280), (0, 0, 0, 0))
    d = ImageDraw.Draw(img)
    d.rectangle([0, 0, 279, 279], outline=(255, 255, 255, 255), width=40)  # a huge "0"
    got = prepare_digit(np.asarray(img), light_ink=True)
    assert not got.empty and not got.overfilled
    assert got.image[14, 14] < 0.1 and got.image[14, 4:7].max() > 0.9  # hollow centre, inked ring


def test_huge_png_is_refused_before_decoding():
    with pytest.raises(ImageTooLargeError):
        prepare_digit(_png_header_only(20000, 20000))
    with pytest.raises(ImageTooLargeError):
        prepare_digit(_png_header_only(10000, 10000))
    # the same trick at a sane size is decoded, and fails as unreadable: so the check came first
    with pytest.raises(UnreadableImageError):
        prepare_digit(_png_header_only(300, 300))


@pytest.mark.parametrize(
    "data",
    [b"", b"this is not an image, only text named .png", png_bytes(draw_seven().convert("RGB"))[:300]],
    ids=["empty", "text", "truncated"],
)
def test_broken_files_are_unreadable(data):
    with pytest.raises(UnreadableImageError):
        prepare_digit(data)


def test_one_pixel_image_is_empty():
    assert prepare_digit(png_bytes(Image.new("L", (1, 1), 255))).empty


def test_sixteen_bit_and_palette_and_cmyk_and_gif():
    ref = prepare_digit(np.asarray(draw_seven())).image
    gray = np.asarray(draw_seven().convert("RGBA"))[..., 0].astype(np.uint16) * 257
    img16 = Image.fromarray(gray)
    assert img16.mode.startswith("I;16")
    assert np.abs(prepare_digit(png_bytes(img16)).image - ref).max() <= 0.05
    pal = draw_seven(ink=(0, 0, 0, 255), ground=(255, 255, 255, 0)).convert("P")
    pal.info["transparency"] = pal.getpixel((0, 0))
    assert np.abs(prepare_digit(png_bytes(pal, transparency=pal.getpixel((0, 0)))).image - ref).mean() < 0.03
    cmyk = draw_seven(ink=(0, 0, 0, 255), ground=(255, 255, 255, 255)).convert("RGB").convert("CMYK")
    assert np.abs(prepare_digit(png_bytes(cmyk, "JPEG", quality=95)).image - ref).mean() < 0.03
    frames = [draw_seven().convert("L"), Image.new("L", (280, 280))]
    buf = io.BytesIO()
    frames[0].save(buf, format="GIF", save_all=True, append_images=frames[1:], duration=100)
    assert np.abs(prepare_digit(buf.getvalue()).image - ref).mean() < 0.03


def test_exif_orientation_is_applied():
    upright = draw_seven(ink=(0, 0, 0, 255), ground=(255, 255, 255, 255)).convert("RGB")
    stored = upright.rotate(90, expand=True)  # how a camera stores it; EXIF says: rotate back
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 CW to display
    data = png_bytes(stored, "JPEG", exif=exif.tobytes(), quality=95)
    got = prepare_digit(data).image
    ref = prepare_digit(png_bytes(upright, "JPEG", quality=95)).image
    assert np.abs(got - ref).mean() < 0.03


# ----------------------------------------------------------------------------- noise
def test_noise_is_reproducible_and_in_range():
    x = prepare_digit(np.asarray(draw_seven())).image
    for kind in ("gaussian", "salt_pepper", "occlusion"):
        a, b = add_noise(x, kind, 0.5, seed=3), add_noise(x, kind, 0.5, seed=3)
        c = add_noise(x, kind, 0.5, seed=4)
        assert isinstance(a, np.ndarray) and a.shape == x.shape
        assert np.array_equal(a, b) and not np.array_equal(a, c)
        assert a.min() >= 0 and a.max() <= 1


def test_noise_kinds_do_what_they_say():
    x = np.full((28, 28), 0.5, np.float32)
    g = add_noise(x, "gaussian", 0.5, seed=0)
    assert 0.3 < np.std(g) < 0.5  # 0.5 * N(0, 1), a little shrunk by clipping
    sp = add_noise(x, "salt_pepper", 0.2, seed=0)
    changed = (sp == 0) | (sp == 1)
    assert 0.12 < changed.mean() < 0.28
    occ = add_noise(x, "occlusion", 0.5, seed=0)
    assert (occ == 0).sum() == 14 * 14
    assert np.array_equal(add_noise(x, "gaussian", 0.0, seed=0), x)
    with pytest.raises(ValueError):
        add_noise(x, "blur", 0.5)
