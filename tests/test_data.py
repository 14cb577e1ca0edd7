"""Loading MNIST from a data root (tiny IDX files written here), the error when it is missing,
and the committed sample digits."""

from __future__ import annotations

import struct

import numpy as np
import pytest

from advdl.data import SAMPLES_PATH, DataNotFoundError, fake_split, load_samples, load_split


def write_idx(root, n_train=30, n_test=20, seed=0):
    """Write a tiny MNIST in torchvision's raw layout under root/MNIST/raw/."""
    raw = root / "MNIST" / "raw"
    raw.mkdir(parents=True)
    rng = np.random.default_rng(seed)
    out = {}
    for prefix, n in (("train", n_train), ("t10k", n_test)):
        images = rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)
        labels = (np.arange(n) % 10).astype(np.uint8)
        (raw / f"{prefix}-images-idx3-ubyte").write_bytes(struct.pack(">IIII", 2051, n, 28, 28) + images.tobytes())
        (raw / f"{prefix}-labels-idx1-ubyte").write_bytes(struct.pack(">II", 2049, n) + labels.tobytes())
        out[prefix] = (images, labels)
    return out


def test_load_split_reads_idx_files(tmp_path):
    written = write_idx(tmp_path)
    train = load_split(tmp_path, train=True, download=False)
    test = load_split(tmp_path, train=False, download=False)
    assert len(train) == 30 and len(test) == 20
    assert np.array_equal(train.images.numpy(), written["train"][0])
    assert np.array_equal(test.labels.numpy(), written["t10k"][1])
    x = test.floats()
    assert x.shape == (20, 1, 28, 28) and float(x.max()) <= 1.0


def test_missing_data_names_both_ways_out(tmp_path, monkeypatch):
    from torchvision import datasets

    def offline(self):
        raise OSError("no network")

    monkeypatch.setattr(datasets.MNIST, "download", offline)
    with pytest.raises(DataNotFoundError) as err:
        load_split(tmp_path / "nowhere", train=True)
    msg = str(err.value)
    assert "--data-root" in msg and "internet" in msg and "MNIST/raw" in msg
    with pytest.raises(DataNotFoundError):
        load_split(tmp_path / "nowhere", train=True, download=False)


def test_unknown_dataset():
    with pytest.raises(ValueError):
        load_split("x", True, dataset="cifar")


def test_samples_are_small_and_balanced():
    assert SAMPLES_PATH.stat().st_size < 1024 * 1024
    s = load_samples()
    assert s.images.shape == (200, 28, 28)
    assert np.bincount(s.labels.numpy(), minlength=10).tolist() == [20] * 10


def test_fake_split_is_mnist_shaped():
    s = fake_split(40)
    assert s.images.shape == (40, 28, 28) and s.images.dtype.is_floating_point is False
    assert set(s.labels.tolist()) == set(range(10))
