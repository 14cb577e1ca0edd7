"""Dynamic routing for one digit, iteration by iteration, in the terms the capsule lab shows
(course 5.3.2: lower capsules vote for higher ones; routing decides whose votes count).

For each iteration r: the coupling coefficients c_ij (how much primary capsule i sends to digit
capsule j; uniform, 1/10, at the first iteration), the digit capsules' lengths, each primary
capsule's contribution to the predicted class (c_ij times the length of its vote û_j|i), and how
few primary capsules carry half of that class's weight. The votes of the two most likely classes
are projected to 2-D (their own principal plane) with their weighted sums. Plain PyTorch.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from advdl.models.capsnet import squash

ITERATIONS = (1, 3, 5)  # the switch's choices; the shipped CapsNet trained with 3


@dataclass
class RoutingTrace:
    couplings: np.ndarray  # (R, 1152, 10)
    lengths: np.ndarray  # (R, 10) the digit capsules' lengths after each iteration
    vote_lengths: np.ndarray  # (1152, 10) ‖û_j|i‖
    predicted: int  # the longest capsule after the last iteration
    types: int  # primary capsule types (32); capsule i = (type, row, column)
    grid: int  # 6

    @property
    def iterations(self) -> int:
        return len(self.lengths)

    def contributions(self, r: int, cls: int | None = None) -> np.ndarray:
        """(1152,) each primary capsule's weight in class ``cls`` (default: the predicted one) at
        iteration ``r`` (from 0): c_ij · ‖û_j|i‖."""
        j = self.predicted if cls is None else cls
        return self.couplings[r, :, j] * self.vote_lengths[:, j]

    def contribution_map(self, r: int, cls: int | None = None) -> np.ndarray:
        """(grid, grid): at each position the strongest contribution over the capsule types."""
        return self.contributions(r, cls).reshape(self.types, self.grid, self.grid).max(0)

    def carrying_half(self, r: int, cls: int | None = None) -> int:
        """How many primary capsules, strongest first, carry half of the class's total weight."""
        w = np.sort(self.contributions(r, cls))[::-1]
        return int(np.searchsorted(np.cumsum(w), 0.5 * w.sum()) + 1)

    def margin(self, r: int) -> float:
        """The top class's length minus the second's, after iteration ``r``."""
        top = np.sort(self.lengths[r])[::-1]
        return float(top[0] - top[1])

    def deviation_map(self, r: int, cls: int | None = None) -> np.ndarray:
        """(grid, grid): the coupling to the class minus uniform (1/10), averaged over the types."""
        j = self.predicted if cls is None else cls
        return (self.couplings[r, :, j] - 1.0 / self.couplings.shape[2]).reshape(self.types, self.grid, self.grid).mean(0)


@torch.inference_mode()
def votes(capsnet: torch.nn.Module, img: np.ndarray) -> np.ndarray:
    """The votes û (1152, 10, 16) of one image's (28, 28) primary capsules for the digit capsules:
    the convolutions' work, the same for any number of routing iterations."""
    x = torch.as_tensor(np.asarray(img, dtype=np.float32)).reshape(1, 1, 28, 28)
    u = capsnet.primary_capsules(x)[0]  # (1152, 8)
    return torch.einsum("ijdk,ik->ijd", capsnet.W, u).numpy()  # (1152, 10, 16)


@torch.inference_mode()
def trace(capsnet: torch.nn.Module, img: np.ndarray, iters: int = 3, u_hat: np.ndarray | None = None) -> tuple[RoutingTrace, np.ndarray]:
    """Route one image (28, 28) in [0, 1] through ``iters`` iterations; returns the trace and the
    votes û (1152, 10, 16). ``u_hat``: the image's :func:`votes`, if already made."""
    c = capsnet.config
    u_hat = torch.as_tensor(votes(capsnet, img) if u_hat is None else u_hat)
    b = torch.zeros(u_hat.shape[:2])
    cs, lengths = [], []
    for r in range(iters):
        coupling = F.softmax(b, dim=1)  # over the digit capsules
        v = squash((coupling.unsqueeze(-1) * u_hat).sum(0))  # (10, 16)
        cs.append(coupling.numpy())
        lengths.append(v.norm(dim=-1).numpy())
        if r < iters - 1:
            b = b + (u_hat * v.unsqueeze(0)).sum(-1)
    out = RoutingTrace(np.stack(cs), np.stack(lengths), u_hat.norm(dim=-1).numpy(), int(np.argmax(lengths[-1])), c.primary_types, c.grid)
    return out, u_hat.numpy()


def vote_plane(u_hat: np.ndarray, couplings: np.ndarray, classes: tuple[int, int]) -> dict:
    """The votes for two classes in 2-D: both classes' votes (1152 each) projected onto the plane of
    their two principal axes (the 16-D votes of both, centred), with their weighted sums s_j."""
    both = np.concatenate([u_hat[:, j] for j in classes]).astype(np.float64)  # (2304, 16)
    centre = both.mean(0)
    d = both - centre
    # the principal axes from the 16 x 16 scatter matrix (eigh) rather than an SVD of the 2304 x 16
    # votes: the same axes, without a BLAS call that spins threads in a busy server
    _, vecs = np.linalg.eigh(d.T @ d)
    plane = vecs[:, ::-1][:, :2].T
    out = {}
    for j in classes:
        pts = (u_hat[:, j] - centre) @ plane.T
        s = (couplings[:, j, None] * u_hat[:, j]).sum(0)
        out[j] = {"points": pts, "weights": couplings[:, j], "sum": (s - centre) @ plane.T, "origin": -centre @ plane.T}
    return out
