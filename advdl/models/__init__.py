"""The course's models, one family per file, and the registry that names each shipped model."""

from __future__ import annotations

from dataclasses import dataclass

from torch import nn

from .autoencoders import (
    ConvAEConfig,
    ConvAutoencoder,
    DeepAEConfig,
    DeepAutoencoder,
    DenoisingAEConfig,
    DenoisingAutoencoder,
    PlainAEConfig,
    PlainAutoencoder,
)
from .capsnet import CapsNet, CapsNetConfig, dynamic_routing, dynamic_routing_loop, squash
from .classifier import CNN, CNNConfig
from .gan import DCGAN, DCGANConfig, Discriminator, Generator


@dataclass(frozen=True)
class ModelSpec:
    """How to build a named model: its class and config class, and what it is."""

    name: str
    model_cls: type[nn.Module]
    config_cls: type
    title: str


MODELS: dict[str, ModelSpec] = {
    s.name: s
    for s in [
        ModelSpec("cnn", CNN, CNNConfig, "CNN baseline"),
        ModelSpec("ae_plain", PlainAutoencoder, PlainAEConfig, "Plain autoencoder"),
        ModelSpec("ae_deep", DeepAutoencoder, DeepAEConfig, "Deep autoencoder"),
        ModelSpec("ae_conv", ConvAutoencoder, ConvAEConfig, "Convolutional autoencoder"),
        ModelSpec("ae_denoise", DenoisingAutoencoder, DenoisingAEConfig, "Denoising autoencoder"),
        ModelSpec("dcgan", DCGAN, DCGANConfig, "DCGAN"),
        ModelSpec("capsnet", CapsNet, CapsNetConfig, "CapsNet"),
    ]
}
AUTOENCODERS = ("ae_plain", "ae_deep", "ae_conv", "ae_denoise")


def build(name: str, config=None) -> nn.Module:
    """A fresh model by registry name, with its default config unless one is given."""
    spec = MODELS[name]
    return spec.model_cls(config if config is not None else spec.config_cls())


__all__ = [
    "MODELS", "AUTOENCODERS", "ModelSpec", "build",
    "CNN", "CNNConfig", "PlainAutoencoder", "PlainAEConfig", "DeepAutoencoder", "DeepAEConfig",
    "ConvAutoencoder", "ConvAEConfig", "DenoisingAutoencoder", "DenoisingAEConfig",
    "DCGAN", "DCGANConfig", "Generator", "Discriminator",
    "CapsNet", "CapsNetConfig", "squash", "dynamic_routing", "dynamic_routing_loop",
]
