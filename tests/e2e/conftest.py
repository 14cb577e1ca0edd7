"""Real-browser fixtures: the lab's server (`python -m advdl.ui.serve`, as `make run` starts
it) on a free port and Debian's Chromium driven by Playwright (the helpers live in
scripts/browserkit.py, shared with the benchmarks). With CI=true a missing browser fails the run
instead of skipping it."""

from __future__ import annotations

import os
import subprocess

import pytest
from browserkit import CHROMIUM, CHROMIUM_ARGS, ROOT, draw_stroke, lab_checkpoints, start_server, wait_idle  # noqa: F401 (for the tests)


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


def _page_of(browser, height: int):
    ctx = browser.new_context(viewport={"width": 1280, "height": height})
    yield ctx.new_page()
    ctx.close()


@pytest.fixture
def page(browser):
    yield from _page_of(browser, 900)


@pytest.fixture
def projector(browser):
    """A page the size of a classroom projector (1280 x 720)."""
    yield from _page_of(browser, 720)
