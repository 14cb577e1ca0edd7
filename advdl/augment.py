"""How students write, in two forms: augmentation that trains a classifier on it, and a restyled
test set that measures it.

- :func:`handwriting` (training, on batches): a random affine map (rotation, scale, shear,
  shift) and a random stroke width (a grey-scale dilation or erosion blended in), the ways a
  mouse or a pen differs from MNIST's scanned pencil.
- :func:`restyle` (evaluation, ``scripts/evaluate.py`` only): each MNIST test digit redrawn in
  four styles that training never shows in that form, then put through the lab's own
  :func:`advdl.digits.prepare_digit`, as a digit drawn in the lab is: ``marker`` (binarised and
  thickened, the mouse on the canvas), ``fine`` (thinned to a fine pen), ``slant`` (sheared
  beyond the training range), ``wobble`` (an elastic distortion, Simard et al. 2003).

Both are plain tensor operations on (B, 1, 28, 28) images in [0, 1] (``affine_grid`` +
``grid_sample``, ``max_pool2d`` as grey-scale morphology), seeded by a ``torch.Generator``:
torchvision's ``RandomAffine`` draws one transform per call, and a loop over a batch took an
order of magnitude longer than one ``affine_grid`` over it.
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F

STYLES = ("marker", "fine", "slant", "wobble")
#: Ranges of the training augmentation (``handwriting``).
ROTATE_DEG, SCALE, SHEAR, SHIFT_PX = 15.0, (0.85, 1.15), 0.3, 2.0


def _uniform(n: int, lo: float, hi: float, generator: torch.Generator | None) -> torch.Tensor:
    return torch.rand(n, generator=generator) * (hi - lo) + lo


def warp(x: torch.Tensor, matrix: torch.Tensor, shift: torch.Tensor | None = None) -> torch.Tensor:
    """Images (B, 1, H, W) mapped by per-image 2 x 2 ``matrix`` (B, 2, 2) about the centre, then
    moved by ``shift`` (B, 2) in pixels (x, y); bilinear, zero outside."""
    B, _, H, W = x.shape
    inv = torch.linalg.inv(matrix.double()).float()  # affine_grid maps output to input coordinates
    t = torch.zeros(B, 2) if shift is None else shift * torch.tensor([2.0 / W, 2.0 / H])
    theta = torch.cat([inv, -(inv @ t[:, :, None])], dim=2).to(x.device, x.dtype)
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False)


def affine_matrix(angle_rad: torch.Tensor, scale: torch.Tensor, shear: torch.Tensor) -> torch.Tensor:
    """(B, 2, 2): scale, then a horizontal shear (x += shear * y, the slant of italics), then a
    rotation."""
    c, s = torch.cos(angle_rad), torch.sin(angle_rad)
    rot = torch.stack([torch.stack([c, -s], -1), torch.stack([s, c], -1)], -2)
    one, zero = torch.ones_like(shear), torch.zeros_like(shear)
    sh = torch.stack([torch.stack([one, shear], -1), torch.stack([zero, one], -1)], -2)
    return rot @ sh @ (scale[:, None, None] * torch.eye(2))


def dilate(x: torch.Tensor, k: int = 3) -> torch.Tensor:
    return F.max_pool2d(x, k, 1, k // 2)


def erode(x: torch.Tensor, k: int = 3) -> torch.Tensor:
    return -F.max_pool2d(-x, k, 1, k // 2)


def stroke_width(x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    """Thicker strokes for ``w`` in (0, 1] (the dilated image blended in by w: up to a pixel on
    each side), thinner for ``w`` in [-1, 0) (up to a pixel on each side, a fine pen's line: the
    image blended towards :func:`thinner` for |w| <= 0.5, then towards it applied twice); per
    image, ``w`` of shape (B,)."""
    w = w.to(x.device, x.dtype).view(-1, 1, 1, 1)
    half = thinner(x)
    one = thinner(half)
    a = (-2 * w).clamp(0, 1)  # 0 -> 1 over w in [0, -0.5]
    b = (-2 * w - 1).clamp(0, 1)  # 0 -> 1 over w in [-0.5, -1]
    thin = x + a * (half - x) + b * (one - half)
    return torch.where(w >= 0, x + w * (dilate(x) - x), thin)


def thinner(x: torch.Tensor) -> torch.Tensor:
    """Strokes half a pixel thinner on each side, at full ink strength: eroded at twice the
    resolution (a 3 x 3 erosion at 28 px wipes out most of MNIST's 2-3 px strokes)."""
    big = F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False)
    thin = F.avg_pool2d(erode(big), 2)
    return (thin / thin.flatten(1).amax(1).clamp_min(0.5).view(-1, 1, 1, 1)).clamp_(0, 1)


def handwriting(x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    """The training augmentation: a random stroke width (up to a pixel thicker or thinner on
    each side), then a random affine map (rotation within ±15°, scale 0.85-1.15, shear within
    ±0.3, shift within ±2 px), per image."""
    B = x.shape[0]
    x = stroke_width(x, _uniform(B, -1.0, 1.0, generator))
    angle = torch.deg2rad(_uniform(B, -ROTATE_DEG, ROTATE_DEG, generator))
    scale = torch.exp(_uniform(B, math.log(SCALE[0]), math.log(SCALE[1]), generator))
    shear = _uniform(B, -SHEAR, SHEAR, generator)
    shift = torch.stack([_uniform(B, -SHIFT_PX, SHIFT_PX, generator) for _ in range(2)], 1)
    return warp(x, affine_matrix(angle, scale, shear), shift).clamp_(0, 1)


# ----------------------------------------------------------------------------- the restyled test
def _gaussian_blur(x: torch.Tensor, sigma: float) -> torch.Tensor:
    r = int(math.ceil(3 * sigma))
    k = torch.exp(-(torch.arange(-r, r + 1, dtype=x.dtype) ** 2) / (2 * sigma**2))
    k = (k / k.sum()).to(x.device)
    x = F.conv2d(F.pad(x, (r, r, 0, 0), mode="reflect"), k.view(1, 1, 1, -1))
    return F.conv2d(F.pad(x, (0, 0, r, r), mode="reflect"), k.view(1, 1, -1, 1))


def _style(x: torch.Tensor, style: str, g: torch.Generator) -> torch.Tensor:
    """One style on images at twice MNIST's resolution (B, 1, 56, 56)."""
    B = x.shape[0]
    if style == "marker":  # a round pen of one width, on and off: binarise, thicken 1-2 px, antialias
        ink = (x > 0.4).to(x.dtype)
        radius = torch.randint(1, 3, (B,), generator=g)
        thick = torch.where((radius == 1).view(-1, 1, 1, 1), dilate(ink, 3), dilate(ink, 5))
        return _gaussian_blur(thick, 0.7).clamp(0, 1)
    if style == "fine":  # a fine pen: erode, keep the full ink strength
        thin = erode(erode(x))
        thin = torch.where(thin.flatten(1).amax(1).view(-1, 1, 1, 1) > 0.3, thin, erode(x))
        return (thin / thin.flatten(1).amax(1).clamp_min(1e-6).view(-1, 1, 1, 1)).clamp(0, 1)
    if style == "slant":  # italic or backhand, beyond the training shear of ±0.3
        shear = _uniform(B, 0.35, 0.55, g) * (torch.randint(0, 2, (B,), generator=g) * 2 - 1)
        return warp(x, affine_matrix(torch.zeros(B), torch.ones(B), shear)).clamp(0, 1)
    if style == "wobble":  # a shaky hand: smooth random displacements (alpha 8 px, sigma 8 px at 56 px)
        d = torch.rand(B, 2, 56, 56, generator=g) * 2 - 1
        d = _gaussian_blur(d.view(-1, 1, 56, 56), 8.0).view(B, 2, 56, 56)
        d = d / d.flatten(1).abs().amax(1).clamp_min(1e-6).view(-1, 1, 1, 1) * (8.0 * 2 / 56)
        base = F.affine_grid(torch.eye(2, 3).expand(B, 2, 3), [B, 1, 56, 56], align_corners=False)
        return F.grid_sample(x, base + d.permute(0, 2, 3, 1), align_corners=False).clamp(0, 1)
    raise ValueError(f"unknown style {style!r}; choose from {STYLES}")


def restyle(x: torch.Tensor, style: str, seed: int = 0) -> torch.Tensor:
    """MNIST digits (B, 1, 28, 28) redrawn in ``style`` and prepared as the lab prepares a
    drawing (crop, 20 px box, centre of mass); a digit that loses all its ink stays as it was."""
    from .digits import prepare_digit

    g = torch.Generator().manual_seed(seed)
    big = F.interpolate(x.float(), scale_factor=2, mode="bilinear", align_corners=False)
    styled = _style(big, style, g).numpy()[:, 0]
    out = np.empty((len(x), 28, 28), dtype=np.float32)
    for i, img in enumerate(styled):
        digit = prepare_digit(img, light_ink=True)
        out[i] = x[i, 0].numpy() if digit.empty else digit.image
    return torch.from_numpy(out).unsqueeze(1)
