"""The functions the labs call: filmstrips, routing summaries, transforms, reconstructions."""

from __future__ import annotations

import numpy as np
import torch

from advdl.inference import (
    capsule_filmstrips,
    decode_capsule,
    direction_filmstrips,
    generate,
    read_capsules,
    reconstruct,
    transform,
)
from advdl.models import build
from advdl.models.gan import sefa_directions


def digit():
    img = np.zeros((28, 28), np.float32)
    img[6:22, 12:16] = 1.0  # a vertical bar, like a 1
    return img


def test_capsule_filmstrip_rows_sweep_one_dimension():
    torch.manual_seed(0)
    net = build("capsnet").eval()
    out = read_capsules(net, digit())
    cap = out.capsules[0, 3].numpy()
    steps = np.linspace(-0.25, 0.25, 11)
    frames = capsule_filmstrips(net, cap, 3, np.zeros(16), steps)
    assert frames.shape == (16, 11, 28, 28)
    # the middle column is the unperturbed capsule's reconstruction, in every row
    ref = decode_capsule(net, cap, 3)[0]
    for d in range(16):
        np.testing.assert_allclose(frames[d, 5], ref, atol=1e-6)
    v = cap.copy()
    v[4] += steps[0]
    np.testing.assert_allclose(frames[4, 0], decode_capsule(net, v, 3)[0], atol=1e-6)


def test_direction_filmstrips_match_single_generations():
    torch.manual_seed(0)
    gan = build("dcgan").eval()
    dirs = sefa_directions(gan, 3)[0].numpy()
    assert np.allclose(np.linalg.norm(dirs, axis=1), 1, atol=1e-5)
    z = np.random.default_rng(0).standard_normal(100).astype(np.float32)
    offsets = np.array([0.5, -1.0, 0.0], np.float32)
    steps = np.linspace(-2, 2, 5).astype(np.float32)
    frames = direction_filmstrips(gan, z, dirs, offsets, steps)
    assert frames.shape == (3, 5, 28, 28)
    want = z + offsets @ dirs + (steps[4] - offsets[1]) * dirs[1]
    np.testing.assert_allclose(frames[1, 4], generate(gan, want)[0], atol=1e-5)



def test_generate_split_gives_one_batchs_images_from_threads(monkeypatch):
    """A large batch of latents is generated in slices side by side, the slices in threads of
    their own, and comes back as the images of one batch, in order."""
    import threading

    from advdl import inference

    torch.manual_seed(0)
    gan = build("dcgan").eval()
    z = np.random.default_rng(1).standard_normal((130, 100)).astype(np.float32)
    whole = generate(gan, z)
    names = []
    monkeypatch.setattr(inference, "generate", lambda g, zz, preview=False: names.append(threading.current_thread().name) or generate(g, zz))
    out = inference.generate_split(gan, z, parts=3)
    assert sorted(names) == ["MainThread", "advdl-generate", "advdl-generate"]
    assert out.shape == (130, 28, 28)
    np.testing.assert_allclose(out, whole, atol=1e-6)
    names.clear()
    inference.generate_split(gan, z[:40], parts=3)  # too few for slices: one batch
    assert names == ["MainThread"]

def test_preview_frames_are_bfloat16_in_every_thread_and_close_to_float32(monkeypatch):
    """Previews run in bfloat16 where the CPU has it, in the helper threads too (autocast is per
    thread), and stay within a few of 255 grey levels of the float32 images."""
    import threading

    from advdl import inference

    monkeypatch.setattr(inference, "bf16_native", lambda: True)
    torch.manual_seed(0)
    gan = build("dcgan").eval()
    seen = []
    gan.generator.net[0].register_forward_hook(lambda m, i, o: seen.append((threading.current_thread().name, o.dtype)))
    z = np.random.default_rng(2).standard_normal((96, 100)).astype(np.float32)
    exact = generate(gan, z)
    assert {d for _, d in seen} == {torch.float32}
    seen.clear()
    fast = inference.generate_split(gan, z, parts=3, preview=True)
    assert sorted(n for n, _ in seen) == ["MainThread", "advdl-generate", "advdl-generate"]
    assert {d for _, d in seen} == {torch.bfloat16}
    assert fast.dtype == np.float32 and fast.shape == exact.shape
    levels = np.abs(np.round(fast * 255) - np.round(exact * 255))
    assert 0 < levels.max() and np.percentile(levels, 99) <= 4


def test_direction_bases_leave_out_their_own_slider():
    dirs = np.eye(4, 100, dtype=np.float32)
    z = np.zeros(100, np.float32)
    from advdl.inference import direction_bases as a
    before = a(z, dirs, np.array([1, 2, 3, 4], np.float32))
    after = a(z, dirs, np.array([1, -5, 3, 4], np.float32))  # slider 1 committed elsewhere
    assert before[1].tobytes() == after[1].tobytes()  # its own strip's base: unchanged
    assert not np.array_equal(before[0], after[0])
    np.testing.assert_array_equal(before[2, :4], [1, 2, 0, 4])


def test_transform_rotates_and_shifts():
    img = digit()
    assert np.array_equal(transform(img), img)
    r = transform(img, 90)
    assert r.shape == (28, 28)
    assert r[13:15, 6:22].mean() > 0.8 and r[6:10, 13:15].mean() < 0.2  # the bar is now horizontal
    from advdl.digits import centre_of_mass

    cy, cx = centre_of_mass(transform(img, 0, (3, 0)))
    assert abs(cx - (centre_of_mass(img)[1] + 3)) < 0.2 and abs(cy - centre_of_mass(img)[0]) < 0.2
    leaning = transform(img, shear=30)  # the upright bar leans: its top and bottom rows' ink moves apart
    top, bottom = (np.average(np.arange(28), weights=leaning[r] + 1e-9) for r in (8, 19))
    assert abs(top - bottom) > 3 and abs(leaning.sum() - img.sum()) / img.sum() < 0.1


def test_reconstruct_scores_against_the_clean_digit():
    torch.manual_seed(0)
    models = {"ae_plain": build("ae_plain").eval(), "ae_conv": build("ae_conv").eval()}
    res = reconstruct(models, digit(), digit())
    assert set(res) == set(models)
    for r in res.values():
        assert r.image.shape == (28, 28) and 0 < r.bce and -1 <= r.ssim <= 1 and r.psnr > 0


def test_reconstruction_sweep_equals_one_reconstruction_per_input(random_checkpoints):
    from advdl.checkpoints import load_model
    from advdl.digits import add_noise
    from advdl.inference import reconstruct, reconstruct_sweep

    models = {n: load_model(n, random_checkpoints) for n in ("ae_plain", "ae_conv")}
    clean = np.zeros((28, 28), np.float32)
    clean[6:22, 12:16] = 1.0
    inputs = np.stack([add_noise(clean, "gaussian", s, seed=0) for s in (0.0, 0.5, 1.0)])
    sweep = reconstruct_sweep(models, inputs, clean)
    for name in models:
        assert sweep[name].images.shape == (3, 28, 28)
        for i, inp in enumerate(inputs):
            one = reconstruct({name: models[name]}, inp, clean)[name]
            np.testing.assert_allclose(sweep[name].images[i], one.image, atol=1e-5)
            assert abs(sweep[name].at(i).psnr - one.psnr) < 1e-3 and abs(sweep[name].at(i).ssim - one.ssim) < 1e-4
    assert sweep["ae_plain"].psnr[0] != sweep["ae_plain"].psnr[2]  # the noise shows in the scores
