"""The CapsNet layer by layer for one digit (course 5.3.2.2, the network's structure): what each
stage computes and its shape, for the capsule lab's walk through the network. Plain PyTorch.

    input 28 x 28 -> Conv1: 256 kernels of 9 x 9, ReLU -> 256 maps of 20 x 20
    -> PrimaryCaps: 32 types of 8-D capsules on a 6 x 6 grid (1152), squashed
    -> routing -> DigitCaps: 10 capsules of 16-D, their lengths the class probabilities
    -> decoder: the longest capsule (the others masked) -> 784 pixels
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F


@dataclass
class LayerWalk:
    image: np.ndarray  # (28, 28)
    kernels: np.ndarray  # (256, 9, 9) Conv1's weights
    conv1: np.ndarray  # (256, 20, 20) after ReLU
    primary: np.ndarray  # (32, 6, 6, 8) the primary capsules, by type, row, column
    digit: np.ndarray  # (10, 16) the digit capsules
    reconstruction: np.ndarray  # (28, 28) decoded from the longest capsule

    @property
    def primary_lengths(self) -> np.ndarray:
        """(32, 6, 6): how present each part type is at each position."""
        return np.linalg.norm(self.primary, axis=-1)

    @property
    def lengths(self) -> np.ndarray:
        return np.linalg.norm(self.digit, axis=-1)

    @property
    def predicted(self) -> int:
        return int(np.argmax(self.lengths))


@torch.inference_mode()
def walk(capsnet: torch.nn.Module, img: np.ndarray) -> LayerWalk:
    c = capsnet.config
    x = torch.as_tensor(np.asarray(img, dtype=np.float32)).reshape(1, 1, 28, 28)
    h = F.relu(capsnet.conv1(x))  # (1, 256, 20, 20)
    u = capsnet.primary_capsules(x)[0]  # (1152, 8), ordered (type, row, column)
    out = capsnet(x)
    return LayerWalk(
        image=x[0, 0].numpy(), kernels=capsnet.conv1.weight[:, 0].numpy(), conv1=h[0].numpy(),
        primary=u.reshape(c.primary_types, c.grid, c.grid, c.primary_dim).numpy(), digit=out.capsules[0].numpy(),
        reconstruction=out.reconstruction[0, 0].numpy(),
    )


def tile(maps: np.ndarray, columns: int, scale: float | None = None, pad: int = 1, low: float | None = None, zoom: int = 1) -> np.ndarray:
    """Maps (N, H, W) as one grid in [0, 1] on one shared scale (``scale``: the value shown white,
    default the largest magnitude; ``low``: the value shown black, for maps that all sit near one
    value), so that maps compare with each other. Signed maps (kernels) go from black (−scale)
    through grey (0) to white. ``zoom``: each pixel as a zoom x zoom block (crisp, not blurred)."""
    maps = np.asarray(maps, dtype=np.float32)
    if zoom > 1:
        maps = maps.repeat(zoom, axis=1).repeat(zoom, axis=2)
    top = float(scale if scale is not None else np.abs(maps).max()) or 1.0
    signed = maps.min() < 0 and low is None
    if low is not None:
        norm = (maps - low) / max(top - low, 1e-9)
    else:
        norm = (maps / top + 1) / 2 if signed else maps / top
    n, h, w = norm.shape
    rows = -(-n // columns)
    out = np.full((rows * (h + pad) + pad, columns * (w + pad) + pad), 0.15, np.float32)
    for i in range(n):
        r, k = divmod(i, columns)
        out[pad + r * (h + pad): pad + r * (h + pad) + h, pad + k * (w + pad): pad + k * (w + pad) + w] = np.clip(norm[i], 0, 1)
    return out
