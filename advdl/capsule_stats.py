"""Where each class's digit capsules lie: per class and dimension, the mean, the standard deviation
and a histogram of the 16 values over the MNIST test digits of that class (the capsule of their
true class), written by ``scripts/evaluate.py`` into ``checkpoints/capsnet/capsule_stats.npz``.

The capsule lab's sliders then span mean ± 2 σ of the class a student perturbs (the range its
capsules really take) instead of the paper's fixed ±0.25 for every dimension.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

FILENAME = "capsule_stats.npz"
BINS = 24
SPAN = 2.0  # the sliders' range: mean ± SPAN standard deviations


@dataclass
class CapsuleStats:
    mean: np.ndarray  # (10, 16)
    std: np.ndarray  # (10, 16)
    hist: np.ndarray  # (10, 16, BINS) counts
    edges: np.ndarray  # (10, 16, BINS + 1)
    count: np.ndarray  # (10,) digits per class

    def range(self, cls: int, span: float = SPAN) -> tuple[np.ndarray, np.ndarray]:
        """Each dimension's low and high end for class ``cls``: mean ± ``span`` σ."""
        return self.mean[cls] - span * self.std[cls], self.mean[cls] + span * self.std[cls]

    def save(self, path: str | Path) -> None:
        np.savez_compressed(path, **{k: getattr(self, k) for k in self.__dataclass_fields__})

    @classmethod
    def load(cls, path: str | Path) -> CapsuleStats:
        """The file's statistics; ValueError when it is damaged or its arrays are not as they must be."""
        try:
            with np.load(path, allow_pickle=False) as f:
                out = cls(**{k: f[k] for k in cls.__dataclass_fields__})
        except (KeyError, EOFError, OSError, ValueError) as exc:
            raise ValueError(f"unreadable capsule statistics ({exc})") from None
        shapes = {"mean": (10, 16), "std": (10, 16), "count": (10,)}
        if any(getattr(out, k).shape != s for k, s in shapes.items()) or out.hist.shape[:2] != (10, 16) \
                or not np.all(np.isfinite(out.mean)) or not np.all(out.std > 0):
            raise ValueError("capsule statistics of the wrong shape or values")
        return out


@torch.inference_mode()
def compute(capsnet: torch.nn.Module, x: torch.Tensor, y: torch.Tensor, bins: int = BINS, batch: int = 250) -> CapsuleStats:
    """The statistics of the true class's capsule over digits ``x`` (N, 1, 28, 28) of classes ``y``."""
    caps = torch.cat([capsnet(x[i:i + batch]).capsules for i in range(0, len(x), batch)])  # (N, 10, 16)
    chosen = caps[torch.arange(len(x)), y].double().numpy()  # (N, 16)
    labels = y.numpy()
    mean, std = np.zeros((10, 16)), np.zeros((10, 16))
    hist, edges = np.zeros((10, 16, bins)), np.zeros((10, 16, bins + 1))
    count = np.bincount(labels, minlength=10)
    for c in range(10):
        v = chosen[labels == c]
        mean[c], std[c] = v.mean(0), v.std(0)
        for d in range(16):
            lo, hi = mean[c, d] - 3 * std[c, d], mean[c, d] + 3 * std[c, d]
            hist[c, d], edges[c, d] = np.histogram(v[:, d], bins=bins, range=(lo, hi))
    return CapsuleStats(mean.astype(np.float32), std.astype(np.float32), hist.astype(np.int32), edges.astype(np.float32), count)
