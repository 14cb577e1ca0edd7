"""Small image helpers shared by the pages and the scripts (NumPy and PIL only)."""

from __future__ import annotations

import numpy as np
from PIL import Image


def to_uint8(img) -> np.ndarray:
    """A float image in [0, 1] (tensor or array, any leading singleton axes) as uint8 (H, W)."""
    a = img.detach().cpu().numpy() if hasattr(img, "detach") else np.asarray(img)
    a = np.squeeze(a)
    return (np.clip(a, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)


def upscale(img, size: int = 280) -> Image.Image:
    """Nearest-neighbour upscaling of a 28 x 28 image to ``size`` pixels, crisp on a projector."""
    return Image.fromarray(to_uint8(img)).resize((size, size), Image.Resampling.NEAREST)


def grid(images, nrow: int, pad: int = 2, value: int = 40) -> np.ndarray:
    """Tile uint8 or float images (N, H, W) into one uint8 array with ``nrow`` per row."""
    imgs = [to_uint8(i) if np.asarray(i).dtype != np.uint8 else np.asarray(i) for i in images]
    n, (h, w) = len(imgs), imgs[0].shape
    rows = (n + nrow - 1) // nrow
    out = np.full((rows * (h + pad) + pad, nrow * (w + pad) + pad), value, dtype=np.uint8)
    for k, im in enumerate(imgs):
        r, c = divmod(k, nrow)
        out[pad + r * (h + pad) : pad + r * (h + pad) + h, pad + c * (w + pad) : pad + c * (w + pad) + w] = im
    return out
