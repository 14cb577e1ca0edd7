"""MNIST and Fashion-MNIST loading, the committed sample digits, and fake data for smoke runs.

Training and evaluation read the datasets through ``torchvision.datasets`` from a data root
that holds ``MNIST/raw/`` (for example ``../shared/data``); when the files are missing,
torchvision's normal download is tried, and if that fails too the error names both ways out.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

ASSETS = Path(__file__).resolve().parent / "assets"
SAMPLES_PATH = ASSETS / "sample_digits.npz"
SUBSET_PATH = ASSETS / "mnist_subset.npz"  # scripts/make_subset.py: training digits for the lab's own training
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


HOLDOUT_SIZE = 5000  # digits of the training split kept for validation, early stopping and choices
HOLDOUT_SEED = 0


@dataclass(frozen=True)
class Holdout:
    """A training split divided once, by a seeded permutation, into what a model trains on and a
    validation hold-out; ``info`` describes the division for the card."""

    train: Split
    val: Split
    val_indices: np.ndarray
    info: dict


def checksum(split: Split) -> str:
    """SHA-256 of a split's pixels and labels as loaded (the same for the IDX files, gzipped
    or not, and for any folder they sit in)."""
    h = hashlib.sha256()
    h.update(split.images.contiguous().numpy().tobytes())
    h.update(split.labels.to(torch.int64).numpy().tobytes())
    return h.hexdigest()


def holdout(split: Split, size: int = HOLDOUT_SIZE, seed: int = HOLDOUT_SEED, name: str = "MNIST train") -> Holdout:
    """Divide ``split`` into training digits and a validation hold-out of ``size`` digits.

    The hold-out is the first ``size`` of a permutation seeded by ``seed`` alone (not by the
    run's seed), so every model validates on the same digits; the rest keep their order."""
    n = len(split)
    if not 0 < size < n:
        raise ValueError(f"a hold-out of {size} digits from a split of {n}")
    order = np.random.default_rng(seed).permutation(n)
    val_idx, train_idx = np.sort(order[:size]), np.sort(order[size:])
    pick = lambda idx: Split(images=split.images[torch.from_numpy(idx)], labels=split.labels[torch.from_numpy(idx)])  # noqa: E731
    info = {
        "from": name,
        "size": int(size),
        "seed": int(seed),
        "indices_sha256": hashlib.sha256(val_idx.astype(np.int64).tobytes()).hexdigest(),
    }
    return Holdout(train=pick(train_idx), val=pick(val_idx), val_indices=val_idx, info=info)


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


def load_subset(path: str | Path = SUBSET_PATH) -> tuple[Split, Split]:
    """The MNIST subset shipped with the lab (scripts/make_subset.py): training digits, and
    digits from the fixed hold-out that no shipped model trained on."""
    with np.load(path, allow_pickle=False) as f:
        return tuple(Split(images=torch.from_numpy(f[f"{part}_images"].copy()), labels=torch.from_numpy(f[f"{part}_labels"].astype(np.int64)))
                     for part in ("train", "val"))


def load_samples(path: str | Path = SAMPLES_PATH) -> Split:
    """The committed sample digits (20 per class from the MNIST test split)."""
    with np.load(path, allow_pickle=False) as f:
        return Split(images=torch.from_numpy(f["images"].copy()), labels=torch.from_numpy(f["labels"].astype(np.int64)))
