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


OPS = {">=": lambda a, b: a >= b, "<=": lambda a, b: a <= b}


@dataclass(frozen=True)
class Bar:
    """One condition a shipped model's evaluation must meet: ``metrics[metric] op value``."""

    metric: str
    op: str
    value: float

    def met(self, metrics: dict) -> bool:
        v = metrics.get(self.metric)
        return isinstance(v, (int, float)) and OPS[self.op](v, self.value)

    def __str__(self) -> str:
        return f"{self.metric} {self.op} {self.value:g}"


@dataclass(frozen=True)
class Anchor:
    """A published figure to set a measure beside: the card's metric and the source's value."""

    metric: str
    value: str
    source: str


@dataclass(frozen=True)
class ModelSpec:
    """A named model: how to build it, and the policy that training, evaluation and the home
    page share (how its weights are stored, whether it trains in bfloat16, its bars, its anchors)."""

    name: str
    model_cls: type[nn.Module]
    config_cls: type
    title: str
    bars: tuple[Bar, ...] = ()
    anchors: tuple[Anchor, ...] = ()
    store_dtype: str = "float32"
    amp: bool = False  # may train with --amp bf16

    def meets_bar(self, metrics: dict) -> bool:
        return bool(self.bars) and all(b.met(metrics) for b in self.bars)


_AE_ANCHOR = "test_bce"
MODELS: dict[str, ModelSpec] = {
    s.name: s
    for s in [
        ModelSpec("cnn", CNN, CNNConfig, "CNN baseline",
                  bars=(Bar("test_accuracy", ">=", 0.994), Bar("restyled_accuracy", ">=", 0.98)),
                  anchors=(Anchor("test_error_pct", "0.39 %", "Sabour et al. 2017, baseline CNN of 35 M parameters"),
                           Anchor("restyled_accuracy", "≥ 98 %", "this project's bar")), store_dtype="float32"),
        ModelSpec("ae_plain", PlainAutoencoder, PlainAEConfig, "Plain autoencoder",
                  bars=(Bar("test_bce", "<=", 0.095),), anchors=(Anchor(_AE_ANCHOR, "≈ 0.09", "Keras blog, 50 epochs"),)),
        ModelSpec("ae_deep", DeepAutoencoder, DeepAEConfig, "Deep autoencoder",
                  bars=(Bar("test_bce", "<=", 0.088),), anchors=(Anchor(_AE_ANCHOR, "≈ 0.08", "Keras blog, 100 epochs"),)),
        ModelSpec("ae_conv", ConvAutoencoder, ConvAEConfig, "Convolutional autoencoder",
                  bars=(Bar("test_bce", "<=", 0.068),), anchors=(Anchor(_AE_ANCHOR, "0.062", "keras.io, 50 epochs"),)),
        ModelSpec("ae_denoise", DenoisingAutoencoder, DenoisingAEConfig, "Denoising autoencoder",
                  bars=(Bar("psnr_gain_over_conv_at_0.5", ">=", 4.0),),
                  anchors=(Anchor("psnr_gain_over_conv_at_0.5", "≥ +4 dB", "this project's bar"),)),
        ModelSpec("dcgan", DCGAN, DCGANConfig, "DCGAN",
                  bars=(Bar("confident_share", ">=", 0.9), Bar("class_share_min", ">=", 0.05),
                        Bar("class_share_max", "<=", 0.15), Bar("frechet_ratio", "<=", 10.0)),
                  anchors=(Anchor("confident_share", "≥ 90 %", "this project's bar"),
                           Anchor("frechet_ratio", "≤ 10 ×", "the train–test floor")), amp=True),
        ModelSpec("capsnet", CapsNet, CapsNetConfig, "CapsNet",
                  bars=(Bar("test_accuracy", ">=", 0.995),),
                  anchors=(Anchor("test_error_pct", "0.25 %", "Sabour et al. 2017"),
                           Anchor("restyled_accuracy", "≥ 98 %", "this project's bar")), store_dtype="float16", amp=True),
    ]
}
AUTOENCODERS = ("ae_plain", "ae_deep", "ae_conv", "ae_denoise")


def build(name: str, config=None) -> nn.Module:
    """A fresh model by registry name, with its default config unless one is given."""
    spec = MODELS[name]
    return spec.model_cls(config if config is not None else spec.config_cls())


__all__ = [
    "MODELS", "AUTOENCODERS", "ModelSpec", "Bar", "Anchor", "build",
    "CNN", "CNNConfig", "PlainAutoencoder", "PlainAEConfig", "DeepAutoencoder", "DeepAEConfig",
    "ConvAutoencoder", "ConvAEConfig", "DenoisingAutoencoder", "DenoisingAEConfig",
    "DCGAN", "DCGANConfig", "Generator", "Discriminator",
    "CapsNet", "CapsNetConfig", "squash", "dynamic_routing", "dynamic_routing_loop",
]
