"""Reading and writing a lab's view in the URL, defensively: anything malformed gives None
and the page falls back to its default."""

from __future__ import annotations

import base64
import binascii

import numpy as np


def parse_int(value, lo: int, hi: int) -> int | None:
    try:
        v = int(str(value).strip())
    except (TypeError, ValueError):
        return None
    return v if lo <= v <= hi else None


def parse_indices(value, n: int, hi: int) -> list[int] | None:
    """A comma-separated list of exactly ``n`` integers in [0, hi]."""
    if not isinstance(value, str):
        return None
    parts = value.split(",")
    if len(parts) != n:
        return None
    out = [parse_int(p, 0, hi) for p in parts]
    return None if any(v is None for v in out) else out


def encode_latent(z: np.ndarray) -> str:
    """A latent as URL-safe base64 of float16 (100-D: 268 characters)."""
    return base64.urlsafe_b64encode(np.asarray(z, dtype="<f2").tobytes()).decode("ascii").rstrip("=")


def decode_latent(value, dim: int) -> np.ndarray | None:
    """The latent of :func:`encode_latent`, or None unless it is exactly ``dim`` finite numbers."""
    if not isinstance(value, str) or len(value) > 4 * dim:
        return None
    try:
        raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
    except (binascii.Error, ValueError):
        return None
    if len(raw) != 2 * dim:
        return None
    z = np.frombuffer(raw, dtype="<f2").astype(np.float32)
    return z if np.isfinite(z).all() and np.abs(z).max() < 20 else None
