"""An autoencoder that a student trains in the lab (course 5.2.2.2: build it, then fit it with a
number of epochs, a batch size, shuffling and a validation set, and look at the digits before and
after). Plain PyTorch: the autoencoder lab's page drives a :class:`Fit` a slice of time at a time,
the way the GAN playground drives its toy GAN, so that Stop takes effect at the next batch and a
page that is left simply stops asking.

    fit = Fit(FitConfig(arch="plain", code=32), train_split)
    while fit.state == "running":
        fit.train_for(0.5)           # whole batches, at most 0.5 s
    fit.history                      # [(epoch, training loss, validation loss), ...]
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass

import numpy as np
import torch
import torch.nn.functional as F

from advdl.data import Split
from advdl.digits import NOISE_KINDS, add_noise
from advdl.models.autoencoders import ConvAEConfig, ConvAutoencoder, DeepAEConfig, DeepAutoencoder, PlainAEConfig, PlainAutoencoder

ARCHS = ("plain", "deep", "conv")
CODE_SIZES = (2, 8, 16, 32, 64)  # the dense models' code; the convolutional one's is 7 x 7 x 32
BATCHES = (16, 32, 64, 128, 256, 512)
RATES = (1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2, 0.1, 1.0)
VAL_SHARES = (0.05, 0.1, 0.2, 0.3)
MAX_EPOCHS = 50
TIME_LIMIT_S = 180.0  # a run's training time at most (the class shares the server)
SHOWN = 10  # validation digits shown as original / before training / now


class FitError(ValueError):
    """Settings that cannot be trained; ``code`` is the message's translation key."""

    def __init__(self, code: str, **fmt):
        super().__init__(code)
        self.code, self.fmt = code, fmt


@dataclass(frozen=True)
class FitConfig:
    arch: str = "plain"
    code: int = 32
    epochs: int = 10
    batch: int = 32  # as Keras's fit; small batches let ten epochs of the subset come near the shipped model (bench_ae_fit.py)
    lr: float = 3e-3
    shuffle: bool = True
    val_share: float = 0.1
    noise: str | None = None  # train on noisy input (a denoising autoencoder): one of NOISE_KINDS
    strength: float = 0.5
    seed: int = 0

    def check(self, n_digits: int) -> FitConfig:
        """These settings, or a FitError saying what is wrong with them for ``n_digits`` digits."""
        if self.arch not in ARCHS:
            raise FitError("fit.error.arch")
        if self.arch != "conv" and self.code not in CODE_SIZES:
            raise FitError("fit.error.code")
        if not 1 <= self.epochs <= MAX_EPOCHS:
            raise FitError("fit.error.epochs", most=MAX_EPOCHS)
        if not 0 < self.val_share < 1:
            raise FitError("fit.error.val_share")
        n_train = n_digits - max(1, round(n_digits * self.val_share))
        if not 1 <= self.batch <= n_train:
            raise FitError("fit.error.batch", n=n_train)
        if not (self.lr > 0 and math.isfinite(self.lr)):
            raise FitError("fit.error.lr")
        if self.noise is not None and self.noise not in NOISE_KINDS:
            raise FitError("fit.error.noise")
        return self

    def to_dict(self) -> dict:
        return asdict(self)


def build(config: FitConfig) -> torch.nn.Module:
    """The student's autoencoder, built as the shipped ones are (advdl.models.autoencoders)."""
    if config.arch == "plain":
        return PlainAutoencoder(PlainAEConfig(code_dim=config.code))
    if config.arch == "deep":
        return DeepAutoencoder(DeepAEConfig(hidden=[128, 64, config.code]))
    return ConvAutoencoder(ConvAEConfig())


@torch.no_grad()
def bce(model: torch.nn.Module, x: torch.Tensor, batch: int = 500) -> float:
    """Mean binary cross-entropy of ``model``'s reconstructions of ``x`` (the course's loss)."""
    model.eval()
    try:
        total = sum(F.binary_cross_entropy(model(x[i:i + batch]), x[i:i + batch], reduction="sum").item() for i in range(0, len(x), batch))
    except RuntimeError:  # torch refuses outputs that are not numbers in [0, 1]: a diverged model
        return float("nan")
    return total / x.numel()


class Fit:
    """One training run. ``state``: "running", then "done" (every epoch), "stopped" (Stop, or the
    time limit: ``reason``) or "diverged" (a loss that is not a number)."""

    def __init__(self, config: FitConfig, digits: Split):
        self.config = config.check(len(digits))
        torch.manual_seed(config.seed)
        n_val = max(1, round(len(digits) * config.val_share))
        # The validation set is the last share of the digits, as Keras's validation_split takes it.
        # The training digits stay uint8 (a view of the shared subset: no copy per session) and
        # become floats a batch at a time.
        self._train_u8 = digits.images[:-n_val]
        self.n_train = len(self._train_u8)
        self.x_val = Split(digits.images[-n_val:], digits.labels[-n_val:]).floats()
        self.y_val = digits.labels[-n_val:]
        self.model = build(config)
        self.optimizer = torch.optim.Adam(self.model.parameters(), lr=config.lr)
        self.generator = torch.Generator().manual_seed(config.seed)
        self.shown = self.x_val[:SHOWN]
        self.before = self.reconstruct(self.shown)
        self.history: list[tuple[int, float, float]] = []  # (epoch, training loss, validation loss)
        self.batch_losses: list[float] = []
        self.fed: list[int] = []  # the first training position of each batch, in the order fed
        self.state, self.reason = "running", ""
        self.epoch, self._order, self._pos, self._epoch_loss, self._epoch_n = 0, None, 0, 0.0, 0
        self.trained_s = 0.0
        self.batches_per_epoch = math.ceil(self.n_train / config.batch)

    @property
    def x_train(self) -> torch.Tensor:
        """The training digits as floats (N, 1, 28, 28) in [0, 1]."""
        return self._train_u8.unsqueeze(1).float().div_(255.0)

    @property
    def batches_done(self) -> int:
        return self.epoch * self.batches_per_epoch + math.ceil(self._pos / self.config.batch)

    @property
    def progress(self) -> float:
        return min(1.0, self.batches_done / (self.batches_per_epoch * self.config.epochs))

    @torch.no_grad()
    def reconstruct(self, x: torch.Tensor) -> np.ndarray:
        self.model.eval()
        return np.nan_to_num(self.model(x)[:, 0].numpy())  # a diverged model's NaNs shown as black

    @torch.no_grad()
    def codes(self) -> np.ndarray | None:
        """The validation digits' 2-D codes (a model with a 2-D code), else None."""
        if self.config.arch == "conv" or self.config.code != 2:
            return None
        self.model.eval()
        return self.model.encode(self.x_val).numpy()

    def stop(self, reason: str = "stop") -> None:
        if self.state == "running":
            self.state, self.reason = "stopped", reason

    def _next_order(self) -> torch.Tensor:
        n = self.n_train
        return torch.randperm(n, generator=self.generator) if self.config.shuffle else torch.arange(n)

    def _batch(self) -> bool:
        """Train on one batch; True when it ended an epoch."""
        c = self.config
        if self._order is None:
            self._order = self._next_order()
        idx = self._order[self._pos:self._pos + c.batch]
        self.fed.append(int(idx[0]))
        x = self._train_u8[idx].unsqueeze(1).float().div_(255.0)
        inp = add_noise(x, c.noise, c.strength, generator=self.generator) if c.noise else x
        self.model.train()
        try:
            loss = F.binary_cross_entropy(self.model(inp), x)
        except RuntimeError:  # outputs that are not numbers (torch checks them): diverged
            loss = torch.tensor(float("nan"))
        value = float(loss.detach())
        if not math.isfinite(value):
            self.state, self.reason = "diverged", "nan"
            return False
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()
        self.batch_losses.append(value)
        self._epoch_loss += value * len(idx)
        self._epoch_n += len(idx)
        self._pos += c.batch
        if self._pos < self.n_train:
            return False
        val = bce(self.model, self.x_val)
        if not math.isfinite(val):
            self.state, self.reason = "diverged", "nan"
            return False
        self.epoch += 1
        self.history.append((self.epoch, self._epoch_loss / self._epoch_n, val))
        self._order, self._pos, self._epoch_loss, self._epoch_n = None, 0, 0.0, 0
        if self.epoch >= c.epochs:
            self.state = "done"
        return True

    def train_for(self, seconds: float, max_batches: int | None = None) -> int:
        """Train whole batches for about ``seconds`` (and at most ``max_batches``); returns the
        epochs that ended. A run past its time limit stops with the reason "time"."""
        t0 = time.perf_counter()
        ended = done = 0
        while self.state == "running" and (max_batches is None or done < max_batches):
            ended += self._batch()
            done += 1
            if time.perf_counter() - t0 >= seconds:
                break
        self.trained_s += time.perf_counter() - t0
        if self.state == "running" and self.trained_s > TIME_LIMIT_S:
            self.stop("time")
        return ended

    def smoothed(self, alpha: float = 0.1) -> list[float]:
        """The per-batch losses, exponentially smoothed (as TensorBoard draws them)."""
        out, s = [], None
        for v in self.batch_losses:
            s = v if s is None else (1 - alpha) * s + alpha * v
            out.append(s)
        return out
