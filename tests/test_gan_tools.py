"""Interpolation, the latent bank, inversion and GIF export."""

from __future__ import annotations

import io

import numpy as np
import pytest
import torch
from PIL import Image

from advdl.gan_tools import CandidatePool, gif_bytes, interpolate, invert, latent_bank
from advdl.inference import generate
from advdl.models import build


def test_interpolation_ends_and_norms():
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal(100), rng.standard_normal(100)
    for mode in ("lerp", "slerp"):
        path = interpolate(a, b, 9, mode)
        assert path.shape == (9, 100)
        np.testing.assert_allclose(path[0], a, atol=1e-5)
        np.testing.assert_allclose(path[-1], b, atol=1e-5)
    mid_lerp = np.linalg.norm(interpolate(a, b, 3, "lerp")[1])
    mid_slerp = np.linalg.norm(interpolate(a, b, 3, "slerp")[1])
    assert mid_slerp > mid_lerp  # slerp does not cut through the low-density middle
    with pytest.raises(ValueError):
        interpolate(a, b, 3, "cubic")


def test_inversion_recovers_a_generated_digit():
    torch.manual_seed(0)
    gan = build("dcgan").eval()
    target = generate(gan, np.random.default_rng(1).standard_normal(100))[0]
    before = [p.clone() for p in gan.parameters()]
    calls = []
    inv = invert(gan, target, steps=60, restarts=3, progress=calls.append)
    assert inv.latent.shape == (100,) and inv.image.shape == (28, 28)
    start = float(((generate(gan, np.random.default_rng(2).standard_normal(100))[0] - target) ** 2).mean())
    assert inv.mse < start
    assert calls and calls[-1] == 1.0
    assert all(torch.equal(p, q) for p, q in zip(before, gan.parameters()))
    assert all(p.grad is None for p in gan.parameters())


def test_inversion_starts_from_the_pools_nearest_images():
    torch.manual_seed(0)
    gan = build("dcgan").eval()
    pool = CandidatePool(gan, n=64, seed=5)
    assert pool.latents.shape == (64, 100) and pool.images.shape == (64, 784)
    # a target that is one of the pool's own images: it comes first, at distance zero
    target = pool.images[17].reshape(28, 28).numpy()
    starts = pool.nearest(target, 3)
    assert starts.shape == (3, 100) and torch.equal(starts[0], pool.latents[17])
    d = ((pool.images - pool.images[17]) ** 2).mean(1)
    assert torch.equal(starts[1:], pool.latents[d.argsort()[1:3]])
    # zero steps from the nearest start: that start is the answer, its own image exactly
    inv = invert(gan, target, steps=0, restarts=3, pool=pool)
    assert inv.mse < 1e-10 and np.allclose(inv.latent, pool.latents[17].numpy())
    # and from a pool a few steps do better than from random starts
    other = generate(gan, np.random.default_rng(3).standard_normal(100))[0]
    big = CandidatePool(gan, n=512, seed=6)
    assert invert(gan, other, steps=20, restarts=4, pool=big).mse < invert(gan, other, steps=20, restarts=4).mse


def test_latent_bank_labels_with_the_cnn_and_draws_only_what_it_needs():
    torch.manual_seed(0)
    gan, cnn = build("dcgan").eval(), build("cnn").eval()
    bank = latent_bank(gan, cnn, n=200, min_confidence=0.0, batch=50)
    assert bank.drawn == 0  # nothing is generated before a request
    first = latent_bank(gan, cnn, n=200, min_confidence=0.0, batch=50).fill()
    cls = int(first.labels[0])
    z = bank.pick(cls)
    assert bank.drawn == 50  # one chunk held a digit of that class
    rows = np.flatnonzero(first.labels[:50] == cls)  # the most confident of that class in the first chunk
    assert np.array_equal(z, first.latents[rows[np.argmax(first.confidence[rows])]])
    bank.fill()
    assert bank.latents.shape == (200, 100) and np.array_equal(bank.latents, first.latents)  # same stream, same seed
    assert np.array_equal(bank.pick(cls), z)  # a later pick, from a full bank, gives the same latent
    for c in range(10):
        young = latent_bank(gan, cnn, n=200, min_confidence=0.0, batch=50)
        assert (young.pick(c) is None) == (first.pick(c) is None)
        if first.pick(c) is not None:
            assert np.array_equal(young.pick(c), first.pick(c))
    with torch.no_grad():
        want = cnn(gan.generate(torch.as_tensor(bank.latents[:50]))).argmax(1).numpy()
    assert np.array_equal(bank.labels[:50], want)
    empty = latent_bank(gan, cnn, n=30, min_confidence=1.01, batch=10)
    assert empty.pick(3) is None and empty.drawn == 30


def test_gif_has_every_frame_upscaled():
    frames = np.random.default_rng(0).random((5, 28, 28))
    data = gif_bytes(frames, scale=4, boomerang=False)
    img = Image.open(io.BytesIO(data))
    assert img.format == "GIF" and img.size == (112, 112) and img.n_frames == 5
    assert Image.open(io.BytesIO(gif_bytes(frames, scale=4))).n_frames == 8


def test_the_morph_gif_as_the_lab_makes_it_is_an_animation():
    from advdl.inference import generate

    torch.manual_seed(0)
    gan = build("dcgan").eval()
    z = np.random.default_rng(0).standard_normal((2, 100)).astype(np.float32)
    morph = generate(gan, interpolate(z[0], z[1], 17, "slerp"))  # what pages/gan.py downloads
    img = Image.open(io.BytesIO(gif_bytes(morph)))
    assert img.is_animated and img.n_frames >= 10
    assert img.size == (224, 224)  # 28 px upscaled 8x by nearest neighbour
