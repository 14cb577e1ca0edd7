#!/usr/bin/env python
"""Write the MNIST subset that ships with the lab, for the autoencoder lab's "train it yourself".

    python scripts/make_subset.py --data-root ../shared/data

From the MNIST **training** split only: ``--train`` digits drawn from the part the shipped models
trained on, and ``--val`` digits from the fixed hold-out (advdl.data.holdout), which no shipped
model trained on, so that a student's model and a shipped one are compared on digits neither
saw. Balanced by class, seeded. The result, ``advdl/assets/mnist_subset.npz`` (uint8 images,
labels, the training split's indices, compressed), lets the lab train with no dataset on disk.
MNIST: Yann LeCun, Corinna Cortes, Christopher J.C. Burges (CC BY-SA 3.0).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from advdl.data import SUBSET_PATH, holdout, load_split

LIMIT_BYTES = 4 * 1024 * 1024


def balanced(labels: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` positions, as even over the ten classes as ``n`` allows, in a shuffled order."""
    per = [n // 10 + (1 if c < n % 10 else 0) for c in range(10)]
    picks = np.concatenate([rng.choice(np.flatnonzero(labels == c), k, replace=False) for c, k in enumerate(per)])
    return rng.permutation(picks)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data-root", default="data", help="folder holding MNIST/raw/")
    p.add_argument("--train", type=int, default=6000, help="training digits (default: 6000)")
    p.add_argument("--val", type=int, default=1000, help="digits from the hold-out (default: 1000)")
    p.add_argument("--seed", type=int, default=0, help="which digits are drawn (default: 0)")
    p.add_argument("--out", default=str(SUBSET_PATH), help="output .npz")
    a = p.parse_args(argv)
    split = holdout(load_split(a.data_root, train=True))
    train_idx = np.flatnonzero(~np.isin(np.arange(len(split.train) + len(split.val)), split.val_indices))  # positions in the split
    rng = np.random.default_rng(a.seed)
    t = balanced(split.train.labels.numpy(), a.train, rng)
    v = balanced(split.val.labels.numpy(), a.val, rng)
    out = Path(a.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(
        out,
        train_images=split.train.images.numpy()[t], train_labels=split.train.labels.numpy()[t].astype(np.uint8),
        train_indices=train_idx[t].astype(np.int32),
        val_images=split.val.images.numpy()[v], val_labels=split.val.labels.numpy()[v].astype(np.uint8),
        val_indices=split.val_indices[v].astype(np.int32),
    )
    size = out.stat().st_size
    print(f"wrote {a.train} + {a.val} digits to {out} ({size / 1024:.0f} KiB)")
    if size > LIMIT_BYTES:
        print(f"the subset is over {LIMIT_BYTES // 1024} KiB: fewer digits", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
