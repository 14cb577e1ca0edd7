""""Real or fake?": a seeded round is reproducible, the reveal counts right, and the
discriminator's scores are the model's."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from advdl.quiz import LEAST_REAL_POOL, N_DIGITS, Round, d_guess, make_round, realness, score
from advdl.models import build


@pytest.fixture(scope="module")
def gan():
    torch.manual_seed(0)
    return build("dcgan").eval()


@pytest.fixture(scope="module")
def real():
    from advdl.data import load_samples

    return load_samples().images.numpy()


def test_a_seeded_round_is_reproducible_and_half_fake(gan, real):
    a, b = make_round(gan, real, 5), make_round(gan, real, 5)
    assert a.images.shape == (N_DIGITS, 28, 28) and a.images.dtype == np.float32
    assert np.array_equal(a.images, b.images) and np.array_equal(a.fake, b.fake)
    assert a.fake.sum() == N_DIGITS // 2
    assert 0 <= a.images.min() and a.images.max() <= 1
    other = make_round(gan, real, 6)
    assert not np.array_equal(a.images, other.images) or not np.array_equal(a.fake, other.fake)


def test_the_real_digits_are_the_shipped_samples(gan, real):
    rnd = make_round(gan, real, 2)
    pool = real.astype(np.float32) / 255.0
    for img in rnd.images[~rnd.fake]:
        assert np.abs(pool - img).reshape(len(pool), -1).max(1).min() == 0  # one of them, exactly
    for img in rnd.images[rnd.fake]:
        assert np.abs(pool - img).reshape(len(pool), -1).max(1).min() > 0.05


def test_the_scores_are_the_discriminators(gan, real):
    rnd = make_round(gan, real, 3)
    with torch.no_grad():
        expected = gan.realness(torch.from_numpy(rnd.images)[:, None]).reshape(-1).numpy()
    assert np.allclose(rnd.realness, expected, atol=1e-6)
    assert np.allclose(realness(gan, rnd.images), expected, atol=1e-6)


def test_the_second_round_shows_the_least_real_of_many(gan, real):
    rnd = make_round(gan, real, 3, "least_real")
    assert rnd.fake.sum() == N_DIGITS // 2
    # its fakes are the generator's lowest-scored samples: under every one of the pool's others
    g = torch.Generator().manual_seed(0)
    others = gan.generate(torch.randn(LEAST_REAL_POOL, gan.config.z_dim, generator=g))[:, 0].detach().numpy()
    assert np.median(rnd.realness[rnd.fake]) < np.median(realness(gan, others))


def _round(fake: list[bool], real_p: list[float]) -> Round:
    n = len(fake)
    return Round(seed=0, kind="random", images=np.zeros((n, 28, 28), np.float32), fake=np.array(fake), realness=np.array(real_p))


def test_the_reveal_counts_right():
    rnd = _round([True, False, True, False], [0.2, 0.9, 0.6, 0.4])
    r = score(rnd, {0, 1})  # one fake found, one real called fake
    assert (r.found, r.missed, r.false_alarms, r.score) == (1, 1, 1, 2)
    assert r.right.tolist() == [True, False, False, True]
    assert score(rnd, {0, 2}).score == 4 and score(rnd, set()).score == 2
    # D calls fake its least real half: digits 0 and 3, so it gets 0 and 1 right, 2 and 3 wrong
    assert d_guess(rnd).tolist() == [True, False, False, True]
    assert r.d_right == 2
    with pytest.raises(ValueError):
        score(rnd, {4})


def test_a_round_refuses_what_it_cannot_make(gan, real):
    with pytest.raises(ValueError):
        make_round(gan, real, 1, "hardest")
    with pytest.raises(ValueError):
        make_round(gan, real[:3], 1)


def test_the_page_marks_reveals_and_scores(random_checkpoints, checkpoint_env):
    from advdl.checkpoints import load_model
    from conftest import run_page

    checkpoint_env(random_checkpoints)
    at = run_page("real_or_fake")
    assert not at.exception
    assert at.query_params["seed"] == "1" and at.query_params["round"] == "1"
    rnd = make_round(load_model("dcgan", random_checkpoints), real_digits(), 1)
    fakes = [i for i in range(N_DIGITS) if rnd.fake[i]]
    for i in fakes[:4] + [i for i in range(N_DIGITS) if not rnd.fake[i]][:1]:
        at.checkbox(key=f"quiz.mark.{i}").check()
    at.button(key="quiz.reveal").click().run()
    assert not at.exception
    expected = score(rnd, fakes[:4] + [i for i in range(N_DIGITS) if not rnd.fake[i]][:1])
    assert expected.score == 9  # 4 fakes found, 5 of the 6 real digits left alone
    assert any(f"You got {expected.score} of {N_DIGITS} right: 4 of the 6 fakes found; real digits called fake: 1." in s.value for s in at.success)
    assert any(f"got {expected.d_right} of {N_DIGITS} right" in s.value for s in at.info)
    shown = " ".join(c.value for c in at.caption)
    assert all(f"D: {p:.0%} real" in shown for p in rnd.realness)
    # another round: the marks are cleared and the answers hidden
    at.button(key="quiz.again").click().run()
    assert not at.exception and at.query_params["seed"] != "1"
    assert not any(at.checkbox(key=f"quiz.mark.{i}").value for i in range(N_DIGITS))
    assert at.button(key="quiz.reveal")


def test_a_garbled_round_link_opens_the_default_with_a_notice(random_checkpoints, checkpoint_env):
    from conftest import run_page

    checkpoint_env(random_checkpoints)
    at = run_page("real_or_fake", lang="zh", query={"seed": "x", "round": "7"})
    assert not at.exception
    assert any("链接" in w.value for w in at.warning)
    assert at.query_params["round"] == "1"


def real_digits() -> np.ndarray:
    from advdl.data import load_samples

    return load_samples().images.numpy()
