"""Smoke runs of the training script on fake data: every model, resume, and two processes
under torchrun."""

from __future__ import annotations

import csv
import re
import json
import os
import subprocess
import sys

import numpy as np
import pytest
import torch

from advdl.checkpoints import load_model
from advdl.models import MODELS
from advdl.data import checksum, fake_split, holdout
from advdl.training import Recipe, lr_at, random_shift
from conftest import ROOT

pytestmark = pytest.mark.slow  # real models trained for an epoch or more on fake data

TRAIN = [sys.executable, str(ROOT / "scripts" / "train.py")]
ENV = {**os.environ, "OMP_NUM_THREADS": "1"}


def run(args, **kw):
    return subprocess.run(TRAIN + args, capture_output=True, text=True, env=ENV, timeout=300, **kw)


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


def test_config_override_is_built_and_recorded(tmp_path):
    out = tmp_path / "ck"
    proc = run(["--model", "dcgan", "--smoke", "--config", "ngf=16", "--config", "ndf=8", "--out", str(out),
                "--state-dir", str(tmp_path / "s"), "--threads", "1"])
    assert proc.returncode == 0, proc.stderr[-3000:]
    gan = load_model("dcgan", out)  # rebuilt from the card alone
    assert (gan.config.ngf, gan.config.ndf) == (16, 8) and isinstance(gan.config.ngf, int)
    assert gan.generator.project[0].out_features == 2 * 16 * 49
    assert gan.card["training"]["config"] == {"ngf": "16", "ndf": "8"}
    bad = run(["--model", "dcgan", "--smoke", "--config", "width=3", "--out", str(out), "--state-dir", str(tmp_path / "s")])
    assert bad.returncode != 0 and "has no config field 'width'" in bad.stderr and "Traceback" not in bad.stderr
    assert run(["--model", "dcgan", "--smoke", "--config", "ngf", "--out", str(out)]).returncode == 2


def test_time_budget_stops_between_epochs(tmp_path):
    out = tmp_path / "ck"
    proc = run(["--model", "ae_plain", "--smoke", "--epochs", "50", "--time-budget", "0.001", "--out", str(out),
                "--state-dir", str(tmp_path / "s")])
    assert proc.returncode == 0, proc.stderr[-3000:]
    # the first epoch always runs (nothing is known of its length); the second would overrun
    assert "stopping before epoch 2" in proc.stdout
    card = json.loads((out / "ae_plain" / "card.json").read_text())
    assert card["epochs"] == 1 and card["training"]["epochs"] == 50
    assert torch.load(tmp_path / "s" / "ae_plain-smoke" / "state.pt", weights_only=True)["run"]["epoch"] == 1


def test_init_from_continues_a_checkpoint_and_says_so(tmp_path):
    first, second = tmp_path / "a", tmp_path / "b"
    common = ["--model", "dcgan", "--smoke", "--config", "ngf=8", "--config", "ndf=8", "--threads", "1"]
    assert run(common + ["--epochs", "2", "--out", str(first), "--state-dir", str(tmp_path / "s1")]).returncode == 0
    start = load_model("dcgan", first)
    # a third epoch at a vanishing learning rate: the shipped weights are the starting weights
    proc = run(common + ["--epochs", "3", "--lr", "1e-12", "--init-from", str(first), "--out", str(second),
                         "--state-dir", str(tmp_path / "s2"), "--resume"])
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert f"weights from {first} (epoch 2)" in proc.stdout
    assert f"starting dcgan from {first}" in proc.stdout and "from scratch" not in proc.stdout
    after = load_model("dcgan", second)
    weights = [k for k in start.state_dict() if "running_" not in k and "num_batches" not in k]
    assert all(torch.allclose(start.state_dict()[k], after.state_dict()[k], atol=1e-6) for k in weights)
    # the epochs go on from the source's: its history and sample grids come along
    assert after.card["epochs"] == 3
    assert [r["epoch"] for r in csv.DictReader(open(second / "dcgan" / "history.csv"))] == ["1", "2", "3"]
    grids = np.load(second / "dcgan" / "samples.npz")["samples"]
    assert grids.shape[0] == 3 and np.array_equal(grids[:2], np.load(first / "dcgan" / "samples.npz")["samples"])
    # the card lists both runs as stages, the second starting from the first's weights
    assert [st["epochs"] for st in after.card["stages"]] == [[1, 2], [3, 3]]
    assert after.card["stages"][1]["start"] == "the weights of epoch 2, fresh optimizers"
    # a different config than the source's is refused
    bad = run(["--model", "dcgan", "--smoke", "--epochs", "3", "--init-from", str(first), "--out", str(tmp_path / "c"),
               "--state-dir", str(tmp_path / "s3")])
    assert bad.returncode != 0 and "pass the same --config" in bad.stderr
    # a deeper generator is the exception: it starts from the trained one, its new layers as the identity
    deeper = run(common + ["--config", "g_refine=2", "--epochs", "3", "--lr", "1e-12", "--init-from", str(first),
                           "--out", str(tmp_path / "d"), "--state-dir", str(tmp_path / "s4")])
    assert deeper.returncode == 0, deeper.stderr[-3000:]
    assert "deepened {'g_refine': [1, 2]}" in deeper.stdout
    grown = load_model("dcgan", tmp_path / "d")
    assert grown.config.g_refine == 2 and grown.card["stages"][-1]["grown"] == {"g_refine": [1, 2]}
    z = torch.randn(16, 100, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        assert (grown.generate(z) - start.generate(z)).abs().mean() < 0.02


def test_lr_at_decays_per_epoch_and_anneals_over_the_last_epochs():
    assert lr_at(1e-3, 0.5, 2, 10) == pytest.approx(2.5e-4)
    # --anneal-epochs 4 of 10: full rate up to epoch index 6, then 4/4 .. 1/4 of it
    assert [lr_at(1.0, 1.0, e, 10, 4) for e in range(10)] == pytest.approx([1] * 7 + [0.75, 0.5, 0.25])
    assert lr_at(2e-4, 0.9, 9, 10, 4) == pytest.approx(2e-4 * 0.9**9 * 0.25)


def test_anneal_and_ema_decay_reach_the_run_and_its_card(tmp_path):
    out = tmp_path / "ck"
    common = ["--model", "dcgan", "--smoke", "--config", "ngf=8", "--config", "ndf=8", "--threads", "1", "--out", str(out)]
    proc = run(common + ["--epochs", "3", "--anneal-epochs", "2", "--ema-decay", "0.5", "--lr", "1e-3",
                         "--state-dir", str(tmp_path / "s")])
    assert proc.returncode == 0, proc.stderr[-3000:]
    card = json.loads((out / "dcgan" / "card.json").read_text())
    assert card["training"]["anneal_epochs"] == 2 and card["stages"][0]["ema_decay"] == 0.5
    lrs = [float(r["lr"]) for r in csv.DictReader(open(out / "dcgan" / "history.csv"))]
    assert lrs == pytest.approx([1e-3, 1e-3, 5e-4])
    # only the GAN keeps a weight average
    bad = run(["--model", "ae_plain", "--smoke", "--ema-decay", "0.9", "--out", str(out), "--state-dir", str(tmp_path / "s")])
    assert bad.returncode != 0 and "keeps no weight average" in bad.stderr and "Traceback" not in bad.stderr


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


def test_recipes_replay_stage_by_stage_with_growth_and_new_batch_sizes(tmp_path):
    # the shipped DCGAN's recipe on fake data: one epoch per stage, each from the previous
    # stage's weights, the generator and discriminator deepened where the recipe says
    out, state = tmp_path / "ck", tmp_path / "s"
    proc = run(["--recipe", str(ROOT / "recipes" / "dcgan.toml"), "--smoke", "--out", str(out), "--state-dir", str(state),
                "--threads", "1"])
    assert proc.returncode == 0, proc.stderr[-3000:]
    recipe = Recipe.load(ROOT / "recipes" / "dcgan.toml")
    gan = load_model("dcgan", out)
    final = recipe.stages[-1]["config"]
    assert (gan.config.g_refine, gan.config.d_refine) == (int(final["g_refine"]), int(final["d_refine"]))
    stages = gan.card["stages"]
    assert [s["name"] for s in stages] == [s["name"] for s in recipe.stages]
    assert [s["epochs"] for s in stages] == [[i + 1, i + 1] for i in range(len(stages))]
    assert any("g_refine" in s.get("grown", {}) for s in stages) and any("d_refine" in s.get("grown", {}) for s in stages)
    assert gan.card["recipe"] == {"path": "recipes/dcgan.toml", "sha256": recipe.sha256}
    # --resume after the end: every stage is done, nothing is trained again
    again = run(["--recipe", str(ROOT / "recipes" / "dcgan.toml"), "--smoke", "--out", str(out), "--state-dir", str(state),
                 "--threads", "1", "--resume"])
    assert again.returncode == 0 and again.stdout.count("is done") == len(recipe.stages) - 1


@pytest.mark.parametrize("text, message", [
    ("model = 'cnn'\n", "at least one [[stages]]"),
    ("model = 'resnet'\n[[stages]]\nname='a'\nepochs=1\n", "model must be one of"),
    ("model = 'cnn'\n[[stages]]\nname='a'\nepochs=1\nlr_d=3\n", "unknown keys ['lr_d']"),
    ("model = 'cnn'\n[[stages]]\nname='a'\nepochs=3\n[[stages]]\nname='b'\nepochs=2\n", "not after the previous stage"),
    ("model = 'cnn'\n[[stages]]\nname='a'\nepochs=1\nconfig={width=3}\n", "has no config field 'width'"),
    ("model = [\n", "not a valid TOML file"),
])
def test_a_bad_recipe_is_refused_in_one_line(tmp_path, text, message):
    path = tmp_path / "r.toml"
    path.write_text(text)
    with pytest.raises(ValueError, match=re.escape(message)):
        Recipe.load(path)
    proc = run(["--recipe", str(path), "--smoke", "--out", str(tmp_path / "ck")])
    assert proc.returncode != 0 and message in proc.stderr and "Traceback" not in proc.stderr


def test_every_shipped_recipe_loads_and_names_its_model():
    for path in sorted((ROOT / "recipes").glob("*.toml")):
        recipe = Recipe.load(path)
        assert path.stem == recipe.model and recipe.stages


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


def test_a_stage_starts_at_its_own_rate_and_decays_from_there(tmp_path):
    # the second run continues at epoch 2 with its own --lr: its first epoch trains at that rate
    common = ["--model", "ae_plain", "--smoke", "--threads", "1", "--lr-decay", "0.5"]
    assert run(common + ["--epochs", "2", "--out", str(tmp_path / "a"), "--state-dir", str(tmp_path / "s1")]).returncode == 0
    proc = run(common + ["--epochs", "4", "--lr", "4e-3", "--init-from", str(tmp_path / "a"), "--out", str(tmp_path / "b"),
                         "--state-dir", str(tmp_path / "s2")])
    assert proc.returncode == 0, proc.stderr[-2000:]
    lrs = [float(r["lr"]) for r in csv.DictReader(open(tmp_path / "b" / "ae_plain" / "history.csv"))]
    assert lrs == pytest.approx([1e-3, 5e-4, 4e-3, 2e-3])
