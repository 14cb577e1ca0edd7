"""The GAN training playground's canvas: an ``st.components.v2`` component (JS and CSS in
``frontend/``) that draws the snapshots of :mod:`advdl.gan_training`, tweens between them and, while
playing, asks for the next tick itself."""

from __future__ import annotations

import numpy as np

from advdl.gan_training import BOX, HEAT_CELLS, MANIFOLD_CELLS, pack_points

from .scrub import register, send, state

HTML = (
    '<div class="gcan-buttons"></div><div class="gcan"><div class="gcan-left"><canvas class="gcan-main"></canvas><div class="gcan-toggles"></div>'
    '<div class="gcan-narration" hidden></div><div class="gcan-help"></div></div>'
    '<div class="gcan-side"><div class="gcan-info"></div><div class="gcan-first-cap"></div><canvas class="gcan-first"></canvas>'
    '<div class="gcan-info"></div><canvas class="gcan-chart"></canvas><div class="gcan-info"></div><canvas class="gcan-chart"></canvas>'
    '<div class="gcan-info"></div><canvas class="gcan-chart"></canvas></div></div>'
)


_component = register("gan_canvas", HTML, "gan_canvas.css", "gan_canvas.js")


def gan_canvas(key: str, snap: dict | None, first: dict | None, labels: dict, playing: bool, next_ms: int, size: int,
               stages: list[dict] | None = None, narration: str = "", draw: bool = False, drawn: np.ndarray | None = None,
               clear_drawing: bool = False, slow_ms: int = 1250) -> dict:
    """Draw a packed snapshot (:func:`advdl.gan_training.pack`) under its buttons; returns the
    component's state: ``tick`` (changes when the browser asks for the next tick), ``drawn`` (the
    sprayed points, a flat list x0, y0, x1, …) and ``action`` (the last button pressed:
    ``{"name": "play" | "pause" | "step_d" | "step_g" | "step_both" | "reset", "id": …}``)."""
    payload = {
        "snap": snap, "first": first, "labels": labels, "playing": bool(playing), "next_ms": int(next_ms), "size": int(size),
        "box": BOX, "heat_cells": HEAT_CELLS, "manifold_cells": MANIFOLD_CELLS, "grad_ref": 1.0, "stages": stages or None,
        "narration": narration, "draw": bool(draw), "drawn": None if drawn is None or not len(drawn) else pack_points(drawn),
        "clear_drawing": bool(clear_drawing), "slow_ms": int(slow_ms),
    }
    result = _component(key=key, data=send(payload), default={"tick": 0, "drawn": None, "action": None},
                        on_tick_change=lambda: None, on_drawn_change=lambda: None, on_action_change=lambda: None, width="stretch")
    saved = state(key, ("tick", "drawn", "action"))
    return {k: getattr(result, k, saved.get(k)) for k in ("tick", "drawn", "action")}
