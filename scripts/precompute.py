#!/usr/bin/env python
"""Precompute what the labs show but should not compute per click.

    python scripts/precompute.py --data-root ../shared/data

Writes checkpoints/ae_plain/latent_map.npz: the plain autoencoder's codes of the hold-out (the
5 000 training digits no model trains on, advdl.data.holdout), for --points digits drawn evenly
over the classes, projected to 2-D by PCA (fitted on all 5 000 codes) and by UMAP (umap-learn,
fitted on the codes of --umap-fit training digits), with the digits and their codes, and prints
each map's 5-NN accuracy and trustworthiness (advdl.latent_map).
"""

from __future__ import annotations

import argparse
import sys

import numpy as np
import torch

from advdl import checkpoints
from advdl.data import fake_split, holdout, load_split
from advdl.latent_map import FILENAME, build_latent_map, knn_accuracy, trustworthiness


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data-root", default="data", help="folder holding MNIST/raw/")
    p.add_argument("--checkpoints", help="checkpoint root (default: the repository's checkpoints/)")
    p.add_argument("--points", type=int, default=1000, help="digits on the map (default: 1000)")
    p.add_argument("--seed", type=int, default=0, help="which digits (default: 0)")
    p.add_argument("--umap-fit", type=int, default=20_000, help="training digits whose codes the UMAP is fitted on (default: 20000)")
    p.add_argument("--smoke", action="store_true", help="fake data, for tests")
    a = p.parse_args(argv)
    if a.smoke:
        test, train = fake_split(200, seed=3), fake_split(300, seed=4)
    else:
        split = holdout(load_split(a.data_root, train=True))
        test, train = split.val, split.train
    model = checkpoints.load_model("ae_plain", a.checkpoints)
    rng = np.random.default_rng(a.seed)
    labels = test.labels.numpy()
    per = max(1, a.points // 10)
    idx = np.concatenate([rng.choice(np.flatnonzero(labels == c), min(per, int((labels == c).sum())), replace=False) for c in range(10)])
    x_all = test.floats()
    fit_idx = rng.choice(len(train), min(a.umap_fit, len(train)), replace=False)
    lm = build_latent_map(model, x_all[idx], test.labels[idx], idx, x_all=x_all, umap_fit=train.floats()[torch.from_numpy(fit_idx)], seed=a.seed)
    out = checkpoints.checkpoint_dir("ae_plain", a.checkpoints) / FILENAME
    lm.save(out)
    print(f"wrote {len(idx)} points to {out} ({out.stat().st_size / 1024:.0f} KiB)")
    labels = lm.labels.astype(np.int64)
    for name, pts in (("PCA", lm.coords), ("UMAP", lm.umap_coords)):
        print(f"{name}: 5-NN accuracy {knn_accuracy(pts, labels):.3f}, trustworthiness {trustworthiness(lm.codes, pts):.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
