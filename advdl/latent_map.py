"""The autoencoder lab's latent maps: the plain autoencoder's 32-D codes of held-out digits (the
training split's hold-out, which no model trains on), projected to 2-D two ways, precomputed by
``scripts/precompute.py`` into ``checkpoints/ae_plain/latent_map.npz`` (with the digits and
their codes, so the map works without the dataset):

- PCA (linear), fitted on the codes of all 5 000 hold-out digits;
- UMAP (nonlinear: umap-learn, offline only), fitted on the codes of 20 000 training digits and
  applied to the map's held-out digits, so that the map's points are codes it never saw.

Each map carries its own quality, recomputable from the file: the 5-NN accuracy of its 2-D points
(each point's class predicted by its five nearest others) and the trustworthiness of its
neighbourhoods against the codes'. A new code (the student's digit) is placed on the UMAP map at
the distance-weighted position of its nearest codes on the map, without running UMAP.
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
    codes: np.ndarray | None = None  # (N, 32) the map's codes
    umap_coords: np.ndarray | None = None  # (N, 2) UMAP coordinates

    def project(self, code: np.ndarray) -> np.ndarray:
        """2-D PCA coordinates of codes (..., 32)."""
        return (np.asarray(code, dtype=np.float32) - self.mean) @ self.components.T

    def place(self, code: np.ndarray, k: int = 5) -> np.ndarray:
        """A code's position on the UMAP map: its ``k`` nearest codes' positions, weighted by
        the inverse of their distance (UMAP itself is not run per request)."""
        d = np.linalg.norm(self.codes - np.asarray(code, dtype=np.float32), axis=1)
        near = np.argsort(d)[:k]
        w = 1.0 / (d[near] + 1e-6)
        return (self.umap_coords[near] * w[:, None]).sum(0) / w.sum()

    @property
    def has_umap(self) -> bool:
        return self.umap_coords is not None and self.codes is not None

    def top_dims(self, k: int) -> np.ndarray:
        """The k code dimensions that vary most over the map's digits, most first."""
        return np.argsort(-self.variance)[:k]

    def save(self, path: str | Path) -> None:
        np.savez_compressed(path, **{k: v for k in self.__dataclass_fields__ if (v := getattr(self, k)) is not None})

    @classmethod
    def load(cls, path: str | Path) -> LatentMap:
        with np.load(path, allow_pickle=False) as f:
            return cls(**{k: f[k] for k in cls.__dataclass_fields__ if k in f})


# Written out in NumPy (the lab needs no scikit-learn at run time; tests/test_latent_map.py checks
# both against scikit-learn's): O(N^2) distances, about a second for the map's 1 000 points.
def _distances(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    sq = (x * x).sum(1)
    d = np.maximum(sq[:, None] + sq[None, :] - 2 * x @ x.T, 0.0)
    np.fill_diagonal(d, np.inf)
    return d


def knn_accuracy(points: np.ndarray, labels: np.ndarray, k: int = 5) -> float:
    """Leave-one-out k-NN accuracy: the share of points whose class is the majority (ties: the
    nearest's) among their ``k`` nearest other points."""
    near = np.argsort(_distances(points), axis=1)[:, :k]
    votes = labels[near]
    right = 0
    for i, v in enumerate(votes):
        counts = np.bincount(v, minlength=10)
        best = np.flatnonzero(counts == counts.max())
        guess = best[0] if len(best) == 1 else next(c for c in v if c in best)
        right += guess == labels[i]
    return right / len(labels)


def trustworthiness(high: np.ndarray, low: np.ndarray, k: int = 5) -> float:
    """How far the 2-D map's ``k`` nearest neighbours are true neighbours in the codes
    (Venna and Kaski 2001; 1 is perfect), as scikit-learn's ``trustworthiness`` defines it."""
    n = len(high)
    ranks = np.argsort(np.argsort(_distances(high), axis=1), axis=1) + 1  # rank of j among i's neighbours in the codes
    near_low = np.argsort(_distances(low), axis=1)[:, :k]
    r = ranks[np.arange(n)[:, None], near_low]
    penalty = np.maximum(r - k, 0).sum()
    return 1.0 - 2.0 / (n * k * (2 * n - 3 * k - 1)) * penalty


@torch.inference_mode()
def build_latent_map(model, x: torch.Tensor, labels: torch.Tensor, indices: np.ndarray, x_all: torch.Tensor | None = None,
                     umap_fit: torch.Tensor | None = None, seed: int = 0) -> LatentMap:
    """PCA fitted on the codes of ``x_all`` (default ``x``), and the codes of ``x`` projected; with
    ``umap_fit`` (digits not in ``x``), a UMAP fitted on their codes and applied to ``x``'s."""
    fit = model.encode(x_all if x_all is not None else x).double()
    mean = fit.mean(0)
    _, _, vh = torch.linalg.svd(fit - mean, full_matrices=False)
    comps = vh[:2]
    codes = model.encode(x).double()
    coords = (codes - mean) @ comps.T
    umap_coords = None
    if umap_fit is not None:
        import umap  # umap-learn: offline only (requirements-dev.txt)

        # min_dist 0 packs each class tighter; with 20 000 codes to learn from, the held-out
        # points' 5-NN accuracy went from 0.81 (fitted on 4 000 hold-out codes) to 0.91
        reducer = umap.UMAP(n_neighbors=15, min_dist=0.0, random_state=seed, n_jobs=1)
        reducer.fit(model.encode(umap_fit).numpy())
        umap_coords = reducer.transform(codes.float().numpy()).astype(np.float32)
    return LatentMap(
        coords=coords.float().numpy(), labels=labels.numpy().astype(np.uint8),
        images=(x[:, 0] * 255).round().to(torch.uint8).numpy(), indices=np.asarray(list(indices), dtype=np.int32),
        mean=mean.float().numpy(), components=comps.float().numpy(), variance=fit.var(0).float().numpy(),
        codes=codes.float().numpy(), umap_coords=umap_coords,
    )
