"""The labs' view state: what a page shows, as a small frozen dataclass that reads and writes the
URL (so that a teacher can share the exact view, and a lesson can open it) and lives in the
session under its ``KEY`` (so that it survives a visit to another lab).

A page reads its view with :func:`current`, mirrors it into its widgets, updates it from their
callbacks, and writes it back with :func:`publish`. The parsing is plain Python (testable without
a page): ``from_query_params`` takes any mapping and never raises; what it cannot read it leaves
at the default and reports as ``bad``.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from typing import Mapping

import numpy as np
import streamlit as st

from advdl.digits import NOISE_KINDS
from advdl.gan_tools import DIRECTION_CENTRE, DIRECTION_STEPS, N_DIRECTIONS, OPENING_SEED, seed_latent
from advdl.urlstate import decode_latent, encode_latent, parse_indices, parse_int

MAX_SEED = 2**31 - 1
SHARED_PARAMS = ("lang", "present", "lesson", "step")  # the app's own parameters, kept on every page


@dataclass(frozen=True)
class GanView:
    """The GAN lab's digit: a seed's latent, or a latent of its own (an inversion's, an edited
    one: ``z``, as in the URL), moved along the generator's directions (a step index each)."""

    seed: int = OPENING_SEED
    z: str | None = None  # encode_latent of a latent that no seed gives
    dirs: tuple[int, ...] = (DIRECTION_CENTRE,) * N_DIRECTIONS

    KEY = "gan.view"

    def latent(self, z_dim: int) -> np.ndarray:
        """The base latent (without the direction offsets)."""
        z = decode_latent(self.z, z_dim) if self.z is not None else None
        return z if z is not None else seed_latent(self.seed, z_dim)

    @property
    def basis(self) -> str:
        """What the direction sliders move from: a new basis puts them back at the centre."""
        return f"z:{self.z}" if self.z is not None else f"seed:{self.seed}"

    def with_seed(self, seed: int) -> GanView:
        return GanView(seed=int(seed))

    def with_latent(self, z: np.ndarray) -> GanView:
        return replace(self, z=encode_latent(z), dirs=GanView.dirs)

    @classmethod
    def from_query_params(cls, params: Mapping, z_dim: int) -> tuple[GanView, bool]:
        return _read(cls, params, {
            "seed": ("seed", lambda v: parse_int(v, 0, MAX_SEED)),
            "z": ("z", lambda v: v if decode_latent(v, z_dim) is not None else None),
            "dirs": ("dirs", lambda v: _tuple(parse_indices(v, N_DIRECTIONS, len(DIRECTION_STEPS) - 1))),
        })

    def to_query_params(self) -> dict[str, str]:
        out = {"z": self.z} if self.z is not None else {"seed": str(self.seed)}
        out["dirs"] = ",".join(map(str, self.dirs))
        return out


CAPS_STEPS = 41  # a capsule dimension's steps: -range..range, a one-second drag shows 40 frames
CAPS_CALIBRATED = "cal"  # each dimension over mean ± 2 σ of its class's capsules (advdl/capsule_stats.py)
CAPS_RANGES = (CAPS_CALIBRATED, 0.25, 0.5, 1.0)  # calibrated, the paper's fixed ±0.25, and wider


@dataclass(frozen=True)
class CapsView:
    """The capsule lab's view: how the digit is moved (rotation in degrees, a shift in pixels, a
    scale, a shear in degrees), whose capsule is perturbed (``cls``; None: the predicted class's), the perturbation's
    range and each of its 16 dimensions' step."""

    angle: int = 0
    dx: int = 0
    dy: int = 0
    scale: float = 1.0
    shear: int = 0
    cls: int | None = None
    spread: float | str = CAPS_CALIBRATED
    dims: tuple[int, ...] = (CAPS_STEPS // 2,) * 16

    KEY = "caps.view"
    LIMITS = {"angle": (-90, 90), "dx": (-6, 6), "dy": (-6, 6), "shear": (-45, 45)}
    SCALES = tuple(np.round(np.arange(0.6, 1.4001, 0.05), 2).tolist())

    @property
    def calibrated(self) -> bool:
        return self.spread == CAPS_CALIBRATED

    @property
    def steps(self) -> np.ndarray:
        """The offset of each step of a dimension's slider (a fixed range; see ``dimension_steps``)."""
        spread = 0.25 if self.calibrated else self.spread
        return np.round(np.linspace(-spread, spread, CAPS_STEPS), 4)

    def dimension_steps(self, capsule: np.ndarray, low: np.ndarray | None = None, high: np.ndarray | None = None) -> np.ndarray:
        """(16, CAPS_STEPS): each dimension's slider values as capsule values, from ``low`` to
        ``high`` when calibrated (the class's range), else the capsule's value ± the fixed range."""
        if self.calibrated and low is not None and high is not None:
            return np.linspace(low, high, CAPS_STEPS, axis=1).astype(np.float32)
        return (np.asarray(capsule, np.float32)[:, None] + self.steps[None, :]).astype(np.float32)

    def basis(self, cls: int, capsule: np.ndarray | None = None) -> tuple:
        """What the dimension sliders move from: another capsule, class or range puts them back at
        the digit's own values."""
        return (cls, self.spread, None if capsule is None or not self.calibrated else tuple(np.round(capsule, 3)))

    def centred(self) -> CapsView:
        return replace(self, dims=CapsView.dims)

    @classmethod
    def from_query_params(cls, params: Mapping) -> tuple[CapsView, bool]:
        return _read(cls, params, {
            "angle": ("rot", lambda v: parse_int(v, *cls.LIMITS["angle"])),
            "dx": ("dx", lambda v: parse_int(v, *cls.LIMITS["dx"])),
            "dy": ("dy", lambda v: parse_int(v, *cls.LIMITS["dy"])),
            "scale": ("scale", lambda v: _one_of(round(float(v), 2), cls.SCALES)),
            "shear": ("shear", lambda v: parse_int(v, *cls.LIMITS["shear"])),
            "cls": ("cls", lambda v: parse_int(v, 0, 9)),
            "spread": ("range", lambda v: v if v == CAPS_CALIBRATED else _one_of(float(v), CAPS_RANGES)),
            "dims": ("dims", lambda v: _tuple(parse_indices(v, 16, CAPS_STEPS - 1))),
        })

    def to_query_params(self) -> dict[str, str]:
        """The URL's parameters: what differs from the lab's opening view."""
        out, default = {}, CapsView()
        names = {"angle": "rot", "spread": "range"}
        for f in fields(self):
            v = getattr(self, f.name)
            if v != getattr(default, f.name):
                out[names.get(f.name, f.name)] = ",".join(map(str, v)) if isinstance(v, tuple) else f"{v:g}" if isinstance(v, float) else str(v)
        return out


AE_STRENGTHS = np.round(np.linspace(0.0, 1.0, 21), 2)  # the noise strength's steps, 0.05 apart


@dataclass(frozen=True)
class AeView:
    """The autoencoder lab's noise: its kind, its seed, the clean digit instead, and the strength
    (a step of ``AE_STRENGTHS``; 0.5 is the course's noise factor)."""

    noise: str = NOISE_KINDS[0]
    seed: int = 0
    clean: bool = False
    strength: int = 10

    KEY = "ae.view"

    @classmethod
    def from_query_params(cls, params: Mapping) -> tuple[AeView, bool]:
        return _read(cls, params, {
            "noise": ("noise", lambda v: _one_of(v, NOISE_KINDS)),
            "seed": ("nseed", lambda v: parse_int(v, 0, 10_000)),
            "clean": ("clean", {"0": False, "1": True}.get),
            "strength": ("strength", lambda v: _step_of(float(v), AE_STRENGTHS)),
        })

    def to_query_params(self) -> dict[str, str]:
        out, default = {}, AeView()
        if self.noise != default.noise:
            out["noise"] = self.noise
        if self.seed != default.seed:
            out["nseed"] = str(self.seed)
        if self.clean:
            out["clean"] = "1"
        if self.strength != default.strength:
            out["strength"] = f"{AE_STRENGTHS[self.strength]:g}"
        return out


@dataclass(frozen=True)
class QuizView:
    """The "real or fake?" round: its seed and which round (1: the generator's samples at random,
    2: the ones the discriminator finds least real)."""

    seed: int = 1
    round: int = 1

    KEY = "quiz.view"
    ROUNDS = (1, 2)

    @property
    def kind(self) -> str:
        return ("random", "least_real")[self.round - 1]

    @classmethod
    def from_query_params(cls, params: Mapping) -> tuple[QuizView, bool]:
        return _read(cls, params, {
            "seed": ("seed", lambda v: parse_int(v, 0, 10**6)),
            "round": ("round", lambda v: _one_of(parse_int(v, 1, 2), cls.ROUNDS)),
        })

    def to_query_params(self) -> dict[str, str]:
        return {"seed": str(self.seed), "round": str(self.round)}


def _read(view_cls, params: Mapping, readers: dict) -> tuple:
    """A view from URL parameters: ``readers`` maps each field to its parameter's name and a
    parser that gives None (or raises ValueError/TypeError) for what it cannot read. Returns the
    view (the fields it could not read left at their defaults) and whether any could not."""
    got, bad = {}, False
    for field, (name, parse) in readers.items():
        raw = params.get(name)
        if raw is None:
            continue
        try:
            value = parse(raw)
        except (TypeError, ValueError):
            value = None
        if value is None:
            bad = True
        else:
            got[field] = value
    return view_cls(**got), bad


def _one_of(value, allowed):
    return value if value in allowed else None


def _step_of(value: float, steps: np.ndarray) -> int | None:
    hits = np.flatnonzero(np.isclose(steps, value))
    return int(hits[0]) if len(hits) == 1 else None


def _tuple(value):
    return tuple(value) if value is not None else None


def current(view_cls, *args):
    """This session's view of a lab: the one it had (a visit to another lab keeps it), else the
    URL's on the page's first run. A URL that named something unreadable is reported once
    (``st.session_state["<KEY>.bad_url"]``) and the rest of it is used."""
    view = st.session_state.get(view_cls.KEY)
    if view is None:
        view, bad = view_cls.from_query_params(st.query_params, *args)
        st.session_state[view_cls.KEY] = view
        if bad:
            st.session_state[view_cls.KEY + ".bad_url"] = True
    return view


def update(view) -> None:
    """Keep ``view`` as this session's view of its lab (a callback's change)."""
    st.session_state[type(view).KEY] = view


def publish(view) -> None:
    """Keep ``view`` and write it into the URL (beside the app's language and presentation mode)."""
    update(view)
    kept = {k: v for k, v in st.query_params.to_dict().items() if k in SHARED_PARAMS}
    wanted = {**kept, **view.to_query_params()}
    if st.query_params.to_dict() != wanted:
        st.query_params.from_dict(wanted)


def bind(view_cls, key: str, field: str, *args) -> dict:
    """Widget ``key`` shows the view's ``field`` (widget keys are dropped when the page changes;
    the view is not), and its changes go into the view: ``st.slider(..., **bind(CapsView,
    "caps.rotation", "angle"))``. ``args``: what :func:`current` needs for this view."""
    st.session_state[key] = getattr(current(view_cls, *args), field)

    def changed() -> None:
        value = st.session_state[key]
        update(replace(current(view_cls, *args), **{field: round(value, 2) if isinstance(value, float) else value}))

    return {"key": key, "on_change": changed}


def take_bad_url(view_cls) -> bool:
    """Whether this lab's URL named something unreadable (once: the flag is cleared)."""
    return bool(st.session_state.pop(view_cls.KEY + ".bad_url", False))
