"""The autoencoder lab's latent maps: the shipped file's PCA and UMAP maps, their quality figures
recomputed from the file, and where a new code lands."""

from __future__ import annotations

import numpy as np
import pytest

from advdl import checkpoints
from advdl.latent_map import FILENAME, LatentMap, knn_accuracy, trustworthiness


@pytest.fixture(scope="module")
def shipped() -> LatentMap:
    return LatentMap.load(checkpoints.checkpoint_dir("ae_plain") / FILENAME)


def test_the_quality_figures_match_scikit_learns():
    sk = pytest.importorskip("sklearn")  # noqa: F841  (with umap-learn, in requirements-dev.txt)
    from sklearn.manifold import trustworthiness as sk_trust
    from sklearn.model_selection import LeaveOneOut, cross_val_score
    from sklearn.neighbors import KNeighborsClassifier

    rng = np.random.default_rng(0)
    labels = rng.integers(0, 10, 300)
    high = rng.normal(size=(300, 32)) + labels[:, None] * 0.3
    low = high[:, :2] + rng.normal(scale=0.5, size=(300, 2))
    assert trustworthiness(high, low, 5) == pytest.approx(sk_trust(high, low, n_neighbors=5), abs=1e-9)
    loo = cross_val_score(KNeighborsClassifier(5), low, labels, cv=LeaveOneOut()).mean()
    assert knn_accuracy(low, labels, 5) == pytest.approx(loo, abs=0.02)  # ties broken alike up to a few points


def test_the_shipped_umap_map_separates_the_classes_and_pca_less(shipped):
    assert shipped.has_umap and shipped.umap_coords.shape == shipped.coords.shape == (len(shipped.labels), 2)
    labels = shipped.labels.astype(np.int64)
    umap_acc, pca_acc = knn_accuracy(shipped.umap_coords, labels), knn_accuracy(shipped.coords, labels)
    assert umap_acc >= 0.90, umap_acc  # the goal
    assert pca_acc < umap_acc
    assert trustworthiness(shipped.codes, shipped.umap_coords) > trustworthiness(shipped.codes, shipped.coords)


def test_a_code_on_the_map_lands_among_its_neighbours(shipped):
    i = 17
    here = shipped.place(shipped.codes[i])
    assert np.linalg.norm(here - shipped.umap_coords[i]) < 1e-3  # a code that is on the map: its own point
    # another digit's code lands among the points of its class
    probe = shipped.codes[shipped.labels == 3][:20].mean(0)
    near = np.argsort(np.linalg.norm(shipped.umap_coords - shipped.place(probe), axis=1))[:10]
    assert (shipped.labels[near] == 3).mean() >= 0.5


def test_a_map_without_umap_still_loads(tmp_path, shipped):
    old = LatentMap(**{k: getattr(shipped, k) for k in ("coords", "labels", "images", "indices", "mean", "components", "variance")})
    old.save(tmp_path / FILENAME)
    back = LatentMap.load(tmp_path / FILENAME)
    assert not back.has_umap and np.array_equal(back.coords, shipped.coords)
