"""Image quality measures for reconstructions (images in [0, 1], shape (B, 1, H, W)).

PSNR and SSIM are written out here (torchmetrics takes seconds to import, which the lab's cold
start cannot afford); ``tests/test_metrics.py`` checks both against torchmetrics. BCE is the
per-pixel binary cross-entropy that Keras reports as an autoencoder's loss.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def _reduce(x: torch.Tensor, reduction: str) -> torch.Tensor:
    return x if reduction == "none" else x.mean()


def psnr(pred: torch.Tensor, target: torch.Tensor, reduction: str = "mean") -> torch.Tensor:
    """Peak signal-to-noise ratio in dB of each image (data range 1), then averaged."""
    mse = ((pred.float() - target.float()) ** 2).flatten(1).mean(1)
    return _reduce(10 * torch.log10(1.0 / mse.clamp_min(1e-10)), reduction)


def _gaussian_window(size: int = 11, sigma: float = 1.5) -> torch.Tensor:
    x = torch.arange(size, dtype=torch.float32) - (size - 1) / 2
    g = torch.exp(-(x**2) / (2 * sigma**2))
    g = g / g.sum()
    return (g[:, None] * g[None, :])[None, None]


def ssim(pred: torch.Tensor, target: torch.Tensor, reduction: str = "mean") -> torch.Tensor:
    """Structural similarity (Wang et al. 2004: Gaussian window 11, sigma 1.5, K1 0.01, K2 0.03,
    data range 1) of each single-channel image, reflection-padded as torchmetrics does, then
    averaged."""
    x, y = (F.pad(t.float(), (5, 5, 5, 5), mode="reflect") for t in (pred, target))
    w = _gaussian_window().to(x.device)
    c1, c2 = 0.01**2, 0.03**2
    mu_x, mu_y = F.conv2d(x, w), F.conv2d(y, w)
    sxx = (F.conv2d(x * x, w) - mu_x**2).clamp_min(0)
    syy = (F.conv2d(y * y, w) - mu_y**2).clamp_min(0)
    sxy = F.conv2d(x * y, w) - mu_x * mu_y
    s = ((2 * mu_x * mu_y + c1) * (2 * sxy + c2)) / ((mu_x**2 + mu_y**2 + c1) * (sxx + syy + c2))
    return _reduce(s.flatten(1).mean(1), reduction)


def bce(pred: torch.Tensor, target: torch.Tensor, reduction: str = "mean") -> torch.Tensor:
    """Binary cross-entropy per pixel of each image, then averaged."""
    per_pixel = F.binary_cross_entropy(pred.float().clamp(1e-7, 1 - 1e-7), target.float(), reduction="none")
    return _reduce(per_pixel.flatten(1).mean(1), reduction)
