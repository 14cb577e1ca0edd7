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


def png(img) -> bytes:
    """An image (float in [0, 1], uint8 grey or RGB, or a PIL image) as PNG bytes: what
    ``st.image`` would encode again on every run, for images kept and shown many times."""
    import io

    pil = img if isinstance(img, Image.Image) else Image.fromarray(to_uint8(img))
    buf = io.BytesIO()
    pil.save(buf, format="PNG", compress_level=1)
    return buf.getvalue()


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


# Plotly's Inferno and RdBu scales (plotly.colors), sampled here in NumPy so that a view drawn
# many times a lesson (the routing's maps, one per iteration) is one small PNG each rather than a
# plotly chart: the browser lays out and paints a chart far more slowly than it shows an image.
INFERNO = ["#000004", "#1b0c41", "#4a0c6b", "#781c6d", "#a52c60", "#cf4446", "#ed6925", "#fb9b06", "#f7d13d", "#fcffa4"]
RDBU = ["#67001f", "#b2182b", "#d6604d", "#f4a582", "#fddbc7", "#f7f7f7", "#d1e5f0", "#92c5de", "#4393c3", "#2166ac", "#053061"]


def colormap(values, anchors: list[str]) -> np.ndarray:
    """Values in [0, 1] (any shape) as uint8 RGB (..., 3), linear between evenly spaced anchors."""
    rgb = np.array([[int(h[i:i + 2], 16) for i in (1, 3, 5)] for h in anchors], np.float64)
    v = np.clip(np.asarray(values, np.float64), 0, 1) * (len(anchors) - 1)
    lo = np.minimum(v.astype(int), len(anchors) - 2)
    f = (v - lo)[..., None]
    return np.round(rgb[lo] * (1 - f) + rgb[lo + 1] * f).astype(np.uint8)


def diverging(z: np.ndarray, zoom: int = 24) -> tuple[np.ndarray, float]:
    """A signed map as an RGB image on plotly's RdBu (red below 0, white at 0, blue above), scaled
    to ± its largest magnitude, each cell ``zoom`` pixels; returns the image and that magnitude."""
    z = np.asarray(z, np.float64)
    top = float(np.abs(z).max()) or 1.0
    img = colormap(0.5 + 0.5 * z / top, RDBU)
    return np.kron(img, np.ones((zoom, zoom, 1), np.uint8)), top


def dots_over(image: np.ndarray, centres: np.ndarray, strength: np.ndarray, frame: tuple[int, int, int, int] | None = None,
              zoom: int = 8) -> np.ndarray:
    """A grey 28 x 28 image at ``zoom`` with a dot at each centre (pixel coordinates x, y), its
    size and Inferno colour by ``strength`` in [0, 1], and an optional frame (x0, y0, x1, y1 in
    pixels, inclusive) in amber: RGB uint8."""
    from PIL import ImageDraw

    grey = to_uint8(image)
    base = Image.fromarray(np.repeat(grey[:, :, None], 3, axis=2)).resize((grey.shape[1] * zoom, grey.shape[0] * zoom),
                                                                         Image.Resampling.NEAREST)
    draw = ImageDraw.Draw(base)
    colours = colormap(strength, INFERNO)
    for (x, y), s, c in zip(np.asarray(centres, np.float64), np.asarray(strength, np.float64).ravel(), colours.reshape(-1, 3)):
        r = zoom * (0.3 + 1.4 * float(s))
        cx, cy = (x + 0.5) * zoom, (y + 0.5) * zoom
        draw.ellipse([cx - r, cy - r, cx + r, cy + r], fill=tuple(int(v) for v in c))
    if frame is not None:
        x0, y0, x1, y1 = frame
        draw.rectangle([x0 * zoom, y0 * zoom, (x1 + 1) * zoom - 1, (y1 + 1) * zoom - 1], outline=(251, 188, 4), width=max(2, zoom // 3))
    return np.asarray(base)


def scatter(groups: list[tuple[np.ndarray, np.ndarray, np.ndarray, tuple[int, int, int]]], size: int = 300, margin: int = 14) -> np.ndarray:
    """A 2-D scatter as an RGB image on white: each group ``(points (N, 2), weights (N,) in [0, 1],
    mark (2,), colour)`` drawn as translucent dots sized by weight, its mark as a bold ×; all groups
    share one scale (the aspect kept), y upwards."""
    from PIL import ImageDraw

    allpts = np.concatenate([np.vstack([g[0], g[2][None]]) for g in groups]).astype(np.float64)
    lo, hi = allpts.min(0), allpts.max(0)
    scale = (size - 2 * margin) / max(float((hi - lo).max()), 1e-9)
    centre = (lo + hi) / 2

    def px(p):
        q = (np.asarray(p, np.float64) - centre) * scale
        return size / 2 + q[..., 0], size / 2 - q[..., 1]

    img = Image.new("RGBA", (size, size), (255, 255, 255, 255))
    layer = Image.new("RGBA", (size, size), (0, 0, 0, 0))
    draw = ImageDraw.Draw(layer)
    for pts, w, _, colour in groups:
        xs, ys = px(pts)
        for x, y, wi in zip(xs, ys, np.clip(np.asarray(w, np.float64), 0, 1)):
            r = 1.0 + 14.0 * wi
            draw.ellipse([x - r, y - r, x + r, y + r], fill=(*colour, 110))
    img = Image.alpha_composite(img, layer)
    draw = ImageDraw.Draw(img)
    for _, _, mark, colour in groups:
        x, y = px(mark)
        for dx in (-8, 8):
            draw.line([x - dx, y - 8, x + dx, y + 8], fill=(*colour, 255), width=4)
    return np.asarray(img.convert("RGB"))


def histograms(counts: np.ndarray, edges: np.ndarray, bands: tuple[np.ndarray, np.ndarray], marks: np.ndarray, cols: int = 8,
               panel: tuple[int, int] = (84, 46), pad: int = 6) -> np.ndarray:
    """Small histograms in a grid as one RGB image: ``counts`` (K, B) over ``edges`` (K, B + 1),
    each panel's band ``[bands[0][k], bands[1][k]]`` shaded blue, ``marks[k]`` a red line, its
    number (k + 1) in the corner. Grey bars, each panel on its own x range and height."""
    from PIL import ImageDraw

    K, B = counts.shape
    pw, ph = panel
    rows = (K + cols - 1) // cols
    img = Image.new("RGB", (cols * (pw + pad) + pad, rows * (ph + pad + 10) + pad), (255, 255, 255))
    draw = ImageDraw.Draw(img)
    for k in range(K):
        x0, y0 = pad + (k % cols) * (pw + pad), pad + 10 + (k // cols) * (ph + pad + 10)
        lo, hi = float(edges[k, 0]), float(edges[k, -1])

        def px(v, lo=lo, hi=hi, x0=x0):
            return x0 + (float(v) - lo) / max(hi - lo, 1e-12) * pw

        draw.rectangle([px(max(bands[0][k], lo)), y0, px(min(bands[1][k], hi)), y0 + ph], fill=(208, 225, 252))
        top = max(float(counts[k].max()), 1e-12)
        for b in range(B):
            h = ph * float(counts[k, b]) / top
            if h > 0:
                draw.rectangle([px(edges[k, b]), y0 + ph - h, px(edges[k, b + 1]) - 1, y0 + ph], fill=(154, 160, 166))
        xm = px(np.clip(marks[k], lo, hi))
        draw.line([xm, y0, xm, y0 + ph], fill=(217, 48, 37), width=2)
        draw.text((x0, y0 - 10), str(k + 1), fill=(60, 64, 67))
    return np.asarray(img)
