"""Small image helpers shared by the pages and the scripts (NumPy and PIL only)."""

from __future__ import annotations

import numpy as np
from PIL import Image


def to_uint8(img) -> np.ndarray:
    """A float image in [0, 1] (tensor or array, any leading singleton axes) as uint8 (H, W);
    a uint8 image as it is."""
    a = img.detach().cpu().numpy() if hasattr(img, "detach") else np.asarray(img)
    a = np.squeeze(a)
    if a.dtype == np.uint8:
        return a
    return (np.clip(a, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)


def upscale(img, size: int = 280) -> Image.Image:
    """Nearest-neighbour upscaling of a 28 x 28 image to ``size`` pixels, crisp on a projector."""
    return Image.fromarray(to_uint8(img)).resize((size, size), Image.Resampling.NEAREST)


def grid(images, nrow: int, pad: int = 2, value: int = 40) -> np.ndarray:
    """Tile uint8 or float images (N, H, W) into one uint8 array with ``nrow`` per row."""
    imgs = np.stack([to_uint8(i) for i in images])
    return grids(imgs, nrow, pad, value)


def grids(images: np.ndarray, nrow: int, pad: int = 2, value: int = 40) -> np.ndarray:
    """Tile uint8 images (..., N, H, W) into uint8 grids (..., rows * (H + pad) + pad,
    nrow * (W + pad) + pad) with ``nrow`` per row, every leading index at once (the training
    replay: hundreds of epochs' sample sets in one go)."""
    images = np.asarray(images, dtype=np.uint8)
    *lead, n, h, w = images.shape
    rows = (n + nrow - 1) // nrow
    cells = np.full((*lead, rows * nrow, h + pad, w + pad), value, dtype=np.uint8)
    cells[..., :n, pad:, pad:] = images
    cells = cells.reshape(*lead, rows, nrow, h + pad, w + pad)
    cells = np.moveaxis(cells, -3, -2).reshape(*lead, rows * (h + pad), nrow * (w + pad))
    out = np.full((*lead, rows * (h + pad) + pad, nrow * (w + pad) + pad), value, dtype=np.uint8)
    out[..., : rows * (h + pad), : nrow * (w + pad)] = cells
    return out
