"""The GAN training playground's view state (its settings, preset, speed and slow motion), read
from and written to the URL so that a teacher can share the exact run, and the server's pool of
live-training places."""

from __future__ import annotations

import os
from dataclasses import dataclass, fields, replace

import streamlit as st

from . import models  # noqa: F401  (one torch thread per session: see there)
from advdl.gan_training import PRESETS, PlayerPool, ToyGANConfig, TrainingError, preset_config

# Target epochs per second of the speed control ("max": as fast as the class's budget allows).
SPEEDS = ("1", "10", "100", "max")
RATES = (1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2, 0.1, 0.3, 1.0)
WIDTHS = (2, 4, 8, 16, 32, 64, 128, 256)
CONFIG_FIELDS = tuple(f.name for f in fields(ToyGANConfig))


@dataclass(frozen=True)
class TrainingView:
    config: ToyGANConfig = ToyGANConfig()
    speed: str = "max"
    slow: bool = False

    KEY = "gtrain.view"  # the last view of this session (restored when the page is opened again)

    @property
    def preset(self) -> str | None:
        """The preset these settings are, if any (settings changed after a preset are no preset)."""
        for name in PRESETS:
            if preset_config(name) == self.config:
                return name
        return None

    @classmethod
    def from_query_params(cls, params) -> tuple[TrainingView, bool]:
        """The view a URL names, and whether the URL held training settings that were not valid
        (then the defaults, or the named preset, are used)."""
        qp = {k: params.get(k) for k in ("preset", "speed", "slow", *CONFIG_FIELDS) if params.get(k) is not None}
        bad = False
        config = ToyGANConfig()
        if "preset" in qp:
            try:
                config = preset_config(qp["preset"])
            except TrainingError:
                bad = True
        given = {k: qp[k] for k in CONFIG_FIELDS if k in qp}
        if given:
            try:
                config = ToyGANConfig.from_dict({**config.to_dict(), **given}).validate()
            except TrainingError:
                bad = True
        speed = qp.get("speed", "max")
        if speed not in SPEEDS:
            bad, speed = True, "max"
        return cls(config=config, speed=speed, slow=qp.get("slow") == "1"), bad

    def to_query_params(self) -> dict[str, str]:
        """The URL's parameters: the preset's name and what differs from it (or from the defaults)."""
        preset = self.preset
        base = preset_config(preset) if preset else ToyGANConfig()
        out = {"preset": preset} if preset else {}
        for k in CONFIG_FIELDS:
            v = getattr(self.config, k)
            if v != getattr(base, k):
                out[k] = f"{v:g}" if isinstance(v, float) else str(v)
        if self.speed != "max":
            out["speed"] = self.speed
        if self.slow:
            out["slow"] = "1"
        return out

    def with_preset(self, name: str) -> TrainingView:
        return replace(self, config=preset_config(name))


@st.cache_resource(show_spinner=False)
def player_pool() -> PlayerPool:
    """The server's live-training places (``$ADVDL_MAX_PLAYERS``, default 40)."""
    return PlayerPool(max_players=max(1, int(os.environ.get("ADVDL_MAX_PLAYERS", "40"))))
