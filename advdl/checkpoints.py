"""Self-describing checkpoints: ``checkpoints/<name>/model.safetensors`` plus ``card.json``.

The card holds everything needed to rebuild the model (its registry name and config) and what
a reader wants to know about it (training arguments, seed, epochs, wall time, device, library
versions, metrics). :func:`load_model` rebuilds a model from the card alone, checks every
tensor's name and shape, and returns it in eval mode. Nothing is unpickled.
"""

from __future__ import annotations

import csv
import dataclasses
import json
import os
import platform
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file
from torch import nn

from .models import MODELS

ROOT = Path(__file__).resolve().parent.parent
WEIGHTS, CARD, HISTORY = "model.safetensors", "card.json", "history.csv"


class CheckpointError(RuntimeError):
    """Base class; ``code`` names the message the UI shows, ``name`` the model."""

    code = "checkpoint_error"

    def __init__(self, name: str, message: str):
        super().__init__(message)
        self.name = name


class CheckpointMissingError(CheckpointError):
    code = "checkpoint_missing"


class CheckpointCorruptError(CheckpointError):
    code = "checkpoint_corrupt"


class CheckpointMismatchError(CheckpointError):
    code = "checkpoint_mismatch"


def checkpoint_root() -> Path:
    """Where checkpoints live: ``$ADVDL_CHECKPOINTS`` or the repository's ``checkpoints/``."""
    return Path(os.environ.get("ADVDL_CHECKPOINTS", ROOT / "checkpoints"))


def train_command(name: str) -> str:
    return f"python scripts/train.py --model {name} --data-root ../shared/data"


def checkpoint_dir(name: str, root: str | Path | None = None) -> Path:
    return Path(root or checkpoint_root()) / name


def library_versions() -> dict[str, str]:
    import numpy
    import safetensors

    return {
        "python": platform.python_version(),
        "torch": torch.__version__,
        "numpy": numpy.__version__,
        "safetensors": safetensors.__version__,
    }


def save(
    model: nn.Module,
    name: str,
    root: str | Path | None = None,
    card: dict[str, Any] | None = None,
    dtype: torch.dtype | None = None,
) -> Path:
    """Write the model's weights and card under ``root/name``; returns the folder.

    ``card`` adds fields (training args, seed, epochs, metrics, ...) to the ones written here.
    ``dtype`` stores floating-point tensors in that type (e.g. ``torch.float16``) to save space.
    """
    if name not in MODELS:
        raise KeyError(f"unknown model {name!r}; known: {sorted(MODELS)}")
    folder = checkpoint_dir(name, root)
    folder.mkdir(parents=True, exist_ok=True)
    tensors = {}
    for key, t in model.state_dict().items():
        t = t.detach().cpu()
        if dtype is not None and t.is_floating_point():
            t = t.to(dtype)
        tensors[key] = t.contiguous()
    body = {
        "name": name,
        "architecture": type(model).__name__,
        "config": dataclasses.asdict(model.config),
        "parameters": sum(p.numel() for p in model.parameters()),
        "stored_dtype": str(dtype or torch.float32).replace("torch.", ""),
        "versions": library_versions(),
        "metrics": {},
    }
    body.update(card or {})
    tmp = folder / (WEIGHTS + ".tmp")
    save_file(tensors, str(tmp), metadata={"name": name})
    tmp.replace(folder / WEIGHTS)
    write_card(name, body, root)
    return folder


def write_card(name: str, card: dict[str, Any], root: str | Path | None = None) -> None:
    folder = checkpoint_dir(name, root)
    tmp = folder / (CARD + ".tmp")
    tmp.write_text(json.dumps(card, indent=2, ensure_ascii=False, sort_keys=False) + "\n", encoding="utf-8")
    tmp.replace(folder / CARD)


def read_card(name: str, root: str | Path | None = None) -> dict[str, Any]:
    """The JSON card of a checkpoint; raises the same errors as :func:`load_model`."""
    path = checkpoint_dir(name, root) / CARD
    if not path.exists():
        raise CheckpointMissingError(name, f"no checkpoint {name!r} at {path.parent}; train it with: {train_command(name)}")
    try:
        card = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CheckpointCorruptError(name, f"the card of checkpoint {name!r} is not valid JSON ({exc})") from None
    if not isinstance(card, dict) or not isinstance(card.get("config"), dict):
        raise CheckpointCorruptError(name, f"the card of checkpoint {name!r} has no config")
    return card


def _number(text: str) -> int | float | str:
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def read_history(name: str, root: str | Path | None = None) -> list[dict[str, Any]]:
    """The per-epoch rows of a checkpoint's ``history.csv`` (numbers parsed; empty cells
    dropped), or [] when it has none."""
    path = checkpoint_dir(name, root) / HISTORY
    if not path.exists():
        return []
    with open(path, newline="") as f:
        return [{k: _number(v) for k, v in row.items() if v != ""} for row in csv.DictReader(f)]


def update_metrics(name: str, metrics: dict[str, Any], root: str | Path | None = None) -> dict[str, Any]:
    """Merge ``metrics`` into a checkpoint card's metrics; returns the new card."""
    card = read_card(name, root)
    card.setdefault("metrics", {}).update(metrics)
    write_card(name, card, root)
    return card


def build_from_card(name: str, card: dict[str, Any]) -> nn.Module:
    spec = MODELS.get(card.get("name", name))
    if spec is None:
        raise CheckpointMismatchError(name, f"checkpoint {name!r} names an unknown model {card.get('name')!r}")
    fields = {f.name for f in dataclasses.fields(spec.config_cls)}
    unknown = set(card["config"]) - fields
    if unknown:
        raise CheckpointMismatchError(name, f"checkpoint {name!r} has unknown config fields {sorted(unknown)}")
    try:
        return spec.model_cls(spec.config_cls(**card["config"]))
    except Exception as exc:
        raise CheckpointMismatchError(name, f"cannot build {name!r} from its card ({exc})") from None


def load_model(name: str, root: str | Path | None = None, device: str | torch.device = "cpu") -> nn.Module:
    """Rebuild a model from its card, load and check its weights, return it in eval mode (float32).

    Raises :class:`CheckpointMissingError` (naming the command that trains it),
    :class:`CheckpointCorruptError` or :class:`CheckpointMismatchError`.
    """
    card = read_card(name, root)
    path = checkpoint_dir(name, root) / WEIGHTS
    if not path.exists():
        raise CheckpointMissingError(name, f"checkpoint {name!r} has a card but no weights; train it with: {train_command(name)}")
    model = build_from_card(name, card)
    try:
        tensors = load_file(str(path))
    except (SafetensorError, OSError, ValueError) as exc:
        raise CheckpointCorruptError(name, f"the weights of checkpoint {name!r} are damaged ({exc})") from None
    expected = model.state_dict()
    missing, unexpected = sorted(set(expected) - set(tensors)), sorted(set(tensors) - set(expected))
    if missing or unexpected:
        raise CheckpointMismatchError(name, f"checkpoint {name!r} does not match its model: missing {missing[:5]}, unexpected {unexpected[:5]}")
    for key, t in tensors.items():
        if tuple(t.shape) != tuple(expected[key].shape):
            raise CheckpointMismatchError(
                name, f"checkpoint {name!r}: tensor {key!r} has shape {tuple(t.shape)}, the model expects {tuple(expected[key].shape)}"
            )
        if t.is_floating_point():
            tensors[key] = t.float()
    model.load_state_dict(tensors, strict=True)
    model.card = card
    st_ = path.stat()
    # what caches of derived data key on: the checkpoint, not the object (Python reuses ids)
    model.stamp = f"{name}:{st_.st_mtime_ns}:{st_.st_size}"
    return model.to(device).eval()


def available(root: str | Path | None = None) -> list[str]:
    """Names of the checkpoints present under ``root``."""
    base = Path(root or checkpoint_root())
    return sorted(n for n in MODELS if (base / n / CARD).exists() and (base / n / WEIGHTS).exists())
