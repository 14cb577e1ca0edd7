"""What the GAN lab does with a generator besides sampling: interpolation between latents, a bank
of latents per class (labelled by the CNN), inversion of a drawing to a latent, and GIF export."""

from __future__ import annotations

import io
import threading
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from .viz import to_uint8

# The GAN lab's direction sliders: how many, the offsets along each unit direction (0.2 apart)
# and the step of offset 0; the seed of the lab's opening view (the launcher precomputes it)
N_DIRECTIONS = 8
DIRECTION_STEPS = np.round(np.linspace(-4.0, 4.0, 41), 2)
DIRECTION_CENTRE = len(DIRECTION_STEPS) // 2
OPENING_SEED = 0
OPENING_MORPH = (1, 7)  # the classes the morph goes between when the lab opens


def seed_latent(seed: int, z_dim: int) -> np.ndarray:
    """The latent (z_dim,) that a seed stands for in the lab (and in a shared URL)."""
    return np.random.default_rng(seed).standard_normal(z_dim).astype(np.float32)


def slerp(a: np.ndarray, b: np.ndarray, ts: np.ndarray) -> np.ndarray:
    """Spherical interpolation between latents a and b at fractions ts (n,) -> (n, d).

    Gaussian latents live near a sphere; slerp stays near it where a straight line cuts inside.
    """
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    cos = np.clip(a @ b / (np.linalg.norm(a) * np.linalg.norm(b) + 1e-12), -1.0, 1.0)
    omega = np.arccos(cos)
    ts = np.asarray(ts, np.float64)[:, None]
    if omega < 1e-6:
        return ((1 - ts) * a + ts * b).astype(np.float32)
    return ((np.sin((1 - ts) * omega) * a + np.sin(ts * omega) * b) / np.sin(omega)).astype(np.float32)


def interpolate(a: np.ndarray, b: np.ndarray, n: int, mode: str = "slerp") -> np.ndarray:
    """n latents from a to b, ends included, linear ("lerp") or spherical ("slerp")."""
    ts = np.linspace(0.0, 1.0, n)
    if mode == "lerp":
        return ((1 - ts)[:, None] * np.asarray(a, np.float32) + ts[:, None] * np.asarray(b, np.float32)).astype(np.float32)
    if mode == "slerp":
        return slerp(a, b, ts)
    raise ValueError(f"unknown interpolation {mode!r}; use 'lerp' or 'slerp'")


class LatentBank:
    """Latents the CNN labels with high confidence, per class, drawn from a fixed stream of
    latents in chunks only as far as a request needs (a cold lab does not wait for thousands of
    samples). Safe to share between sessions."""

    def __init__(self, gan, cnn, n: int = 2000, seed: int = 0, min_confidence: float = 0.95, batch: int = 250):
        self.gan, self.cnn, self.n, self.batch, self.min_confidence = gan, cnn, n, batch, min_confidence
        self._stream = torch.Generator().manual_seed(seed)
        self._lock = threading.Lock()
        self.drawn = 0
        self.latents = np.zeros((0, gan.config.z_dim), np.float32)
        self.labels = np.zeros(0, np.int64)
        self.confidence = np.zeros(0, np.float32)
        self._ends: list[int] = []

    @torch.inference_mode()
    def _draw(self) -> None:
        k = min(self.batch, self.n - self.drawn)
        z = torch.randn(k, self.gan.config.z_dim, generator=self._stream)
        conf, labels = F.softmax(self.cnn(self.gan.generate(z)), 1).max(1)
        keep = (conf >= self.min_confidence).numpy()
        self.latents = np.concatenate([self.latents, z.numpy()[keep]])
        self.labels = np.concatenate([self.labels, labels.numpy()[keep]])
        self.confidence = np.concatenate([self.confidence, conf.numpy()[keep]])
        self._ends.append(len(self.labels))  # where each chunk's kept latents end
        self.drawn += k

    def fill(self) -> "LatentBank":
        """Draw the whole stream (all ``n`` latents)."""
        with self._lock:
            while self.drawn < self.n:
                self._draw()
        return self

    def pick(self, cls: int, i: int = 0) -> np.ndarray | None:
        """The ``i``-th most confident latent of class ``cls`` in the stream's chunks up to the
        first that holds one, drawing chunks until there is one (None when the whole stream holds
        none). The same latent however far the bank was drawn: the first session's morph, asked
        while the bank is young, is every later session's."""
        with self._lock:
            while not (self.labels == cls).any() and self.drawn < self.n:
                self._draw()
            rows = np.flatnonzero(self.labels == cls)
            if len(rows) == 0:
                return None
            end = next(e for e in self._ends if e > rows[0])  # the chunk that holds the first one
            rows = rows[rows < end]
            rows = rows[np.argsort(-self.confidence[rows], kind="stable")]
            return self.latents[rows[i % len(rows)]]


def latent_bank(gan, cnn, n: int = 2000, seed: int = 0, min_confidence: float = 0.95, batch: int = 250) -> LatentBank:
    """A bank over ``n`` latents from ``seed``, drawn lazily (call ``.fill()`` to draw them all)."""
    return LatentBank(gan, cnn, n, seed, min_confidence, batch)


@dataclass
class Inversion:
    latent: np.ndarray  # (z_dim,)
    image: np.ndarray  # (28, 28) the generator's image of it
    mse: float  # mean squared error to the target, per pixel


# The GAN lab's inversion: this many Adam steps from the latents of the pool's nearest images
INVERSION_STEPS, INVERSION_RESTARTS = 100, 4
CANDIDATES = 2048  # the latents an inversion picks its starts from


class CandidatePool:
    """A fixed set of latents and their images, made once per generator: an inversion starts
    from the latents whose images are nearest to the target, not from random ones (on 40 sample
    digits, 80 steps from the 4 nearest of 2048 reached the error of 150 random-start steps)."""

    def __init__(self, gan, n: int = CANDIDATES, seed: int = 123, batch: int = 256):
        g = torch.Generator().manual_seed(seed)
        self.latents = torch.randn(n, gan.config.z_dim, generator=g)
        with torch.inference_mode():
            self.images = torch.cat([gan.generate(z).reshape(len(z), -1) for z in self.latents.split(batch)])

    def nearest(self, target: np.ndarray, k: int) -> torch.Tensor:
        """The latents (k, z_dim) of the k images nearest to ``target`` (28, 28), nearest first."""
        tgt = torch.as_tensor(np.asarray(target, np.float32)).reshape(1, -1)
        d = ((self.images - tgt) ** 2).mean(1)
        return self.latents[d.topk(min(k, len(d)), largest=False).indices].clone()


def invert(
    gan,
    target: np.ndarray,
    steps: int = 200,
    restarts: int = 4,
    lr: float = 0.05,
    seed: int = 0,
    prior: float = 1e-3,
    progress: Callable[[float], None] | None = None,
    pool: CandidatePool | None = None,
) -> Inversion:
    """Find z whose image is closest to ``target`` (28, 28) in [0, 1]: Adam on z from
    ``restarts`` starts at once (a batch), a small pull towards the Gaussian prior, and the best
    restart returned. The starts are random, or with ``pool`` the latents of its nearest images."""
    tgt = torch.as_tensor(np.asarray(target, np.float32)).reshape(1, 1, 28, 28)
    if pool is not None:
        z = pool.nearest(target, restarts).requires_grad_(True)
    else:
        g = torch.Generator().manual_seed(seed)
        z = torch.randn(restarts, gan.config.z_dim, generator=g).requires_grad_(True)
    # Adam written out for one tensor: torch.optim would import torch._dynamo and sympy into the
    # server (a hundred megabytes and more) for a 400-number problem.
    m, v, (b1, b2, eps) = torch.zeros_like(z), torch.zeros_like(z), (0.9, 0.999, 1e-8)
    # Gradients only for z (autograd.grad): the shared, cached model is never modified, so
    # several sessions can invert at once.
    for step in range(steps):
        img = gan.generate(z)
        per = ((img - tgt) ** 2).flatten(1).mean(1)
        loss = per.sum() + prior * (z**2).mean(1).sum()
        (grad,) = torch.autograd.grad(loss, [z])
        with torch.no_grad():
            m.mul_(b1).add_(grad, alpha=1 - b1)
            v.mul_(b2).addcmul_(grad, grad, value=1 - b2)
            m_hat, v_hat = m / (1 - b1 ** (step + 1)), v / (1 - b2 ** (step + 1))
            z.sub_(lr * m_hat / (v_hat.sqrt() + eps))
        if progress and (step % 10 == 9 or step == steps - 1):
            progress((step + 1) / steps)
    with torch.no_grad():
        img = gan.generate(z)
        per = ((img - tgt) ** 2).flatten(1).mean(1)
        best = int(per.argmin())
        return Inversion(z[best].detach().numpy().copy(), img[best, 0].numpy(), float(per[best]))


def gif_bytes(frames: np.ndarray, scale: int = 8, duration_ms: int = 80, boomerang: bool = True) -> bytes:
    """An animated GIF of frames (N, 28, 28) in [0, 1], upscaled by nearest neighbour."""
    seq = list(frames) + (list(frames[-2:0:-1]) if boomerang and len(frames) > 2 else [])
    images = [Image.fromarray(to_uint8(f)).resize((28 * scale, 28 * scale), Image.Resampling.NEAREST) for f in seq]
    buf = io.BytesIO()
    images[0].save(buf, format="GIF", save_all=True, append_images=images[1:], duration=duration_ms, loop=0)
    return buf.getvalue()
