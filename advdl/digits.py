"""From a user's drawing or upload to an MNIST-style digit, and the noise the autoencoder lab adds.

:func:`prepare_digit` does what MNIST's makers did to each scanned digit: grayscale, light ink on
a dark ground, crop to the ink, scale the longer side to 20 px keeping the aspect ratio, and
centre by centre of mass in a 28 x 28 frame. Every lab calls it, so a digit looks the same to
every model.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageOps

#: Largest image we agree to decode (width x height). A 4096 x 4096 photo passes; bombs do not.
MAX_PIXELS = 4096 * 4096
#: Largest upload we read at all, in bytes.
MAX_BYTES = 8 * 1024 * 1024

BOX = 20  # the longer side of the ink after scaling, as in MNIST
SIZE = 28


class DigitError(ValueError):
    """Base class of the errors an upload can raise; ``code`` names the message to show."""

    code = "digit_error"


class ImageTooLargeError(DigitError):
    code = "image_too_large"


class UnreadableImageError(DigitError):
    code = "image_unreadable"


@dataclass(frozen=True)
class Digit:
    """The result of :func:`prepare_digit`.

    ``image`` is a float32 (28, 28) array in [0, 1] with light ink on black, or ``None`` when
    the input held no ink (``empty`` is then true).
    """

    image: np.ndarray | None
    coverage: float = 0.0  # the share of the input's area covered by ink (> 0.5)

    @property
    def empty(self) -> bool:
        return self.image is None

    @property
    def overfilled(self) -> bool:
        """Ink over most of the input: a scribble, not a digit (a digit covers ~10-20 %)."""
        return self.coverage > FULL_COVERAGE


EMPTY = Digit(None)
FULL_COVERAGE = 0.5


# ----------------------------------------------------------------------------- decoding uploads
def open_image(data: bytes | io.IOBase) -> Image.Image:
    """Open an uploaded file safely: size checked before decoding, EXIF orientation applied.

    Raises :class:`ImageTooLargeError` or :class:`UnreadableImageError`.
    """
    raw = data if isinstance(data, bytes) else data.read(MAX_BYTES + 1)
    if len(raw) == 0:
        raise UnreadableImageError("the file is empty")
    if len(raw) > MAX_BYTES:
        raise ImageTooLargeError(f"the file is larger than {MAX_BYTES // (1024 * 1024)} MB")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            img = Image.open(io.BytesIO(raw))  # reads the header only
            w, h = img.size
            if w * h > MAX_PIXELS:
                raise ImageTooLargeError(f"the image is {w} x {h} pixels; the limit is {MAX_PIXELS:,} pixels")
            if getattr(img, "n_frames", 1) > 1:
                img.seek(0)  # an animated image: take its first frame
            img.load()
            img = ImageOps.exif_transpose(img)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ImageTooLargeError(str(exc)) from None
    except DigitError:
        raise
    except Exception as exc:  # PIL raises many types for broken files
        raise UnreadableImageError(f"not a readable image ({type(exc).__name__})") from None
    return img


def image_to_array(img: Image.Image) -> np.ndarray:
    """A PIL image of any mode as a float32 array: (H, W) gray or (H, W, 4) RGBA, in [0, 1]."""
    if img.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        arr = np.asarray(img, dtype=np.float32)
        top = 65535.0 if img.mode.startswith("I;16") else max(float(arr.max()), 1.0)
        return np.clip(arr / top, 0.0, 1.0)
    has_alpha = img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info)
    if has_alpha:
        return np.asarray(img.convert("RGBA"), dtype=np.float32) / 255.0
    return np.asarray(img.convert("L"), dtype=np.float32) / 255.0


# ----------------------------------------------------------------------------- the MNIST recipe
def _to_gray(arr: np.ndarray) -> np.ndarray:
    """Any (H, W), (H, W, 3) or (H, W, 4) array (uint8 or float in [0, 1]) as float gray."""
    a = np.asarray(arr)
    a = a.astype(np.float32) / 255.0 if a.dtype == np.uint8 else a.astype(np.float32)
    if a.ndim == 2:
        return a
    if a.ndim != 3 or a.shape[2] not in (1, 3, 4):
        raise UnreadableImageError(f"expected a gray, RGB or RGBA image, got shape {a.shape}")
    if a.shape[2] == 1:
        return a[..., 0]
    lum = a[..., :3] @ np.array([0.299, 0.587, 0.114], dtype=np.float32) if a.shape[2] >= 3 else a[..., 0]
    if a.shape[2] == 4:
        alpha = a[..., 3]
        if alpha.min() < 0.999:
            # Composite over a ground that contrasts with the opaque strokes: light strokes on a
            # transparent canvas go on black, dark strokes on a transparent upload on white.
            opaque = alpha > 0.5
            ink_is_light = opaque.any() and float(lum[opaque].mean()) > 0.5
            ground = 0.0 if ink_is_light else 1.0
            lum = alpha * lum + (1.0 - alpha) * ground
    return lum


def _ink(gray: np.ndarray, light_ink: bool | None = None) -> np.ndarray:
    """Light ink on a dark ground, with the ground at 0 and the strongest ink at 1.

    ``light_ink`` says which way round the input is (the canvas: light strokes on black); when
    None it is guessed from the border, which is mostly ground in any photo of a digit.
    """
    if light_ink is None:
        border = np.concatenate([gray[0], gray[-1], gray[:, 0], gray[:, -1]])
        ground = float(np.median(border))
        if ground > 0.5:  # dark on light: invert
            gray, ground = 1.0 - gray, 1.0 - ground
    else:
        gray = gray if light_ink else 1.0 - gray
        ground = 0.0
    span = float(gray.max()) - ground
    if span <= 1e-6:
        return np.zeros_like(gray)
    return np.clip((gray - ground) / span, 0.0, 1.0) if span > 0.15 else np.zeros_like(gray)


def _resize(a: np.ndarray, w: int, h: int) -> np.ndarray:
    img = Image.fromarray(a.astype(np.float32))
    return np.asarray(img.resize((w, h), Image.Resampling.LANCZOS), dtype=np.float32)


def prepare_digit(source: np.ndarray | Image.Image | bytes, light_ink: bool | None = None) -> Digit:
    """Turn a canvas RGBA array, an image array, a PIL image or an uploaded file into a digit.

    ``light_ink`` fixes the polarity (True for the canvas's light strokes); None guesses it from
    the border. Returns :data:`EMPTY` when there is (almost) no ink; the digit's ``coverage``
    tells a scribble over the whole input from a digit. Uploads that cannot be decoded safely
    raise :class:`ImageTooLargeError` or :class:`UnreadableImageError`.
    """
    if isinstance(source, (bytes, bytearray, io.IOBase)):
        source = open_image(bytes(source) if isinstance(source, bytearray) else source)
    if isinstance(source, Image.Image):
        source = image_to_array(source)
    gray = _to_gray(source)
    if gray.size == 0 or min(gray.shape) < 2:
        return EMPTY
    ink = _ink(gray, light_ink)
    h, w = ink.shape
    # Ignore faint specks: the ink must amount to at least ~1.5 MNIST pixels' worth of area.
    cell = (max(h, w) / SIZE) ** 2
    mask = ink > 0.2
    if ink[mask].sum() < 1.5 * cell:
        return EMPTY
    rows, cols = np.flatnonzero(mask.any(1)), np.flatnonzero(mask.any(0))
    crop = ink[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]
    ch, cw = crop.shape
    scale = BOX / max(ch, cw)
    nh, nw = max(1, round(ch * scale)), max(1, round(cw * scale))
    small = np.clip(_resize(crop, nw, nh), 0.0, None)
    # Place in a large frame, then cut the 28 x 28 window centred on the centre of mass.
    big = np.zeros((3 * SIZE, 3 * SIZE), dtype=np.float32)
    oy, ox = SIZE + (SIZE - nh) // 2, SIZE + (SIZE - nw) // 2
    big[oy : oy + nh, ox : ox + nw] = small
    total = float(big.sum())
    if total <= 0:
        return EMPTY
    ys, xs = np.indices(big.shape)
    cy, cx = float((ys * big).sum() / total), float((xs * big).sum() / total)
    top, left = int(round(cy - (SIZE - 1) / 2)), int(round(cx - (SIZE - 1) / 2))
    out = big[top : top + SIZE, left : left + SIZE]
    out = out / max(float(out.max()), 1e-6)
    return Digit(np.clip(out, 0.0, 1.0).astype(np.float32), coverage=float(mask.mean()))


def centre_of_mass(img: np.ndarray) -> tuple[float, float]:
    """(row, column) of the centre of mass of a 2-D image."""
    ys, xs = np.indices(img.shape)
    total = float(img.sum())
    return float((ys * img).sum() / total), float((xs * img).sum() / total)


# ----------------------------------------------------------------------------- noise
NOISE_KINDS = ("gaussian", "salt_pepper", "occlusion")


def add_noise(x, kind: str = "gaussian", strength: float = 0.5, seed: int | None = 0, generator=None):
    """Corrupt images in [0, 1], reproducibly from ``seed`` (or a torch ``generator``).

    ``x`` is a NumPy array or a torch tensor whose last two axes are 28 x 28 (any leading axes).
    - ``gaussian``: ``x + strength * N(0, 1)``, clipped to [0, 1] (the course uses 0.5);
    - ``salt_pepper``: a share ``strength`` of the pixels set to 0 or 1;
    - ``occlusion``: a square patch whose side is ``strength`` of the image's side set to 0.
    Returns the same type as ``x``.
    """
    import torch

    is_numpy = isinstance(x, np.ndarray)
    t = torch.as_tensor(np.asarray(x, dtype=np.float32)) if is_numpy else x
    if generator is None:
        generator = torch.Generator().manual_seed(int(seed or 0))
    strength = float(strength)
    if kind == "gaussian":
        noise = torch.randn(t.shape, generator=generator, dtype=t.dtype, device="cpu").to(t.device)
        out = (t + strength * noise).clamp(0.0, 1.0)
    elif kind == "salt_pepper":
        u = torch.rand(t.shape, generator=generator).to(t.device)
        out = t.clone()
        out[u < strength / 2] = 0.0
        out[(u >= strength / 2) & (u < strength)] = 1.0
    elif kind == "occlusion":
        h, w = t.shape[-2:]
        side = int(round(strength * min(h, w)))
        out = t.clone()
        if side > 0:
            top = int(torch.randint(0, h - side + 1, (1,), generator=generator))
            left = int(torch.randint(0, w - side + 1, (1,), generator=generator))
            out[..., top : top + side, left : left + side] = 0.0
    else:
        raise ValueError(f"unknown noise kind {kind!r}; choose one of {NOISE_KINDS}")
    return out.numpy() if is_numpy else out
