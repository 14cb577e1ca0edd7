"""What the home page says about each model: its headline measures beside the published anchors.

Numbers come from the checkpoint cards (written by ``scripts/evaluate.py``); the anchors are the
figures the issue tracker and the course cite.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Measure:
    key: str  # translation key of the measure's name
    ours: str  # formatted from the card, or "—" when not measured
    anchor: str  # the published figure, with its source


def _fmt(value: Any, spec: str) -> str:
    return "—" if value is None else format(value, spec)


def headline(name: str, card: dict[str, Any]) -> list[Measure]:
    m = card.get("metrics", {}) or {}
    if name == "cnn":
        return [Measure("card.test_error", _fmt(m.get("test_error_pct"), ".2f") + (" %" if "test_error_pct" in m else ""), "0.39 % (Sabour et al. 2017 baseline, 35 M parameters)")]
    if name == "capsnet":
        return [Measure("card.test_error", _fmt(m.get("test_error_pct"), ".2f") + (" %" if "test_error_pct" in m else ""), "0.25 % (Sabour et al. 2017)")]
    if name in ("ae_plain", "ae_deep", "ae_conv"):
        anchor = {"ae_plain": "≈ 0.09 (Keras blog, 50 epochs)", "ae_deep": "≈ 0.08 (Keras blog, 100 epochs)", "ae_conv": "0.062 (keras.io, 50 epochs)"}[name]
        return [Measure("card.test_bce", _fmt(m.get("test_bce"), ".4f"), anchor)]
    if name == "ae_denoise":
        gain = m.get("psnr_gain_over_conv_at_0.5")
        return [Measure("card.denoise_gain", _fmt(gain, "+.1f") + (" dB" if gain is not None else ""), "≥ +4 dB (this project's bar)")]
    if name == "dcgan":
        share, ratio = m.get("confident_share"), m.get("frechet_ratio")
        return [
            Measure("card.confident", _fmt(share, ".1%"), "≥ 90 % (this project's bar)"),
            Measure("card.frechet", _fmt(ratio, ".1f") + (" ×" if ratio is not None else ""), "≤ 10 × the train–test floor"),
        ]
    return []
