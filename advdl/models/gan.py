"""A DCGAN for 28 x 28 digits, following Radford, Metz and Chintala (2015).

Generator: z (100-D, standard normal) -> linear projection reshaped to 7x7 maps -> a stride-1
transposed convolution that refines them -> strided transposed convolutions to 14x14 and 28x28,
BatchNorm and ReLU throughout, tanh output (images in [-1, 1]).
Discriminator: strided convolutions (no pooling), BatchNorm, LeakyReLU, no hidden fully
connected layer, one logit.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import torch
from torch import nn
from torch.nn import functional as F


@dataclass
class DCGANConfig:
    z_dim: int = 100
    ngf: int = 64  # generator width: 2*ngf maps at 7x7, ngf at 14x14
    ndf: int = 64  # discriminator width
    g_refine: int = 1  # stride-1 3x3 transposed convolutions at 7x7 before upsampling
    d_refine: int = 0  # stride-1 3x3 convolutions at 7x7 in the discriminator, before the logit


class Generator(nn.Module):
    def __init__(self, config: DCGANConfig):
        super().__init__()
        c, g = config, config.ngf
        self.project = nn.Sequential(nn.Linear(c.z_dim, 2 * g * 49, bias=False), nn.BatchNorm1d(2 * g * 49), nn.ReLU(True))
        refine = []
        for _ in range(c.g_refine):
            refine += [nn.ConvTranspose2d(2 * g, 2 * g, 3, 1, 1, bias=False), nn.BatchNorm2d(2 * g), nn.ReLU(True)]
        self.net = nn.Sequential(
            # state size. (2*ngf) x 7 x 7
            *refine,
            nn.ConvTranspose2d(2 * g, g, 4, 2, 1, bias=False), nn.BatchNorm2d(g), nn.ReLU(True),
            # state size. ngf x 14 x 14
            nn.ConvTranspose2d(g, 1, 4, 2, 1), nn.Tanh(),
            # state size. 1 x 28 x 28
        )
        self.ngf = g

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        h = self.project(z).view(-1, 2 * self.ngf, 7, 7)
        for layer in self.net[:-2]:
            h = layer(h)
        return torch.tanh(to_image(self.net[-2], h))


def to_image(conv: nn.ConvTranspose2d, h: torch.Tensor) -> torch.Tensor:
    """``conv(h)`` for a transposed convolution into few channels (the generator's last layer),
    as one matrix product and a col2im (``F.fold``): the same sums, many times faster on a CPU,
    where oneDNN runs a transposed convolution into one channel far below the machine's speed
    (tests/test_models.py checks the sums against the layer's own)."""
    assert conv.output_padding == (0, 0) and conv.dilation == (1, 1) and conv.groups == 1
    n, c, height, width = h.shape
    (kh, kw), (sh, sw), (ph, pw) = conv.kernel_size, conv.stride, conv.padding
    size = ((height - 1) * sh - 2 * ph + kh, (width - 1) * sw - 2 * pw + kw)
    cols = conv.weight.reshape(c, -1).t() @ h.reshape(n, c, height * width)  # (n, out * kh * kw, H * W)
    out = F.fold(cols, size, (kh, kw), padding=(ph, pw), stride=(sh, sw))
    return out if conv.bias is None else out + conv.bias.view(1, -1, 1, 1)


class Discriminator(nn.Module):
    def __init__(self, config: DCGANConfig):
        super().__init__()
        d = config.ndf
        refine = []
        for _ in range(config.d_refine):
            refine += [nn.Conv2d(2 * d, 2 * d, 3, 1, 1, bias=False), nn.BatchNorm2d(2 * d), nn.LeakyReLU(0.2, True)]
        self.net = nn.Sequential(
            # input 1 x 28 x 28 in [-1, 1]
            nn.Conv2d(1, d, 4, 2, 1), nn.LeakyReLU(0.2, True),
            # state size. ndf x 14 x 14
            nn.Conv2d(d, 2 * d, 4, 2, 1, bias=False), nn.BatchNorm2d(2 * d), nn.LeakyReLU(0.2, True),
            # state size. (2*ndf) x 7 x 7
            *refine,
            nn.Conv2d(2 * d, 1, 7, 1, 0),
            # state size. 1 x 1 x 1: the logit
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x).view(-1)


def _init_weights(m: nn.Module) -> None:
    # DCGAN: all weights from N(0, 0.02); BatchNorm scales from N(1, 0.02).
    if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
        nn.init.normal_(m.weight, 0.0, 0.02)
        if m.bias is not None:
            nn.init.zeros_(m.bias)
    elif isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)):
        nn.init.normal_(m.weight, 1.0, 0.02)
        nn.init.zeros_(m.bias)


class DCGAN(nn.Module):
    """Holds the generator and the discriminator; one checkpoint ships both."""

    def __init__(self, config: DCGANConfig | None = None):
        super().__init__()
        self.config = c = config or DCGANConfig()
        self.generator = Generator(c)
        self.discriminator = Discriminator(c)
        self.apply(_init_weights)

    @property
    def z_dim(self) -> int:
        return self.config.z_dim

    def sample_z(self, n: int, seed: int | None = None) -> torch.Tensor:
        g = torch.Generator().manual_seed(seed) if seed is not None else None
        return torch.randn(n, self.config.z_dim, generator=g)

    def generate(self, z: torch.Tensor) -> torch.Tensor:
        """Images (B, 1, 28, 28) in [0, 1] from latents (B, z_dim)."""
        return (self.generator(z) + 1) / 2

    def realness(self, x01: torch.Tensor) -> torch.Tensor:
        """The discriminator's probability that images in [0, 1] are real."""
        return torch.sigmoid(self.discriminator(x01 * 2 - 1))

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.generate(z)


@torch.no_grad()
def sefa_directions(gan: DCGAN, k: int = 8) -> tuple[torch.Tensor, torch.Tensor]:
    """The k most important latent directions, found in closed form from the generator itself.

    SeFa (Shen and Zhou, 2021): the directions n that the first layer moves most, i.e. the top
    eigenvectors of A^T A, where A is the first layer's weight. The projection's BatchNorm (in
    eval mode, a per-feature scale) is folded into A first. Returns (k, z_dim) unit vectors and
    their eigenvalues, most important first.
    """
    linear, bn = gan.generator.project[0], gan.generator.project[1]
    scale = bn.weight / torch.sqrt(bn.running_var + bn.eps)
    A = scale[:, None] * linear.weight  # (features, z_dim)
    eigvals, eigvecs = torch.linalg.eigh(A.T @ A)
    order = eigvals.argsort(descending=True)[:k]
    return eigvecs[:, order].T.contiguous(), eigvals[order]


def _grown(gan: DCGAN, net: str, field: str, count: int, first: int) -> DCGAN:
    """A GAN whose ``net`` ("generator" or "discriminator") has ``count`` refinement layers
    (config ``field``) instead of fewer, every trained tensor copied over: those of layers from
    index ``first`` of ``<net>.net`` on move ``3 x (new layers)`` places down."""
    old = getattr(gan.config, field)
    if count < old:
        raise ValueError(f"the {net} has {old} refinement layers; cannot go down to {count}")
    deeper = DCGAN(dataclasses.replace(gan.config, **{field: count})).to(_device(gan))
    state = deeper.state_dict()
    for key, value in gan.state_dict().items():
        parts = key.split(".")
        if parts[:2] == [net, "net"] and int(parts[2]) >= first:
            parts[2] = str(int(parts[2]) + 3 * (count - old))
        state[".".join(parts)] = value.clone()
    deeper.load_state_dict(state)
    return deeper


def _start_as_identity(layers: nn.Sequential, indices: range, h: torch.Tensor, g: torch.Generator) -> None:
    """Each 3x3 convolution at ``indices`` of ``layers`` (followed by its BatchNorm) made the
    identity on inputs like ``h`` (N, C, 7, 7): a centre-tap kernel plus noise of 1e-4 that
    breaks the channels' symmetry, and a BatchNorm whose scale and shift are the standard
    deviation and mean of ``h``, so normalizing undoes itself."""
    mean, std = h.mean((0, 2, 3)), h.std((0, 2, 3)).clamp_min(1e-5)
    channels = torch.arange(h.shape[1])
    for i in indices:
        conv, bn = layers[i], layers[i + 1]
        weight = torch.randn(conv.weight.shape, generator=g) * 1e-4
        weight[channels, channels, 1, 1] += 1
        conv.weight.copy_(weight)
        bn.weight.copy_(std), bn.bias.copy_(mean)
        bn.running_mean.copy_(mean), bn.running_var.copy_(std**2)


@torch.no_grad()
def deepen(gan: DCGAN, g_refine: int, seed: int = 0) -> DCGAN:
    """The same GAN with ``g_refine`` refinement layers in its generator instead of fewer, that
    starts as (nearly) the same function, to go on training a deeper generator from a trained
    one (Net2DeeperNet: Chen, Goodfellow and Shlens, 2016).

    The new 3x3 layers go after the existing ones; each starts as the identity on its input,
    measured on 1024 latents; the ReLU after it passes the non-negative maps unchanged.
    """
    old = gan.config.g_refine
    deeper = _grown(gan, "generator", "g_refine", g_refine, 3 * old)
    g = torch.Generator().manual_seed(seed)
    G = gan.generator
    was_training = G.training
    G.eval()
    h = G.net[: 3 * old](G.project(torch.randn(1024, gan.config.z_dim, generator=g).to(_device(gan))).view(-1, 2 * G.ngf, 7, 7))
    G.train(was_training)
    _start_as_identity(deeper.generator.net, range(3 * old, 3 * g_refine, 3), h, g)
    return deeper.train(gan.training)


@torch.no_grad()
def deepen_discriminator(gan: DCGAN, d_refine: int, seed: int = 0) -> DCGAN:
    """The same GAN with ``d_refine`` stride-1 3x3 layers at 7x7 in its discriminator instead
    of fewer, starting near the function it had (as :func:`deepen` does for the generator).

    Each new layer goes before the logit and starts as the identity on its input, measured on
    1024 of the generator's samples. Only the LeakyReLU after it differs from the identity, on
    the negative part of its input (times 0.2 instead of 1)."""
    head = 5 + 3 * gan.config.d_refine  # index of the logit's convolution in discriminator.net
    deeper = _grown(gan, "discriminator", "d_refine", d_refine, head)
    g = torch.Generator().manual_seed(seed)
    D, G = gan.discriminator, gan.generator
    modes = D.training, G.training
    h = D.eval().net[:head](G.eval()(torch.randn(1024, gan.config.z_dim, generator=g).to(_device(gan))))
    D.train(modes[0]), G.train(modes[1])
    _start_as_identity(deeper.discriminator.net, range(head, 5 + 3 * d_refine, 3), h, g)
    return deeper.train(gan.training)


def _device(module: nn.Module) -> torch.device:
    return next(module.parameters()).device
