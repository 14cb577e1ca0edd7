"""What the labs compute, as plain functions over models and NumPy images.

Pages call these and render the results; tests call the same functions.
"""

from __future__ import annotations

import functools
import os
import threading
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from .metrics import bce, psnr, ssim


def as_batch(img: np.ndarray) -> torch.Tensor:
    """A (28, 28) image in [0, 1] as a (1, 1, 28, 28) float tensor."""
    return torch.as_tensor(np.asarray(img, dtype=np.float32)).reshape(1, 1, 28, 28)


@torch.inference_mode()
def classify(cnn: torch.nn.Module, img: np.ndarray) -> np.ndarray:
    """The CNN's class probabilities (10,) for one image."""
    return F.softmax(cnn(as_batch(img)), dim=1)[0].numpy()


@torch.inference_mode()
def classify_batch(cnn: torch.nn.Module, images: np.ndarray) -> np.ndarray:
    """The CNN's class probabilities (N, 10) for images (N, 28, 28)."""
    x = torch.as_tensor(np.asarray(images, dtype=np.float32)).reshape(-1, 1, 28, 28)
    return F.softmax(cnn(x), dim=1).numpy()


@dataclass
class Reconstruction:
    image: np.ndarray  # (28, 28)
    psnr: float
    ssim: float
    bce: float


@torch.inference_mode()
def reconstruct(models: dict[str, torch.nn.Module], inp: np.ndarray, clean: np.ndarray) -> dict[str, Reconstruction]:
    """Each autoencoder's reconstruction of ``inp``, scored against the ``clean`` digit."""
    x, ref = as_batch(inp), as_batch(clean)
    out = {}
    for name, model in models.items():
        r = model(x)
        out[name] = Reconstruction(r[0, 0].numpy(), float(psnr(r, ref)), float(ssim(r, ref)), float(bce(r, ref)))
    return out


@dataclass
class ReconstructionSweep:
    """Each autoencoder's reconstructions of a series of inputs (the same digit at every noise
    strength), with their scores against the clean digit."""

    images: np.ndarray  # (S, 28, 28)
    psnr: np.ndarray  # (S,)
    ssim: np.ndarray  # (S,)
    bce: np.ndarray  # (S,)

    def at(self, i: int) -> Reconstruction:
        return Reconstruction(self.images[i], float(self.psnr[i]), float(self.ssim[i]), float(self.bce[i]))


@torch.inference_mode()
def reconstruct_sweep(models: dict[str, torch.nn.Module], inputs: np.ndarray, clean: np.ndarray) -> dict[str, ReconstructionSweep]:
    """Each autoencoder's reconstruction of every input (S, 28, 28), in one batch per model,
    scored against the ``clean`` digit."""
    x = torch.as_tensor(np.asarray(inputs, dtype=np.float32)).reshape(-1, 1, 28, 28)
    ref = as_batch(clean).expand(len(x), -1, -1, -1)
    out = {}
    for name, model in models.items():
        r = model(x)
        out[name] = ReconstructionSweep(
            r[:, 0].numpy(), psnr(r, ref, "none").numpy(), ssim(r, ref, "none").numpy(), bce(r, ref, "none").numpy()
        )
    return out


@torch.inference_mode()
def generate(gan: torch.nn.Module, z: np.ndarray, preview: bool = False) -> np.ndarray:
    """Images (N, 28, 28) in [0, 1] from latents (N, 100) or (100,). ``preview``: images shown
    only while a slider moves (the filmstrips), in bfloat16 where the CPU multiplies it natively
    (:func:`bf16_native`): ~1.8x faster on an AVX512-BF16 machine (``scripts/bench.py``:
    ``gan_direction_filmstrips_8x41`` and ``..._preview``), pixels within 2 of 255 levels of the
    float32 images in 99 % of cases (tests/test_inference.py)."""
    zt = torch.as_tensor(np.asarray(z, dtype=np.float32)).reshape(-1, gan.config.z_dim)
    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=preview and bf16_native()):
        return gan.generate(zt)[:, 0].float().numpy()


@functools.cache
def bf16_native() -> bool:
    """Whether this CPU has bfloat16 arithmetic (AVX512-BF16 or AMX); elsewhere oneDNN emulates
    it, slower than float32. ``ADVDL_BF16=0`` turns the preview's bfloat16 off."""
    if os.environ.get("ADVDL_BF16", "1") == "0":
        return False
    try:
        return bool(torch.cpu._is_avx512_bf16_supported() or torch.cpu._is_amx_tile_supported())
    except AttributeError:  # a torch without the probes
        return False


@torch.inference_mode()
def realness(gan: torch.nn.Module, img: np.ndarray) -> float:
    return float(gan.realness(as_batch(img))[0])


@torch.inference_mode()
def read_capsules(capsnet: torch.nn.Module, img: np.ndarray):
    """The CapsNet's output for one image (capsules, lengths, reconstruction, couplings)."""
    return capsnet(as_batch(img), return_couplings=True)


@torch.inference_mode()
def decode_capsule(capsnet: torch.nn.Module, capsule: np.ndarray, cls: int) -> np.ndarray:
    """Decoder images (N, 28, 28) from capsules (N, 16) placed in class ``cls``'s slot."""
    v = torch.as_tensor(np.asarray(capsule, dtype=np.float32)).reshape(-1, capsnet.config.digit_dim)
    return capsnet.decode(v, cls)[:, 0].numpy()


def transform(img: np.ndarray, degrees: float = 0.0, shift: tuple[float, float] = (0.0, 0.0), scale: float = 1.0,
              shear: float = 0.0) -> np.ndarray:
    """Rotate (degrees, counter-clockwise), shift (pixels, x then y), scale and shear (degrees,
    along x) a (28, 28) image about its centre; bilinear, zero fill."""
    if degrees == 0 and tuple(shift) == (0.0, 0.0) and scale == 1.0 and shear == 0:
        return np.asarray(img, dtype=np.float32)
    from torchvision.transforms.functional import InterpolationMode, affine

    out = affine(as_batch(img)[0], angle=float(degrees), translate=[float(shift[0]), float(shift[1])], scale=float(scale),
                 shear=[float(shear)], interpolation=InterpolationMode.BILINEAR)
    return out[0].numpy()


@torch.inference_mode()
def direction_filmstrips(gan: torch.nn.Module, z: np.ndarray, directions: np.ndarray, offsets: np.ndarray, steps: np.ndarray,
                         parts: int | None = None, preview: bool = False) -> np.ndarray:
    """Frames (K, S, 28, 28) for K direction sliders: slider k swept over ``steps`` (S values)
    while the others stay at ``offsets``; the latent is ``z + offsets @ directions``. ``parts``:
    see :func:`generate_split`; ``preview``: see :func:`generate`."""
    latents = direction_latents(z, directions, offsets, steps)
    K, S = latents.shape[:2]
    return generate_split(gan, latents.reshape(K * S, -1), parts, preview).reshape(K, S, 28, 28)


def direction_bases(z: np.ndarray, directions: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """(K, z_dim): for each slider k, the latent with the other sliders at their ``offsets`` and
    slider k at 0. Strip k depends only on its base: committing slider k leaves its own strip as
    it was (the same bytes, so that a cache finds it)."""
    d = np.asarray(directions, dtype=np.float32)
    off = np.asarray(offsets, dtype=np.float32)
    others = np.where(np.eye(len(off), dtype=bool), np.float32(0), off[None, :])  # (K, K): row k without slider k
    return np.asarray(z, dtype=np.float32)[None, :] + others @ d


def direction_latents(z: np.ndarray, directions: np.ndarray, offsets: np.ndarray, steps: np.ndarray) -> np.ndarray:
    """(K, S, z_dim): strip k's latents, its base (:func:`direction_bases`) plus each step along
    direction k."""
    d = np.asarray(directions, dtype=np.float32)
    bases = direction_bases(z, d, offsets)
    return bases[:, None, :] + np.asarray(steps, dtype=np.float32)[None, :, None] * d[:, None, :]


def generate_split(gan: torch.nn.Module, z: np.ndarray, parts: int | None = None, preview: bool = False) -> np.ndarray:
    """:func:`generate` for a large batch, in ``parts`` slices run side by side in threads (torch
    lets go of the interpreter lock; each thread keeps the one intra-op thread the app sets), so
    that one student's filmstrips take both cores of an idle server. Under load the work is the
    same, only shared. ``parts``: by default
    ``$ADVDL_SPLIT`` or the number of CPUs, at most 4; the same images as one batch."""
    z = np.asarray(z, dtype=np.float32).reshape(-1, gan.config.z_dim)
    if parts is None:
        parts = int(os.environ.get("ADVDL_SPLIT", min(os.cpu_count() or 1, 4)))
    parts = max(1, min(parts, len(z) // 32))  # slices of at least 32 images
    if parts == 1:
        return generate(gan, z, preview)
    slices = np.array_split(z, parts)
    out: list[np.ndarray | None] = [None] * parts
    errors: list[BaseException] = []

    def run(i: int) -> None:
        try:
            out[i] = generate(gan, slices[i], preview)  # inference mode and autocast are per thread: generate enters them
        except BaseException as exc:  # noqa: BLE001 - raised again in the caller
            errors.append(exc)

    helpers = [threading.Thread(target=run, args=(i,), name="advdl-generate") for i in range(1, parts)]
    for h in helpers:
        h.start()
    run(0)
    for h in helpers:
        h.join()
    if errors:
        raise errors[0]
    return np.concatenate(out)


@torch.inference_mode()
def capsule_filmstrips(capsnet: torch.nn.Module, capsule: np.ndarray, cls: int, offsets: np.ndarray, steps: np.ndarray) -> np.ndarray:
    """Frames (16, S, 28, 28): dimension d of the capsule swept over ``steps`` (added to the
    capsule; (S,) for every dimension, or (16, S) each its own) while the other dimensions keep
    their ``offsets``. With zero offsets this is the paper's Figure 4 for the capsule."""
    v = np.asarray(capsule, dtype=np.float32) + np.asarray(offsets, dtype=np.float32)  # (16,)
    D = v.shape[0]
    steps = np.broadcast_to(np.asarray(steps, dtype=np.float32), (D, np.shape(steps)[-1]))
    S = steps.shape[1]
    batch = np.repeat(np.repeat(v[None, None, :], D, 0), S, 1)  # (D, S, 16)
    for d in range(D):
        batch[d, :, d] = capsule[d] + steps[d]
    return decode_capsule(capsnet, batch.reshape(D * S, D), cls).reshape(D, S, 28, 28)


@torch.inference_mode()
def encode(model: torch.nn.Module, img: np.ndarray) -> np.ndarray:
    """An autoencoder's code of one image: (32,) for the dense ones, (32, 7, 7) for the conv ones."""
    return model.encode(as_batch(img))[0].numpy()


@torch.inference_mode()
def decode(model: torch.nn.Module, codes: np.ndarray) -> np.ndarray:
    """Images (N, 28, 28) from dense codes (N, code_dim)."""
    return model.decode(torch.as_tensor(np.asarray(codes, dtype=np.float32)))[:, 0].numpy()


def code_filmstrips(model: torch.nn.Module, code: np.ndarray, dims, steps: np.ndarray) -> np.ndarray:
    """Frames (K, S, 28, 28): code dimension ``dims[k]`` set to each of ``steps[k]`` (S values)
    while the others keep their values in ``code``."""
    steps = np.asarray(steps, dtype=np.float32)
    K, S = steps.shape
    batch = np.repeat(np.asarray(code, dtype=np.float32)[None, None, :], K, 0).repeat(S, 1)
    for k, d in enumerate(dims):
        batch[k, :, d] = steps[k]
    return decode(model, batch.reshape(K * S, -1)).reshape(K, S, 28, 28)
