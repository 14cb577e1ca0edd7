"""MNIST and Fashion-MNIST loading, the committed sample digits, and fake data for smoke runs.

Training and evaluation read the datasets through ``torchvision.datasets`` from a data root
that holds ``MNIST/raw/`` (for example ``../shared/data``); when the files are missing,
torchvision's normal download is tried, and if that fails too the error names both ways out.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

ASSETS = Path(__file__).resolve().parent / "assets"
SAMPLES_PATH = ASSETS / "sample_digits.npz"
DATASETS = ("mnist", "fashion-mnist")


class DataNotFoundError(RuntimeError):
    """The dataset files are not on disk and could not be downloaded."""


@dataclass(frozen=True)
class Split:
    """A dataset split held in memory: uint8 images (N, 28, 28) and int64 labels (N,)."""

    images: torch.Tensor
    labels: torch.Tensor

    def __len__(self) -> int:
        return len(self.labels)

    def floats(self) -> torch.Tensor:
        """Images as float32 (N, 1, 28, 28) in [0, 1]."""
        return self.images.unsqueeze(1).float().div_(255.0)


def _dataset_class(name: str):
    from torchvision import datasets

    try:
        return {"mnist": datasets.MNIST, "fashion-mnist": datasets.FashionMNIST}[name]
    except KeyError:
        raise ValueError(f"unknown dataset {name!r}; choose one of {DATASETS}") from None


def load_split(root: str | Path, train: bool, dataset: str = "mnist", download: bool = True) -> Split:
    """Load one split of MNIST or Fashion-MNIST into memory.

    ``root`` is the folder that holds ``MNIST/raw/`` (or ``FashionMNIST/raw/``). When the files
    are missing and ``download`` is true, torchvision downloads them; if that fails, a
    :class:`DataNotFoundError` explains both ways out.
    """
    cls = _dataset_class(dataset)
    root = Path(root).expanduser()
    try:
        ds = cls(str(root), train=train, download=False)
    except RuntimeError:
        if not download:
            raise DataNotFoundError(_missing_message(cls.__name__, root, tried_download=False)) from None
        try:
            ds = cls(str(root), train=train, download=True)
        except Exception as exc:  # network errors come in many types
            raise DataNotFoundError(_missing_message(cls.__name__, root, tried_download=True, cause=exc)) from exc
    return Split(images=ds.data.clone().to(torch.uint8), labels=ds.targets.clone().long())


def _missing_message(folder: str, root: Path, tried_download: bool, cause: Exception | None = None) -> str:
    msg = f"{folder} was not found under {root / folder / 'raw'}"
    if tried_download:
        msg += f" and could not be downloaded ({type(cause).__name__}: {cause})"
    return (
        msg
        + ". Either point --data-root at a folder that holds "
        + f"{folder}/raw/ with the four IDX files (for example ../shared/data), "
        + "or run once with internet access so that torchvision downloads them into --data-root."
    )


def fake_split(n: int = 256, seed: int = 0) -> Split:
    """A tiny random dataset shaped like MNIST, for smoke runs and tests.

    Each class gets a distinct blob position so that a classifier can learn something.
    """
    g = torch.Generator().manual_seed(seed)
    labels = torch.arange(n) % 10
    images = torch.zeros(n, 28, 28)
    yy, xx = torch.meshgrid(torch.arange(28.0), torch.arange(28.0), indexing="ij")
    for c in range(10):
        cy, cx = 8 + 12 * (c // 5), 5 + 4.5 * (c % 5)
        blob = torch.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / 8.0)
        images[labels == c] = blob
    images = (images + 0.1 * torch.rand(n, 28, 28, generator=g)).clamp(0, 1)
    return Split(images=(images * 255).to(torch.uint8), labels=labels)


def load_samples(path: str | Path = SAMPLES_PATH) -> Split:
    """The committed sample digits (20 per class from the MNIST test split)."""
    with np.load(path, allow_pickle=False) as f:
        return Split(images=torch.from_numpy(f["images"].copy()), labels=torch.from_numpy(f["labels"].astype(np.int64)))


def sample_indices(path: str | Path = SAMPLES_PATH) -> np.ndarray:
    """Indices into the MNIST test split of the committed sample digits."""
    with np.load(path, allow_pickle=False) as f:
        return f["indices"].copy()
