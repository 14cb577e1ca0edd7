"""Shared fixtures: the repository root, throwaway checkpoints, and AppTest helpers."""

from __future__ import annotations

import functools
import json
import os
import subprocess
import sys
from importlib.resources import files
from pathlib import Path

import numpy as np
import pytest
import torch

ROOT = Path(__file__).resolve().parent.parent

from advdl import checkpoints
from advdl.models import MODELS, build

torch.set_num_threads(min(2, os.cpu_count() or 1))

TRAIN_ENV = {**os.environ, "OMP_NUM_THREADS": "1"}


def train_script(args: list[str], **kw) -> subprocess.CompletedProcess:
    """``scripts/train.py args`` in a subprocess, one thread, its output captured."""
    return subprocess.run([sys.executable, str(ROOT / "scripts" / "train.py"), *args], capture_output=True, text=True,
                          env=TRAIN_ENV, timeout=300, **kw)


@pytest.fixture(scope="session")
def random_checkpoints(tmp_path_factory) -> Path:
    """A checkpoint root holding every model with random weights (shapes as shipped)."""
    root = tmp_path_factory.mktemp("ckpt")
    torch.manual_seed(0)
    for name in MODELS:
        checkpoints.save(build(name), name, root, card={"epochs": 0, "metrics": {}})
    from advdl.data import fake_split
    from advdl.latent_map import FILENAME, build_latent_map

    fake = fake_split(100)
    model = checkpoints.load_model("ae_plain", root)
    build_latent_map(model, fake.floats(), fake.labels, range(100)).save(root / "ae_plain" / FILENAME)
    return root


@pytest.fixture
def checkpoint_env(monkeypatch):
    """Point the app at a checkpoint root for one test: ``checkpoint_env(path)``."""

    def use(path: Path) -> Path:
        monkeypatch.setenv("ADVDL_CHECKPOINTS", str(path))
        return path

    return use


@functools.cache
def _vega_lite_schema():
    import jsonschema

    # the Vega-Lite version Streamlit's frontend draws with, as altair (a Streamlit dependency) ships it
    return jsonschema.Draft7Validator(json.loads((files("altair") / "vegalite/v6/schema/vega-lite-schema.json").read_text()))


def vega_lite_errors(spec: dict) -> list[str]:
    """What makes ``spec`` an invalid Vega-Lite spec (the browser would draw an error box instead)."""
    return [f"{list(e.path)}: {e.message[:200]}" for e in _vega_lite_schema().iter_errors(json.loads(json.dumps(spec)))]


def run_page(page: str, lang: str = "en", timeout: float = 120, query: dict | None = None):
    """Run app.py on ``pages/<page>.py`` under AppTest and return the AppTest; ``query``: more URL
    parameters (a shared link's)."""
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=timeout)
    at.query_params["lang"] = lang
    at.query_params.update(query or {})
    at.run()
    if page != "home":
        at.switch_page(f"pages/{page}.py").run()
    return at


def ae_panel(at) -> dict | None:
    """What the autoencoder lab's noise panel sends the browser (None when it is not shown)."""
    for c in at.get("bidi_component"):
        data = component_payload(c)
        if "captions" in data:
            return data
    return None


def component_payload(element) -> dict:
    """The data a scrubber component sends the browser (inside a list: see advdl.ui.scrub._send)."""
    import json

    (data,) = json.loads(element.proto.json)
    return data


def write_replay(root: Path, epochs: int) -> np.ndarray:
    """Give the DCGAN checkpoint under ``root`` a training replay: a random 8 x 8 sample grid per
    epoch (samples.npz) and a history.csv whose losses move from epoch to epoch; returns the samples."""
    import csv

    samples = np.random.default_rng(0).integers(0, 256, (epochs, 64, 28, 28), dtype=np.uint8)
    np.savez_compressed(root / "dcgan" / "samples.npz", samples=samples)
    with open(root / "dcgan" / "history.csv", "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=["epoch", "loss_d", "loss_g"])
        w.writeheader()
        w.writerows({"epoch": e + 1, "loss_d": 1.0 + e, "loss_g": 2.0 - e / 10} for e in range(epochs))
    return samples


@pytest.fixture
def every_run_through_app(monkeypatch):
    """AppTest runs as the lab's server does: every run through app.py and its navigation.

    AppTest resets Streamlit's process-wide "multipage v1" flag before each run, and with a
    ``pages/`` folder beside app.py a run on any page but the first then runs that page's file
    alone (advdl.ui.routing clears that flag once in the real server). Tests of what app.py draws
    around a page (the lesson mode's step bar) need it cleared on every run."""
    from streamlit.runtime.pages_manager import PagesManager
    from streamlit.testing.v1 import app_test

    class Navigated(PagesManager):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            PagesManager.uses_pages_directory = False

    monkeypatch.setattr(app_test, "PagesManager", Navigated)


def run_async(coro, timeout: float = 120):
    """Run a coroutine to its end in a thread of its own: a browser test earlier in the same worker
    may hold this thread's event loop (Playwright's sync API)."""
    import asyncio
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(1) as pool:
        return pool.submit(lambda: asyncio.run(asyncio.wait_for(coro, timeout))).result()


def pytest_collection_modifyitems(config, items):
    """The files with slow or browser tests first, each file's tests kept together and in order:
    ``make test`` hands whole files to two workers (--dist loadfile) in this order, so that the
    long files start early and short ones fill in at the end instead of one long file running
    alone at the end."""
    heavy = {item.module.__name__ for item in items if item.get_closest_marker("slow") or item.get_closest_marker("browser")}
    items.sort(key=lambda item: item.module.__name__ not in heavy)  # stable: the order within each group stays
