"""The checkpoints shipped in checkpoints/: they load, they carry their evaluated metrics, and
they do their job on the committed sample digits."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
import torch

from advdl import checkpoints
from advdl.data import Split, holdout, load_samples
from advdl.models import MODELS
from advdl.training import Recipe
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
    assert card["epochs"] >= 1 and card["wall_time_s"] > 0 and card["devices"]
    assert card["metrics"], f"{name} has not been evaluated: run scripts/evaluate.py --model {name}"
    assert card["metrics"].get("evaluated_on", "").startswith("MNIST test set")


HEX40, HEX64 = re.compile(r"[0-9a-f]{40}"), re.compile(r"[0-9a-f]{64}")


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_card_tells_its_whole_lineage(name):
    """The recipe that replays it, the commit, the data by checksum, the validation split, every
    stage with its device and wall time, and an evaluation (date, commit, figures) that meets
    the bars of the model's registry entry."""
    card = checkpoints.read_card(name)
    recipe_path = checkpoints.ROOT / card["recipe"]["path"]
    assert recipe_path.exists(), f"{name}: no recipe at {card['recipe']['path']}"
    recipe = Recipe.load(recipe_path)
    assert recipe.model == name and card["recipe"]["sha256"] == recipe.sha256, f"{name}: the recipe changed since the card was written"
    assert HEX40.fullmatch(card["commit"]), f"{name}: trained at {card['commit']!r}, not a clean commit"
    assert card["data"]["name"] == "MNIST" and HEX64.fullmatch(card["data"]["sha256"]) and card["data"]["images"] == 60000
    val = card["validation"]
    if val.get("test_set_seen"):  # said, with how: the models trained before the hold-out existed
        assert val["from"] == "MNIST test" and len(val["note"]) > 20
    else:
        expected = holdout(Split(torch.zeros(60000, 1, 1, dtype=torch.uint8), torch.zeros(60000, dtype=torch.long))).info
        assert val == {**expected, "from": "MNIST train"}
    stages, names = card["stages"], {s["name"] for s in recipe.stages}
    assert stages and stages[0]["epochs"][0] == 1 and stages[-1]["epochs"][1] == card["epochs"]
    for before, after in zip(stages, stages[1:]):
        assert after["epochs"][0] == before["epochs"][1] + 1, f"{name}: a gap or overlap between stages"
    for s in stages:
        assert s["name"] in names and s["device"] in ("cpu", "cuda", "mps") and s["device_name"] and s["wall_time_s"] > 0
    assert card["wall_time_s"] == pytest.approx(sum(s["wall_time_s"] for s in stages), abs=1)
    text = json.dumps(card)
    assert not re.search(r"/(root|home|work|tmp|Users)/", text), f"{name}: a machine path in the card"
    m = card["metrics"]
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", m["evaluated_at"]) and HEX40.fullmatch(m["evaluated_commit"])
    assert m["meets_bar"] is MODELS[name].meets_bar(m), f"{name}: meets_bar disagrees with the registry's bars"
    assert m["meets_bar"] is True, f"{name}: {m} misses {MODELS[name].bars}"


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


def test_the_docs_figures_are_the_cards_and_benchmarks_own():
    # README's models table (from the cards) and docs/performance.md's tables (from
    # bench-results/*.json) are written by scripts/make_docs.py: never a hand-copied figure
    import subprocess
    import sys

    proc = subprocess.run([sys.executable, str(checkpoints.ROOT / "scripts" / "make_docs.py"), "--check"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
