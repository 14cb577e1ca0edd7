"""Measurements on the test set that go into each checkpoint's card (``scripts/evaluate.py``).

- classifiers (CNN, CapsNet): test accuracy; accuracy on the test set rotated from -60 to 60
  degrees in 15-degree steps; and on the test set restyled as other hands write
  (:func:`advdl.augment.restyle`: marker, fine pen, slant, wobble), each style and their mean;
- autoencoders: test BCE per pixel, PSNR and SSIM on clean input and on Gaussian-noisy input
  (factor 0.1 to 1.0, clipped);
- DCGAN: the Frechet distance on the CNN's penultimate features between samples and the test
  set, the same distance between training and test set (the floor), the share of samples the
  CNN labels with confidence >= 0.9, and the class histogram of the samples.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
import torch.nn.functional as F

from .digits import add_noise
from .metrics import bce, psnr, ssim

ROTATIONS = list(range(-60, 61, 15))
NOISE_LEVELS = [round(0.1 * k, 1) for k in range(1, 11)]


def _batched(fn: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor, batch: int = 500) -> torch.Tensor:
    with torch.inference_mode():
        return torch.cat([fn(xb) for xb in x.split(batch)])


def predict_fn(name: str, model) -> Callable[[torch.Tensor], torch.Tensor]:
    """Predicted classes of a classifier: argmax of CNN logits or of capsule lengths."""
    if name == "capsnet":
        return lambda xb: model(xb).lengths.argmax(1)
    return lambda xb: model(xb).argmax(1)


def rotate_batch(x: torch.Tensor, degrees: float) -> torch.Tensor:
    if degrees == 0:
        return x
    from torchvision.transforms.functional import InterpolationMode, rotate

    return rotate(x, float(degrees), interpolation=InterpolationMode.BILINEAR)


def evaluate_classifier(name: str, model, x: torch.Tensor, y: torch.Tensor, batch: int = 500, progress=None) -> dict:
    predict = predict_fn(name, model)
    out: dict = {}
    rotated = {}
    for angle in ROTATIONS:
        acc = float((_batched(predict, rotate_batch(x, angle), batch) == y).float().mean())
        rotated[str(angle)] = round(acc, 5)
        if progress:
            progress(f"{name} rotated {angle:+d}: {acc:.4f}")
    out["test_accuracy"] = rotated["0"]
    out["test_error_pct"] = round(100 * (1 - rotated["0"]), 3)
    out["rotated_accuracy"] = rotated
    return out


def evaluate_restyled(name: str, model, x: torch.Tensor, y: torch.Tensor, seed: int = 0, batch: int = 500, progress=None) -> dict:
    """Accuracy on ``x`` redrawn in each of :data:`advdl.augment.STYLES` (the "other handwriting"
    test), and the mean over the styles."""
    from .augment import STYLES, restyle

    predict = predict_fn(name, model)
    per_style = {}
    for i, style in enumerate(STYLES):
        xs = torch.cat([restyle(xb, style, seed=seed * 1000 + 97 * i + j) for j, xb in enumerate(x.split(1000))])
        per_style[style] = round(float((_batched(predict, xs, batch) == y).float().mean()), 5)
        if progress:
            progress(f"{name} restyled {style}: {per_style[style]:.4f}")
    return {"restyled_accuracy": round(sum(per_style.values()) / len(per_style), 5), "restyled_by_style": per_style}


def evaluate_autoencoder(model, x: torch.Tensor, seed: int = 0) -> dict:
    recon = _batched(model, x)
    out = {
        "test_bce": round(float(bce(recon, x)), 5),
        "clean_psnr": round(float(psnr(recon, x)), 3),
        "clean_ssim": round(float(ssim(recon, x)), 4),
    }
    noisy_psnr, noisy_ssim, input_psnr = {}, {}, {}
    for sigma in NOISE_LEVELS:
        g = torch.Generator().manual_seed(seed)
        noisy = add_noise(x, "gaussian", sigma, generator=g)
        r = _batched(model, noisy)
        noisy_psnr[str(sigma)] = round(float(psnr(r, x)), 3)
        noisy_ssim[str(sigma)] = round(float(ssim(r, x)), 4)
        input_psnr[str(sigma)] = round(float(psnr(noisy, x)), 3)
    out.update(noisy_psnr=noisy_psnr, noisy_ssim=noisy_ssim, noisy_input_psnr=input_psnr)
    return out


def frechet_distance(a: torch.Tensor, b: torch.Tensor) -> float:
    """Frechet distance between Gaussians fitted to feature sets a (N, D) and b (M, D)."""
    a, b = a.double(), b.double()
    mu_a, mu_b = a.mean(0), b.mean(0)
    ca, cb = torch.cov(a.T), torch.cov(b.T)
    # Tr sqrt(ca cb) = sum of sqrt of the eigenvalues of sqrt(ca) cb sqrt(ca) (symmetric PSD)
    ea, va = torch.linalg.eigh(ca)
    sa = va @ torch.diag(ea.clamp_min(0).sqrt()) @ va.T
    ev = torch.linalg.eigvalsh(sa @ cb @ sa).clamp_min(0)
    return float(((mu_a - mu_b) ** 2).sum() + ca.trace() + cb.trace() - 2 * ev.sqrt().sum())


def evaluate_gan(gan, cnn, x_train: torch.Tensor, x_test: torch.Tensor, n: int = 10000, seed: int = 0) -> dict:
    z = torch.randn(n, gan.config.z_dim, generator=torch.Generator().manual_seed(seed))
    samples = _batched(gan.generate, z)
    probs = _batched(lambda xb: F.softmax(cnn(xb), 1), samples)
    conf, labels = probs.max(1)
    hist = np.bincount(labels.numpy(), minlength=10) / n
    f_samples = _batched(cnn.embed, samples)
    f_test = _batched(cnn.embed, x_test)
    g = torch.Generator().manual_seed(seed)
    f_train = _batched(cnn.embed, x_train[torch.randperm(len(x_train), generator=g)[: len(x_test)]])
    fd, floor = frechet_distance(f_samples, f_test), frechet_distance(f_train, f_test)
    return {
        "samples": n,
        "confident_share": round(float((conf >= 0.9).float().mean()), 4),
        "class_histogram": [round(float(h), 4) for h in hist],
        "class_share_min": round(float(hist.min()), 4),
        "class_share_max": round(float(hist.max()), 4),
        "frechet_distance": round(fd, 3),
        "frechet_floor": round(floor, 3),
        "frechet_ratio": round(fd / max(floor, 1e-9), 2),
    }


def evaluate_inversion(gan, images: torch.Tensor, steps: int | None = None, restarts: int | None = None) -> dict:
    """The GAN lab's inversion, as the page runs it (its step count, restarts and candidate
    pool), on each of ``images`` (N, 1, 28, 28) in [0, 1]: the mean squared error per pixel of
    the best latent found, and the seconds per digit (the pool is made once, as a server makes
    it once: its time is reported apart)."""
    import time

    from .gan_tools import INVERSION_RESTARTS, INVERSION_STEPS, CandidatePool, invert

    steps, restarts = steps or INVERSION_STEPS, restarts or INVERSION_RESTARTS
    t0 = time.perf_counter()
    pool = CandidatePool(gan)
    pool_seconds = time.perf_counter() - t0
    errors, seconds = [], []
    for img in images:
        t0 = time.perf_counter()
        errors.append(invert(gan, img[0].numpy(), steps=steps, restarts=restarts, pool=pool).mse)
        seconds.append(time.perf_counter() - t0)
    return {
        "inversion_digits": len(errors),
        "inversion_mse_mean": round(float(np.mean(errors)), 5),
        "inversion_mse_p90": round(float(np.percentile(errors, 90)), 5),
        "inversion_seconds_per_digit": round(float(np.median(seconds)), 3),
        "inversion_settings": {"steps": steps, "restarts": restarts, "start": f"nearest of {len(pool.latents)} candidates",
                               "candidate_pool_seconds": round(pool_seconds, 2), "torch_threads": torch.get_num_threads()},
    }
