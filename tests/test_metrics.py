"""Our PSNR, SSIM and Frechet distance against torchmetrics and known cases."""

from __future__ import annotations

import pytest
import torch

from advdl.evaluation import frechet_distance
from advdl.metrics import bce, psnr, ssim


def pair(seed=0):
    g = torch.Generator().manual_seed(seed)
    a = torch.rand(4, 1, 28, 28, generator=g)
    return a, (a + 0.2 * torch.randn(a.shape, generator=g)).clamp(0, 1)


def test_psnr_and_ssim_match_torchmetrics():
    from torchmetrics.functional.image import peak_signal_noise_ratio, structural_similarity_index_measure

    a, b = pair()
    torch.testing.assert_close(psnr(a, b, "none"), peak_signal_noise_ratio(a, b, data_range=1.0, reduction="none", dim=(1, 2, 3)))
    torch.testing.assert_close(ssim(a, b, "none"), structural_similarity_index_measure(a, b, data_range=1.0, reduction="none"), atol=1e-5, rtol=1e-4)


def test_identical_images():
    a, _ = pair()
    assert float(ssim(a, a)) > 0.9999 and float(psnr(a, a)) > 90


def test_bce_is_per_pixel():
    a = torch.full((2, 1, 28, 28), 0.5)
    t = torch.ones(2, 1, 28, 28)
    assert abs(float(bce(a, t)) - 0.6931) < 1e-3


def test_frechet_distance_known_cases():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(4000, 8, generator=g)
    y = torch.randn(4000, 8, generator=g)
    assert frechet_distance(x, x) < 1e-6
    assert frechet_distance(x, y) < 0.05
    shifted = frechet_distance(x, y + torch.tensor([3.0] + [0.0] * 7))
    assert abs(shifted - 9.0) < 0.3


def test_frechet_distance_matches_scipy_on_anisotropic_covariances():
    # the trace term Tr sqrt(Ca Cb) of covariances that neither commute nor are diagonal: a
    # formula that dropped the square root, or took sqrt(Ca) sqrt(Cb), fails here
    import numpy as np
    from scipy import linalg

    rng = np.random.default_rng(0)
    d = 6
    a = rng.standard_normal((5000, d)) @ rng.standard_normal((d, d)) * np.linspace(0.3, 3, d)
    b = rng.standard_normal((5000, d)) @ rng.standard_normal((d, d)) + rng.standard_normal(d)
    ca, cb = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    assert not np.allclose(ca @ cb, cb @ ca, atol=1e-3)  # the hard case
    covmean = linalg.sqrtm(ca @ cb).real
    reference = ((a.mean(0) - b.mean(0)) ** 2).sum() + np.trace(ca) + np.trace(cb) - 2 * np.trace(covmean)
    ours = frechet_distance(torch.from_numpy(a), torch.from_numpy(b))
    assert ours == pytest.approx(reference, rel=1e-6)
    # and it is not the distance without the square root
    assert abs(ours - (((a.mean(0) - b.mean(0)) ** 2).sum() + np.trace(ca) + np.trace(cb) - 2 * np.trace(ca @ cb))) > 1
