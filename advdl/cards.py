"""What the home page says about each model: its headline measures beside the published anchors.

Numbers come from the checkpoint cards (written by ``scripts/evaluate.py``); the anchors and bars
are on the model's registry entry (``advdl.models.MODELS``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from .models import MODELS

#: the measures each model's card shows first, and how each is written
HEADLINES = {
    "cnn": ("test_error_pct", "restyled_accuracy"),
    "capsnet": ("test_error_pct", "restyled_accuracy"),
    "ae_plain": ("test_bce",),
    "ae_deep": ("test_bce",),
    "ae_conv": ("test_bce",),
    "ae_denoise": ("psnr_gain_over_conv_at_0.5",),
    "dcgan": ("confident_share", "frechet_ratio"),
}
FORMATS = {
    "test_error_pct": ("{:.2f}", " %"),
    "restyled_accuracy": ("{:.1%}", ""),
    "test_bce": ("{:.4f}", ""),
    "psnr_gain_over_conv_at_0.5": ("{:+.1f}", " dB"),
    "confident_share": ("{:.1%}", ""),
    "frechet_ratio": ("{:.1f}", " ×"),
}


@dataclass(frozen=True)
class Measure:
    key: str  # translation key of the measure's name
    ours: str  # formatted from the card, or "—" when not measured
    anchor: str  # the published figure ("—" when there is none)
    source: str | None  # translation key of the figure's source


def headline(name: str, card: dict[str, Any]) -> list[Measure]:
    metrics = card.get("metrics", {}) or {}
    anchors = {a.metric: a for a in MODELS[name].anchors}
    out = []
    for metric in HEADLINES.get(name, ()):
        spec, unit = FORMATS[metric]
        value = metrics.get(metric)
        anchor = anchors.get(metric)
        out.append(Measure(f"card.{metric}", "—" if value is None else spec.format(value) + unit,
                           anchor.value if anchor else "—", f"anchor.{name}.{metric}" if anchor else None))
    return out


def test_set_seen(card: dict[str, Any]) -> bool:
    """Whether the model saw the test set while it was made (validation or a choice of epoch)."""
    return bool((card.get("validation") or {}).get("test_set_seen"))


def split_device(name: str) -> tuple[str, int | None]:
    """A card's device name (:func:`advdl.training.device_name`: "AMD EPYC, 2 cores", "NVIDIA
    H200") as the chip and its core count (None for a GPU or a name of another shape)."""
    m = re.fullmatch(r"(.+), (\d+) cores?", name.strip())
    return (m.group(1), int(m.group(2))) if m else (name, None)
