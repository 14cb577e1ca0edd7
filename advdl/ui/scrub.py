"""A filmstrip scrubber: sliders whose image changes while the thumb moves, not only on release.

Streamlit's own slider reruns the script only when the mouse is let go. Here the server renders,
in one batch, the frame for every step along each slider's range; the browser keeps those frames
and swaps the image as a thumb moves (or as arrow keys step it), with no round trip. Releasing
the thumb commits the values to Python, which renders fresh filmstrips around them.

    values = scrubber(image_frames, sliders, key="gan.directions")

``sliders`` is a list of :class:`Slider`; ``frames[k][i]`` is the image shown when slider ``k``
sits at its ``i``-th step and the others at their committed values. The current image is the
frame of any slider at its committed step (they are all the same image).
"""

from __future__ import annotations

import base64
import functools
import struct
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import streamlit as st

from advdl.viz import png, to_uint8

FRONTEND = Path(__file__).parent / "frontend"
HTML = '<div class="scrub"><figure class="scrub-fig"><img class="scrub-img" alt=""><figcaption class="scrub-cap"></figcaption></figure><div class="scrub-sliders"></div></div>'
PANEL_HTML = '<div class="pscrub"><div class="scrub-sliders"></div><div class="pscrub-grid"></div></div>'


def register(name: str, html: str, css: str | None, js: str):
    """A component of this package with its JS and CSS as files in ``frontend/`` (declared in
    pyproject.toml and found once the package is installed: the browser fetches and caches them,
    so a message carries only its data), else inline (a checkout run without `make install`)."""
    try:
        return st.components.v2.component(f"advdl.{name}", html=html, css=css, js=js)
    except Exception:  # noqa: BLE001 - Streamlit raises its API exception when no manifest declares it
        return st.components.v2.component(
            f"advdl.{name}", html=html, css=(FRONTEND / css).read_text(encoding="utf-8") if css else None,
            js=(FRONTEND / js).read_text(encoding="utf-8"),
        )




@functools.cache
def _components() -> tuple:
    """The two components, registered at their first use: the server reads the packages'
    manifests when it starts, after `make run`'s warm-up has imported this module."""
    return register("scrubber", HTML, "scrub.css", "scrub.js"), register("panel_scrubber", PANEL_HTML, "scrub.css", "scrub.js")

_EPOCHS = "scrub.epochs"  # session key: each scrubber's epoch and basis (see reset)


@dataclass
class Slider:
    label: str
    values: list[float]  # the value at each step
    index: int  # the committed step
    decimals: int = 2


def png_grey(u8: np.ndarray) -> bytes:
    """A grey 8-bit PNG of a 2-D uint8 image: the signature, IHDR, one zlib IDAT of unfiltered rows,
    IEND. Written out because a strip of hundreds of tiny frames spends much of its time in PIL's
    per-image setup (scripts/bench_capsules.py measures both: ``frame_png_us``); PIL reads it back
    exactly (tests/test_scrub.py)."""
    h, w = u8.shape
    rows = np.concatenate([np.zeros((h, 1), np.uint8), np.ascontiguousarray(u8, np.uint8)], axis=1)  # filter byte 0 per row

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 0, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows.tobytes(), 1)) + chunk(b"IEND", b""))


def frame_png(img: np.ndarray) -> bytes:
    """A frame as PNG bytes: a grey one by :func:`png_grey`, a colour one by PIL."""
    u8 = to_uint8(img)
    return png_grey(u8) if u8.ndim == 2 else png(u8)


def png_data_url(img: np.ndarray) -> str:
    """A small PNG data URL of a float image in [0, 1] (28 x 28 stays 28 x 28: the browser scales)."""
    return "data:image/png;base64," + base64.b64encode(frame_png(img)).decode("ascii")


@st.cache_data(show_spinner=False, max_entries=512)
def _encode_strip(frames: np.ndarray) -> list[str]:
    # Cached by content: a strip that does not change between runs (the training replay, a
    # capsule nobody moved) is encoded once per server, not on every rerun of every session.
    a = np.asarray(frames)
    u8 = a if a.dtype == np.uint8 else (np.clip(a, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)  # the whole strip at once
    return [png_data_url(f) for f in u8]


# Streamlit's static file serving (server.enableStaticServing): files under the app's static/
# folder are served at app/static/..., relative to any page of the app.
STATIC = Path(__file__).resolve().parents[2] / "static"
STATIC_URL = "app/static"


@dataclass(frozen=True)
class Pack:
    """A strip's frames as one static file: the PNGs one after another, frame ``i`` at bytes
    ``offsets[i]:offsets[i + 1]``. The browser fetches it once and keeps it (a file's name is its
    content's), instead of the frames arriving inside a message on every visit of the page."""

    url: str
    offsets: tuple[int, ...]


def write_pack(frames: np.ndarray, name: str, mtime: float | None = None, folder: Path = STATIC) -> Pack | None:
    """Write ``frames`` (N, H, W) as a pack named ``name`` under ``folder`` (once: a pack already
    there is reused) and return it; None when the folder cannot be written (the caller sends the
    frames inline). ``mtime``: when the frames were made (their checkpoint's), the file's
    Last-Modified, which lets a browser keep it without asking again."""
    import os

    blobs = [frame_png(f) for f in np.asarray(frames)]
    offsets = tuple(int(o) for o in np.cumsum([0, *map(len, blobs)]))
    path = folder / name
    try:
        if not path.exists() or path.stat().st_size != offsets[-1]:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(f".{os.getpid()}.tmp")
            tmp.write_bytes(b"".join(blobs))
            if mtime is not None:
                os.utime(tmp, (mtime, mtime))
            tmp.replace(path)  # atomic: replicas sharing the folder never read half a pack
    except OSError:
        return None
    return Pack(f"{STATIC_URL}/{name}", offsets)


def send(payload: dict) -> list:
    """A component's data, wrapped in a list: Streamlit passes a list through as JSON, where it
    inspects each value of a dict (and a string as a whole) for dataframes, on every message."""
    return [payload]


def state(key: str, names: tuple[str, ...] = ("commit", "ready")) -> dict:
    """A component's state in the session as a plain dict (empty before its first render);
    ``names``: the state's keys, read one by one from a value that is not a mapping."""
    value = st.session_state.get(key)
    if value is None:
        return {}
    try:
        return dict(value)
    except (TypeError, ValueError):
        return {k: getattr(value, k) for k in names if hasattr(value, k)}


def nearest_index(values, value: float) -> int:
    return int(np.argmin(np.abs(np.asarray(values, dtype=np.float64) - float(value))))


def reset(key: str) -> None:
    """Forget what the browser committed on scrubber ``key``: its sliders go to the steps the page
    passes next. (The browser keeps a component's last state and sends it with every rerun, so
    the state cannot simply be deleted; a commit carries the epoch it was made in, and a reset
    starts a new one.)"""
    epochs = st.session_state.setdefault(_EPOCHS, {})
    epoch, basis = epochs.get(key, (0, None))
    epochs[key] = (epoch + 1, basis)


def _epoch(key: str, basis) -> int:
    """Scrubber ``key``'s epoch, a new one when ``basis`` (what its steps are relative to: a
    latent, a digit's code) differs from the last run's."""
    epochs = st.session_state.setdefault(_EPOCHS, {})
    epoch, last = epochs.get(key, (0, basis))
    if last != basis:
        epoch += 1
    epochs[key] = (epoch, basis)
    return epoch


def committed(key: str, n: int, default, basis=None) -> list[int]:
    """The step indices last committed on scrubber ``key`` in its current epoch (``default``, an
    index for each or a list, before any). ``basis``: what the steps are relative to; a new basis
    resets the scrubber (:func:`reset`)."""
    epoch = _epoch(key, basis)  # every run, so that a new basis is seen when it comes
    got = state(key).get("commit")
    fallback = list(default) if isinstance(default, (list, tuple)) else [default] * n
    if not isinstance(got, dict) or got.get("epoch") != epoch:
        return fallback
    indices = got.get("indices")
    ok = isinstance(indices, list) and len(indices) == n and all(isinstance(i, int) for i in indices)
    return [int(i) for i in indices] if ok else fallback


def scrubber(frames: list[np.ndarray], sliders: list[Slider], key: str, size: int = 300, caption: str = "", columns: int = 1,
             lazy: bool = False, packs: list[Pack | None] | None = None) -> list[int]:
    """Show the image and the sliders; return each slider's committed step index.

    ``frames[k]`` is an array (steps_k, H, W) in [0, 1] for slider ``k``. ``lazy``: the first
    render sends only the committed frames and the browser asks for the others at once (a rerun
    of the scrubber's fragment), so that a long strip (the GAN's training replay: megabytes)
    does not hold up the page's first drawing. ``packs[k]``: slider ``k``'s frames as a static
    file (:func:`write_pack`): the message holds the committed frame and the file's address, and
    the browser fetches the rest from there (and keeps them) after the page is drawn.
    """
    got = state(key, ("commit", "ready", "nopack"))
    packs = packs if packs and not got.get("nopack") else [None] * len(sliders)  # nopack: the browser could not fetch one
    pending = lazy and not got.get("ready") and not all(packs)
    sliders_data = []
    for s, fr, pack in zip(sliders, frames, packs):
        if pending or pack is not None:  # the committed frame alone; the rest when asked for, or from the pack
            urls = [""] * len(fr)
            urls[s.index] = png_data_url(np.asarray(fr[s.index]))
        else:
            urls = _encode_strip(np.asarray(fr))
        row = {"label": s.label, "values": [float(v) for v in s.values], "index": int(s.index), "decimals": s.decimals, "frames": urls}
        if pack is not None:
            row["pack"] = {"url": pack.url, "offsets": list(pack.offsets)}
        sliders_data.append(row)
    payload = {"size": int(size), "caption": caption, "columns": int(columns), "sliders": sliders_data, "pending": pending,
               "epoch": _current_epoch(key)}
    _components()[0](
        key=key, data=send(payload), default={"commit": None, "ready": False, "nopack": False},
        on_commit_change=lambda: None, on_ready_change=lambda: None, on_nopack_change=lambda: None, width="stretch",
    )
    return [s.index for s in sliders]


def _current_epoch(key: str) -> int:
    return st.session_state.get(_EPOCHS, {}).get(key, (0, None))[0]


def panel_scrubber(frames: np.ndarray, captions: list[list[str]], metrics: list[list[str]], slider: Slider, key: str, columns: int) -> int:
    """Several images under one slider, all following the thumb while it moves (the autoencoder
    lab: the noisy input and the four reconstructions at every noise strength).

    ``frames`` (steps, M, H, W) in [0, 1]; ``captions[i][m]`` and ``metrics[i][m]`` are the text
    under image ``m`` at step ``i``. Returns the committed step index.
    """
    frames = np.asarray(frames)
    per_step = frames.shape[1]
    urls = _encode_strip(frames.reshape(-1, *frames.shape[2:]))  # one cached encoding of every image
    payload = {
        "panel": True,
        "columns": int(columns),
        "label": slider.label,
        "values": [float(v) for v in slider.values],
        "index": int(slider.index),
        "decimals": slider.decimals,
        "frames": [urls[i : i + per_step] for i in range(0, len(urls), per_step)],
        "captions": captions,
        "metrics": metrics,
        "epoch": _current_epoch(key),
    }
    _components()[1](key=key, data=send(payload), default={"commit": None}, on_commit_change=lambda: None, width="stretch")
    return slider.index
