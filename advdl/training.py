"""One training loop for every model, with a small task class per model family.

The loop handles what all models share: seeding, data in memory, a distributed sampler (one
process, or several under ``torchrun``), a tqdm bar with the running loss, a resumable state
every epoch (outside git), the exported checkpoint with its card and ``history.csv`` every epoch.
A task says how one model trains: its optimizers, one step, a quick validation, and for the
GAN the fixed-noise sample grid kept every epoch.
"""

from __future__ import annotations

import copy
import csv
import dataclasses
import os
import platform
import random
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch import nn

from . import checkpoints
from .data import Split, fake_split, load_split
from .digits import add_noise
from .models import MODELS, build
from .models.gan import deepen

DEFAULT_STATE_DIR = Path(os.environ.get("ADVDL_STATE_DIR", Path.home() / ".cache" / "advdl" / "state"))


@dataclass
class TrainArgs:
    model: str
    epochs: int | None = None
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
    store_dtype: str | None = None  # e.g. "float16"
    amp: str | None = None  # "bf16": the GAN's forward passes, the CapsNet's convolutions
    config: dict[str, Any] | None = None  # overrides of the model's config, e.g. {"ngf": 128}
    lr_decay: float | None = None  # per-epoch learning-rate factor (default: the task's own)
    time_budget: float | None = None  # seconds: start no epoch that would end after this
    anneal_epochs: int | None = None  # the learning rate falls linearly to 0 over the last N epochs
    ema_decay: float | None = None  # the GAN's weight average (default: the task's own)
    lr_d: float | None = None  # the GAN: the discriminator's learning rate (default: lr)
    r1: float | None = None  # the GAN: weight of the R1 penalty on D's gradient at real images
    topk: float | None = None  # the GAN: G learns from the top max(topk, 0.99^epoch) of each batch
    init_from: str | None = None  # a checkpoint root whose <model>/ weights start the training
    compile: bool = False  # torch.compile the networks the steps run (fewer, fused kernels on a GPU)


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


def set_seed(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


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
    shift = 0  # random-shift augmentation in pixels
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

    def compile(self) -> None:
        """Run the training steps through ``torch.compile``d networks (the weights stay shared
        with ``self.model``, which is what is saved and shipped)."""
        self.net = torch.compile(self.net)

    def step(self, x: torch.Tensor, y: torch.Tensor) -> dict[str, torch.Tensor]:
        """One training step; returns its logs as detached scalar tensors (the loop reads them
        only every few steps, so a GPU is not made to wait after every step)."""
        raise NotImplementedError

    def base_lr(self, opt: str) -> float:
        """The learning rate of optimizer ``opt`` before any schedule."""
        return self.lr

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
        """State beyond the model and the optimizers that a resume needs (the GAN's EMA)."""
        return {}

    def load_extra_state(self, state: dict[str, Any]) -> None:
        pass

    def export_model(self) -> nn.Module:
        """The module to ship: the model itself, or for the GAN one with the averaged generator."""
        return self.model


class ClassifierTask(Task):
    epochs, lr, lr_decay, shift = 8, 1e-3, 0.7, 2

    def step(self, x, y):
        loss = F.cross_entropy(self.net(x), y)
        self.update(loss)
        return {"loss": loss.detach()}

    @torch.no_grad()
    def validate(self, x, y):
        correct = sum((self.model(xb).argmax(1) == yb).sum().item() for xb, yb in zip(x.split(500), y.split(500)))
        return {"val_accuracy": correct / len(y)}


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


class CapsNetTask(Task):
    epochs, lr, lr_decay, shift = 30, 1e-3, 0.96, 2

    def __init__(self, model, args, device, ddist):
        super().__init__(model, args, device, ddist)
        model.conv_dtype = torch.bfloat16 if args.amp == "bf16" else None  # the convolutions only

    def step(self, x, y):
        out = self.net(x, y)
        loss, margin, recon = self.model.loss(out, x, y)
        self.update(loss)
        acc = (out.lengths.detach().argmax(1) == y).float().mean()
        return {"loss": loss.detach(), "margin": margin.detach(), "recon": recon.detach(), "acc": acc}

    @torch.no_grad()
    def validate(self, x, y):
        correct = sum(
            (self.model(xb).lengths.argmax(1) == yb).sum().item() for xb, yb in zip(x.split(250), y.split(250))
        )
        return {"val_accuracy": correct / len(y)}


class GANTask(Task):
    """D learns real from fake with cross-entropy; then G learns through D, which is not
    updated in that step (the non-saturating loss: G maximizes log D(G(z)))."""

    epochs, lr = 25, 2e-4
    grid = 64  # the fixed-noise sample grid: 8 x 8
    ema_decay = 0.999  # the shipped generator is an exponential moving average of the trained one
    R1_EVERY = 4

    def __init__(self, model, args, device, ddist):
        self.model, self.args, self.device, self.dist = model, args, device, ddist
        self.lr = args.lr or self.lr
        self.lr_d = args.lr_d or self.lr  # a faster D: the two time-scale rule (Heusel et al., 2017)
        self.G, self.D = self.wrap(model.generator), self.wrap(model.discriminator)
        betas = (0.5, 0.999)
        fused = device.type == "cuda"  # one kernel per step for all parameters
        self.optimizers = {
            "opt_d": torch.optim.Adam(model.discriminator.parameters(), lr=self.lr_d, betas=betas, fused=fused),
            "opt_g": torch.optim.Adam(model.generator.parameters(), lr=self.lr, betas=betas, fused=fused),
        }
        self.fixed_z = torch.randn(self.grid, model.config.z_dim, generator=torch.Generator().manual_seed(12345)).to(device)
        # Averaging the generator's weights over the last ~1000 steps (Yazici et al., 2019) damps
        # the oscillation of adversarial training; the samples and the shipped model use it.
        self.ema = copy.deepcopy(model.generator).eval().requires_grad_(False)
        # R1 (Mescheder et al., 2018): gamma/2 * |grad_x D(x)|^2 at real x keeps D flat on the
        # data, so that G's gradients point towards it; computed every R1_EVERY steps, scaled
        # up to match (the lazy regularization of StyleGAN2).
        self.r1, self.steps = args.r1 or 0.0, 0
        # Top-k training (Sinha et al., 2020): G's loss counts only the samples D rates most
        # real, a share that falls from the whole batch by 1 % an epoch to ``topk``; the worst
        # samples' gradients, which point towards averages of modes, are left out.
        self.topk = args.topk

    def topk_share(self) -> float:
        return max(self.topk, 0.99**self.epoch) if self.topk else 1.0

    @torch.no_grad()
    def update_ema(self) -> None:
        live = self.model.generator
        # one fused update over all tensors: on a GPU, two launches per step instead of dozens
        torch._foreach_lerp_(list(self.ema.parameters()), list(live.parameters()), 1 - self.ema_decay)
        torch._foreach_copy_(list(self.ema.buffers()), list(live.buffers()))

    def compile(self) -> None:
        self.G, self.D = torch.compile(self.G), torch.compile(self.D)

    def extra_state(self):
        return {"ema": self.ema.state_dict()}

    def load_extra_state(self, state):
        if "ema" in state:
            self.ema.load_state_dict(state["ema"])
        else:  # a state saved before the average existed: start it from the current weights
            self.ema.load_state_dict(self.model.generator.state_dict())

    @torch.no_grad()
    def averaged_model(self) -> nn.Module:
        """A copy of the GAN whose generator holds the averaged weights, with BatchNorm
        statistics measured afresh for those weights on a fixed set of latents."""
        shipped = copy.deepcopy(self.model)
        g = shipped.generator
        g.load_state_dict(self.ema.state_dict())
        bns = [m for m in g.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
        for m in bns:
            m.reset_running_stats()
            m.momentum = None  # a plain average over the calibration batches
        g.train()
        gen = torch.Generator().manual_seed(54321)
        for _ in range(40):
            g(torch.randn(256, self.model.config.z_dim, generator=gen).to(self.device))
        for m in bns:
            m.momentum = 0.1
        return shipped.eval()

    def export_model(self):
        return self._shipped if getattr(self, "_shipped", None) is not None else self.averaged_model()

    def autocast(self):
        return torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.args.amp == "bf16")

    def base_lr(self, opt: str) -> float:
        return self.lr_d if opt == "opt_d" else self.lr

    def grow(self, start):
        # a deeper generator (a larger g_refine, all else equal): the rest as trained
        was, want = start.config.g_refine, self.model.config.g_refine
        if dataclasses.replace(start.config, g_refine=want) != self.model.config or was > want:
            return None
        return deepen(start, want, seed=self.args.seed), {"g_refine": [was, want]}

    def r1_penalty(self, real: torch.Tensor) -> torch.Tensor:
        """Back-propagate the (lazy) R1 penalty into D's gradients; returns its value."""
        real = real.detach().requires_grad_(True)
        with self.autocast():
            out = self.D(real).float()
        (grad,) = torch.autograd.grad(out.sum(), real, create_graph=True)
        penalty = grad.float().pow(2).flatten(1).sum(1).mean()
        (penalty * (self.r1 / 2 * self.R1_EVERY)).backward()
        return penalty.detach()

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
        if self.r1 and self.steps % self.R1_EVERY == 0:
            self.r1_value = self.r1_penalty(real)  # logged every step: its last value
        opt_d.step()
        self.steps += 1
        # 2) the generator through the discriminator, whose weights this step does not change
        with self.autocast():
            d_gen = self.D(fake).float()
        k = max(1, round(self.topk_share() * B))
        if k < B:
            d_gen = d_gen.flatten().topk(k).values
        loss_g = F.binary_cross_entropy_with_logits(d_gen, torch.ones_like(d_gen))
        self.update(loss_g, "opt_g")
        self.update_ema()
        return {
            "loss_d": (loss_real + loss_fake).detach(),
            "loss_g": loss_g.detach(),
            "d_real": torch.sigmoid(d_real.detach()).mean(),
            "d_fake": torch.sigmoid(d_fake.detach()).mean(),
            **({"r1": self.r1_value} if self.r1 else {}),
        }

    @torch.no_grad()
    def end_epoch(self, epoch):
        self._shipped = self.averaged_model()
        imgs = self._shipped.generate(self.fixed_z).clamp(0, 1)
        return {"samples": (imgs[:, 0] * 255).round().to(torch.uint8).cpu()}


TASKS: dict[str, type[Task]] = {
    "cnn": ClassifierTask,
    "ae_plain": AutoencoderTask,
    "ae_deep": AutoencoderTask,
    "ae_conv": AutoencoderTask,
    "ae_denoise": AutoencoderTask,
    "capsnet": CapsNetTask,
    "dcgan": GANTask,
}


# ----------------------------------------------------------------------------- the loop
def _state_path(args: TrainArgs) -> Path:
    base = Path(args.state_dir) if args.state_dir else DEFAULT_STATE_DIR
    return base / f"{args.model}{'-smoke' if args.smoke else ''}" / "state.pt"


def _load_data(args: TrainArgs) -> tuple[Split, Split]:
    if args.smoke:
        return fake_split(128, seed=args.seed), fake_split(64, seed=args.seed + 1)
    return load_split(args.data_root, True, args.dataset), load_split(args.data_root, False, args.dataset)


def _continued(args: TrainArgs, card: dict) -> tuple[int, list[dict], list[torch.Tensor], float]:
    """What a checkpoint that ``--init-from`` continues brings along (``card`` is its card): its
    epoch count, its per-epoch history and sample grids, its wall time."""
    history = checkpoints.read_history(args.model, args.init_from)
    grids = checkpoints.checkpoint_dir(args.model, args.init_from) / "samples.npz"
    samples = list(torch.from_numpy(np.load(grids)["samples"])) if grids.exists() else []
    epochs = int(card.get("epochs") or len(history))
    return epochs, history[:epochs], samples[:epochs], float(card.get("wall_time_s") or 0.0)


def lr_at(lr: float, decay: float, epoch: int, epochs: int, anneal: int | None = None) -> float:
    """The learning rate of (0-based) ``epoch`` out of ``epochs``: ``decay`` per epoch, and with
    ``anneal`` = N a linear fall over the last N epochs, to lr/N in the last one (as SNGAN's
    schedule does; it depends only on the epoch, so a resumed run follows the same path)."""
    factor = decay**epoch
    if anneal:
        factor *= min(1.0, (epochs - epoch) / anneal)
    return lr * factor


def train(args: TrainArgs, progress: bool = True) -> Path | None:
    """Train one model; returns the checkpoint folder (on rank 0) or None."""
    from tqdm.auto import tqdm

    if args.model not in TASKS:
        raise ValueError(f"unknown model {args.model!r}; choose from {sorted(TASKS)}")
    device = pick_device(args.device)
    if args.threads:
        torch.set_num_threads(args.threads)
    ddist = setup_distributed(device)
    if device.type == "cuda" and ddist.enabled:
        device = torch.device("cuda", ddist.local_rank)
        torch.cuda.set_device(device)
    set_seed(args.seed)

    task_cls = TASKS[args.model]
    epochs = args.epochs or (1 if args.smoke else task_cls.epochs)
    batch_size = args.batch_size or (32 if args.smoke else task_cls.batch_size)
    model = build(args.model, model_config(args.model, args.config)).to(device)
    task = task_cls(model, args, device, ddist)
    if args.lr_decay is not None:
        task.lr_decay = args.lr_decay
    if args.ema_decay is not None:
        if not hasattr(task, "ema_decay"):
            raise SystemExit(f"--ema-decay: {args.model} keeps no weight average (only the dcgan does)")
        task.ema_decay = args.ema_decay
    if args.topk is not None and not 0 < args.topk <= 1:
        raise SystemExit(f"--topk: a share of the batch in (0, 1], not {args.topk}")
    for flag, value in (("--r1", args.r1), ("--lr-d", args.lr_d), ("--topk", args.topk)):
        if value and not isinstance(task, GANTask):
            raise SystemExit(f"{flag}: {args.model} has no discriminator (only the dcgan does)")
    if args.compile:
        task.compile()
    init_from = source = None  # where the starting weights came from, and its card
    if args.init_from and not (args.resume and _state_path(args).exists()):
        start = checkpoints.load_model(args.model, root=args.init_from)
        source = start.card
        init_from = {
            "root": str(args.init_from),
            "epochs": source.get("epochs"),
            "device_name": source.get("device_name"),
            "wall_time_s": source.get("wall_time_s"),
            "metrics": {k: v for k, v in source.get("metrics", {}).items() if not isinstance(v, (dict, list))},
        }
        if start.config != model.config:
            grown = task.grow(start)
            if grown is None:
                raise SystemExit(f"{args.init_from}/{args.model} was trained with another config ({start.config}); pass the same --config"
                                 " (or, for the dcgan, a larger g_refine: the generator is deepened)")
            start, init_from["deepened"] = grown
            if ddist.main:
                print(f"{args.model}: deepened {grown[1]} (the new layers start as the identity)")
        model.load_state_dict({k: v.float() if v.is_floating_point() else v for k, v in start.state_dict().items()})
        task.load_extra_state({})  # the GAN's moving average starts from these weights too
        if ddist.main:
            print(f"{args.model}: weights from {args.init_from} (epoch {source.get('epochs')}); the optimizers start afresh")

    train_split, test_split = _load_data(args)
    x_all, y_all = train_split.floats(), train_split.labels
    if device.type == "cuda":  # the whole set fits on a GPU: no host-to-device copy per step
        x_all, y_all = x_all.to(device), y_all.to(device)
    n_val = min(len(test_split), 64 if args.smoke else 10000)
    x_val, y_val = test_split.floats()[:n_val].to(device), test_split.labels[:n_val].to(device)

    state_path = _state_path(args)
    start_epoch, history, extras, wall = 0, [], {"samples": [], "init_from": init_from}, 0.0
    if init_from is not None:  # go on counting from the source's epochs, with its history and samples
        start_epoch, history, extras["samples"], wall = _continued(args, source)
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
        start_epoch, history, wall = state["epoch"], state["history"], state["wall_time_s"]
        extras["samples"] = list(state.get("samples", []))
        extras["init_from"] = state.get("init_from")
        task.load_extra_state(state.get("task", {}))
        torch.set_rng_state(state["rng"])
        if ddist.main:
            print(f"resumed {args.model} from {state_path} at epoch {start_epoch}")
    elif args.resume and ddist.main:
        begin = f"from {args.init_from}" if init_from is not None else "from scratch"
        print(f"no state at {state_path}; starting {args.model} {begin}")

    sampler = torch.utils.data.DistributedSampler(
        range(len(y_all)), num_replicas=ddist.world, rank=ddist.rank, shuffle=True, seed=args.seed
    )
    shift_gen = torch.Generator().manual_seed(args.seed + 7)
    folder = None
    started, last_seconds = time.time(), 0.0
    for epoch in range(start_epoch, epochs):
        if args.time_budget and time.time() - started + last_seconds > args.time_budget:
            if ddist.main:
                print(f"{args.model}: stopping before epoch {epoch + 1}: the time budget of {args.time_budget:.0f} s would run out")
            break
        lr_now = lr_at(task.lr, task.lr_decay, epoch, epochs, args.anneal_epochs)
        for name, opt in task.optimizers.items():
            for group in opt.param_groups:
                group["lr"] = lr_at(task.base_lr(name), task.lr_decay, epoch, epochs, args.anneal_epochs)
        sampler.set_epoch(epoch)
        task.epoch = epoch
        order = torch.tensor(list(iter(sampler)))
        batches = order.split(batch_size)
        model.train()
        sums: dict[str, float] = {}
        t0 = time.time()
        bar = tqdm(batches, desc=f"{args.model} {epoch + 1}/{epochs}", disable=not (progress and ddist.main), leave=True)
        for i, idx in enumerate(bar, 1):
            x = random_shift(x_all[idx], task.shift, shift_gen).to(device, non_blocking=True)
            y = y_all[idx].to(device, non_blocking=True)
            logs = task.step(x, y)
            for k, v in logs.items():
                sums[k] = sums.get(k, 0.0) + v
            if not bar.disable and (i % 10 == 0 or i == len(batches)):
                bar.set_postfix({k: f"{float(v) / i:.4f}" for k, v in sums.items()})
        seconds = last_seconds = time.time() - t0
        wall += seconds
        model.eval()
        row = {"epoch": epoch + 1, **{k: float(v) / len(batches) for k, v in sums.items()}}
        row.update(task.validate(x_val, y_val))
        row["lr"] = lr_now
        row["seconds"] = round(seconds, 2)
        history.append(row)
        extra = task.end_epoch(epoch)
        if "samples" in extra:
            extras["samples"].append(extra["samples"])
        if ddist.main:
            print("  " + "  ".join(f"{k}={v:.4f}" if isinstance(v, float) else f"{k}={v}" for k, v in row.items()), flush=True)
            state_path.parent.mkdir(parents=True, exist_ok=True)
            state = {
                "model": model.state_dict(),
                "optimizers": {k: o.state_dict() for k, o in task.optimizers.items()},
                "epoch": epoch + 1,
                "history": history,
                "wall_time_s": wall,
                "rng": torch.get_rng_state(),
                "samples": extras["samples"],
                "init_from": extras["init_from"],
                "task": task.extra_state(),
            }
            torch.save(state, str(state_path) + ".tmp")
            os.replace(str(state_path) + ".tmp", state_path)
            folder = export(task.export_model(), args, history, wall, epoch + 1, epochs, batch_size, task.lr, device, ddist, extras)
    if ddist.enabled:
        dist.barrier()
        dist.destroy_process_group()
    return folder


def export(model, args, history, wall, done, epochs, batch_size, lr, device, ddist, extras) -> Path:
    """Write the checkpoint, its card and history.csv (and the GAN's sample grids)."""
    dtype = getattr(torch, args.store_dtype) if args.store_dtype else None
    card = {
        "training": {
            **{k: v for k, v in dataclasses.asdict(args).items() if k not in ("out", "state_dir", "resume")},
            "epochs": epochs,
            "batch_size": batch_size,
            "lr": lr,
            "lr_decay": args.lr_decay if args.lr_decay is not None else TASKS[args.model].lr_decay,
            **({"ema_decay": args.ema_decay or TASKS[args.model].ema_decay} if hasattr(TASKS[args.model], "ema_decay") else {}),
            # the run these weights continue (--init-from): its epochs come before this card's
            **({"init_from": extras["init_from"]} if extras.get("init_from") else {}),
        },
        "seed": args.seed,
        "epochs": done,
        "wall_time_s": round(wall, 1),
        "sec_per_epoch": round(wall / max(done, 1), 1),
        "device": device.type,
        "device_name": torch.cuda.get_device_name(device) if device.type == "cuda" else platform.processor() or platform.machine(),
        "world_size": ddist.world,
        "threads": torch.get_num_threads(),
        "final": {k: v for k, v in history[-1].items() if k != "epoch"},
    }
    folder = checkpoints.save(model, args.model, args.out, card=card, dtype=dtype)
    with open(folder / checkpoints.HISTORY, "w", newline="") as f:
        keys = list(dict.fromkeys(k for row in history for k in row))
        w = csv.DictWriter(f, fieldnames=keys)
        w.writeheader()
        w.writerows(history)
    if extras["samples"]:
        np.savez_compressed(folder / "samples.npz", samples=torch.stack(extras["samples"]).numpy())
    return folder

