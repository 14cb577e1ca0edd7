""""Real or fake?" (course outline 5.1.1, "generate images that pass for real"): a round of digits,
half real MNIST test digits (the shipped samples) and half the DCGAN's, shuffled by a seed, and
the discriminator's probability of real for each, to reveal beside the class's guesses.

Round 1 draws the generator's samples at random; round 2 takes the ones the discriminator finds
least real among many, to show what D looks at.

    rnd = make_round(gan, samples, seed=3, kind="least_real")
    result = score(rnd, marked_fake={0, 4, 7})
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

N_DIGITS = 12
KINDS = ("random", "least_real")
LEAST_REAL_POOL = 256  # round 2: the generator's samples D is shown, of which the least real are kept


@dataclass(frozen=True)
class Round:
    seed: int
    kind: str
    images: np.ndarray  # (N, 28, 28) float32 in [0, 1]
    fake: np.ndarray  # (N,) bool: made by the generator
    realness: np.ndarray  # (N,) the discriminator's probability that each image is real


@dataclass(frozen=True)
class Result:
    right: np.ndarray  # (N,) bool: the mark was the truth
    found: int  # fakes marked fake
    missed: int  # fakes not marked
    false_alarms: int  # real digits marked fake
    d_right: int  # digits the discriminator gets right, calling its least real half fake

    @property
    def score(self) -> int:
        return int(self.right.sum())


@torch.inference_mode()
def realness(gan: torch.nn.Module, images: np.ndarray) -> np.ndarray:
    x = torch.as_tensor(np.asarray(images, dtype=np.float32)).reshape(-1, 1, 28, 28)
    return gan.realness(x).reshape(-1).numpy().astype(np.float64)


@torch.inference_mode()
def make_round(gan: torch.nn.Module, real_images: np.ndarray, seed: int, kind: str = "random", n: int = N_DIGITS) -> Round:
    """The round that ``seed`` names: the same seed, the same digits in the same order."""
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, not {kind!r}")
    if n % 2 or n < 2:
        raise ValueError("a round needs an even number of digits")
    real_images = np.asarray(real_images)
    if len(real_images) < n // 2:
        raise ValueError(f"a round needs {n // 2} real digits, got {len(real_images)}")
    rng = np.random.default_rng([seed, KINDS.index(kind)])
    half = n // 2
    real = real_images[rng.choice(len(real_images), half, replace=False)].astype(np.float32)
    if real.max() > 1.0:  # uint8 digits
        real = real / 255.0
    z = rng.standard_normal((LEAST_REAL_POOL if kind == "least_real" else half, gan.config.z_dim)).astype(np.float32)
    fakes = gan.generate(torch.from_numpy(z))[:, 0].numpy()
    if kind == "least_real":
        fakes = fakes[np.argsort(realness(gan, fakes), kind="stable")[:half]]
    images = np.concatenate([real, fakes]).astype(np.float32)
    fake = np.array([False] * half + [True] * half)
    order = rng.permutation(n)
    images, fake = images[order], fake[order]
    return Round(seed=int(seed), kind=kind, images=images, fake=fake, realness=realness(gan, images))


def score(rnd: Round, marked_fake) -> Result:
    """How a student's marks (the indices they called fake) compare with the truth, and how the
    discriminator does on the same digits, told as the class is that half of them are fake: it
    calls fake the half it finds least real (at the end of training its probabilities sit near
    50 % for real and fake alike, so a fixed threshold would say little)."""
    marked = np.zeros(len(rnd.fake), dtype=bool)
    for i in marked_fake:
        if not 0 <= int(i) < len(marked):
            raise ValueError(f"no digit {i} in a round of {len(marked)}")
        marked[int(i)] = True
    right = marked == rnd.fake
    return Result(
        right=right,
        found=int((marked & rnd.fake).sum()),
        missed=int((~marked & rnd.fake).sum()),
        false_alarms=int((marked & ~rnd.fake).sum()),
        d_right=int((d_guess(rnd) == rnd.fake).sum()),
    )


def d_guess(rnd: Round) -> np.ndarray:
    """The discriminator's marks: True for the half of the round it finds least real."""
    guess = np.zeros(len(rnd.fake), dtype=bool)
    guess[np.argsort(rnd.realness, kind="stable")[: len(rnd.fake) // 2]] = True
    return guess
