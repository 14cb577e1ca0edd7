#!/usr/bin/env python
"""Write the committed sample digits: N per class from the MNIST test split.

    python scripts/make_samples.py --data-root ../shared/data --per-class 20

The result (advdl/assets/sample_digits.npz: uint8 images, labels, test-split indices) lets the
lab and the tests work without the dataset.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np


from advdl.data import SAMPLES_PATH, load_split


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data-root", default="data", help="folder holding MNIST/raw/")
    p.add_argument("--per-class", type=int, default=20, help="digits per class (default: 20)")
    p.add_argument("--seed", type=int, default=0, help="which digits are drawn (default: 0)")
    p.add_argument("--out", default=str(SAMPLES_PATH), help="output .npz")
    a = p.parse_args(argv)
    test = load_split(a.data_root, train=False)
    rng = np.random.default_rng(a.seed)
    labels = test.labels.numpy()
    idx = np.concatenate([np.sort(rng.choice(np.flatnonzero(labels == c), a.per_class, replace=False)) for c in range(10)])
    Path(a.out).parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(a.out, images=test.images.numpy()[idx], labels=labels[idx].astype(np.uint8), indices=idx.astype(np.int32))
    print(f"wrote {len(idx)} digits to {a.out} ({Path(a.out).stat().st_size / 1024:.0f} KiB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
