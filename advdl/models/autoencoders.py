"""The four autoencoders of the course (5.2): plain, deep, convolutional and denoising.

All take images (B, 1, 28, 28) in [0, 1] and return reconstructions of the same shape through
a sigmoid; each has ``encode`` and ``decode``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import nn


@dataclass
class PlainAEConfig:
    code_dim: int = 32


@dataclass
class DeepAEConfig:
    hidden: list[int] = field(default_factory=lambda: [128, 64, 32])  # 784-128-64-32-64-128-784


@dataclass
class ConvAEConfig:
    channels: int = 32


@dataclass
class DenoisingAEConfig(ConvAEConfig):
    noise_factor: float = 0.5  # Gaussian noise added in training, then clipped to [0, 1]


def _keep_code_alive(layer: nn.Linear) -> None:
    # A ReLU code unit that goes negative for every input never recovers; with the default init
    # about a quarter of the 32 units die early in training, costing ~0.01 of test BCE. A
    # positive initial bias keeps them all in use.
    nn.init.constant_(layer.bias, 0.5)


class PlainAutoencoder(nn.Module):
    """784 -> 32 (ReLU) -> 784 (sigmoid), as in the Keras blog the course follows."""

    def __init__(self, config: PlainAEConfig | None = None):
        super().__init__()
        self.config = c = config or PlainAEConfig()
        self.encoder = nn.Sequential(nn.Flatten(), nn.Linear(784, c.code_dim), nn.ReLU())
        self.decoder = nn.Sequential(nn.Linear(c.code_dim, 784), nn.Sigmoid())
        _keep_code_alive(self.encoder[1])

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        return self.encoder(x)  # (B, code_dim)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        return self.decoder(z).view(-1, 1, 28, 28)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.decode(self.encode(x))


class DeepAutoencoder(nn.Module):
    """Stacked fully connected layers, mirrored: 784-128-64-32-64-128-784."""

    def __init__(self, config: DeepAEConfig | None = None):
        super().__init__()
        self.config = c = config or DeepAEConfig()
        dims = [784, *c.hidden]
        enc: list[nn.Module] = [nn.Flatten()]
        for a, b in zip(dims[:-1], dims[1:]):
            enc += [nn.Linear(a, b), nn.ReLU()]
        dec: list[nn.Module] = []
        rev = dims[::-1]
        for i, (a, b) in enumerate(zip(rev[:-1], rev[1:])):
            dec += [nn.Linear(a, b), nn.Sigmoid() if i == len(rev) - 2 else nn.ReLU()]
        self.encoder, self.decoder = nn.Sequential(*enc), nn.Sequential(*dec)
        _keep_code_alive(self.encoder[-2])

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        return self.encoder(x)  # (B, 32)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        return self.decoder(z).view(-1, 1, 28, 28)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.decode(self.encode(x))


class ConvAutoencoder(nn.Module):
    """Exactly the course's layers: (Conv 32 3x3 same + MaxPool 2) x 2 -> 7x7x32 code;
    (Conv 32 3x3 + UpSampling 2) x 2; Conv 1 3x3 sigmoid."""

    def __init__(self, config: ConvAEConfig | None = None):
        super().__init__()
        self.config = c = config or ConvAEConfig()
        k = c.channels
        self.encoder = nn.Sequential(
            nn.Conv2d(1, k, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),  # k x 14 x 14
            nn.Conv2d(k, k, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),  # k x 7 x 7
        )
        self.decoder = nn.Sequential(
            nn.Conv2d(k, k, 3, padding=1), nn.ReLU(), nn.Upsample(scale_factor=2),  # k x 14 x 14
            nn.Conv2d(k, k, 3, padding=1), nn.ReLU(), nn.Upsample(scale_factor=2),  # k x 28 x 28
            nn.Conv2d(k, 1, 3, padding=1), nn.Sigmoid(),  # 1 x 28 x 28
        )

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        return self.encoder(x)  # (B, 32, 7, 7)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        return self.decoder(z)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.decode(self.encode(x))


class DenoisingAutoencoder(ConvAutoencoder):
    """The convolutional architecture, trained on noisy input against the clean image."""

    def __init__(self, config: DenoisingAEConfig | None = None):
        super().__init__(config or DenoisingAEConfig())
