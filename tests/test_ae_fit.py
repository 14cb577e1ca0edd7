"""The autoencoder a student trains in the lab (advdl/ae_fit.py) and the MNIST subset it trains on."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from advdl.ae_fit import CODE_SIZES, Fit, FitConfig, FitError, bce
from advdl.data import SUBSET_PATH, Split, fake_split, load_subset


@pytest.fixture(scope="module")
def digits() -> Split:
    return fake_split(400, seed=1)


def test_the_shipped_subset_is_mnist_training_digits_within_its_limit():
    train, val = load_subset()
    assert (len(train), len(val)) == (6000, 1000)
    assert SUBSET_PATH.stat().st_size <= 4 * 1024 * 1024
    assert train.images.dtype == torch.uint8 and train.images.shape[1:] == (28, 28)
    for part in (train, val):  # balanced over the ten classes
        assert np.bincount(part.labels.numpy(), minlength=10).min() == len(part) // 10
    with np.load(SUBSET_PATH) as f:
        from advdl.data import HOLDOUT_SEED, HOLDOUT_SIZE

        order = np.random.default_rng(HOLDOUT_SEED).permutation(60_000)
        held = set(order[:HOLDOUT_SIZE].tolist())
        assert set(f["val_indices"].tolist()) <= held  # the validation digits: from the hold-out
        assert not set(f["train_indices"].tolist()) & held  # the training digits: never from it


def test_a_seeded_run_of_a_few_epochs_lowers_the_validation_loss(digits):
    fit = Fit(FitConfig(epochs=3, batch=32, code=8, seed=0), digits)
    start = bce(fit.model, fit.x_val)
    while fit.state == "running":
        fit.train_for(1.0)
    assert fit.state == "done" and [h[0] for h in fit.history] == [1, 2, 3]
    assert fit.history[-1][2] < start and fit.history[-1][2] < fit.history[0][2]
    assert fit.progress == 1.0 and len(fit.batch_losses) == 3 * fit.batches_per_epoch
    again = Fit(FitConfig(epochs=3, batch=32, code=8, seed=0), digits)
    while again.state == "running":
        again.train_for(1.0)
    assert again.history == fit.history  # reproducible from its seed


def test_shuffle_off_feeds_the_batches_in_order_and_on_does_not(digits):
    ordered = Fit(FitConfig(epochs=1, batch=40, shuffle=False), digits)
    ordered.train_for(10)
    assert ordered.fed == list(range(0, len(ordered.x_train), 40))
    shuffled = Fit(FitConfig(epochs=1, batch=40, shuffle=True), digits)
    shuffled.train_for(10)
    assert shuffled.fed != ordered.fed


def test_the_validation_digits_are_never_trained_on(digits):
    fit = Fit(FitConfig(epochs=1, batch=16, val_share=0.2), digits)
    x = digits.floats()
    assert len(fit.x_val) == 80 and torch.equal(fit.x_val, x[-80:]) and torch.equal(fit.x_train, x[:-80])
    seen = []
    original = fit._next_order
    fit._next_order = lambda: seen.append(order := original()) or order  # noqa: E731  (record each epoch's order)
    fit.train_for(10)
    assert int(torch.cat(seen).max()) < len(fit.x_train)  # positions in the training part only


def test_stop_stops_within_a_batch(digits):
    fit = Fit(FitConfig(epochs=5, batch=16), digits)
    fit.train_for(10, max_batches=3)
    fit.stop()
    n = len(fit.batch_losses)
    assert fit.state == "stopped" and fit.reason == "stop"
    assert fit.train_for(10) == 0 and len(fit.batch_losses) == n


def test_a_2d_code_gives_the_codes_of_the_validation_digits(digits):
    fit = Fit(FitConfig(code=2, epochs=1), digits)
    assert fit.codes().shape == (len(fit.x_val), 2)
    assert Fit(FitConfig(code=32, epochs=1), digits).codes() is None
    assert Fit(FitConfig(arch="conv", epochs=1), digits).codes() is None


def test_a_denoising_run_trains_on_noisy_input(digits, monkeypatch):
    import advdl.ae_fit

    calls = []
    real = advdl.ae_fit.add_noise
    monkeypatch.setattr(advdl.ae_fit, "add_noise", lambda *a, **k: calls.append(a[1]) or real(*a, **k))
    fit = Fit(FitConfig(arch="conv", noise="gaussian", epochs=1, batch=64), digits)
    fit.train_for(10, max_batches=2)
    assert calls == ["gaussian", "gaussian"]


def test_a_nan_loss_is_caught(digits):
    fit = Fit(FitConfig(epochs=2), digits)
    with torch.no_grad():
        next(fit.model.parameters()).fill_(float("nan"))
    fit.train_for(10)
    assert fit.state == "diverged" and fit.reason == "nan" and not fit.history


@pytest.mark.parametrize("change, code", [
    ({"batch": 10_000}, "fit.error.batch"), ({"epochs": 0}, "fit.error.epochs"), ({"code": 3}, "fit.error.code"),
    ({"lr": float("nan")}, "fit.error.lr"), ({"arch": "rnn"}, "fit.error.arch"), ({"val_share": 1.0}, "fit.error.val_share"),
    ({"noise": "fog"}, "fit.error.noise"),
])
def test_settings_that_cannot_train_are_refused_with_a_message_key(digits, change, code):
    from dataclasses import replace

    with pytest.raises(FitError) as info:
        Fit(replace(FitConfig(), **change), digits)
    assert info.value.code == code


def test_the_convolutional_model_keeps_its_own_code():
    assert 2 in CODE_SIZES
    FitConfig(arch="conv", code=2).check(400)  # the code size is the dense models' only
