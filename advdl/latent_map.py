"""The autoencoder lab's latent map: the plain autoencoder's 32-D codes of held-out digits (the
training split's hold-out, which no model trains on), projected to 2-D by PCA, precomputed by
``scripts/precompute.py`` into ``checkpoints/ae_plain/latent_map.npz`` (with the digits
themselves, so the map works without the dataset).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

FILENAME = "latent_map.npz"


@dataclass
class LatentMap:
    coords: np.ndarray  # (N, 2) PCA coordinates
    labels: np.ndarray  # (N,) digit classes
    images: np.ndarray  # (N, 28, 28) uint8 held-out digits
    indices: np.ndarray  # (N,) indices into the MNIST training split
    mean: np.ndarray  # (32,) code mean
    components: np.ndarray  # (2, 32) principal axes
    variance: np.ndarray  # (32,) variance of each code dimension over these digits

    def project(self, code: np.ndarray) -> np.ndarray:
        """2-D coordinates of codes (..., 32)."""
        return (np.asarray(code, dtype=np.float32) - self.mean) @ self.components.T

    def top_dims(self, k: int) -> np.ndarray:
        """The k code dimensions that vary most over the map's digits, most first."""
        return np.argsort(-self.variance)[:k]

    def save(self, path: str | Path) -> None:
        np.savez_compressed(path, **{k: getattr(self, k) for k in self.__dataclass_fields__})

    @classmethod
    def load(cls, path: str | Path) -> LatentMap:
        with np.load(path, allow_pickle=False) as f:
            return cls(**{k: f[k] for k in cls.__dataclass_fields__})


@torch.inference_mode()
def build_latent_map(model, x: torch.Tensor, labels: torch.Tensor, indices: np.ndarray, x_all: torch.Tensor | None = None) -> LatentMap:
    """Fit PCA on the codes of ``x_all`` (default ``x``) and project the codes of ``x``."""
    fit = model.encode(x_all if x_all is not None else x).double()
    mean = fit.mean(0)
    _, _, vh = torch.linalg.svd(fit - mean, full_matrices=False)
    comps = vh[:2]
    codes = model.encode(x).double()
    coords = (codes - mean) @ comps.T
    return LatentMap(
        coords=coords.float().numpy(), labels=labels.numpy().astype(np.uint8),
        images=(x[:, 0] * 255).round().to(torch.uint8).numpy(), indices=np.asarray(list(indices), dtype=np.int32),
        mean=mean.float().numpy(), components=comps.float().numpy(), variance=fit.var(0).float().numpy(),
    )
