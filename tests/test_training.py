"""Smoke runs of the training script on fake data: every model, resume, two processes under
torchrun, mixed precision, the hold-out and the augmentations (the options and the recipes:
test_training_runs.py)."""

from __future__ import annotations

import csv
import json
import subprocess
import sys

import numpy as np
import pytest
import torch

from advdl.checkpoints import load_model
from advdl.models import MODELS
from advdl.data import checksum, fake_split, holdout
from advdl.training import random_shift
from conftest import ROOT, TRAIN_ENV, train_script as run

pytestmark = pytest.mark.slow  # real models trained for an epoch or more on fake data

ENV = TRAIN_ENV


@pytest.fixture(scope="module")
def smoke_all(tmp_path_factory):
    out, state = tmp_path_factory.mktemp("ck"), tmp_path_factory.mktemp("state")
    proc = run(["--model", "all", "--smoke", "--out", str(out), "--state-dir", str(state), "--threads", "1"])
    assert proc.returncode == 0, proc.stderr[-3000:]
    return out, state, proc


@pytest.mark.parametrize("name", list(MODELS))
def test_smoke_training_writes_a_loadable_checkpoint(smoke_all, name):
    out, _, _ = smoke_all
    model = load_model(name, out)
    card = json.loads((out / name / "card.json").read_text())
    assert card["epochs"] == 1 and card["seed"] == 0 and [s["device"] for s in card["stages"]] == ["cpu"]
    assert card["training"]["smoke"] is True and card["wall_time_s"] >= 0
    # where the data came from, by checksum, and the hold-out it validated on; no machine paths
    assert card["data"]["sha256"] == checksum(fake_split(160, seed=0)) and card["validation"]["size"] == 32
    assert "data_root" not in card["training"] and str(ROOT) not in json.dumps(card)
    rows = list(csv.DictReader(open(out / name / "history.csv")))
    assert len(rows) == 1 and rows[0]["epoch"] == "1"
    assert all(np.isfinite(float(v)) for k, v in rows[0].items() if k != "device")
    assert rows[0]["device"]  # where each epoch ran
    assert not model.training


def test_capsnet_is_stored_in_float16(smoke_all):
    out, _, _ = smoke_all
    assert json.loads((out / "capsnet" / "card.json").read_text())["stored_dtype"] == "float16"


def test_gan_keeps_a_sample_grid_per_epoch(smoke_all):
    out, _, _ = smoke_all
    with np.load(out / "dcgan" / "samples.npz") as f:
        s = f["samples"]
    assert s.shape == (1, 64, 28, 28) and s.dtype == np.uint8


def test_progress_bar_and_running_loss(smoke_all):
    _, _, proc = smoke_all
    assert "it/s" in proc.stderr and "loss=" in proc.stderr


def test_resume_continues_from_the_saved_epoch(tmp_path):
    out, state = tmp_path / "ck", tmp_path / "state"
    common = ["--model", "ae_plain", "--smoke", "--out", str(out), "--state-dir", str(state)]
    assert run(common + ["--epochs", "1"]).returncode == 0
    proc = run(common + ["--epochs", "2", "--resume"])
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "resumed ae_plain" in proc.stdout
    card = json.loads((out / "ae_plain" / "card.json").read_text())
    assert card["epochs"] == 2
    assert [r["epoch"] for r in csv.DictReader(open(out / "ae_plain" / "history.csv"))] == ["1", "2"]


def test_same_seed_same_weights(tmp_path):
    for k in ("a", "b"):
        assert run(["--model", "ae_plain", "--smoke", "--out", str(tmp_path / k), "--state-dir", str(tmp_path / k / "s")]).returncode == 0
    a, b = load_model("ae_plain", tmp_path / "a"), load_model("ae_plain", tmp_path / "b")
    assert all(torch.equal(p, q) for p, q in zip(a.state_dict().values(), b.state_dict().values()))


def test_torchrun_two_cpu_processes(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
         str(ROOT / "scripts" / "train.py"), "--model", "cnn", "--smoke", "--out", str(tmp_path / "ck"),
         "--state-dir", str(tmp_path / "s"), "--device", "cpu", "--threads", "1"],
        capture_output=True, text=True, env=ENV, timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    card = json.loads((tmp_path / "ck" / "cnn" / "card.json").read_text())
    assert card["stages"][0]["processes"] == 2
    load_model("cnn", tmp_path / "ck")


def test_random_shift_moves_images_by_at_most_two_pixels():
    x = torch.zeros(64, 1, 28, 28)
    x[:, 0, 14, 14] = 1
    y = random_shift(x, 2, torch.Generator().manual_seed(0))
    pos = y[:, 0].flatten(1).argmax(1)
    r, c = pos // 28, pos % 28
    assert (y.sum((1, 2, 3)) == 1).all()
    assert ((r - 14).abs() <= 2).all() and ((c - 14).abs() <= 2).all()
    assert len(set(zip(r.tolist(), c.tolist()))) > 10


def test_evaluate_writes_metrics_into_the_cards(smoke_all):
    out, _, _ = smoke_all
    proc = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "evaluate.py"), "--smoke", "--checkpoints", str(out), "--threads", "1"],
        capture_output=True, text=True, env=ENV, timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    cards = {n: json.loads((out / n / "card.json").read_text())["metrics"] for n in MODELS}
    for n in ("cnn", "capsnet"):
        assert set(cards[n]["rotated_accuracy"]) == {str(a) for a in range(-60, 61, 15)}
        assert 0 <= cards[n]["test_accuracy"] <= 1 and isinstance(cards[n]["meets_bar"], bool)
        why = cards[n]["why_capsules"]
        assert why["samples"] == why["overlap"]["pairs"] == why["parts"]["images"] == 100
        assert set(why["scaled_accuracy"]) == {"0.6", "0.8", "1.2", "1.4"} and 0 <= why["overlap"]["both_named"] <= 1
    for n in ("ae_plain", "ae_deep", "ae_conv", "ae_denoise"):
        assert cards[n]["test_bce"] > 0 and len(cards[n]["noisy_psnr"]) == 10
    assert "psnr_gain_over_conv_at_0.5" in cards["ae_denoise"]
    g = cards["dcgan"]
    assert len(g["class_histogram"]) == 10 and abs(sum(g["class_histogram"]) - 1) < 1e-3
    assert g["frechet_distance"] >= 0 and g["frechet_floor"] >= 0 and 0 <= g["confident_share"] <= 1
    assert g["inversion_digits"] == 10 and g["inversion_mse_mean"] > 0 and g["inversion_mse_p90"] > 0
    assert g["inversion_seconds_per_digit"] > 0


def test_resume_from_a_state_of_another_architecture_says_so(tmp_path):
    out, state = tmp_path / "ck", tmp_path / "state"
    assert run(["--model", "ae_plain", "--smoke", "--out", str(out), "--state-dir", str(state)]).returncode == 0
    (state / "ae_deep-smoke").mkdir()
    (state / "ae_plain-smoke" / "state.pt").rename(state / "ae_deep-smoke" / "state.pt")
    proc = run(["--model", "ae_deep", "--smoke", "--resume", "--out", str(out), "--state-dir", str(state)])
    assert proc.returncode != 0
    assert "does not fit the current ae_deep architecture" in proc.stderr


def test_gan_ships_the_averaged_generator_and_trains_in_bf16(tmp_path):
    out, state = tmp_path / "ck", tmp_path / "state"
    proc = run(["--model", "dcgan", "--smoke", "--epochs", "2", "--amp", "bf16", "--out", str(out),
                "--state-dir", str(state), "--threads", "1"])
    assert proc.returncode == 0, proc.stderr[-3000:]
    card = json.loads((out / "dcgan" / "card.json").read_text())
    assert card["training"]["amp"] == "bf16" and card["stages"][0]["ema_decay"] == 0.999
    saved = torch.load(state / "dcgan-smoke" / "state.pt", weights_only=True)
    shipped = load_model("dcgan", out).generator.state_dict()
    weights = [k for k in shipped if "running_" not in k and "num_batches" not in k]
    # the shipped generator is the moving average, not the last step's weights
    assert all(torch.allclose(shipped[k], saved["task"]["ema"][f"module.{k}"]) for k in weights)
    assert any(not torch.allclose(shipped[k], saved["model"][f"generator.{k}"]) for k in weights)
    # its BatchNorm statistics were measured for the averaged weights: finite and positive
    assert all(torch.isfinite(shipped[k]).all() and (shipped[k] > 0).all() for k in shipped if k.endswith("running_var"))


def test_capsnet_trains_its_convolutions_in_bf16_and_ships_float32(tmp_path):
    from advdl.models.capsnet import CapsNet

    m = CapsNet().train()
    m.conv_dtype = torch.bfloat16
    x = torch.rand(2, 1, 28, 28)
    u = m.primary_capsules(x)
    assert u.dtype == torch.float32  # the routing gets float32 capsules
    m.conv_dtype = None
    exact = m.primary_capsules(x)
    assert not torch.equal(u, exact) and torch.allclose(u, exact, atol=0.05)  # the convolutions did run in bf16
    out = tmp_path / "ck"
    proc = run(["--model", "capsnet", "--smoke", "--amp", "bf16", "--out", str(out), "--state-dir", str(tmp_path / "s"), "--threads", "1"])
    assert proc.returncode == 0, proc.stderr[-3000:]
    model = load_model("capsnet", out)
    assert model.card["training"]["amp"] == "bf16" and model.conv_dtype is None  # inference stays float32
    bad = run(["--model", "cnn", "--smoke", "--amp", "bf16", "--out", str(out)])
    assert bad.returncode != 0 and "cnn trains in float32 only" in bad.stderr and "Traceback" not in bad.stderr


def test_deepen_adds_generator_layers_that_start_as_the_identity():
    from advdl.models.gan import DCGAN, DCGANConfig, deepen

    torch.manual_seed(0)
    gan = DCGAN(DCGANConfig(ngf=16, ndf=8)).eval()
    with torch.no_grad():  # give its BatchNorms running statistics that are not the defaults
        gan.train()
        for _ in range(20):
            gan.generate(torch.randn(64, 100))
        gan.eval()
    deeper = deepen(gan, 3)
    assert deeper.config.g_refine == 3 and not deeper.training
    n_params = sum(p.numel() for p in gan.generator.parameters())
    assert sum(p.numel() for p in deeper.generator.parameters()) == n_params + 2 * (32 * 32 * 9 + 2 * 32)
    z = torch.randn(256, 100)
    with torch.no_grad():
        before, after = gan.generate(z), deeper.generate(z)
        assert (after - before).abs().mean() < 2e-3
        # the discriminator is untouched
        assert torch.equal(gan.discriminator(before), deeper.discriminator(before))
    # plain new layers (the default initialization) would not keep the images
    fresh = DCGAN(DCGANConfig(ngf=16, ndf=8, g_refine=3)).eval()
    state = fresh.state_dict()
    state.update({k: v for k, v in deeper.state_dict().items() if not k.startswith(("generator.net.3.", "generator.net.4.",
                                                                                  "generator.net.6.", "generator.net.7."))})
    fresh.load_state_dict(state)
    with torch.no_grad():
        assert (fresh.generate(z) - before).abs().mean() > 10 * (after - before).abs().mean()
    with pytest.raises(ValueError, match="cannot go down"):
        deepen(deeper, 1)


def test_deepen_discriminator_adds_layers_that_start_near_the_identity():
    from advdl.models.gan import DCGAN, DCGANConfig, deepen_discriminator

    torch.manual_seed(0)
    gan = DCGAN(DCGANConfig(ngf=16, ndf=8)).eval()
    deeper = deepen_discriminator(gan, 2)
    assert deeper.config.d_refine == 2 and not deeper.training
    assert sum(p.numel() for p in deeper.discriminator.parameters()) == \
        sum(p.numel() for p in gan.discriminator.parameters()) + 2 * (16 * 16 * 9 + 2 * 16)
    x = gan.generate(torch.randn(256, 100)).detach()
    with torch.no_grad():
        before, after = gan.discriminator(x * 2 - 1), deeper.discriminator(x * 2 - 1)
        assert torch.corrcoef(torch.stack([before, after]))[0, 1] > 0.95  # the same judgement, nearly
        z = torch.randn(4, 100)
        assert torch.equal(gan.generate(z), deeper.generate(z))  # G untouched
    fresh = DCGAN(DCGANConfig(ngf=16, ndf=8, d_refine=2)).eval()
    with torch.no_grad():
        assert torch.corrcoef(torch.stack([before, fresh.discriminator(x * 2 - 1)]))[0, 1] < 0.9
    with pytest.raises(ValueError, match="cannot go down"):
        deepen_discriminator(deeper, 1)


def test_the_holdout_is_fixed_disjoint_and_never_trained_on(tmp_path):
    full = fake_split(160, seed=0)
    a, b = holdout(full, size=32), holdout(full, size=32)
    assert np.array_equal(a.val_indices, b.val_indices) and a.info == b.info  # fixed by its own seed
    assert len(a.train) == 128 and len(a.val) == 32
    assert not np.array_equal(a.val_indices, holdout(full, size=32, seed=1).val_indices)
    # disjoint: no hold-out image is among the training images (fake digits differ by their noise)
    train_rows = {bytes(r) for r in a.train.images.numpy().reshape(128, -1)}
    assert not any(bytes(r) in train_rows for r in a.val.images.numpy().reshape(32, -1))
    with pytest.raises(ValueError):
        holdout(full, size=160)


def test_training_batches_draw_only_from_the_training_digits(monkeypatch, tmp_path):
    # every image a step sees comes from the training part of the split, never the hold-out
    from advdl import training

    seen = []
    real_step = training.ClassifierTask.step
    monkeypatch.setattr(training.ClassifierTask, "step", lambda self, x, y: (seen.append(y.clone()), real_step(self, x, y))[1])
    monkeypatch.setattr(training.ClassifierTask, "augment", "none")
    calls = []
    real_aug = training.augmentation
    monkeypatch.setattr(training, "augmentation", lambda kind, x, g: (calls.append(x.clone()), real_aug(kind, x, g))[1])
    training.train(training.TrainArgs(model="cnn", smoke=True, out=str(tmp_path / "ck"), state_dir=str(tmp_path / "s"),
                                      threads=1), progress=False)
    split = holdout(fake_split(160, seed=0), size=32)
    train_rows = {bytes(r) for r in (split.train.floats().numpy() * 255).round().astype(np.uint8).reshape(128, -1)}
    batch_rows = [bytes(r) for r in (torch.cat(calls).numpy() * 255).round().astype(np.uint8).reshape(-1, 784)]
    assert len(batch_rows) == 128 and all(r in train_rows for r in batch_rows)


def test_handwriting_augmentation_changes_pose_and_stroke_within_its_ranges():
    from advdl import augment

    x = torch.zeros(256, 1, 28, 28)
    x[:, 0, 8:20, 13:15] = 1.0  # a vertical bar, 2 px wide
    y = augment.handwriting(x, torch.Generator().manual_seed(0))
    assert y.shape == x.shape and y.min() >= 0 and y.max() <= 1
    assert not torch.equal(augment.handwriting(x, torch.Generator().manual_seed(1)), y)
    ink = y.sum((1, 2, 3))
    assert ink.min() > 0.4 * x[0].sum() and ink.max() < 3 * x[0].sum()  # thinner and thicker, never wiped out
    assert ink.std() > 0.1 * ink.mean()
    # the bar's angle varies (rotation and shear), within about ±(15° + atan 0.3) of vertical
    yy, xx = torch.meshgrid(torch.arange(28.0), torch.arange(28.0), indexing="ij")
    w = y[:, 0]
    my, mx = (w * yy).sum((1, 2)) / w.sum((1, 2)), (w * xx).sum((1, 2)) / w.sum((1, 2))
    cov_xy = (w * (xx - mx[:, None, None]) * (yy - my[:, None, None])).sum((1, 2))
    var_y = (w * (yy - my[:, None, None]) ** 2).sum((1, 2))
    tilt = torch.rad2deg(torch.atan(cov_xy / var_y))
    assert tilt.abs().max() < 15 + 17 + 3 and tilt.std() > 5
    # the thicker and thinner variants of stroke_width
    thick = augment.stroke_width(x[:2], torch.tensor([1.0, -1.0]))
    assert thick[0].sum() > x[0].sum() * 1.5 and thick[1].sum() < x[0].sum() * 0.95


@pytest.mark.parametrize("style", ["marker", "fine", "slant", "wobble"])
def test_restyled_digits_are_prepared_like_the_labs_drawings(style):
    from advdl import augment
    from advdl.data import load_samples

    x = load_samples().images[:40].unsqueeze(1).float() / 255
    r = augment.restyle(x, style, seed=0)
    assert r.shape == x.shape and r.dtype == torch.float32 and r.min() >= 0 and r.max() <= 1.0001
    assert torch.equal(r, augment.restyle(x, style, seed=0))  # reproducible
    assert (r - x).abs().mean() > 0.02  # changed
    # the lab's preparation: ink inside the central 20 x 20 box's reach, centred by mass
    yy, xx = torch.meshgrid(torch.arange(28.0), torch.arange(28.0), indexing="ij")
    w = r[:, 0]
    cy, cx = (w * yy).sum((1, 2)) / w.sum((1, 2)), (w * xx).sum((1, 2)) / w.sum((1, 2))
    assert ((cy - 13.5).abs() < 1.5).all() and ((cx - 13.5).abs() < 1.5).all()
    ink = x[:, 0].sum((1, 2))
    if style == "marker":
        assert (w.sum((1, 2)) > ink).float().mean() > 0.8
    if style == "fine":
        assert (w.sum((1, 2)) < ink).float().mean() > 0.8
