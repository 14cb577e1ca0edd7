"""The checkpoints shipped in checkpoints/: they load, they carry their evaluated metrics, and
they do their job on the committed sample digits."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from advdl import checkpoints
from advdl.data import load_samples
from advdl.digits import add_noise
from advdl.inference import reconstruct

SHIPPED = checkpoints.available(checkpoints.ROOT / "checkpoints")


@pytest.fixture(autouse=True)
def shipped_root(monkeypatch):
    monkeypatch.delenv("ADVDL_CHECKPOINTS", raising=False)


def test_something_is_shipped_and_it_fits_the_budget():
    assert "cnn" in SHIPPED
    total = sum(f.stat().st_size for f in (checkpoints.ROOT / "checkpoints").rglob("*") if f.is_file())
    assert total <= 40 * 1024 * 1024


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_checkpoint_loads_with_its_metrics(name):
    model = checkpoints.load_model(name)
    assert not model.training
    card = checkpoints.read_card(name)
    assert card["epochs"] >= 1 and card["wall_time_s"] > 0 and card["device"]
    assert card["metrics"], f"{name} has not been evaluated: run scripts/evaluate.py --model {name}"
    assert card["metrics"].get("evaluated_on", "").startswith("MNIST test set")


@pytest.mark.parametrize("name", [n for n in ("cnn", "capsnet") if n in SHIPPED])
def test_classifiers_read_the_sample_digits(name):
    s = load_samples()
    model = checkpoints.load_model(name)
    with torch.inference_mode():
        out = model(s.floats())
        pred = (out.lengths if name == "capsnet" else out).argmax(1)
    assert float((pred == s.labels).float().mean()) >= 0.95


@pytest.mark.skipif(not {"ae_conv", "ae_denoise"} <= set(SHIPPED), reason="needs both convolutional autoencoders")
def test_denoising_beats_convolutional_on_noisy_samples():
    s = load_samples()
    models = {n: checkpoints.load_model(n) for n in ("ae_conv", "ae_denoise")}
    gains = []
    for i, img in enumerate(s.floats()[:, 0].numpy()):
        r = reconstruct(models, add_noise(img, "gaussian", 0.5, seed=i), img)
        gains.append(r["ae_denoise"].psnr - r["ae_conv"].psnr)
    assert np.mean(gains) > 0
