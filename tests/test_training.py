"""Smoke runs of the training script on fake data: every model, resume, and two processes
under torchrun."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys

import numpy as np
import pytest
import torch

from advdl.checkpoints import load_model
from advdl.models import MODELS
from advdl.training import lr_at, random_shift
from conftest import ROOT

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
    assert card["epochs"] == 1 and card["seed"] == 0 and card["device"] == "cpu"
    assert card["training"]["smoke"] is True and card["wall_time_s"] >= 0
    rows = list(csv.DictReader(open(out / name / "history.csv")))
    assert len(rows) == 1 and rows[0]["epoch"] == "1"
    assert all(np.isfinite(float(v)) for k, v in rows[0].items())
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
    assert card["world_size"] == 2
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
    assert card["training"]["amp"] == "bf16" and card["training"]["ema_decay"] == 0.999
    saved = torch.load(state / "dcgan-smoke" / "state.pt", weights_only=True)
    shipped = load_model("dcgan", out).generator.state_dict()
    weights = [k for k in shipped if "running_" not in k and "num_batches" not in k]
    # the shipped generator is the moving average, not the last step's weights
    assert all(torch.allclose(shipped[k], saved["task"]["ema"][k]) for k in weights)
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
    assert torch.load(tmp_path / "s" / "ae_plain-smoke" / "state.pt", weights_only=True)["epoch"] == 1


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
    source = after.card["training"]["init_from"]
    assert source["epochs"] == 2 and source["root"] == str(first)
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
    assert grown.config.g_refine == 2 and grown.card["training"]["init_from"]["deepened"] == {"g_refine": [1, 2]}
    z = torch.randn(16, 100, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        assert (grown.generate(z) - start.generate(z)).abs().mean() < 0.02


def test_compiled_training_matches_the_eager_one(tmp_path):
    # --compile runs the steps through torch.compile; the weights it ships are the same model's
    common = ["--model", "ae_plain", "--smoke", "--threads", "1", "--seed", "3"]
    for name, extra in (("eager", []), ("compiled", ["--compile"])):
        proc = run(common + extra + ["--out", str(tmp_path / name), "--state-dir", str(tmp_path / f"s-{name}")])
        assert proc.returncode == 0, proc.stderr[-3000:]
    eager, compiled = load_model("ae_plain", tmp_path / "eager"), load_model("ae_plain", tmp_path / "compiled")
    assert compiled.card["training"]["compile"] is True and eager.card["training"]["compile"] is False
    for (k, a), b in zip(eager.state_dict().items(), compiled.state_dict().values()):
        torch.testing.assert_close(a, b, atol=1e-4, rtol=1e-4, msg=k)


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
    assert card["training"]["anneal_epochs"] == 2 and card["training"]["ema_decay"] == 0.5
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
    assert bad.returncode == 2 and "--amp applies to dcgan and capsnet" in bad.stderr


def test_r1_penalises_the_discriminators_gradient_at_real_images_every_fourth_step_and_d_has_its_own_rate(tmp_path):
    from advdl.models.gan import DCGAN, DCGANConfig
    from advdl.training import Dist, GANTask, TrainArgs

    torch.manual_seed(0)
    model = DCGAN(DCGANConfig(ngf=8, ndf=8))
    task = GANTask(model, TrainArgs(model="dcgan", r1=3.0), torch.device("cpu"), Dist())
    real = torch.rand(6, 1, 28, 28) * 2 - 1
    D = model.discriminator
    # by hand: gamma/2 * 4 (lazy, every 4th step) * mean |grad_x D(x)|^2, back-propagated into D
    x = real.clone().requires_grad_(True)
    (g,) = torch.autograd.grad(D(x).sum(), x, create_graph=True)
    expected_value = g.pow(2).flatten(1).sum(1).mean()
    expected = torch.autograd.grad(expected_value * 3.0 / 2 * 4, list(D.parameters()), allow_unused=True)
    D.zero_grad()
    value = task.r1_penalty(real)
    assert value.item() == pytest.approx(expected_value.item(), rel=1e-5) and value.item() > 0
    for p, e in zip(D.parameters(), expected):  # (biases before a BatchNorm have no say in it)
        assert (p.grad is None or not p.grad.any()) if e is None else torch.allclose(p.grad, e, atol=1e-6)
    assert sum(p.grad.abs().sum() for p in D.parameters() if p.grad is not None) > 0
    # in training it runs on steps 0, 4, 8, ...; without --r1 never
    calls = []
    task.r1_penalty = lambda r: calls.append(task.steps) or torch.tensor(1.0)
    for _ in range(9):
        logs = task.step(torch.rand(4, 1, 28, 28), None)
    assert calls == [0, 4, 8] and "r1" in logs
    plain = GANTask(DCGAN(DCGANConfig(ngf=8, ndf=8)), TrainArgs(model="dcgan"), torch.device("cpu"), Dist())
    assert "r1" not in plain.step(torch.rand(4, 1, 28, 28), None)
    # the card records it; a model without a discriminator refuses it
    out = tmp_path / "ck"
    proc = run(["--model", "dcgan", "--smoke", "--config", "ngf=8", "--config", "ndf=8", "--r1", "0.5", "--lr-d", "6e-4",
                "--epochs", "2", "--anneal-epochs", "2", "--threads", "1", "--out", str(out), "--state-dir", str(tmp_path / "s")])
    assert proc.returncode == 0, proc.stderr[-3000:]
    card = json.loads((out / "dcgan" / "card.json").read_text())
    assert card["training"]["r1"] == 0.5 and card["training"]["lr_d"] == 6e-4
    assert "r1" in open(out / "dcgan" / "history.csv").readline()
    # the discriminator's own rate, under the same schedule as the generator's (halved in the last epoch)
    saved = torch.load(tmp_path / "s" / "dcgan-smoke" / "state.pt", weights_only=True)["optimizers"]
    assert saved["opt_d"]["param_groups"][0]["lr"] == pytest.approx(3e-4)
    assert saved["opt_g"]["param_groups"][0]["lr"] == pytest.approx(1e-4)
    for flag in ("--r1", "--lr-d"):
        bad = run(["--model", "cnn", "--smoke", flag, "1", "--out", str(out), "--state-dir", str(tmp_path / "s")])
        assert bad.returncode != 0 and flag in bad.stderr and "Traceback" not in bad.stderr


def test_topk_trains_the_generator_on_the_samples_the_discriminator_rates_most_real(tmp_path):
    import torch.nn.functional as F

    from advdl.models.gan import DCGAN, DCGANConfig
    from advdl.training import Dist, GANTask, TrainArgs

    torch.manual_seed(0)
    task = GANTask(DCGAN(DCGANConfig(ngf=8, ndf=8)), TrainArgs(model="dcgan", topk=0.5), torch.device("cpu"), Dist())
    # the share falls from the whole batch by 1 % an epoch, down to the floor given
    assert task.topk_share() == 1.0
    task.epoch = 10
    assert task.topk_share() == pytest.approx(0.99**10)
    task.epoch = 200
    assert task.topk_share() == 0.5
    seen, generate, update = {}, task.G, task.update
    task.G = lambda z: seen.setdefault("fake", generate(z))

    def check(loss, name):  # G's loss, against D as it is now (updated this step), over the best half
        scores = task.D(seen["fake"]).float().flatten()
        best = scores.topk(4).values
        assert loss.item() == pytest.approx(F.binary_cross_entropy_with_logits(best, torch.ones(4)).item(), rel=1e-5)
        assert loss.item() < F.binary_cross_entropy_with_logits(scores, torch.ones(8)).item()
        seen["checked"] = True
        update(loss, name)

    task.update = check
    task.step(torch.rand(8, 1, 28, 28), None)
    assert seen["checked"]
    out = tmp_path / "ck"
    proc = run(["--model", "dcgan", "--smoke", "--config", "ngf=8", "--config", "ndf=8", "--topk", "0.75",
                "--threads", "1", "--out", str(out), "--state-dir", str(tmp_path / "s")])
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert json.loads((out / "dcgan" / "card.json").read_text())["training"]["topk"] == 0.75
    for model, value in (("cnn", "0.5"), ("dcgan", "0"), ("dcgan", "1.5")):
        bad = run(["--model", model, "--smoke", "--topk", value, "--out", str(out), "--state-dir", str(tmp_path / "s")])
        assert bad.returncode != 0 and "--topk" in bad.stderr and "Traceback" not in bad.stderr


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
