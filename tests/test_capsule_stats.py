"""The capsule lab's calibrated ranges: the statistics file (scripts/evaluate.py), the ranges the
page's sliders use, and the fallback to the paper's ±0.25 when the file is missing or damaged."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
import torch

from advdl import checkpoints
from advdl.capsule_stats import FILENAME, SPAN, CapsuleStats, compute
from advdl.data import fake_split
from advdl.models import build
from conftest import component_payload, run_page


def _scrubber(at) -> dict:
    return next(d for c in at.get("bidi_component") if "sliders" in (d := component_payload(c)) and len(d["sliders"]) == 16)


def test_the_statistics_of_a_model_on_some_digits():
    torch.manual_seed(0)
    model = build("capsnet").eval()
    digits = fake_split(60, seed=2)
    stats = compute(model, digits.floats(), digits.labels, bins=12)
    assert stats.mean.shape == stats.std.shape == (10, 16) and stats.hist.shape == (10, 16, 12)
    assert stats.count.tolist() == np.bincount(digits.labels.numpy(), minlength=10).tolist()
    caps = model(digits.floats()).capsules[torch.arange(60), digits.labels].detach().numpy()
    assert np.allclose(stats.mean[3], caps[digits.labels.numpy() == 3].mean(0), atol=1e-6)
    lo, hi = stats.range(3)
    assert np.allclose(hi - lo, 2 * SPAN * stats.std[3])


def test_the_shipped_file_gives_the_sliders_their_ranges(tmp_path, checkpoint_env):
    shipped = checkpoints.checkpoint_dir("capsnet") / FILENAME
    stats = CapsuleStats.load(shipped)
    assert stats.count.sum() == 10_000  # the test set
    assert np.median(2 * SPAN * stats.std) < 0.5  # most dimensions lie in a band narrower than the paper's ±0.25
    root = tmp_path / "ck"
    for name in ("capsnet", "cnn"):
        shutil.copytree(checkpoints.checkpoint_dir(name), root / name)
    checkpoint_env(root)
    at = run_page("capsules")
    assert not at.exception
    data = _scrubber(at)
    cls = at.session_state["caps.dims_basis"][0]
    lo, hi = stats.range(cls)
    got_lo = [s["values"][0] for s in data["sliders"]]
    got_hi = [s["values"][-1] for s in data["sliders"]]
    assert np.allclose(got_lo, lo, atol=1e-3) and np.allclose(got_hi, hi, atol=1e-3)
    assert not any("statistics" in i.value for i in at.info)


@pytest.mark.parametrize("damage", [None, b"not an npz file"])
def test_a_missing_or_damaged_file_falls_back_to_the_papers_range_with_a_message(tmp_path, checkpoint_env, damage):
    root = tmp_path / "ck"
    shutil.copytree(checkpoints.checkpoint_dir("capsnet"), root / "capsnet")
    (root / "capsnet" / FILENAME).unlink()
    if damage is not None:
        (root / "capsnet" / FILENAME).write_bytes(damage)
    checkpoint_env(root)
    at = run_page("capsules", lang="zh")
    assert not at.exception
    assert any("capsule_stats.npz" in i.value for i in at.info)
    values = _scrubber(at)["sliders"][0]["values"]
    assert values[0] == pytest.approx(-0.25) and values[-1] == pytest.approx(0.25)  # offsets, the paper's range


def test_per_dimension_steps_give_each_dimension_its_own_sweep():
    from advdl.inference import capsule_filmstrips

    torch.manual_seed(0)
    model = build("capsnet").eval()
    capsule = np.random.default_rng(0).normal(scale=0.1, size=16).astype(np.float32)
    steps = np.stack([np.linspace(-0.01 * (d + 1), 0.01 * (d + 1), 5) for d in range(16)])
    frames = capsule_filmstrips(model, capsule, 3, np.zeros(16), steps)
    for d in (0, 9):
        alone = capsule_filmstrips(model, capsule, 3, np.zeros(16), steps[d])[d]
        assert np.allclose(frames[d], alone, atol=1e-6)
