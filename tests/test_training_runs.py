"""The training script's options and recipes on fake data: config overrides, a time budget,
starting from a checkpoint (and growing it), learning-rate schedules, the weight average's decay,
and recipes replayed stage by stage or refused in one line."""

from __future__ import annotations

import csv
import json
import re

import numpy as np
import pytest
import torch

from advdl.checkpoints import load_model
from advdl.training import Recipe, lr_at
from conftest import ROOT, train_script as run

pytestmark = pytest.mark.slow  # real models trained for an epoch or more on fake data


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


def test_a_stage_starts_at_its_own_rate_and_decays_from_there(tmp_path):
    # the second run continues at epoch 2 with its own --lr: its first epoch trains at that rate
    common = ["--model", "ae_plain", "--smoke", "--threads", "1", "--lr-decay", "0.5"]
    assert run(common + ["--epochs", "2", "--out", str(tmp_path / "a"), "--state-dir", str(tmp_path / "s1")]).returncode == 0
    proc = run(common + ["--epochs", "4", "--lr", "4e-3", "--init-from", str(tmp_path / "a"), "--out", str(tmp_path / "b"),
                         "--state-dir", str(tmp_path / "s2")])
    assert proc.returncode == 0, proc.stderr[-2000:]
    lrs = [float(r["lr"]) for r in csv.DictReader(open(tmp_path / "b" / "ae_plain" / "history.csv"))]
    assert lrs == pytest.approx([1e-3, 5e-4, 4e-3, 2e-3])
