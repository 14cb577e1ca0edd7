"""Cached, shared model loading for the pages.

Models are loaded once per server (``st.cache_resource``) and only used for inference, so many
sessions can share them. A missing or damaged checkpoint becomes a translated message naming the
command that trains it; the page goes on without the parts that need that model.
"""

from __future__ import annotations

import os
import threading
import time
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext

import numpy as np
import streamlit as st
import torch

from advdl import checkpoints
from advdl.checkpoints import CheckpointError

from .i18n import t

# One intra-op thread per inference: sessions run in threads of their own, and several torch
# thread pools competing for a few cores make each forward pass wait on the others' spinning
# threads (a CNN pass many times slower while another process trained).
torch.set_num_threads(int(os.environ.get("ADVDL_TORCH_THREADS", "1")))


@st.cache_resource(show_spinner=False, max_entries=32)
def _load(name: str, root: str, stamp: float):
    # ``stamp`` (the weights' mtime) makes a retrained checkpoint load anew.
    return checkpoints.load_model(name, root)


def stamp(model) -> str:
    """The key of data derived from a loaded model: its checkpoint's name, mtime and size."""
    return model.stamp


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


# ----------------------------------------------------------------------------- shared results
# A digit's results in the capsule lab are ~16 entries of a few KB to ~0.3 MB (pictures, strips):
# a few digits' worth, so that a class drawing its own digits does not grow the server.
@st.cache_resource(show_spinner=False, max_entries=96)
def _shared(name: str, stamps: tuple, key: tuple, _fn, _models: tuple, _args: tuple):
    return _fn(*_models, *_args)


def shared(fn, models: tuple, *args):
    """``fn(*models, *args)``, made once per function, models (by their checkpoints' stamps) and
    arguments (arrays by their bytes), and shared by every session that asks for the same: a class
    opens a lab on the same sample digit, and a fragment's rerun shows the rest of its page
    unchanged. The result is shared: read it, never change it. A model may be None (a missing
    checkpoint)."""
    stamps = tuple(None if m is None else stamp(m) for m in models)
    key = tuple((a.dtype.str, a.shape, a.tobytes()) if isinstance(a, np.ndarray) else a for a in args)
    return _shared(f"{fn.__module__}.{fn.__qualname__}", stamps, key, fn, tuple(models), args)


# ----------------------------------------------------------------------------- CapsNet resources
@st.cache_resource(show_spinner=False, max_entries=32)
def _capsule_votes(_capsnet, key: str, digit: bytes) -> np.ndarray:
    from advdl.capsule_routing import votes

    return votes(_capsnet, np.frombuffer(digit, np.float32).reshape(28, 28).copy())


def capsule_votes(capsnet, x: np.ndarray) -> np.ndarray:
    """A digit's votes û (1152, 10, 16), made once per digit and model: a routing switch (1, 3, 5
    iterations) then only routes."""
    return _capsule_votes(capsnet, stamp(capsnet), np.ascontiguousarray(x, np.float32).tobytes())


# ----------------------------------------------------------------------------- GAN resources
@st.cache_resource(show_spinner=False)
def _gan_directions(_gan, key: str, k: int) -> np.ndarray:
    from advdl.models.gan import sefa_directions

    return sefa_directions(_gan, k)[0].numpy()


def gan_directions(gan, k: int) -> np.ndarray:
    """The generator's k most important latent directions (SeFa), computed once per model."""
    return _gan_directions(gan, stamp(gan), k)


@st.cache_resource(show_spinner=False, max_entries=64)  # a class's views: each student comes back to their own
def _gan_filmstrips(_gan, key: str, z: np.ndarray, dirs: np.ndarray, offsets: np.ndarray, _parts: int | None = None) -> np.ndarray:
    from advdl.gan_tools import DIRECTION_STEPS
    from advdl.inference import direction_bases, direction_latents, generate_split
    from advdl.viz import to_uint8

    strips = _gan_strips()
    names = [(key, base.tobytes(), d.tobytes()) for base, d in zip(direction_bases(z, dirs, offsets), dirs)]
    frames = [strips.get(name) for name in names]
    todo = [k for k, f in enumerate(frames) if f is None]  # a commit of slider k keeps strip k: 7 of 8 to make
    if todo:
        latents = direction_latents(z, dirs, offsets, DIRECTION_STEPS)[todo]
        made = to_uint8(generate_split(_gan, latents.reshape(-1, latents.shape[-1]), _parts, preview=True))  # as the page shows them
        for k, strip in zip(todo, made.reshape(len(todo), len(DIRECTION_STEPS), 28, 28)):
            frames[k] = strips.put(names[k], strip)
    out = np.stack(frames)
    out.setflags(write=False)  # shared by every session that shows this view
    return out


class _Strips:
    """The last strips made, by their base latent (an LRU of a class's views' worth)."""

    def __init__(self, size: int = 8 * 64):
        self.items: OrderedDict = OrderedDict()
        self.lock = threading.Lock()
        self.size = size

    def get(self, name) -> np.ndarray | None:
        with self.lock:
            if name in self.items:
                self.items.move_to_end(name)  # used again: kept longer
            return self.items.get(name)

    def put(self, name, strip: np.ndarray) -> np.ndarray:
        with self.lock:
            self.items[name] = strip
            self.items.move_to_end(name)
            while len(self.items) > self.size:
                self.items.popitem(last=False)
        return strip


@st.cache_resource(show_spinner=False)
def _gan_strips() -> _Strips:
    return _Strips()


def gan_filmstrips(gan, z: np.ndarray, dirs: np.ndarray, offsets: np.ndarray, parts: int | None = None) -> np.ndarray:
    """The direction sliders' filmstrips (K, steps, 28, 28) uint8 around latent ``z`` with the
    sliders at ``offsets``, computed once per view and server: a session asking while another
    computes the same view (the warm-up, the opening view) waits for it instead of doing it twice.
    A strip already made for another view (the one a commit left unchanged) is reused. The frames
    are previews (:func:`advdl.inference.generate`'s ``preview``). ``parts``: threads to generate
    them in (see :func:`advdl.inference.generate_split`)."""
    return _gan_filmstrips(gan, stamp(gan), np.asarray(z, np.float32), np.asarray(dirs, np.float32), np.asarray(offsets, np.float32), parts)


@st.cache_resource(show_spinner=False)
def _gan_bank(_gan, _cnn, keys: tuple[str, str]):
    from advdl.gan_tools import latent_bank

    return latent_bank(_gan, _cnn, n=3000, seed=1, min_confidence=0.95)


def gan_bank(gan, cnn):
    """The server's bank of latents that the CNN labels confidently (for the morph by class)."""
    return _gan_bank(gan, cnn, (stamp(gan), stamp(cnn)))


@st.cache_resource(show_spinner=False)
def _gan_pool(_gan, key: str):
    from advdl.gan_tools import CandidatePool

    return CandidatePool(_gan)


def gan_pool(gan):
    """The server's candidate latents and images where an inversion starts (made once)."""
    return _gan_pool(gan, stamp(gan))


@st.cache_resource(show_spinner=False, max_entries=64)
def _quiz_round(_gan, key: str, seed: int, kind: str):
    from advdl.data import load_samples
    from advdl.quiz import make_round

    return make_round(_gan, load_samples().images.numpy(), seed, kind)


def quiz_round(gan, seed: int, kind: str):
    """The "real or fake?" round ``seed`` names (advdl.quiz), made once per server: the class
    opening the teacher's link all get the same digits."""
    return _quiz_round(gan, stamp(gan), int(seed), kind)


@st.cache_resource(show_spinner=False, max_entries=2)
def _replay(root: str, stamp: float) -> tuple[np.ndarray, list[dict]] | None:
    from advdl.viz import grids

    try:
        with np.load(checkpoints.checkpoint_dir("dcgan", root) / "samples.npz", allow_pickle=False) as f:
            samples = f["samples"]
        rows = checkpoints.read_history("dcgan", root)
    except (OSError, ValueError, KeyError):
        return None
    tiles = grids(samples, 8)  # uint8: a quarter of float32's memory, and what the PNGs hold
    tiles.setflags(write=False)  # shared by every session
    return tiles, rows


def _replay_stamp() -> tuple[str, float] | None:
    root = str(checkpoints.checkpoint_root())
    folder = checkpoints.checkpoint_dir("dcgan", root)
    try:
        return root, os.path.getmtime(folder / "samples.npz") + os.path.getmtime(folder / checkpoints.HISTORY)
    except OSError:
        return None


def gan_replay() -> tuple[np.ndarray, list[dict]] | None:
    """The GAN's training replay: the fixed-noise sample grid of every epoch (E, H, W), uint8,
    and the rows of its history.csv, read and tiled once per checkpoint (None when absent)."""
    key = _replay_stamp()
    return None if key is None else _replay(*key)


@st.cache_resource(show_spinner=False, max_entries=4)
def _replay_pack(root: str, stamp: float):
    import hashlib

    from .scrub import write_pack

    replay = _replay(root, stamp)
    if replay is None:
        return None
    folder = checkpoints.checkpoint_dir("dcgan", root)
    name = f"cache/replay-{hashlib.sha1(f'{folder.resolve()}|{stamp}'.encode()).hexdigest()[:16]}.pngs"
    return write_pack(replay[0], name, mtime=os.path.getmtime(folder / "samples.npz"))


def gan_replay_pack():
    """The replay's grids as a static file the browser fetches once (advdl.ui.scrub.Pack), written
    once per checkpoint; None without a replay or where the app's static folder is read-only."""
    key = _replay_stamp()
    return None if key is None else _replay_pack(*key)


# Seconds the warm-up's second part waits after a first run has ended: the first browser is then
# loading the frontend's code for what the run drew (dozens of chunks) from
# this server and asking for the replay's frames; run beside them, the second part made those
# responses several times slower (bench.py's cold start, with and without the settle).
SETTLE_S = 2.0


def warm_up(first_run: threading.Event | None = None, wait_s: float = 30.0, stop: threading.Event | None = None,
            settle_s: float = SETTLE_S) -> list[str]:
    """Load every available model into the cache, import what the pages draw with, and compute
    what the GAN lab shows first, so that the first session finds it ready. Called by
    ``advdl.ui.serve`` as the server starts; returns the names loaded.

    First what the GAN lab (the first lab in the navigation) draws when it opens, in its order:
    its models, its directions, the filmstrips and encoded frames of its opening view (every
    slider centred), a latent of each class its morph opens with, what the app and its charts
    import, the training replay's grids. Then, once ``first_run`` is set (a session's script run
    has ended; at most ``wait_s`` seconds) and ``settle_s`` seconds more, the rest, which would
    otherwise take the CPU from the first student's browser, its first run and the requests
    that follow it: the replay's frames (which that page asks for next),
    a latent of every class, the other labs' models and the inversion's candidate latents. None
    of the rest once ``stop`` is set (the server stopped)."""
    from advdl import inference  # noqa: F401 - what the labs compute with
    from advdl.gan_tools import DIRECTION_CENTRE, DIRECTION_STEPS, N_DIRECTIONS, OPENING_MORPH, OPENING_SEED, seed_latent

    from . import digit_input  # noqa: F401 - the drawing canvas the labs share
    from .scrub import _encode_strip

    root = str(checkpoints.checkpoint_root())
    present = checkpoints.available(root)
    loaded = {}

    def load(name: str):
        if name in present and name not in loaded:
            try:
                loaded[name] = _load(name, root, _stamp(name, root))
            except CheckpointError:
                loaded[name] = None
        return loaded.get(name)

    gan, cnn = load("dcgan"), load("cnn")
    bank = picks = None
    if gan is not None and cnn is not None:
        # The morph's opening latents in a thread of their own: torch lets go of the interpreter
        # lock, so they take the second core while this thread renders the filmstrips.
        bank = gan_bank(gan, cnn)
        picks = threading.Thread(target=lambda: [bank.pick(cls) for cls in OPENING_MORPH], name="advdl-warm-up-bank")
        picks.start()
    if gan is not None:
        dirs = gan_directions(gan, N_DIRECTIONS)
        centre = DIRECTION_STEPS[[DIRECTION_CENTRE] * N_DIRECTIONS]  # as the page indexes them
        # in this thread alone: the second core is the bank's and the first browser's now
        for strip in gan_filmstrips(gan, seed_latent(OPENING_SEED, gan.config.z_dim), dirs, centre, parts=1):
            _encode_strip(np.asarray(strip))  # the same bytes the page asks for: a cache hit
    import pandas  # noqa: F401 - app.py imports them in every run (see there): a first run that
    import pyarrow  # noqa: F401   comes while this thread imports them waits for it
    try:  # compiles Streamlit's emoji pattern, which a first run would wait for; a private helper, so optional
        from streamlit.string_util import validate_icon_or_emoji

        validate_icon_or_emoji("🧪")
    except Exception:  # noqa: BLE001
        pass
    replay = gan_replay()
    if picks is not None:
        picks.join()
    if first_run is not None:
        deadline = time.monotonic() + wait_s
        while not first_run.wait(0.1) and time.monotonic() < deadline and not (stop is not None and stop.is_set()):
            pass
        # then the first page's own requests (interrupted when the server stops)
        if stop is not None:
            stop.wait(settle_s)
        else:
            time.sleep(settle_s)
    if stop is not None and stop.is_set():  # the server stopped before anyone came
        return [name for name, model in loaded.items() if model is not None]
    if replay is not None:  # the lab's first drawing sends only the replay's last epoch
        if gan_replay_pack() is None:  # every epoch, encoded once for every session to come: as a file, else inline
            _encode_strip(replay[0])
    if bank is not None:
        for cls in range(10):
            bank.pick(cls)
    for name in present:
        load(name)
    if gan is not None:
        gan_pool(gan)  # where inversions start: needed only once someone inverts a drawing
    return [name for name, model in loaded.items() if model is not None]


def show_checkpoint_error(exc: CheckpointError) -> None:
    st.error(t(exc.code, name=exc.name, cmd=checkpoints.train_command(exc.name), detail=str(exc)))


@st.cache_resource(show_spinner=False, max_entries=4)
def _capsule_statistics(path: str, stamp: float):
    from advdl.capsule_stats import CapsuleStats

    try:
        return CapsuleStats.load(path)
    except ValueError:
        return None


def capsule_statistics():
    """The CapsNet's capsule statistics (advdl/capsule_stats.py), or None when the file is missing
    or damaged (the lab then uses the paper's fixed range and says so)."""
    from advdl.capsule_stats import FILENAME

    path = checkpoints.checkpoint_dir("capsnet", str(checkpoints.checkpoint_root())) / FILENAME
    try:
        stamp = os.path.getmtime(path)
    except OSError:
        return None
    return _capsule_statistics(str(path), stamp)


@st.cache_data(show_spinner=False, max_entries=32)
def _card(name: str, root: str, mtime: float) -> dict | None:
    try:
        return checkpoints.read_card(name, root)
    except CheckpointError:
        return None


def card_stamp(name: str) -> tuple[str, float] | None:
    """What a checkpoint's card is known by: its root and its file's mtime (None without one);
    the key of data made from the card (its charts)."""
    root = str(checkpoints.checkpoint_root())
    try:
        return root, os.path.getmtime(checkpoints.checkpoint_dir(name, root) / checkpoints.CARD)
    except OSError:
        return None


def get_card(name: str) -> dict | None:
    """A checkpoint's card (a copy), read again only when its file changes: a lab asks for the
    cards several times a run."""
    key = card_stamp(name)
    return None if key is None else _card(name, *key)


# ----------------------------------------------------------------------------- heavy jobs
@st.cache_resource(show_spinner=False)
def _heavy_slots() -> threading.BoundedSemaphore:
    # One heavy job (an inversion, a GIF) at a time per server by default: on 2 cores it gets one
    # and every other session's sliders keep the other.
    return threading.BoundedSemaphore(max(1, int(os.environ.get("ADVDL_HEAVY_JOBS", "1"))))


@contextmanager
def heavy_job(wait_s: float | None = None, show: bool = True) -> Iterator[bool]:
    """Run a heavy job when a slot is free; yields False (after a translated message) when none
    frees up within ``wait_s`` seconds (default 30, or $ADVDL_HEAVY_WAIT_S), so that one student
    cannot starve the others."""
    wait_s = float(os.environ.get("ADVDL_HEAVY_WAIT_S", "30")) if wait_s is None else wait_s
    slots = _heavy_slots()
    got = slots.acquire(blocking=False)
    if not got:
        with st.spinner(t("common.queued")) if show else nullcontext():
            got = slots.acquire(timeout=wait_s)
    if not got:
        if show:
            st.warning(t("common.busy"))
        yield False
        return
    try:
        yield True
    finally:
        slots.release()
        trim_heap()


def trim_heap() -> None:
    """Hand the memory a heavy job freed back to the OS (glibc keeps it otherwise)."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass
