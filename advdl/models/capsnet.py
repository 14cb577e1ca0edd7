"""CapsNet with dynamic routing, after Sabour, Frosst and Hinton (2017), "Dynamic Routing Between
Capsules".

Conv1 (256, 9x9, ReLU) -> PrimaryCaps (32 channels of 8-D capsules, 9x9 stride 2: 6x6x32 =
1152 capsules) -> DigitCaps (10 x 16-D, 3 iterations of routing by agreement) -> the length of
each digit capsule is the probability that its digit is present. A decoder (16x10 masked ->
512 -> 1024 -> 784) reconstructs the input from the digit capsules.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import nn


@dataclass
class CapsNetConfig:
    conv_channels: int = 256
    primary_types: int = 32
    primary_dim: int = 8
    num_classes: int = 10
    digit_dim: int = 16
    routing_iters: int = 3
    m_plus: float = 0.9
    m_minus: float = 0.1
    lambda_: float = 0.5
    recon_weight: float = 0.0005

    @property
    def grid(self) -> int:
        return 6  # 28 -9+1 = 20 -> (20 - 9) // 2 + 1 = 6

    @property
    def num_primary(self) -> int:
        return self.grid * self.grid * self.primary_types  # 1152


def squash(s: torch.Tensor, dim: int = -1, eps: float = 1e-8) -> torch.Tensor:
    """v = |s|^2 / (1 + |s|^2) * s / |s|: keeps the direction, maps the length into [0, 1)."""
    sq = (s * s).sum(dim=dim, keepdim=True)
    return s * (sq / (1.0 + sq) / torch.sqrt(sq + eps))


def dynamic_routing(u_hat: torch.Tensor, iters: int = 3) -> tuple[torch.Tensor, list[torch.Tensor]]:
    """Routing by agreement, vectorized over the batch, input and output capsules.

    ``u_hat``: predictions (B, n_in, n_out, d_out). The routing logits start at zero for every
    input. Returns the output capsules (B, n_out, d_out) and the coupling coefficients of every
    iteration, each (B, n_in, n_out), summing to 1 over the outputs. The gradient flows through
    every iteration (no stop-gradient), computed by :class:`_Routing`'s own backward pass.
    """
    B, n_in, n_out, d = u_hat.shape
    # One contiguous copy with the output capsule next to the batch: then the weighted sums and
    # the agreements are batched matrix products over (batch x output) pairs, forward and back
    # (faster than einsum on the original layout: bench.py's routing figures).
    u = u_hat.permute(0, 2, 1, 3).reshape(B * n_out, n_in, d)
    v, c = _Routing.apply(u, B, iters)
    return v, [ci.transpose(1, 2) for ci in c.unbind(0)]  # each (B, n_in, n_out), as the loop returns


class _Routing(torch.autograd.Function):
    """The routing iterations on predictions laid out as (batch x output, input, dim).

    Autograd would write one full-size gradient of the predictions for each of their 2 x iters - 1
    uses and add them up (many passes over a step's largest tensor); this backward
    collects the coefficients of those outer products and writes the gradient once, as one batched
    product of rank 2 x iters - 1. Equal to autograd's gradient (tests compare them in float64).
    """

    @staticmethod
    def forward(ctx, u: torch.Tensor, batch: int, iters: int):
        N, n_in, d = u.shape
        n_out = N // batch
        b = u.new_zeros(batch, n_out, n_in)
        cs, ss, vs = [], [], []
        for r in range(iters):
            c = F.softmax(b, dim=1)  # over the outputs
            s = torch.bmm(c.view(N, 1, n_in), u).view(N, d)
            v = squash(s)
            cs.append(c), ss.append(s), vs.append(v)
            if r < iters - 1:
                b = b + torch.bmm(u, v.view(N, d, 1)).view(batch, n_out, n_in)
        ctx.save_for_backward(u, *cs, *ss, *vs)
        ctx.iters, ctx.batch = iters, batch
        couplings = torch.stack(cs)
        ctx.mark_non_differentiable(couplings)
        return v.view(batch, n_out, d), couplings

    @staticmethod
    def backward(ctx, grad_v: torch.Tensor, _grad_couplings: torch.Tensor | None):
        R, batch = ctx.iters, ctx.batch
        u, saved = ctx.saved_tensors[0], ctx.saved_tensors[1:]
        cs, ss, vs = saved[:R], saved[R: 2 * R], saved[2 * R:]
        N, n_in, d = u.shape
        n_out = N // batch
        left, right = [], []  # grad_u = sum_k left_k (N, n_in) outer right_k (N, d)
        g_b = None  # gradient of the logits b_{r+1}
        g_v = grad_v.reshape(N, d)
        for r in reversed(range(R)):
            if r < R - 1:  # b_{r+1} = b_r + <u, v_r>: the agreement's gradient is g_b
                g_a = g_b.reshape(N, n_in)
                g_v = torch.bmm(g_a.view(N, 1, n_in), u).view(N, d)
                left.append(g_a), right.append(vs[r])
            with torch.enable_grad():
                s = ss[r].detach().requires_grad_()
                (g_s,) = torch.autograd.grad(squash(s), s, g_v)
            c = cs[r]
            g_c = torch.bmm(u, g_s.view(N, d, 1)).view(batch, n_out, n_in)
            left.append(c.reshape(N, n_in)), right.append(g_s)
            g_logits = c * (g_c - (c * g_c).sum(dim=1, keepdim=True))  # softmax over the outputs
            g_b = g_logits if g_b is None else g_b + g_logits
        grad_u = torch.bmm(torch.stack(left, dim=2), torch.stack(right, dim=1))  # (N, n_in, d)
        return grad_u, None, None


def dynamic_routing_loop(u_hat: torch.Tensor, iters: int = 3) -> tuple[torch.Tensor, list[torch.Tensor]]:
    """The same routing written plainly, looping over the output capsules.

    A reference for tests and for the benchmark; :func:`dynamic_routing` is what the model uses.
    """
    n_out = u_hat.shape[2]
    b = u_hat.new_zeros(u_hat.shape[:3])
    couplings = []
    for r in range(iters):
        c = F.softmax(b, dim=2)
        couplings.append(c)
        vs = []
        for j in range(n_out):
            s_j = (c[:, :, j].unsqueeze(-1) * u_hat[:, :, j, :]).sum(dim=1)
            vs.append(squash(s_j))
        v = torch.stack(vs, dim=1)
        if r < iters - 1:
            agreements = [(u_hat[:, :, j, :] * v[:, j].unsqueeze(1)).sum(-1) for j in range(n_out)]
            b = b + torch.stack(agreements, dim=2)
    return v, couplings


@dataclass
class CapsOutput:
    capsules: torch.Tensor  # (B, 10, 16) digit capsules
    lengths: torch.Tensor  # (B, 10) their lengths: the class probabilities
    reconstruction: torch.Tensor  # (B, 1, 28, 28)
    couplings: list[torch.Tensor] = field(default_factory=list)  # per iteration (B, 1152, 10)


class CapsNet(nn.Module):
    def __init__(self, config: CapsNetConfig | None = None):
        super().__init__()
        self.config = c = config or CapsNetConfig()
        self.conv1 = nn.Conv2d(1, c.conv_channels, 9)
        self.primary = nn.Conv2d(c.conv_channels, c.primary_types * c.primary_dim, 9, stride=2)
        # W_ij: one 16x8 matrix for each (primary capsule i, digit capsule j)
        self.W = nn.Parameter(0.01 * torch.randn(c.num_primary, c.num_classes, c.digit_dim, c.primary_dim))
        self.decoder = nn.Sequential(
            nn.Linear(c.digit_dim * c.num_classes, 512), nn.ReLU(inplace=True),
            nn.Linear(512, 1024), nn.ReLU(inplace=True),
            nn.Linear(1024, 784), nn.Sigmoid(),
        )

    # Training can run the two convolutions (three quarters of a step's time on a CPU) in
    # bfloat16 (train.py --amp bf16); the routing, the decoder and the weights stay float32.
    # Not part of the config: inference and the shipped checkpoints are float32.
    conv_dtype: torch.dtype | None = None

    def primary_capsules(self, x: torch.Tensor) -> torch.Tensor:
        """(B, 1152, 8) squashed primary capsules, ordered (type, row, column)."""
        c = self.config
        with torch.autocast(x.device.type, dtype=self.conv_dtype or torch.bfloat16, enabled=self.conv_dtype is not None):
            h = self.primary(F.relu(self.conv1(x)))  # (B, 32*8, 6, 6)
        h = h.float()
        B = h.shape[0]
        h = h.view(B, c.primary_types, c.primary_dim, c.grid, c.grid).permute(0, 1, 3, 4, 2)
        return squash(h.reshape(B, c.num_primary, c.primary_dim))

    def digit_capsules(self, x: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        u = self.primary_capsules(x)
        u_hat = torch.einsum("ijdk,bik->bijd", self.W, u)  # (B, 1152, 10, 16)
        return dynamic_routing(u_hat, self.config.routing_iters)

    def decode(self, capsule: torch.Tensor, cls: torch.Tensor | int) -> torch.Tensor:
        """Reconstruct from one 16-D vector per image, placed in the slot of class ``cls``.

        ``capsule``: (B, 16) or (16,); ``cls``: an int or (B,) ints. Returns (B, 1, 28, 28).
        """
        c = self.config
        if capsule.dim() == 1:
            capsule = capsule.unsqueeze(0)
        B = capsule.shape[0]
        cls = torch.as_tensor(cls, device=capsule.device).long()
        if cls.dim() == 0:
            cls = cls.expand(B)
        masked = capsule.new_zeros(B, c.num_classes, c.digit_dim)
        masked[torch.arange(B, device=capsule.device), cls] = capsule
        return self.decoder(masked.flatten(1)).view(B, 1, 28, 28)

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None, return_couplings: bool = False) -> CapsOutput:
        """Digit capsules, their lengths and the reconstruction, masked by the label ``y`` when
        given (training) and by the longest capsule otherwise (inference)."""
        v, couplings = self.digit_capsules(x)
        lengths = v.norm(dim=-1)
        cls = y if y is not None else lengths.argmax(dim=1)
        chosen = v[torch.arange(v.shape[0], device=v.device), cls]
        recon = self.decode(chosen, cls)
        return CapsOutput(v, lengths, recon, couplings if return_couplings else [])

    def loss(self, out: CapsOutput, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(total, margin, reconstruction) losses, each averaged over the batch."""
        c = self.config
        t = F.one_hot(y, c.num_classes).float()
        L = out.lengths
        margin = (t * F.relu(c.m_plus - L) ** 2 + c.lambda_ * (1 - t) * F.relu(L - c.m_minus) ** 2).sum(1).mean()
        recon = ((out.reconstruction - x) ** 2).flatten(1).sum(1).mean()
        return margin + c.recon_weight * recon, margin, recon
