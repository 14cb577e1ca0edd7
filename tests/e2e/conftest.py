"""Real-browser fixtures: the lab's server (`python -m advdl.ui.serve`, as `make run` starts
it) on a free port and Debian's Chromium driven by Playwright. With CI=true a missing browser fails the run instead of skipping it."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
import torch

from advdl import checkpoints
from advdl.models import MODELS, build

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def lab_checkpoints(root: Path, fill_from: Path | None = None) -> Path:
    """The shipped checkpoints, then for models not shipped yet those under ``fill_from`` (an
    unshipped training export, say) or else random-weight stand-ins, so the browser tests
    exercise every page's widgets whatever training has reached."""
    root.mkdir(parents=True, exist_ok=True)
    shipped = checkpoints.available()
    extra = checkpoints.available(fill_from) if fill_from else []
    for name in MODELS:
        if name in shipped:
            shutil.copytree(checkpoints.checkpoint_dir(name), root / name)
        elif name in extra:
            shutil.copytree(checkpoints.checkpoint_dir(name, fill_from), root / name)
        else:
            torch.manual_seed(0)
            checkpoints.save(build(name), name, root, card={"epochs": 0})
    return root


def start_server(ckpt_root: Path, log_path: Path, app: Path = ROOT / "app.py", plain: bool = False) -> tuple[subprocess.Popen, str]:
    port = free_port()
    # As `make run` starts it: few malloc arenas keep a many-threaded server's memory in check.
    env = {"MALLOC_ARENA_MAX": "2", **os.environ, "ADVDL_CHECKPOINTS": str(ckpt_root), "PYTHONUNBUFFERED": "1"}
    log = open(log_path, "w")
    # The lab starts as `make run` starts it (advdl.ui.serve: models loading while the server
    # boots); any other app, or the lab with ``plain``, by `streamlit run`.
    launch = ["-m", "advdl.ui.serve"] if app == ROOT / "app.py" and not plain else ["-m", "streamlit", "run", str(app)]
    proc = subprocess.Popen(
        [sys.executable, *launch, "--server.port", str(port),
         "--server.address", "127.0.0.1", "--server.headless", "true"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 90
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"streamlit exited: {log_path.read_text()[-2000:]}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
                if r.read().strip() == b"ok":
                    return proc, url
        except OSError:
            time.sleep(0.05)
    proc.kill()
    raise RuntimeError("streamlit did not become healthy in 90 s")


@pytest.fixture(scope="session")
def app_url(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("e2e")
    proc, url = start_server(lab_checkpoints(tmp / "ckpt"), tmp / "server.log")
    yield url
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()


@pytest.fixture(scope="session")
def browser():
    if not os.path.exists(CHROMIUM):
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"{CHROMIUM} is missing: CI must install Debian's chromium")
        pytest.skip(f"{CHROMIUM} is missing (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield b
        b.close()


@pytest.fixture
def page(browser):
    ctx = browser.new_context(viewport={"width": 1280, "height": 900})
    pg = ctx.new_page()
    yield pg
    ctx.close()


def wait_idle(page, timeout: float = 60_000) -> None:
    """Wait until the app has finished its script run (and whatever it started)."""
    page.wait_for_timeout(200)
    page.wait_for_selector("[data-test-script-state='notRunning']", timeout=timeout)
    page.wait_for_timeout(100)
    page.wait_for_selector("[data-test-script-state='notRunning']", timeout=timeout)


def draw_stroke(page, points) -> None:
    """Draw one mouse stroke through ``points`` (canvas pixels) on the page's drawing canvas."""
    canvas = page.locator("canvas.upper-canvas").first
    canvas.wait_for(state="visible")
    box = canvas.bounding_box()
    x0, y0 = box["x"], box["y"]
    page.mouse.move(x0 + points[0][0], y0 + points[0][1])
    page.mouse.down()
    for x, y in points[1:]:
        page.mouse.move(x0 + x, y0 + y, steps=8)
    page.mouse.up()
