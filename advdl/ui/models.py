"""Cached, shared model loading for the pages.

Models are loaded once per server (``st.cache_resource``) and only used for inference, so many
sessions can share them. A missing or damaged checkpoint becomes a translated message naming the
command that trains it; the page goes on without the parts that need that model.
"""

from __future__ import annotations

import os

import streamlit as st
import torch

from advdl import checkpoints
from advdl.checkpoints import CheckpointError

from .i18n import t

# One intra-op thread per inference: sessions run in threads of their own, and several torch
# thread pools competing for 2 cores made a single CNN forward pass 100x slower (1.4 ms against
# 147 ms while another process trained, measured by scripts/bench.py).
torch.set_num_threads(int(os.environ.get("ADVDL_TORCH_THREADS", "1")))


@st.cache_resource(show_spinner=False, max_entries=32)
def _load(name: str, root: str, stamp: float):
    # ``stamp`` (the weights' mtime) makes a retrained checkpoint load anew.
    return checkpoints.load_model(name, root)


def _stamp(name: str, root: str) -> float:
    try:
        return os.path.getmtime(checkpoints.checkpoint_dir(name, root) / checkpoints.WEIGHTS)
    except OSError:
        return 0.0


def get_model(name: str, show_error: bool = True) -> torch.nn.Module | None:
    """The model ``name`` in eval mode, or None after showing why it cannot be loaded."""
    root = str(checkpoints.checkpoint_root())
    try:
        return _load(name, root, _stamp(name, root))
    except CheckpointError as exc:
        if show_error:
            show_checkpoint_error(exc)
        return None


def show_checkpoint_error(exc: CheckpointError) -> None:
    st.error(t(exc.code, name=exc.name, cmd=checkpoints.train_command(exc.name), detail=str(exc)))


def get_card(name: str) -> dict | None:
    try:
        return checkpoints.read_card(name)
    except CheckpointError:
        return None
