"""Bad uploads on the pages: every broken, odd or hostile file gets a translated message or is
read as a digit, never a traceback, and the session keeps working afterwards. (Garbage in the
URL: tests/test_pages.py; the canvas: tests/e2e; the decoding itself: tests/test_digits.py.)"""

from __future__ import annotations

import io
import struct
import zlib

import numpy as np
import pytest
from PIL import Image, ImageDraw

from advdl.ui.i18n import STRINGS

from conftest import ae_panel, run_page


def _seven(ink=0, ground=255, size=280, mode="L") -> Image.Image:
    img = Image.new(mode, (size, size), ground)
    ImageDraw.Draw(img).line([(60, 50), (200, 50), (110, 240)], fill=ink, width=18)
    return img


def _save(img: Image.Image, fmt="PNG", **kw) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format=fmt, **kw)
    return buf.getvalue()


def _png_of_zeros(width: int, height: int, bit_depth: int = 8) -> bytes:
    """A valid grayscale PNG of the given size, compressed row by row (never held in memory):
    at 1 bit per pixel and a huge size, a decompression bomb of a few hundred kB."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    row = b"\0" * (1 + (width * bit_depth + 7) // 8)
    comp, parts = zlib.compressobj(9), []
    for _ in range(height // 100):
        parts.append(comp.compress(row * 100))
    parts.append(comp.compress(row * (height % 100)) + comp.flush())
    ihdr = struct.pack(">IIBBBBB", width, height, bit_depth, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", b"".join(parts)) + chunk(b"IEND", b"")


def _sixteen_bit() -> bytes:
    gray = (255 - np.asarray(_seven())).astype(np.uint16) * 257
    return _save(Image.fromarray(gray))


def _palette_with_transparency() -> bytes:
    pal = _seven(ink=(0, 0, 0, 255), ground=(255, 255, 255, 0), mode="RGBA").convert("P")
    return _save(pal, transparency=pal.getpixel((0, 0)))


def _cmyk_jpeg() -> bytes:
    return _save(_seven().convert("RGB").convert("CMYK"), "JPEG", quality=95)


def _animated_gif() -> bytes:
    buf = io.BytesIO()
    _seven().save(buf, format="GIF", save_all=True, append_images=[Image.new("L", (280, 280), 255)], duration=100)
    return buf.getvalue()


def _exif_rotated_photo() -> bytes:
    stored = _seven().convert("RGB").rotate(90, expand=True)  # a camera stores it on its side
    exif = Image.Exif()
    exif[0x0112] = 6  # ... and says: rotate 90 degrees clockwise to display
    return _save(stored, "JPEG", exif=exif.tobytes(), quality=92)


# (case, file name, content, what the page must do: an error code, a warning key, or "digit")
CASES = [
    ("empty file", "empty.png", lambda: b"", "image_unreadable"),
    ("text named .png", "notes.png", lambda: b"this is not an image, only text named .png", "image_unreadable"),
    ("truncated png", "cut.png", lambda: _save(_seven())[:300], "image_unreadable"),
    ("1x1", "dot.png", lambda: _save(Image.new("L", (1, 1), 255)), "input.no_digit"),
    ("10000x10000", "huge.png", lambda: _png_of_zeros(10_000, 10_000), "image_too_large"),
    ("decompression bomb", "bomb.png", lambda: _png_of_zeros(40_000, 40_000, bit_depth=1), "image_too_large"),
    ("16-bit grayscale", "deep.png", _sixteen_bit, "digit"),
    ("cmyk jpeg", "print.jpg", _cmyk_jpeg, "digit"),
    ("palette png with transparency", "pal.png", _palette_with_transparency, "digit"),
    ("animated gif", "anim.gif", _animated_gif, "digit"),
    ("exif-rotated photo", "photo.jpg", _exif_rotated_photo, "digit"),
]


def _prefix(key: str, lang: str) -> str:
    """The translated part of a message, before its first placeholder."""
    return STRINGS[key][lang].split("{")[0].strip()


# Every case in English; in Chinese one case of each outcome (each message, and a digit read),
# since what differs between the languages is the message's text alone.
IN_CHINESE = {"empty file", "1x1", "10000x10000", "16-bit grayscale"}
RUNS = [(lang, *c) for c in CASES for lang in (("en", "zh") if c[0] in IN_CHINESE else ("en",))]


@pytest.mark.parametrize("lang,case,name,content,expect", RUNS, ids=[f"{r[1]}-{r[0]}" for r in RUNS])
def test_an_upload_gets_a_message_or_a_digit_and_the_lab_goes_on(random_checkpoints, checkpoint_env, lang, case, name, content, expect):
    checkpoint_env(random_checkpoints)
    at = run_page("capsules", lang=lang)
    at.radio(key="caps.source").set_value("upload").run()
    at.file_uploader(key="caps.upload").upload(name, content(), "application/octet-stream").run()
    assert not at.exception, [e.value for e in at.exception]
    seen = [c for c in at.get("image") if STRINGS["input.seen"][lang] in c.captions]
    if expect == "digit":
        assert not at.error and not at.warning, [m.value for m in [*at.error, *at.warning]]
        assert seen, "the 28x28 digit is shown"
        assert at.metric and at.metric[0].value.strip().isdigit()  # the CapsNet read it
    else:
        messages = [m.value for m in [*at.error, *at.warning]]
        assert any(m.startswith(_prefix(expect, lang)) for m in messages), messages
        assert not seen
    # the session keeps working: back to a sample digit
    at.radio(key="caps.source").set_value("sample").run()
    assert not at.exception and not at.error
    assert at.metric and at.metric[0].value.strip().isdigit()


def test_autoencoder_lab_upload_good_then_broken_then_noise(random_checkpoints, checkpoint_env):
    checkpoint_env(random_checkpoints)
    at = run_page("autoencoders")
    at.radio(key="ae.source").set_value("upload").run()
    at.file_uploader(key="ae.upload").upload("seven.png", _save(_seven()), "image/png").run()
    assert not at.exception and not at.error
    panel = ae_panel(at)  # the four reconstructions of the upload, at every noise strength
    assert panel is not None and all(sum("PSNR" in m for m in row) == 4 for row in panel["metrics"])
    at.session_state["ae.strength"] = {"commit": {"epoch": 0, "indices": [18]}}  # the browser's release at 0.9
    at.run()
    assert not at.exception and ae_panel(at)["index"] == 18
    at.file_uploader(key="ae.upload").set_value(("broken.png", b"\x89PNG\r\n\x1a\n broken", "image/png")).run()
    assert not at.exception
    assert any(e.value.startswith(_prefix("image_unreadable", "en")) for e in at.error)
    assert ae_panel(at) is None  # nothing stale is shown for a broken file
    at.radio(key="ae.source").set_value("sample").run()
    assert not at.exception and ae_panel(at) is not None
