"""The GAN training playground's model code (advdl.gan_training) and its URL state, without a page."""

from __future__ import annotations

import base64
import json
import time
from dataclasses import replace

import numpy as np
import pytest
import torch

from advdl.gan_training import (
    BOX, HEAT_CELLS, MANIFOLD_CELLS, N_FAKE_VIEW, PRESETS, PlayerPool, ToyGAN, ToyGANConfig, TooFewPoints,
    TrainingError, js_divergence, mode_metrics, pack, preset_config, ring,
)


def params(net) -> list[torch.Tensor]:
    return [p.detach().clone() for p in net.parameters()]


def same(a, b) -> bool:
    return all(torch.equal(x, y) for x, y in zip(a, b))


@pytest.mark.parametrize("loss", ["nonsat", "minimax", "lsgan"])
@pytest.mark.parametrize("optimizer", ["adam", "sgd"])
def test_step_d_leaves_the_generator_bitwise_unchanged_and_step_g_the_discriminator(loss, optimizer):
    gan = ToyGAN(ToyGANConfig(loss=loss, optimizer=optimizer, lr_g=0.05, lr_d=0.05))
    gan.epoch()  # optimizers with state, so that a stray step would move a frozen network
    g0, d0 = params(gan.G), params(gan.D)
    gan.step_d()
    assert same(params(gan.G), g0) and not same(params(gan.D), d0)
    g1, d1 = params(gan.G), params(gan.D)
    gan.step_g()
    assert same(params(gan.D), d1) and not same(params(gan.G), g1)
    assert (gan.steps_d, gan.steps_g) == (2, 2)


def test_the_slow_motion_update_is_the_same_update_and_freezes_the_other_network():
    cfg = ToyGANConfig(seed=3)
    a, b = ToyGAN(cfg), ToyGAN(cfg)
    d0 = params(b.D)
    stages = b.explain("g")
    a.step_g()
    assert same(params(a.G), params(b.G)) and same(params(b.D), d0)
    assert [s["stage"] for s in stages] == ["noise", "fakes", "score", "loss", "grad", "update"]
    assert stages[2]["d_real"] is None and stages[4]["norm"] > 0 and stages[5]["moved"] > 0
    g0 = params(b.G)
    stages = b.explain("d")
    assert same(params(b.G), g0) and stages[2]["d_real"] is not None
    b.explain_epoch()
    assert b.epochs == 1 and (b.steps_d, b.steps_g) == (1 + cfg.d_steps, 2)


def test_step_d_changes_the_heatmap_and_not_the_fakes_step_g_the_reverse():
    gan = ToyGAN(ToyGANConfig(lr_g=0.01, lr_d=0.01))
    s0 = gan.snapshot()
    gan.step_d()
    s1 = gan.snapshot()
    assert np.array_equal(s0["fake"], s1["fake"]) and not np.array_equal(s0["heat"], s1["heat"])
    gan.step_g()
    s2 = gan.snapshot()
    assert np.array_equal(s1["heat"], s2["heat"]) and not np.array_equal(s1["fake"], s2["fake"])


@pytest.mark.slow
def test_a_seeded_ring_gan_covers_its_modes():
    # the "converges" preset's networks, seeded, trained long enough to cover the ring
    gan = ToyGAN(replace(preset_config("converges"), seed=2))
    assert gan.metrics()["modes"] <= 2  # epoch 0: the fakes sit in the middle
    for _ in range(2500):
        gan.epoch()
    m = gan.metrics()
    assert m["modes"] >= 7 and m["hq"] > 0.6 and m["js"] < 0.5


def test_the_mode_metric_on_hand_made_samples():
    mix = ring(k=8, radius=0.75, std=0.05)
    rng = np.random.default_rng(0)
    # all 8 modes, tightly
    every = mix.centres[rng.integers(0, 8, 4000)] + 0.02 * rng.standard_normal((4000, 2))
    m = mode_metrics(every, mix)
    assert m["modes"] == 8 and m["n_modes"] == 8 and m["hq"] > 0.99
    # three modes only, plus a few stray points on a fourth (which must not count)
    three = mix.centres[rng.integers(0, 3, 3990)] + 0.02 * rng.standard_normal((3990, 2))
    stray = np.repeat(mix.centres[5:6], 10, 0)
    m = mode_metrics(np.concatenate([three, stray]), mix)
    assert m["modes"] == 3
    # points between the modes are not high quality
    m = mode_metrics(np.zeros((500, 2)), mix)
    assert m["hq"] == 0.0 and m["modes"] == 0
    # exactly 3 sigma away is still high quality, just beyond it is not
    on = mix.centres[:1] + [[0.15, 0.0]]
    off = mix.centres[:1] + [[0.151, 0.0]]
    assert mode_metrics(on, mix)["hq"] == 1.0 and mode_metrics(off, mix)["hq"] == 0.0


def test_js_divergence_is_zero_for_the_same_points_and_one_for_disjoint_ones():
    rng = np.random.default_rng(1)
    a = rng.uniform(-1, -0.5, (1000, 2))
    b = rng.uniform(0.5, 1, (1000, 2))
    assert js_divergence(a, a) == pytest.approx(0.0, abs=1e-12)
    assert js_divergence(a, b) == pytest.approx(1.0)
    assert 0 < js_divergence(a, np.concatenate([a[:500], b[:500]])) < 1


def test_a_drawn_distribution_is_what_the_gan_trains_on():
    pts = np.array([[0.6, 0.6], [0.62, 0.58], [0.58, 0.61]], np.float32)
    gan = ToyGAN(ToyGANConfig(data="drawn"), drawn=pts)
    real = gan.data.sample(2000, torch.Generator().manual_seed(0)).numpy()
    assert np.abs(real - [0.6, 0.6]).max() < 0.2 and abs(real.mean(0) - pts.mean(0)).max() < 0.01
    assert np.abs(gan.snapshot()["real"] - [0.6, 0.6]).max() < 0.2  # the page draws these points


@pytest.mark.parametrize("points", [None, [], [[0.1, 0.2]], [[np.nan, 0.0], [0.1, 0.1]]])
def test_a_drawing_with_fewer_than_two_points_is_refused_with_its_message(points):
    with pytest.raises(TooFewPoints) as exc:
        ToyGAN(ToyGANConfig(data="drawn"), drawn=points)
    assert exc.value.code == "gtrain.error.few_points"


def test_a_diverging_run_stops_and_says_so():
    gan = ToyGAN(ToyGANConfig(optimizer="sgd", lr_g=10.0, lr_d=10.0, loss="lsgan"))
    with torch.no_grad():
        for p in gan.D.parameters():
            p.mul_(1e30)  # a loss that overflows on the first step
    done = gan.train_for(5.0, max_epochs=1000)
    assert gan.diverged and done < 1000
    packed = pack(gan.snapshot())  # still drawable: NaNs are not sent
    assert packed["diverged"] and "NaN" not in json.dumps(packed)


def test_a_learning_rate_of_zero_moves_nothing():
    gan = ToyGAN(ToyGANConfig(lr_g=0.0))
    g0 = params(gan.G)
    gan.step_g()
    assert same(params(gan.G), g0)


@pytest.mark.parametrize("bad", [{"data": "moon"}, {"g_layers": 9}, {"lr_d": -1.0}, {"lr_g": float("nan")}, {"batch": 0}, {"noise": "3d"}])
def test_settings_out_of_range_are_refused(bad):
    with pytest.raises(TrainingError):
        replace(ToyGANConfig(), **bad).validate()


def test_retune_applies_rates_and_loss_at_once_but_refuses_a_new_architecture():
    gan = ToyGAN(ToyGANConfig())
    gan.retune(replace(gan.config, lr_g=0.02, loss="lsgan", optimizer="sgd"))
    assert gan.opt_g.param_groups[0]["lr"] == 0.02 and isinstance(gan.opt_g, torch.optim.SGD) and gan.config.loss == "lsgan"
    with pytest.raises(TrainingError):
        gan.retune(replace(gan.config, g_width=8))


def test_the_packed_snapshot_is_compact_and_decodes_to_the_view():
    gan = ToyGAN(preset_config("converges"))
    for _ in range(50):
        gan.epoch()
    snap = gan.snapshot()
    packed = pack(snap)
    assert len(json.dumps(packed)) <= 16_000
    fake = np.frombuffer(base64.b64decode(packed["fake"]), "<i2").astype(np.float32).reshape(-1, 2) / 32767 * BOX
    assert fake.shape == (N_FAKE_VIEW, 2) and np.abs(fake - np.clip(snap["fake"], -BOX, BOX)).max() < 1e-4
    heat = np.frombuffer(base64.b64decode(packed["heat"]), np.uint8)
    assert heat.size == HEAT_CELLS**2 and np.abs(heat / 255 - snap["heat"].ravel()).max() <= 0.5 / 255 + 1e-6
    manifold = np.frombuffer(base64.b64decode(packed["manifold"]), "<i2")
    assert manifold.size == 2 * (MANIFOLD_CELLS + 1) ** 2
    assert packed["steps_d"] == 50 and packed["curve_epochs"] == [1.0, 50.0]


def test_the_gradient_arrows_point_where_the_generator_loss_falls():
    gan = ToyGAN(ToyGANConfig())
    for _ in range(30):
        gan.step_d()
    snap = gan.snapshot()
    x = torch.as_tensor(snap["fake"])
    step = 1e-3 * torch.as_tensor(snap["grad"]) / (torch.as_tensor(snap["grad"]).norm(dim=1, keepdim=True) + 1e-12)
    with torch.no_grad():
        before = gan._loss_g_each(gan.D(x)).squeeze(1)
        after = gan._loss_g_each(gan.D(x + step)).squeeze(1)
    assert (after <= before + 1e-7).float().mean() > 0.95


@pytest.mark.slow
def test_the_vanishing_gradient_preset_vanishes_and_the_non_saturating_loss_revives_it():
    gan = ToyGAN(preset_config("vanishing"))
    for _ in range(300):
        gan.epoch()
    weak = np.linalg.norm(gan.snapshot()["grad"], axis=1).mean()
    gan.retune(replace(gan.config, loss="nonsat"))
    strong = np.linalg.norm(gan.snapshot()["grad"], axis=1).mean()
    assert weak < 1e-3 < strong and strong > 100 * weak


def test_every_preset_is_a_valid_run():
    for name in PRESETS:
        gan = ToyGAN(preset_config(name))
        gan.epoch()
        assert not gan.diverged


def test_the_player_pool_caps_players_and_shares_the_budget():
    pool = PlayerPool(max_players=2, cpu_share=0.6, max_train_s=0.15, tick_s=0.2, stale_s=0.2)
    alone = pool.tick("a")
    assert alone == (pytest.approx(0.12), 0.2)
    pool.tick("b")
    assert pool.tick("c") is None  # full
    shared = pool.tick("a")
    assert shared[0] < alone[0]
    pool.leave("b")
    assert pool.tick("c") is not None
    time.sleep(0.25)  # players who stop ticking lose their place
    assert pool.players() == 0
    big = PlayerPool(max_players=100)
    for i in range(30):
        big.join(str(i))
    train_s, interval = big.tick("0")
    assert interval > 0.2 and 30 * train_s / interval <= big.cpu_share + 1e-9  # the class's training share of the machine


def test_the_url_state_round_trips_and_rejects_garbage():
    from advdl.ui.training_view import TrainingView

    view = TrainingView(config=replace(ToyGANConfig(), data="grid", lr_d=0.03, g_width=16, seed=7), speed="10", slow=True)
    params_ = view.to_query_params()
    assert "preset" not in params_ and params_["data"] == "grid" and params_["lr_d"] == "0.03" and "loss" not in params_
    back, bad = TrainingView.from_query_params(params_)
    assert back == view and not bad
    preset = TrainingView().with_preset("collapse")
    assert preset.preset == "collapse" and preset.to_query_params() == {"preset": "collapse"}
    assert TrainingView.from_query_params({"preset": "collapse"})[0] == preset
    for garbage in ({"lr_g": "fast"}, {"preset": "nope"}, {"g_layers": "99"}, {"speed": "warp"}, {"data": "<script>"}):
        got, bad = TrainingView.from_query_params(garbage)
        assert bad and got.config.validate()
