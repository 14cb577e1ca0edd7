"""A small CNN baseline for MNIST.

It labels GAN samples, gives the penultimate features for the GAN's Frechet distance, and is
the CNN that the capsule lab compares with the CapsNet.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn


@dataclass
class CNNConfig:
    channels: int = 32
    hidden: int = 128
    num_classes: int = 10
    dropout: float = 0.3


class CNN(nn.Module):
    def __init__(self, config: CNNConfig | None = None):
        super().__init__()
        self.config = c = config or CNNConfig()
        k = c.channels

        def block(cin, cout):
            return [nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True)]

        self.features = nn.Sequential(
            *block(1, k), *block(k, k), nn.MaxPool2d(2),  # k x 14 x 14
            *block(k, 2 * k), *block(2 * k, 2 * k), nn.MaxPool2d(2),  # 2k x 7 x 7
            nn.Flatten(),
            nn.Dropout(c.dropout),
            nn.Linear(2 * k * 49, c.hidden),
            nn.ReLU(inplace=True),  # penultimate features: (B, hidden)
        )
        self.head = nn.Sequential(nn.Dropout(c.dropout), nn.Linear(c.hidden, c.num_classes))

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """Penultimate features (B, hidden) of images (B, 1, 28, 28) in [0, 1]."""
        return self.features(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Class logits (B, 10)."""
        return self.head(self.features(x))
