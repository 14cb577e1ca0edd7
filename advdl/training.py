"""One training loop for every model, with a small task class per model family.

:func:`train` reads as its steps: set up (device, processes, seed), build the task, start (from
nothing, from another checkpoint's weights, or from the saved state), then epochs (train on the
training digits, validate on the hold-out, save a resumable state outside git, export the
checkpoint with its card). A task says how one model trains: its optimizers, one step, its
validation, and for the GAN the averaged generator and the sample grid kept every epoch.

The data: the MNIST training split less a fixed, seeded hold-out of 5 000 digits
(:func:`advdl.data.holdout`), on which every model validates and every choice of epoch is made.
The test split is read only by ``scripts/evaluate.py``.

:func:`train_recipe` replays a recipe (``recipes/<model>.toml``): stage after stage, each
starting from the previous stage's weights, as the shipped model was made.
"""

from __future__ import annotations

import csv
import dataclasses
import datetime
import hashlib
import os
import platform
import random
import subprocess
import time
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch import nn
from torch.optim.lr_scheduler import LambdaLR
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn

from . import augment, checkpoints
from .data import Holdout, checksum, fake_split, holdout, load_split
from .digits import add_noise
from .models import MODELS, build
from .models.gan import deepen, deepen_discriminator

DEFAULT_STATE_DIR = Path(os.environ.get("ADVDL_STATE_DIR", Path.home() / ".cache" / "advdl" / "state"))
AUGMENTS = ("none", "shift", "handwriting")


@dataclass
class TrainArgs:
    """Everything one training run is told; ``scripts/train.py`` builds it from its arguments."""

    model: str
    epochs: int | None = None  # the epoch count to reach (counted from the first epoch of the lineage)
    batch_size: int | None = None
    lr: float | None = None
    seed: int = 0
    device: str = "auto"
    data_root: str = "data"
    dataset: str = "mnist"
    resume: bool = False
    smoke: bool = False
    out: str | None = None  # checkpoint root; default: the repository's checkpoints/
    state_dir: str | None = None
    threads: int | None = None
    amp: str | None = None  # "bf16": the GAN's forward passes, the CapsNet's convolutions
    config: dict[str, Any] | None = None  # overrides of the model's config, e.g. {"ngf": 128}
    lr_decay: float | None = None  # per-epoch learning-rate factor (default: the task's own)
    anneal_epochs: int | None = None  # the learning rate falls linearly to 0 over the last N epochs
    stop_after: int | None = None  # end at this epoch, the schedule still counting to ``epochs``
    time_budget: float | None = None  # seconds: start no epoch that would end after this
    ema_decay: float | None = None  # the GAN's weight average (default: the task's own)
    augment: str | None = None  # none, shift (±2 px) or handwriting (default: the task's own)
    init_from: str | None = None  # a checkpoint root whose <model>/ weights start the training
    stage: str | None = None  # the recipe stage this run is
    recipe: dict[str, Any] | None = None  # the recipe's path and checksum, for the card

    @classmethod
    def from_namespace(cls, ns, **overrides) -> TrainArgs:
        """From ``argparse`` results: every field of the same name, then ``overrides``."""
        values = {f.name: getattr(ns, f.name) for f in dataclasses.fields(cls) if hasattr(ns, f.name)}
        return cls(**{**values, **overrides})


def model_config(name: str, overrides: dict[str, Any] | None = None):
    """The model's default config with ``overrides`` applied; values given as strings (from the
    command line) are converted to the field's type. Unknown keys are an error."""
    cls = MODELS[name].config_cls
    config = cls()
    if not overrides:
        return config
    fields = {f.name: f for f in dataclasses.fields(cls)}
    values = {}
    for key, value in overrides.items():
        if key not in fields:
            raise ValueError(f"{name} has no config field {key!r}; choose from {sorted(fields)}")
        kind = type(getattr(config, key))
        if isinstance(value, str) and kind is not str:
            value = value.lower() in ("1", "true", "yes") if kind is bool else kind(value)
        values[key] = value
    return dataclasses.replace(config, **values)


# ----------------------------------------------------------------------------- helpers
def pick_device(name: str = "auto") -> torch.device:
    if name != "auto":
        return torch.device(name)
    if torch.cuda.is_available():
        return torch.device("cuda")
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def device_name(device: torch.device) -> str:
    """The GPU's name, or the CPU's model and core count (``/proc/cpuinfo`` where there is one)."""
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    try:
        with open("/proc/cpuinfo") as f:
            model = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        model = platform.processor() or platform.machine()
    return f"{model}, {os.cpu_count()} cores"


def set_seed(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


CODE_PATHS = ("advdl", "scripts", "recipes", ":!advdl/ui")  # what training and evaluation run


def git_commit() -> str | None:
    """The repository's commit, with ``+dirty`` when the code that trains and evaluates (the
    package less its UI, the scripts, the recipes) differs from it; None outside git."""
    root = checkpoints.ROOT
    try:
        rev = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, timeout=10)
        if rev.returncode != 0:
            return None
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no", "--", *CODE_PATHS], cwd=root,
                               capture_output=True, text=True, timeout=10).stdout.strip()
        return rev.stdout.strip() + ("+dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return None


def random_shift(x: torch.Tensor, max_shift: int, generator: torch.Generator | None = None) -> torch.Tensor:
    """Shift each image (B, 1, H, W) by up to ``max_shift`` pixels in each direction, zero-filled."""
    if max_shift <= 0:
        return x
    B, _, H, W = x.shape
    p = max_shift
    xp = F.pad(x, (p, p, p, p))
    d = torch.randint(0, 2 * p + 1, (2, B), generator=generator).to(x.device)
    rows = torch.arange(H, device=x.device)[None, :] + d[0][:, None]  # (B, H)
    cols = torch.arange(W, device=x.device)[None, :] + d[1][:, None]  # (B, W)
    b = torch.arange(B, device=x.device)[:, None, None]
    return xp[b, 0, rows[:, :, None], cols[:, None, :]].unsqueeze(1)


def augmentation(kind: str, x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    if kind == "shift":
        return random_shift(x, 2, generator)
    if kind == "handwriting":
        return augment.handwriting(x, generator)
    return x


def lr_at(lr: float, decay: float, epoch: int, epochs: int, anneal: int | None = None, start: int = 0) -> float:
    """The learning rate of (0-based) ``epoch`` out of ``epochs`` in a stage that began at epoch
    ``start`` with rate ``lr``: ``decay`` per epoch of the stage, and with ``anneal`` = N a linear
    fall over the last N epochs, to lr/N in the last one (as SNGAN's schedule does; it depends
    only on the epoch, so a resumed run follows the same path)."""
    factor = decay ** (epoch - start)
    if anneal:
        factor *= min(1.0, (epochs - epoch) / anneal)
    return lr * factor


@dataclass
class Dist:
    rank: int = 0
    world: int = 1
    local_rank: int = 0

    @property
    def main(self) -> bool:
        return self.rank == 0

    @property
    def enabled(self) -> bool:
        return self.world > 1


def setup_distributed(device: torch.device) -> Dist:
    """Join the process group when launched by ``torchrun`` (gloo on CPUs, NCCL on GPUs)."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return Dist()
    if not dist.is_initialized():
        dist.init_process_group(backend="nccl" if device.type == "cuda" else "gloo")
    return Dist(rank=dist.get_rank(), world=dist.get_world_size(), local_rank=int(os.environ.get("LOCAL_RANK", "0")))


# ----------------------------------------------------------------------------- tasks
class Task:
    """How one model family trains. Subclasses set the defaults and implement ``step``."""

    epochs = 10
    batch_size = 128
    lr = 1e-3
    lr_decay = 1.0  # multiplied into the learning rate after every epoch
    augment = "none"
    epoch = 0  # the epoch being trained (0-based), set by the loop

    def __init__(self, model: nn.Module, args: TrainArgs, device: torch.device, ddist: Dist):
        self.model, self.args, self.device, self.dist = model, args, device, ddist
        self.lr = args.lr or self.lr
        self.net = self.wrap(model)
        self.optimizers = {"opt": torch.optim.Adam(model.parameters(), lr=self.lr)}

    def wrap(self, module: nn.Module) -> nn.Module:
        if not self.dist.enabled:
            return module
        ids = [self.device.index or 0] if self.device.type == "cuda" else None
        return nn.parallel.DistributedDataParallel(module, device_ids=ids)

    def step(self, x: torch.Tensor, y: torch.Tensor) -> dict[str, torch.Tensor]:
        """One training step; returns its logs as detached scalar tensors (the loop reads them
        only every few steps, so a GPU is not made to wait after every step)."""
        raise NotImplementedError

    def grow(self, start: nn.Module) -> tuple[nn.Module, dict] | None:
        """``start`` (a checkpoint of another config) made into this task's model and what was
        changed, or None if it cannot be (``--init-from`` then refuses it)."""
        return None

    def update(self, loss: torch.Tensor, opt: str = "opt") -> None:
        """One optimizer step on ``loss``."""
        optimizer = self.optimizers[opt]
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    @torch.no_grad()
    def validate(self, x: torch.Tensor, y: torch.Tensor) -> dict[str, float]:
        return {}

    def end_epoch(self, epoch: int) -> dict[str, Any]:
        """Extra state to keep after an epoch (the GAN's samples)."""
        return {}

    def extra_state(self) -> dict[str, Any]:
        """State beyond the model and the optimizers that a resume needs (the GAN's average)."""
        return {}

    def load_extra_state(self, state: dict[str, Any]) -> None:
        pass

    def export_model(self) -> nn.Module:
        """The module to ship: the model itself, or for the GAN one with the averaged generator."""
        return self.model


def restyled_holdout(x: torch.Tensor, y: torch.Tensor, n: int = 1000) -> tuple[torch.Tensor, torch.Tensor]:
    """The first ``n`` hold-out digits in each of the restyled test's styles (what a choice of
    augmentation is validated on; the test set's restyled figure is evaluate.py's alone)."""
    xs, ys = x[:n].cpu(), y[:n].cpu()
    styled = torch.cat([augment.restyle(xs, style, seed=10_000 + i) for i, style in enumerate(augment.STYLES)])
    return styled.to(x.device), ys.repeat(len(augment.STYLES)).to(y.device)


def _correct(predict, x: torch.Tensor, y: torch.Tensor, batch: int) -> int:
    return sum((predict(xb) == yb).sum().item() for xb, yb in zip(x.split(batch), y.split(batch)))


class ClassifierTask(Task):
    # handwriting augmentation: the lab's CNN reads mouse strokes, not only MNIST's pencil
    epochs, lr, lr_decay, augment = 30, 1e-3, 0.9, "handwriting"
    restyled = None  # the restyled hold-out, made on the first validation

    def step(self, x, y):
        loss = F.cross_entropy(self.net(x), y)
        self.update(loss)
        return {"loss": loss.detach()}

    def predict(self, x):
        return self.model(x).argmax(1)

    @torch.no_grad()
    def validate(self, x, y):
        if self.restyled is None:
            self.restyled = restyled_holdout(x, y)
        xr, yr = self.restyled
        return {"val_accuracy": _correct(self.predict, x, y, 500) / len(y),
                "val_restyled": _correct(self.predict, xr, yr, 500) / len(yr)}


class AutoencoderTask(Task):
    epochs, lr = 30, 1e-3
    noise_factor = 0.0

    def __init__(self, *a, **k):
        super().__init__(*a, **k)
        self.noise_factor = getattr(self.model.config, "noise_factor", 0.0)
        self.gen = torch.Generator().manual_seed(self.args.seed + 1)

    def corrupt(self, x):
        return add_noise(x, "gaussian", self.noise_factor, generator=self.gen) if self.noise_factor > 0 else x

    def step(self, x, y):
        loss = F.binary_cross_entropy(self.net(self.corrupt(x)), x)
        self.update(loss)
        return {"loss": loss.detach()}

    @torch.no_grad()
    def validate(self, x, y):
        g = torch.Generator().manual_seed(1234)
        total = 0.0
        for xb in x.split(1000):
            inp = add_noise(xb, "gaussian", self.noise_factor, generator=g) if self.noise_factor > 0 else xb
            total += F.binary_cross_entropy(self.model(inp), xb, reduction="sum").item()
        return {"val_bce": total / x.numel()}


class CapsNetTask(ClassifierTask):
    epochs, lr, lr_decay, augment = 30, 1e-3, 0.96, "shift"

    def __init__(self, model, args, device, ddist):
        super().__init__(model, args, device, ddist)
        model.conv_dtype = torch.bfloat16 if args.amp == "bf16" else None  # the convolutions only

    def step(self, x, y):
        out = self.net(x, y)
        loss, margin, recon = self.model.loss(out, x, y)
        self.update(loss)
        acc = (out.lengths.detach().argmax(1) == y).float().mean()
        return {"loss": loss.detach(), "margin": margin.detach(), "recon": recon.detach(), "acc": acc}

    def predict(self, x):
        return self.model(x).lengths.argmax(1)


class GANTask(Task):
    """D learns real from fake with cross-entropy; then G learns through D, which is not
    updated in that step (the non-saturating loss: G maximizes log D(G(z)))."""

    epochs, lr = 25, 2e-4
    grid = 64  # the fixed-noise sample grid: 8 x 8
    ema_decay = 0.999  # the shipped generator is an exponential moving average of the trained one
    val_samples = 2000  # samples measured against the hold-out every epoch (when a CNN is at hand)
    bn_batches = 40  # batches of 256 latents on which the averaged generator's BatchNorm is measured

    def __init__(self, model, args, device, ddist):
        self.model, self.args, self.device, self.dist = model, args, device, ddist
        self.lr = args.lr or self.lr
        if args.ema_decay is not None:
            self.ema_decay = args.ema_decay
        self.G, self.D = self.wrap(model.generator), self.wrap(model.discriminator)
        betas = (0.5, 0.999)
        fused = device.type == "cuda"  # one kernel per step for all parameters
        self.optimizers = {
            "opt_d": torch.optim.Adam(model.discriminator.parameters(), lr=self.lr, betas=betas, fused=fused),
            "opt_g": torch.optim.Adam(model.generator.parameters(), lr=self.lr, betas=betas, fused=fused),
        }
        if args.smoke:  # fake data: the same steps, a tenth of the measuring
            self.val_samples, self.bn_batches = 200, 4
        self.fixed_z = torch.randn(self.grid, model.config.z_dim, generator=torch.Generator().manual_seed(12345)).to(device)
        self.judge = None  # the CNN that validation measures samples with, loaded on first use
        self.reset_average()

    def reset_average(self) -> None:
        # Averaging the generator's weights over the last ~1000 steps (Yazici et al., 2019) damps
        # the oscillation of adversarial training; the samples and the shipped model use it.
        # (torch's AveragedModel, not a hand-written lerp: either costs under a hundredth of a
        # training step.)
        self.ema = AveragedModel(self.model.generator, multi_avg_fn=get_ema_multi_avg_fn(self.ema_decay))
        self.ema.requires_grad_(False)

    def extra_state(self):
        return {"ema": self.ema.state_dict()}

    def load_extra_state(self, state):
        if "ema" in state:
            self.ema.load_state_dict(state["ema"])
        else:  # the weights came from elsewhere (--init-from): the average starts from them
            self.reset_average()

    @torch.no_grad()
    def averaged_model(self) -> nn.Module:
        """A copy of the GAN whose generator holds the averaged weights, with BatchNorm
        statistics measured afresh for those weights on a fixed set of latents."""
        import copy

        shipped = copy.deepcopy(self.model)
        g = shipped.generator
        g.load_state_dict(self.ema.module.state_dict() if self.ema.n_averaged > 0 else self.model.generator.state_dict())
        gen = torch.Generator().manual_seed(54321)
        latents = [torch.randn(256, self.model.config.z_dim, generator=gen).to(self.device) for _ in range(self.bn_batches)]
        torch.optim.swa_utils.update_bn(latents, g)  # a plain average over the calibration batches
        return shipped.eval()

    def export_model(self):
        return self.epoch_model()

    def autocast(self):
        return torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.args.amp == "bf16")

    def grow(self, start):
        # a deeper generator or discriminator (larger g_refine / d_refine, all else equal)
        was, want = start.config, self.model.config
        same = dataclasses.replace(was, g_refine=want.g_refine, d_refine=want.d_refine) == want
        if not same or was.g_refine > want.g_refine or was.d_refine > want.d_refine:
            return None
        grown, changed = start, {}
        if want.g_refine > was.g_refine:
            grown, changed["g_refine"] = deepen(grown, want.g_refine, seed=self.args.seed), [was.g_refine, want.g_refine]
        if want.d_refine > was.d_refine:
            grown, changed["d_refine"] = deepen_discriminator(grown, want.d_refine, seed=self.args.seed), [was.d_refine, want.d_refine]
        return grown, changed

    def step(self, x, y):
        opt_d = self.optimizers["opt_d"]
        real = x * 2 - 1
        B = real.shape[0]
        z = torch.randn(B, self.model.config.z_dim, device=self.device)
        with self.autocast():
            fake = self.G(z)
        # 1) the discriminator: a real/fake classifier with cross-entropy, the generator fixed
        opt_d.zero_grad(set_to_none=True)
        with self.autocast():
            d_real = self.D(real).float()
        loss_real = F.binary_cross_entropy_with_logits(d_real, torch.ones_like(d_real))
        loss_real.backward()
        with self.autocast():
            d_fake = self.D(fake.detach()).float()
        loss_fake = F.binary_cross_entropy_with_logits(d_fake, torch.zeros_like(d_fake))
        loss_fake.backward()
        opt_d.step()
        # 2) the generator through the discriminator, whose weights this step does not change
        with self.autocast():
            d_gen = self.D(fake).float()
        loss_g = F.binary_cross_entropy_with_logits(d_gen, torch.ones_like(d_gen))
        self.update(loss_g, "opt_g")
        self.ema.update_parameters(self.model.generator)
        return {
            "loss_d": (loss_real + loss_fake).detach(),
            "loss_g": loss_g.detach(),
            "d_real": torch.sigmoid(d_real.detach()).mean(),
            "d_fake": torch.sigmoid(d_fake.detach()).mean(),
        }

    def epoch_model(self) -> nn.Module:
        """This epoch's averaged model, made once for validation, the sample grid and export."""
        if getattr(self, "_shipped_epoch", None) != self.epoch:
            self._shipped, self._shipped_epoch = self.averaged_model(), self.epoch
        return self._shipped

    @torch.no_grad()
    def end_epoch(self, epoch):
        imgs = self.epoch_model().generate(self.fixed_z).clamp(0, 1)
        return {"samples": (imgs[:, 0] * 255).round().to(torch.uint8).cpu()}

    @torch.no_grad()
    def validate(self, x, y):
        """The averaged generator's samples against the hold-out, through the shipped CNN: the
        share labelled with confidence >= 0.9 and the Frechet distance (what any choice of
        epoch is made on); nothing when no CNN is at hand."""
        from .evaluation import frechet_distance

        if self.judge is None:
            try:
                self.judge = checkpoints.load_model("cnn", device=self.device)
            except checkpoints.CheckpointError:
                self.judge = False
        if not self.judge:
            return {}
        gan = self.epoch_model()
        z = torch.randn(self.val_samples, self.model.config.z_dim, generator=torch.Generator().manual_seed(777)).to(self.device)
        samples = torch.cat([gan.generate(zb) for zb in z.split(500)])
        probs = torch.cat([F.softmax(self.judge(sb), 1) for sb in samples.split(500)])
        feats = torch.cat([self.judge.embed(sb) for sb in samples.split(500)])
        if getattr(self, "_real_features", None) is None:  # the hold-out's features do not change
            self._real_features = torch.cat([self.judge.embed(xb) for xb in x.split(500)]).cpu()
        real = self._real_features
        return {"val_confident": float((probs.max(1).values >= 0.9).float().mean()),
                "val_frechet": frechet_distance(feats.cpu(), real)}


TASKS: dict[str, type[Task]] = {
    "cnn": ClassifierTask,
    "ae_plain": AutoencoderTask,
    "ae_deep": AutoencoderTask,
    "ae_conv": AutoencoderTask,
    "ae_denoise": AutoencoderTask,
    "capsnet": CapsNetTask,
    "dcgan": GANTask,
}


# ----------------------------------------------------------------------------- the loop's steps
@dataclass
class Run:
    """What the loop carries from epoch to epoch (and a resume brings back)."""

    epoch: int = 0  # epochs done, counted from the lineage's first
    history: list[dict] = field(default_factory=list)
    samples: list[torch.Tensor] = field(default_factory=list)
    stages: list[dict] = field(default_factory=list)  # earlier stages (from the checkpoint this one continues)
    stage_wall: float = 0.0  # seconds of this stage's epochs
    stage_first: int = 1  # this stage's first epoch
    init_from: dict | None = None
    commit: str | None = None  # the code this stage runs: the commit when it started
    seen: dict | None = None  # an earlier stage's validation that saw the test set: it stays on the card


def _state_path(args: TrainArgs) -> Path:
    base = Path(args.state_dir) if args.state_dir else DEFAULT_STATE_DIR
    stage = f"-{args.stage}" if args.stage else ""
    return base / f"{args.model}{stage}{'-smoke' if args.smoke else ''}" / "state.pt"


def load_data(args: TrainArgs) -> tuple[Holdout, dict]:
    """The training split less the hold-out, the hold-out, and the data's description."""
    if args.smoke:
        full, name = fake_split(160, seed=args.seed), "fake (smoke)"
        split = holdout(full, size=32, name=name)
    else:
        full, name = load_split(args.data_root, True, args.dataset), {"mnist": "MNIST", "fashion-mnist": "Fashion-MNIST"}[args.dataset]
        split = holdout(full, name=f"{name} train")
    data = {"name": name, "split": "train", "images": len(full), "sha256": checksum(full)}
    return split, data


def setup(args: TrainArgs) -> tuple[torch.device, Dist]:
    device = pick_device(args.device)
    if args.threads:
        torch.set_num_threads(args.threads)
    ddist = setup_distributed(device)
    if device.type == "cuda" and ddist.enabled:
        device = torch.device("cuda", ddist.local_rank)
        torch.cuda.set_device(device)
    set_seed(args.seed)
    return device, ddist


def make_task(args: TrainArgs, device: torch.device, ddist: Dist) -> Task:
    if args.model not in TASKS:
        raise ValueError(f"unknown model {args.model!r}; choose from {sorted(TASKS)}")
    if args.amp and not MODELS[args.model].amp:
        raise SystemExit(f"--amp: {args.model} trains in float32 only (bf16: {', '.join(n for n, s in MODELS.items() if s.amp)})")
    if args.ema_decay is not None and TASKS[args.model] is not GANTask:
        raise SystemExit(f"--ema-decay: {args.model} keeps no weight average (only the dcgan does)")
    if args.augment is not None and args.augment not in AUGMENTS:
        raise SystemExit(f"--augment: one of {AUGMENTS}, not {args.augment!r}")
    model = build(args.model, model_config(args.model, args.config)).to(device)
    task = TASKS[args.model](model, args, device, ddist)
    if args.lr_decay is not None:
        task.lr_decay = args.lr_decay
    if args.augment is not None:
        task.augment = args.augment
    return task


def start_from(args: TrainArgs, task: Task, ddist: Dist) -> Run:
    """From nothing, from another checkpoint's weights (``init_from``: fresh optimizers, its
    epochs, history, sample grids and stages come along), or from the saved state (``resume``)."""
    run, model, state_path = Run(), task.model, _state_path(args)
    if args.resume and state_path.exists():
        state = torch.load(state_path, map_location="cpu", weights_only=True)
        try:
            model.load_state_dict(state["model"])
        except RuntimeError as exc:
            raise SystemExit(
                f"the saved state at {state_path} does not fit the current {args.model} architecture "
                f"({str(exc).splitlines()[0]}); delete it or run without --resume"
            ) from None
        for k, opt in task.optimizers.items():
            opt.load_state_dict(state["optimizers"][k])
        task.load_extra_state(state.get("task", {}))
        torch.set_rng_state(state["rng"])
        run = Run(**state["run"])
        if ddist.main:
            print(f"resumed {args.model} from {state_path} at epoch {run.epoch}")
        return run
    if args.init_from:
        start = checkpoints.load_model(args.model, root=args.init_from)
        card = start.card
        run.init_from = {"root": str(args.init_from), "epochs": card.get("epochs")}
        if start.config != model.config:
            grown = task.grow(start)
            if grown is None:
                raise SystemExit(f"{args.init_from}/{args.model} was trained with another config ({start.config}); pass the same --config"
                                 " (or, for the dcgan, a larger g_refine or d_refine: the network is deepened)")
            start, run.init_from["deepened"] = grown
            if ddist.main:
                print(f"{args.model}: deepened {grown[1]} (the new layers start as the identity)")
        model.load_state_dict({k: v.float() if v.is_floating_point() else v for k, v in start.state_dict().items()})
        task.load_extra_state({})  # the GAN's moving average starts from these weights too
        run.epoch = int(card.get("epochs") or 0)
        run.history = checkpoints.read_history(args.model, args.init_from)[: run.epoch]
        grids = checkpoints.checkpoint_dir(args.model, args.init_from) / "samples.npz"
        run.samples = list(torch.from_numpy(np.load(grids)["samples"]))[: run.epoch] if grids.exists() else []
        run.stages = list(card.get("stages") or [])
        if (card.get("validation") or {}).get("test_set_seen"):
            run.seen = card["validation"]
        if ddist.main:
            print(f"{args.model}: weights from {args.init_from} (epoch {run.epoch}); the optimizers start afresh")
    if args.resume and ddist.main:
        begin = f"from {args.init_from}" if args.init_from else "from scratch"
        print(f"no state at {state_path}; starting {args.model} {begin}")
    run.stage_first = run.epoch + 1
    run.commit = git_commit()
    return run


def train_epoch(task: Task, x_all, y_all, order: torch.Tensor, batch_size: int, aug_gen, bar_desc: str, progress: bool) -> dict:
    """One pass over the training digits in ``order``; the mean of each logged value."""
    from tqdm.auto import tqdm

    device = task.device
    task.model.train()
    sums: dict[str, float] = {}
    batches = order.split(batch_size)
    bar = tqdm(batches, desc=bar_desc, disable=not progress, leave=True)
    for i, idx in enumerate(bar, 1):
        x = augmentation(task.augment, x_all[idx], aug_gen).to(device, non_blocking=True)
        y = y_all[idx].to(device, non_blocking=True)
        for k, v in task.step(x, y).items():
            sums[k] = sums.get(k, 0.0) + v
        if not bar.disable and (i % 10 == 0 or i == len(batches)):
            bar.set_postfix({k: f"{float(v) / i:.4f}" for k, v in sums.items()})
    task.model.eval()
    return {k: float(v) / len(batches) for k, v in sums.items()}


def save_state(args: TrainArgs, task: Task, run: Run) -> None:
    path = _state_path(args)
    path.parent.mkdir(parents=True, exist_ok=True)
    state = {
        "model": task.model.state_dict(),
        "optimizers": {k: o.state_dict() for k, o in task.optimizers.items()},
        "rng": torch.get_rng_state(),
        "task": task.extra_state(),
        "run": dataclasses.asdict(run),
    }
    torch.save(state, str(path) + ".tmp")
    os.replace(str(path) + ".tmp", path)


def train(args: TrainArgs, progress: bool = True) -> Path | None:
    """Train one model (one stage of its recipe); returns the checkpoint folder (on rank 0) or None."""
    device, ddist = setup(args)
    task = make_task(args, device, ddist)
    epochs = args.epochs or (1 if args.smoke else task.epochs)
    end = min(epochs, args.stop_after) if args.stop_after else epochs
    batch_size = args.batch_size or (32 if args.smoke else task.batch_size)
    run = start_from(args, task, ddist)
    split, data = load_data(args)
    x_all, y_all = split.train.floats(), split.train.labels
    if device.type == "cuda":  # the whole set fits on a GPU: no host-to-device copy per step
        x_all, y_all = x_all.to(device), y_all.to(device)
    x_val, y_val = split.val.floats().to(device), split.val.labels.to(device)

    # the schedule is a function of the lineage's epoch, so a resumed or continued run follows it
    schedulers = [LambdaLR(opt, lambda k, e0=run.epoch: lr_at(1.0, task.lr_decay, e0 + k, epochs, args.anneal_epochs,
                                                              start=run.stage_first - 1))
                  for opt in task.optimizers.values()]
    sampler = torch.utils.data.DistributedSampler(range(len(y_all)), num_replicas=ddist.world, rank=ddist.rank,
                                                  shuffle=True, seed=args.seed)
    aug_gen = torch.Generator().manual_seed(args.seed + 7)
    folder, started, last_seconds = None, time.time(), 0.0
    for epoch in range(run.epoch, end):
        if args.time_budget and time.time() - started + last_seconds > args.time_budget:
            if ddist.main:
                print(f"{args.model}: stopping before epoch {epoch + 1}: the time budget of {args.time_budget:.0f} s would run out")
            break
        lr_now = task.optimizers[next(iter(task.optimizers))].param_groups[0]["lr"]
        sampler.set_epoch(epoch)
        task.epoch = epoch
        t0 = time.time()
        row = {"epoch": epoch + 1}
        row.update(train_epoch(task, x_all, y_all, torch.tensor(list(iter(sampler))), batch_size, aug_gen,
                               f"{args.model} {epoch + 1}/{end}", progress and ddist.main))
        last_seconds = time.time() - t0
        row.update(task.validate(x_val, y_val))
        row.update(lr=lr_now, seconds=round(last_seconds, 2), device=device_name(device))
        for s in schedulers:
            s.step()
        run.epoch, run.stage_wall = epoch + 1, run.stage_wall + last_seconds
        run.history.append(row)
        extra = task.end_epoch(epoch)
        if "samples" in extra:
            run.samples.append(extra["samples"])
        if ddist.main:
            print("  " + "  ".join(f"{k}={v:.4f}" if isinstance(v, float) else f"{k}={v}" for k, v in row.items()), flush=True)
            save_state(args, task, run)
            folder = export(task, args, run, epochs, batch_size, device, ddist, split, data)
    if ddist.enabled:
        dist.barrier()
        dist.destroy_process_group()
    return folder


def stage_record(args: TrainArgs, task: Task, run: Run, epochs: int, batch_size: int, device, ddist) -> dict:
    """What this stage did, for the card's list of stages."""
    return {
        "name": args.stage or "train",
        "epochs": [run.stage_first, run.epoch],
        "schedule_epochs": epochs,
        "batch_size": batch_size * ddist.world,
        "lr": task.lr,
        "lr_decay": task.lr_decay,
        **({"anneal_epochs": args.anneal_epochs} if args.anneal_epochs else {}),
        **({"ema_decay": task.ema_decay} if isinstance(task, GANTask) else {}),
        "augment": task.augment,
        **({"amp": args.amp} if args.amp else {}),
        "config": dataclasses.asdict(task.model.config),
        "start": f"the weights of epoch {run.init_from['epochs']}, fresh optimizers" if run.init_from else "scratch",
        **({"grown": run.init_from["deepened"]} if run.init_from and "deepened" in run.init_from else {}),
        "device": device.type,
        "device_name": device_name(device),
        "processes": ddist.world,
        "threads": torch.get_num_threads(),
        "wall_time_s": round(run.stage_wall, 1),
        "commit": run.commit,
        "date": datetime.date.today().isoformat(),
    }


def export(task: Task, args: TrainArgs, run: Run, epochs, batch_size, device, ddist, split: Holdout, data: dict) -> Path:
    """Write the checkpoint, its card and history.csv (and the GAN's sample grids)."""
    spec = MODELS[args.model]
    stages = [*run.stages, stage_record(args, task, run, epochs, batch_size, device, ddist)]
    card = {
        "recipe": args.recipe,
        "commit": run.commit,
        "data": data,
        "validation": split.info if run.seen is None else {
            **run.seen, "later_stages": {**split.info, "note": "validated on this hold-out, which the earlier stages trained on"}},
        "stages": stages,
        "seed": args.seed,
        "epochs": run.epoch,
        "wall_time_s": round(sum(s.get("wall_time_s") or 0 for s in stages), 1),
        "devices": sorted({s["device_name"] for s in stages}),
        "training": {k: v for k, v in dataclasses.asdict(args).items()
                     if k not in ("out", "state_dir", "resume", "data_root", "recipe", "init_from")},
        "final": {k: v for k, v in run.history[-1].items() if k not in ("epoch", "device")},
    }
    dtype = None if spec.store_dtype == "float32" else getattr(torch, spec.store_dtype)
    folder = checkpoints.save(task.export_model(), args.model, args.out, card=card, dtype=dtype)
    with open(folder / checkpoints.HISTORY, "w", newline="") as f:
        keys = list(dict.fromkeys(k for row in run.history for k in row))
        w = csv.DictWriter(f, fieldnames=keys)
        w.writeheader()
        w.writerows(run.history)
    if run.samples:
        np.savez_compressed(folder / "samples.npz", samples=torch.stack(run.samples).numpy())
    return folder


# ----------------------------------------------------------------------------- recipes
STAGE_KEYS = {"name", "epochs", "stop_after", "batch_size", "lr", "lr_decay", "anneal_epochs", "ema_decay", "amp",
              "config", "augment", "threads", "ran_on", "note"}


@dataclass(frozen=True)
class Recipe:
    """A shipped model's training, stage by stage (``recipes/<model>.toml``)."""

    path: Path
    model: str
    seed: int
    stages: list[dict]
    sha256: str

    @classmethod
    def load(cls, path: str | Path) -> Recipe:
        path = Path(path)
        raw = path.read_bytes()
        try:
            doc = tomllib.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            raise ValueError(f"{path}: not a valid TOML file ({exc})") from None
        model, stages = doc.get("model"), doc.get("stages")
        if model not in TASKS:
            raise ValueError(f"{path}: model must be one of {sorted(TASKS)}, not {model!r}")
        if not isinstance(stages, list) or not stages:
            raise ValueError(f"{path}: a recipe needs at least one [[stages]] table")
        names, last = set(), 0
        for i, stage in enumerate(stages):
            unknown = set(stage) - STAGE_KEYS
            if unknown:
                raise ValueError(f"{path}: stage {i + 1} has unknown keys {sorted(unknown)}; allowed: {sorted(STAGE_KEYS)}")
            if "name" not in stage or "epochs" not in stage or stage["name"] in names:
                raise ValueError(f"{path}: stage {i + 1} needs a unique name and its epochs")
            names.add(stage["name"])
            end = stage.get("stop_after", stage["epochs"])
            if end <= last:
                raise ValueError(f"{path}: stage {stage['name']!r} ends at epoch {end}, not after the previous stage ({last})")
            last = end
            model_config(model, stage.get("config"))  # a bad config key fails here, not hours later
        return cls(path=path, model=model, seed=int(doc.get("seed", 0)), stages=stages,
                   sha256=hashlib.sha256(raw).hexdigest())

    def card_entry(self) -> dict:
        try:
            shown = self.path.resolve().relative_to(checkpoints.ROOT).as_posix()
        except ValueError:
            shown = self.path.name
        return {"path": shown, "sha256": self.sha256}


def stage_args(recipe: Recipe, i: int, base: TrainArgs) -> TrainArgs:
    """The arguments of stage ``i``: the base run's (device, data, out, smoke, resume), the
    stage's choices, and the previous stage's export as the starting point. On fake data
    (smoke) each stage runs one epoch."""
    stage = recipe.stages[i]
    choices = {k: v for k, v in stage.items() if k not in ("name", "ran_on", "note")}
    if base.threads:  # the machine's choice: it changes speed, not what is learned
        choices.pop("threads", None)
    if base.smoke:
        choices.update(epochs=i + 1, stop_after=None, anneal_epochs=min(choices.get("anneal_epochs") or 0, 1) or None,
                       batch_size=min(choices.get("batch_size", 32), 32))
    state_root = Path(base.state_dir) if base.state_dir else DEFAULT_STATE_DIR
    last = i == len(recipe.stages) - 1
    out = base.out if last else str(state_root / "recipes" / recipe.model / stage["name"])
    init = str(state_root / "recipes" / recipe.model / recipe.stages[i - 1]["name"]) if i else None
    return dataclasses.replace(base, model=recipe.model, seed=recipe.seed, stage=stage["name"], out=out, init_from=init,
                               recipe=recipe.card_entry(), **choices)


def train_recipe(recipe: Recipe, base: TrainArgs, progress: bool = True) -> Path | None:
    """Replay ``recipe`` from nothing, stage after stage; with ``base.resume`` the stages up to
    the last one whose export is complete are skipped, and an interrupted one goes on from its
    saved state."""
    first = 0
    if base.resume:
        for i in range(len(recipe.stages) - 2, -1, -1):
            args = stage_args(recipe, i, base)
            try:
                if checkpoints.read_card(recipe.model, args.out).get("epochs") == (args.stop_after or args.epochs):
                    first = i + 1
                    break
            except checkpoints.CheckpointError:
                continue
    folder = None
    for i, stage in enumerate(recipe.stages):
        args = stage_args(recipe, i, base)
        if i < first:
            print(f"{recipe.model}: stage {stage['name']!r} is done (epoch {args.stop_after or args.epochs}); next")
            continue
        print(f"{recipe.model}: stage {i + 1}/{len(recipe.stages)} {stage['name']!r} to epoch {args.stop_after or args.epochs}")
        folder = train(args, progress=progress)
    return folder
