"""A GAN small enough to train while the class watches: 2-D data, MLP generator and discriminator.

The course's three steps (5.1.2.2) are methods here: :meth:`ToyGAN.step_d` updates the
discriminator with the generator frozen, :meth:`ToyGAN.step_g` the generator with the
discriminator frozen, and :meth:`ToyGAN.epoch` does ``d_steps`` of the first and one of the
second. :meth:`ToyGAN.snapshot` packs what the page draws (real and fake points, D's decision
surface, G's manifold, the generator's gradient on each fake) into a few kilobytes, and
:meth:`ToyGAN.explain` narrates one update in sub-steps. No Streamlit here.

    gan = ToyGAN(ToyGANConfig(data="ring"))
    gan.train_for(seconds=1.0)
    snap = gan.snapshot()

Data live in the square [-1, 1]²; the view is :data:`BOX` wide on each side of the origin.
"""

from __future__ import annotations

import base64
import math
import threading
import time
from dataclasses import asdict, dataclass, fields, replace

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

DATASETS = ("ring", "grid", "two", "line", "drawn")
NOISES = ("1u", "1g", "2u", "2g")  # dimension and kind: uniform on [-1, 1] or standard normal
LOSSES = ("nonsat", "minimax", "lsgan")
OPTIMIZERS = ("adam", "sgd")
BOX = 1.25  # the view: [-BOX, BOX]²
HEAT_CELLS = 30  # D(x) is sampled on HEAT_CELLS² cell centres (GAN Lab: 30)
MANIFOLD_CELLS = 20  # G's manifold: the image of a MANIFOLD_CELLS² grid over the noise (GAN Lab: 20)
N_FAKE_VIEW = 256  # fakes drawn, from one fixed noise batch
N_REAL_VIEW = 450  # real points drawn (GAN Lab: 450)
N_METRIC = 2000  # samples behind the mode and divergence figures
HISTORY_POINTS = 120  # points per curve sent to the page
DRAW_STD = 0.02  # the spread around each point of a drawn distribution
MIN_DRAWN = 2


class TrainingError(ValueError):
    """A setting or a drawn distribution the playground cannot train on; ``code`` is a translation key."""

    code = "gtrain.error.settings"


class TooFewPoints(TrainingError):
    code = "gtrain.error.few_points"


@dataclass(frozen=True)
class ToyGANConfig:
    """Everything that defines a run. Changing ``data``, the networks or the noise starts a new
    run; the rates, the loss and ``d_steps`` apply to the running one (:meth:`ToyGAN.retune`)."""

    data: str = "ring"
    g_layers: int = 2  # hidden layers
    g_width: int = 64  # neurons per hidden layer
    d_layers: int = 2
    d_width: int = 64
    noise: str = "2g"
    loss: str = "nonsat"
    optimizer: str = "adam"
    lr_g: float = 1e-3
    lr_d: float = 1e-3
    d_steps: int = 1  # D updates per epoch (then one G update)
    batch: int = 128
    seed: int = 0

    def validate(self) -> ToyGANConfig:
        if self.data not in DATASETS or self.noise not in NOISES or self.loss not in LOSSES or self.optimizer not in OPTIMIZERS:
            raise TrainingError(f"unknown setting in {self}")
        if not (0 <= self.g_layers <= 4 and 0 <= self.d_layers <= 4 and 1 <= self.g_width <= 256 and 1 <= self.d_width <= 256):
            raise TrainingError("networks of 0-4 hidden layers of 1-256 neurons")
        if not (1 <= self.d_steps <= 10 and 8 <= self.batch <= 1024):
            raise TrainingError("1-10 D steps, batches of 8-1024")
        if not (math.isfinite(self.lr_g) and math.isfinite(self.lr_d)) or self.lr_g < 0 or self.lr_d < 0 or max(self.lr_g, self.lr_d) > 10:
            raise TrainingError("learning rates in [0, 10]")
        return self

    def structural(self) -> tuple:
        """The settings whose change needs a new run."""
        return (self.data, self.g_layers, self.g_width, self.d_layers, self.d_width, self.noise, self.batch, self.seed)

    @classmethod
    def from_dict(cls, d: dict) -> ToyGANConfig:
        """A config from strings or numbers (a URL's parameters); unknown keys are ignored and a
        value of the wrong type raises TrainingError."""
        kw = {}
        for f in fields(cls):
            if f.name in d:
                try:
                    kw[f.name] = type(getattr(cls(), f.name))(d[f.name])
                except (TypeError, ValueError) as exc:
                    raise TrainingError(f"{f.name}={d[f.name]!r}") from exc
        return cls(**kw)

    def to_dict(self) -> dict:
        return asdict(self)


# ----------------------------------------------------------------------------- data
@dataclass(frozen=True)
class Mixture:
    """A mixture of isotropic Gaussians: centres (K, 2), one standard deviation per mode."""

    centres: np.ndarray
    stds: np.ndarray

    def sample(self, n: int, gen: torch.Generator) -> torch.Tensor:
        k = torch.randint(len(self.centres), (n,), generator=gen)
        c = torch.as_tensor(self.centres, dtype=torch.float32)[k]
        s = torch.as_tensor(self.stds, dtype=torch.float32)[k, None]
        return c + s * torch.randn(n, 2, generator=gen)


def ring(k: int = 8, radius: float = 0.75, std: float = 0.05) -> Mixture:
    a = 2 * np.pi * np.arange(k) / k
    return Mixture(np.stack([radius * np.cos(a), radius * np.sin(a)], 1), np.full(k, std))


def grid(side: int = 5, spread: float = 0.8, std: float = 0.04) -> Mixture:
    xs = np.linspace(-spread, spread, side)
    return Mixture(np.array([(x, y) for y in xs for x in xs]), np.full(side * side, std))


def two_gaussians() -> Mixture:
    return Mixture(np.array([[-0.5, 0.35], [0.45, -0.4]]), np.array([0.12, 0.08]))


class Line:
    """Points along a segment, with a little noise across it (GAN Lab's "line")."""

    a, b, std = np.array([-0.7, -0.55]), np.array([0.7, 0.6]), 0.015

    def sample(self, n: int, gen: torch.Generator) -> torch.Tensor:
        t = torch.rand(n, 1, generator=gen)
        a, b = torch.as_tensor(self.a, dtype=torch.float32), torch.as_tensor(self.b, dtype=torch.float32)
        return a + t * (b - a) + self.std * torch.randn(n, 2, generator=gen)


class Drawn:
    """The student's points, each the centre of a small Gaussian."""

    def __init__(self, points) -> None:
        pts = np.asarray(points, dtype=np.float32).reshape(-1, 2) if points is not None and len(points) else np.zeros((0, 2), np.float32)
        pts = pts[np.isfinite(pts).all(1)]
        if len(pts) < MIN_DRAWN:
            raise TooFewPoints(f"{len(pts)} drawn points")
        self.points = torch.as_tensor(np.clip(pts, -1.0, 1.0))

    def sample(self, n: int, gen: torch.Generator) -> torch.Tensor:
        k = torch.randint(len(self.points), (n,), generator=gen)
        return self.points[k] + DRAW_STD * torch.randn(n, 2, generator=gen)


def distribution(name: str, drawn=None):
    if name == "ring":
        return ring()
    if name == "grid":
        return grid()
    if name == "two":
        return two_gaussians()
    if name == "line":
        return Line()
    if name == "drawn":
        return Drawn(drawn)
    raise TrainingError(name)


def mode_metrics(samples: np.ndarray, mix: Mixture, min_share: float = 0.25) -> dict:
    """Modes covered and the share of high-quality samples (within 3 σ of a mode's centre, as the
    VEEGAN and PacGAN papers count them). A mode counts as covered when it holds at least
    ``min_share`` of its fair share of the high-quality samples: stricter than those papers' one
    sample, so that a few stray points on a lost mode do not count."""
    x = np.asarray(samples, np.float64)
    d = np.linalg.norm(x[:, None, :] - mix.centres[None], axis=2)  # (n, K)
    near = d.argmin(1)
    hq = d[np.arange(len(x)), near] <= 3 * mix.stds[near]
    counts = np.bincount(near[hq], minlength=len(mix.centres))
    fair = len(x) / len(mix.centres)
    return {"modes": int((counts >= min_share * fair).sum()), "n_modes": len(mix.centres), "hq": float(hq.mean()) if len(x) else 0.0}


def js_divergence(a: np.ndarray, b: np.ndarray, cells: int = HEAT_CELLS) -> float:
    """Jensen-Shannon divergence (bits, 0..1) between two point sets' histograms on the view's grid."""
    edges = np.linspace(-BOX, BOX, cells + 1)
    p = np.histogram2d(*np.clip(a, -BOX, BOX).T, bins=(edges, edges))[0].ravel()
    q = np.histogram2d(*np.clip(b, -BOX, BOX).T, bins=(edges, edges))[0].ravel()
    p, q = p / max(p.sum(), 1), q / max(q.sum(), 1)
    m = (p + q) / 2

    def kl(u):
        nz = u > 0
        return float((u[nz] * np.log2(u[nz] / m[nz])).sum())

    return 0.5 * kl(p) + 0.5 * kl(q)


# ----------------------------------------------------------------------------- networks
def mlp(n_in: int, width: int, layers: int, n_out: int) -> nn.Sequential:
    dims = [n_in] + [width] * layers
    mods: list[nn.Module] = []
    for a, b in zip(dims[:-1], dims[1:]):
        mods += [nn.Linear(a, b), nn.ReLU()]
    mods.append(nn.Linear(dims[-1], n_out))
    return nn.Sequential(*mods)


def noise_dim(noise: str) -> int:
    return int(noise[0])


def sample_noise(noise: str, n: int, gen: torch.Generator) -> torch.Tensor:
    if noise[1] == "u":
        return torch.rand(n, noise_dim(noise), generator=gen) * 2 - 1
    return torch.randn(n, noise_dim(noise), generator=gen)


def noise_grid(noise: str, cells: int = MANIFOLD_CELLS) -> torch.Tensor:
    """The grid over the noise space whose image is G's manifold: (cells+1)² points for 2-D
    noise, 5·cells+1 along the line for 1-D. Gaussian noise: its 2.5-97.5 % quantiles."""
    if noise[1] == "u":
        t = torch.linspace(-1, 1, (cells + 1) if noise[0] == "2" else 5 * cells + 1)
    else:
        u = torch.linspace(0.025, 0.975, (cells + 1) if noise[0] == "2" else 5 * cells + 1)
        t = torch.special.ndtri(u)
    if noise[0] == "1":
        return t[:, None]
    yy, xx = torch.meshgrid(t, t, indexing="ij")
    return torch.stack([xx.ravel(), yy.ravel()], 1)


def heat_points(cells: int = HEAT_CELLS) -> torch.Tensor:
    c = (torch.arange(cells, dtype=torch.float32) + 0.5) / cells * 2 * BOX - BOX
    yy, xx = torch.meshgrid(c, c, indexing="ij")  # row 0 is y = -BOX (the page flips it)
    return torch.stack([xx.ravel(), yy.ravel()], 1)


# ----------------------------------------------------------------------------- the run
class ToyGAN:
    """One playground run: G, D, their optimizers, fixed noise and real points to draw, history."""

    def __init__(self, config: ToyGANConfig, drawn=None) -> None:
        self.config = config.validate()
        self.data = distribution(config.data, drawn)
        self.drawn = None if drawn is None else np.asarray(drawn, np.float32)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(config.seed)
            self.G = mlp(noise_dim(config.noise), config.g_width, config.g_layers, 2)
            self.D = mlp(2, config.d_width, config.d_layers, 1)
        self.gen = torch.Generator().manual_seed(config.seed + 1)  # the training batches
        view = torch.Generator().manual_seed(config.seed + 2)  # what is drawn and measured
        self.fixed_z = sample_noise(config.noise, N_FAKE_VIEW, view)
        self.metric_z = sample_noise(config.noise, N_METRIC, view)
        self.real_view = self.data.sample(N_REAL_VIEW, view)
        self.real_metric = self.data.sample(N_METRIC, view).numpy()
        self.grid_z = noise_grid(config.noise)
        self.heat_x = heat_points()
        self._make_optimizers()
        self.epochs = 0
        self.steps_d = 0
        self.steps_g = 0
        self.diverged = False
        self.history: dict[str, list[float]] = {k: [] for k in ("epoch", "loss_d", "loss_g", "d_real", "d_fake")}
        self.metric_log: dict[str, list[float]] = {"epoch": [], "js": [], "modes": []}  # at each full snapshot
        self._last = {"loss_d": float("nan"), "loss_g": float("nan"), "d_real": float("nan"), "d_fake": float("nan")}
        self.first = None
        self.first = self.snapshot(light=True)  # the course's step 1: the distributions far apart

    # -- settings that apply to the running networks
    def _make_optimizers(self) -> None:
        c = self.config
        # fused: one kernel for all of a network's parameters instead of a handful of ops for
        # each (more epochs/s for one player, and fewer GIL hand-offs when a class plays)
        if c.optimizer == "adam":
            # beta1 = 0.5, as DCGAN: with the default 0.9 the two players' momenta make them orbit
            self.opt_g = torch.optim.Adam(self.G.parameters(), lr=c.lr_g, betas=(0.5, 0.999), fused=True)
            self.opt_d = torch.optim.Adam(self.D.parameters(), lr=c.lr_d, betas=(0.5, 0.999), fused=True)
        else:
            self.opt_g = torch.optim.SGD(self.G.parameters(), lr=c.lr_g, fused=True)
            self.opt_d = torch.optim.SGD(self.D.parameters(), lr=c.lr_d, fused=True)

    def retune(self, config: ToyGANConfig) -> None:
        """Take the rates, the loss, the optimizer and ``d_steps`` of ``config`` at once; the
        networks, data and noise must be this run's (else make a new run)."""
        config.validate()
        if config.structural() != self.config.structural():
            raise TrainingError("a new architecture, data or noise needs a new run")
        old, self.config = self.config, config
        if config.optimizer != old.optimizer:
            self._make_optimizers()
        for opt, lr in ((self.opt_g, config.lr_g), (self.opt_d, config.lr_d)):
            for group in opt.param_groups:
                group["lr"] = lr

    # -- the three steps
    def _d_out(self, logits: torch.Tensor) -> torch.Tensor:
        """D(x) as a probability of 'real' (least squares: its score clipped to [0, 1])."""
        return logits.clamp(0, 1) if self.config.loss == "lsgan" else torch.sigmoid(logits)

    def _loss_d(self, real_logits, fake_logits) -> torch.Tensor:
        if self.config.loss == "lsgan":
            return 0.5 * ((real_logits - 1) ** 2).mean() + 0.5 * (fake_logits**2).mean()
        # binary cross-entropy: real -> 1, fake -> 0 (the course's loss)
        return F.softplus(-real_logits).mean() + F.softplus(fake_logits).mean()

    def _loss_g_each(self, fake_logits) -> torch.Tensor:
        if self.config.loss == "lsgan":
            return 0.5 * (fake_logits - 1) ** 2
        if self.config.loss == "minimax":
            return -F.softplus(fake_logits)  # log(1 - D(G(z))), minimised: saturates where D wins
        return F.softplus(-fake_logits)  # non-saturating: -log D(G(z))

    def step_d(self) -> float:
        """One discriminator update on a batch of real and fake points; G is frozen (its fakes
        are made without gradients and its optimizer does not step)."""
        n = self.config.batch
        real = self.data.sample(n, self.gen)
        with torch.no_grad():
            fake = self.G(sample_noise(self.config.noise, n, self.gen))
        logits = self.D(torch.cat([real, fake]))
        loss = self._loss_d(logits[:n], logits[n:])
        self.opt_d.zero_grad(set_to_none=True)
        loss.backward()
        self.opt_d.step()
        self.steps_d += 1
        with torch.no_grad():
            p = self._d_out(logits.detach())
        self._record(loss_d=float(loss.detach()), d_real=float(p[:n].mean()), d_fake=float(p[n:].mean()))
        return float(loss.detach())

    def step_g(self) -> float:
        """One generator update through a frozen D (its weights take no gradient, its optimizer
        does not step)."""
        for p in self.D.parameters():
            p.requires_grad_(False)
        try:
            fake = self.G(sample_noise(self.config.noise, self.config.batch, self.gen))
            loss = self._loss_g_each(self.D(fake)).mean()
            self.opt_g.zero_grad(set_to_none=True)
            loss.backward()
            self.opt_g.step()
        finally:
            for p in self.D.parameters():
                p.requires_grad_(True)
        self.steps_g += 1
        self._record(loss_g=float(loss.detach()))
        return float(loss.detach())

    def epoch(self) -> None:
        """``d_steps`` discriminator updates, then one generator update (GAN Lab's epoch)."""
        for _ in range(self.config.d_steps):
            self.step_d()
        self.step_g()
        self.epochs += 1
        self._log()

    def explain_epoch(self) -> list[dict]:
        """One epoch in slow motion: the first D update and the G update narrated (the other
        ``d_steps - 1`` D updates done silently)."""
        stages = self.explain("d")
        for _ in range(self.config.d_steps - 1):
            self.step_d()
        stages += self.explain("g")
        self.epochs += 1
        self._log()
        return stages

    def _record(self, **values: float) -> None:
        self._last.update(values)
        if not all(math.isfinite(v) for v in values.values()):
            self.diverged = True

    def _log(self) -> None:
        h = self.history
        h["epoch"].append(self.epochs)
        for k in ("loss_d", "loss_g", "d_real", "d_fake"):
            h[k].append(self._last[k])
        if len(h["epoch"]) > 4 * HISTORY_POINTS:  # keep every other point: bounded memory, whole run shown
            for k in h:
                h[k] = h[k][::2]

    def train_for(self, seconds: float, max_epochs: int | None = None) -> int:
        """Train whole epochs until ``seconds`` have passed or ``max_epochs`` are done, or the run
        diverged; returns the epochs done."""
        end = time.perf_counter() + seconds
        done = 0
        while not self.diverged and (max_epochs is None or done < max_epochs):
            self.epoch()
            done += 1
            if time.perf_counter() >= end:
                break
        return done

    # -- what the page draws
    def metrics(self) -> dict:
        with torch.no_grad():
            fake = self.G(self.metric_z).numpy()
        out = {"js": js_divergence(self.real_metric, fake) if np.isfinite(fake).all() else float("nan")}
        if isinstance(self.data, Mixture):
            out.update(mode_metrics(fake, self.data))
        return out

    def gradients(self, fake: torch.Tensor) -> torch.Tensor:
        """The direction the generator's loss pushes each fake point: -∂loss_G/∂x (per point)."""
        x = fake.detach().clone().requires_grad_(True)
        for p in self.D.parameters():
            p.requires_grad_(False)
        try:
            self._loss_g_each(self.D(x)).sum().backward()
        finally:
            for p in self.D.parameters():
                p.requires_grad_(True)
        return -x.grad

    def snapshot(self, light: bool = False) -> dict:
        """What the page draws, as float32 arrays in data coordinates (see :func:`pack` for the
        wire format): the fakes of the fixed noise, D(x) on the heatmap's grid, the real points,
        G's manifold, the generator's gradient on each fake, the counters, figures and curves.
        ``light``: only the heatmap and half the fakes (the small first-epoch view beside the run)."""
        with torch.no_grad():
            fake = self.G(self.fixed_z)
            heat = self._d_out(self.D(self.heat_x)).reshape(HEAT_CELLS, HEAT_CELLS)
        snap = {"fake": fake.numpy(), "heat": heat.numpy(), "epoch": self.epochs}
        if light:
            return {**snap, "fake": snap["fake"][: N_FAKE_VIEW // 2]}
        with torch.no_grad():
            manifold = self.G(self.grid_z).numpy()
        metrics = self.metrics()
        log = self.metric_log
        if not log["epoch"] or log["epoch"][-1] != self.epochs:
            log["epoch"].append(self.epochs)
            log["js"].append(metrics["js"])
            log["modes"].append(metrics.get("modes", float("nan")))
            if len(log["epoch"]) > 2 * HISTORY_POINTS:
                for k in log:
                    log[k] = log[k][::2]
        snap.update(
            real=self.real_view.numpy(),
            manifold=manifold,
            manifold_2d=noise_dim(self.config.noise) == 2,
            grad=self.gradients(fake).numpy(),
            steps_d=self.steps_d,
            steps_g=self.steps_g,
            last={k: (v if math.isfinite(v) else None) for k, v in self._last.items()},
            metrics=metrics,
            history=self.curves(),
            metric_history={k: np.asarray(v, np.float32) for k, v in log.items()},
            diverged=self.diverged,
        )
        return snap

    def curves(self) -> dict:
        """The history thinned to at most HISTORY_POINTS per curve."""
        h = self.history
        n = len(h["epoch"])
        idx = np.unique(np.linspace(0, n - 1, min(n, HISTORY_POINTS)).round().astype(int)) if n else np.zeros(0, int)
        return {k: np.asarray(v, np.float32)[idx] for k, v in h.items()}

    # -- slow motion
    def explain(self, which: str) -> list[dict]:
        """Do one update (``which``: "d" or "g") and return its sub-steps, each with its numbers:
        sample noise -> G makes fakes -> D scores real and fake -> loss -> gradients -> update."""
        if which not in ("d", "g"):
            raise TrainingError(which)
        c = self.config
        n = c.batch
        gen_state = self.gen.get_state()
        z = sample_noise(c.noise, n, self.gen)
        real = self.data.sample(n, self.gen) if which == "d" else None
        with torch.no_grad():
            fake = self.G(z)
            fake_p = self._d_out(self.D(fake))
            real_p = self._d_out(self.D(real)) if real is not None else None
        stages = [
            {"stage": "noise", "n": n, "dim": noise_dim(c.noise)},
            {"stage": "fakes", "n": n},
            {"stage": "score", "d_fake": float(fake_p.mean()), "d_real": None if real_p is None else float(real_p.mean())},
        ]
        self.gen.set_state(gen_state)  # the update below draws the same noise and real points
        net = self.D if which == "d" else self.G
        before = [p.detach().clone() for p in net.parameters()]
        loss = self.step_d() if which == "d" else self.step_g()
        grad_norm = math.sqrt(sum(float((p.grad**2).sum()) for p in net.parameters() if p.grad is not None))
        moved = math.sqrt(sum(float(((p.detach() - b) ** 2).sum()) for p, b in zip(net.parameters(), before)))
        stages += [
            {"stage": "loss", "loss": loss, "kind": "d" if which == "d" else c.loss},
            {"stage": "grad", "norm": grad_norm, "net": which},
            {"stage": "update", "moved": moved, "net": which, "lr": c.lr_d if which == "d" else c.lr_g},
        ]
        return stages


# ----------------------------------------------------------------------------- presets
# Each preset: settings over the defaults. The page explains each in two sentences (gtrain.preset.*).
PRESETS: dict[str, dict] = {
    "converges": {"data": "ring", "g_layers": 2, "g_width": 128, "d_layers": 2, "d_width": 128, "noise": "2g", "loss": "nonsat",
                  "optimizer": "adam", "lr_g": 1e-3, "lr_d": 1e-3, "d_steps": 1, "batch": 256},
    "collapse": {"data": "ring", "g_layers": 2, "g_width": 64, "d_layers": 2, "d_width": 64, "noise": "1g", "loss": "nonsat",
                 "optimizer": "adam", "lr_g": 3e-3, "lr_d": 3e-4, "d_steps": 1, "batch": 128},
    "vanishing": {"data": "ring", "g_layers": 2, "g_width": 64, "d_layers": 2, "d_width": 128, "noise": "2u", "loss": "minimax",
                  "optimizer": "adam", "lr_g": 1e-4, "lr_d": 3e-3, "d_steps": 5, "batch": 128},
    "oscillation": {"data": "two", "g_layers": 1, "g_width": 16, "d_layers": 1, "d_width": 16, "noise": "2u", "loss": "nonsat",
                    "optimizer": "sgd", "lr_g": 0.3, "lr_d": 0.3, "d_steps": 1, "batch": 128},
}


def preset_config(name: str) -> ToyGANConfig:
    """A preset's run, seed included: a preset is one exact run (collapse and oscillation depend
    on the seed as much as on the settings)."""
    if name not in PRESETS:
        raise TrainingError(name)
    return replace(ToyGANConfig(), **PRESETS[name], seed=0)


# ----------------------------------------------------------------------------- the class's budget
class PlayerPool:
    """The server's live-training budget, shared by every session that plays.

    At most ``max_players`` sessions play at once; a player that has not ticked for ``stale_s``
    seconds (its page was closed or left) loses its place. Each tick's training time is the
    training share of the machine divided among the players, so that thirty players together
    use about ``cpu_share`` cores and the other labs keep the rest; with fewer players each gets
    more, up to ``max_train_s`` per tick. The tick interval grows with the players too, so that
    the page's messages (a fixed cost per tick) stay bounded.
    """

    def __init__(self, max_players: int = 40, cpu_share: float = 0.95, max_train_s: float = 0.15, tick_s: float = 0.2,
                 stale_s: float = 5.0) -> None:
        self.max_players, self.cpu_share, self.max_train_s, self.tick_s, self.stale_s = max_players, cpu_share, max_train_s, tick_s, stale_s
        self._seen: dict[str, float] = {}
        self._lock = threading.Lock()
        # One run trains (or is drawn) at a time, server-wide. Thirty script threads running tiny
        # torch ops at once pass the GIL back and forth at every op that releases it, and an epoch
        # then took many times its time alone (bench_gan_training's class figure); taking turns,
        # each epoch runs at its single-thread speed.
        self.torch_turn = threading.Lock()

    def _expire(self, now: float) -> None:
        for k in [k for k, t in self._seen.items() if now - t > self.stale_s]:
            del self._seen[k]

    def join(self, player: str) -> bool:
        """Take (or keep) a place; False when the pool is full."""
        now = time.monotonic()
        with self._lock:
            self._expire(now)
            if player not in self._seen and len(self._seen) >= self.max_players:
                return False
            self._seen[player] = now
            return True

    def leave(self, player: str) -> None:
        with self._lock:
            self._seen.pop(player, None)

    def players(self) -> int:
        with self._lock:
            self._expire(time.monotonic())
            return len(self._seen)

    def tick(self, player: str) -> tuple[float, float] | None:
        """(seconds to train now, seconds until the next tick) for a player, None when the pool is
        full and it holds no place."""
        if not self.join(player):
            return None
        n = max(1, self.players())
        interval = max(self.tick_s, 0.05 * n)  # 30 players: a tick every 1.5 s each, 20 ticks/s in all
        return min(self.max_train_s, interval * self.cpu_share / n), interval


# ----------------------------------------------------------------------------- the wire format
def _b64(a: np.ndarray) -> str:
    return base64.b64encode(np.ascontiguousarray(a).tobytes()).decode("ascii")


def pack_points(x: np.ndarray) -> str:
    """Points in the view as little-endian int16 (a step of 2·BOX/65534 ≈ 4e-5), base64."""
    x = np.nan_to_num(np.asarray(x, np.float32), nan=0.0, posinf=BOX, neginf=-BOX)
    return _b64(np.round(np.clip(x / BOX, -1, 1) * 32767).astype("<i2"))


def _scaled(x: np.ndarray) -> tuple[str, float]:
    """Values as int16 of x / scale (base64) and the scale (the largest magnitude)."""
    x = np.nan_to_num(np.asarray(x, np.float32), nan=0.0, posinf=0.0, neginf=0.0)
    scale = (float(np.abs(x).max()) if x.size else 0.0) or 1.0
    return _b64(np.round(x / scale * 32767).astype("<i2")), scale


def pack(snap: dict) -> dict:
    """A snapshot as the page's JSON: int16 points, a uint8 heatmap, int16 gradients and curves,
    each in base64, and plain numbers: a fraction of the bytes of a plotly heatmap and points
    figure of the same view."""
    heat = np.round(np.nan_to_num(np.asarray(snap["heat"], np.float32), nan=0.5).clip(0, 1) * 255).astype(np.uint8)
    out = {"fake": pack_points(snap["fake"]), "heat": _b64(heat), "epoch": int(snap["epoch"])}
    if "real" not in snap:
        return out
    grad, grad_scale = _scaled(snap["grad"])
    curves = {}
    for k, v in snap["history"].items():
        if k != "epoch":
            data, scale = _scaled(v)
            curves[k] = {"data": data, "scale": scale}
    for k, v in snap["metric_history"].items():
        if k != "epoch":
            data, scale = _scaled(v)
            curves[k] = {"data": data, "scale": scale}
    epochs = np.asarray(snap["history"]["epoch"], np.float64)
    out.update(
        real=pack_points(snap["real"]), manifold=pack_points(snap["manifold"]), manifold_2d=bool(snap["manifold_2d"]),
        grad=grad, grad_scale=grad_scale, steps_d=int(snap["steps_d"]), steps_g=int(snap["steps_g"]),
        last={k: (None if v is None else round(float(v), 4)) for k, v in snap["last"].items()},
        metrics={k: ((round(v, 4) if math.isfinite(v) else None) if isinstance(v, float) else v) for k, v in snap["metrics"].items()},
        curves=curves, curve_epochs=[float(epochs[0]), float(epochs[-1])] if len(epochs) else [0.0, 0.0],
        diverged=bool(snap["diverged"]),
    )
    return out
