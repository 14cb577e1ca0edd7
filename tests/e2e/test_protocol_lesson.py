"""The load generator's lesson is the real one: the same short lesson through the protocol client
(scripts/stclient.py, as scripts/loadtest.py sends it) and through Chromium sees the same digit
read, commits the same slider values and draws the same routing, on one server; and a short class
of protocol sessions walks the whole lesson without an error."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import urllib.parse

import pytest
from loadtest import scrub_commit
from stclient import Session

from .conftest import ROOT, wait_idle

pytestmark = pytest.mark.browser

QUERY = "lang=en&rot=30&scale=0.8"


def _browser_lesson(page, url: str) -> dict:
    page.goto(f"{url}/capsules?{QUERY}")
    page.locator("input[type=range][aria-label='Dim 3']").first.wait_for(timeout=60_000)
    wait_idle(page)
    reads = page.locator("[data-testid=stMetricValue]").first.inner_text()
    page.locator("input[type=range][aria-label='Dim 3']").first.focus()
    page.keyboard.press("ArrowRight")  # one step up, committed on release
    page.wait_for_function("() => new URL(location.href).searchParams.has('dims')", timeout=30_000)
    wait_idle(page)
    dims = urllib.parse.parse_qs(urllib.parse.urlparse(page.url).query)["dims"][0]
    page.locator(".st-key-caps-iters button").filter(has_text="5").click()
    page.wait_for_function("() => [...document.querySelectorAll('[data-testid=stImageCaption]')]"
                           ".filter(e => e.textContent.startsWith('Iteration')).length === 5", timeout=30_000)
    wait_idle(page)
    captions = page.locator("[data-testid=stImageCaption]").all_inner_texts()
    return {"reads": reads, "dims": dims, "routing": [c for c in captions if c.startswith("Iteration")]}


async def _protocol_lesson(url: str) -> dict:
    s = Session(url)
    first = await s.open("capsules", QUERY)
    reads = first.metrics["CapsNet reads (capsule length)"]
    await s.set("caps.dims", scrub_commit(s, "caps.dims", k=2, by=1))
    dims = urllib.parse.parse_qs(s.query)["dims"][0]
    routed = await s.set("caps.iters", "5")
    await s.close()
    return {"reads": reads, "dims": dims, "routing": [c for c in routed.captions if c.startswith("Iteration")]}


def test_the_protocol_lesson_sees_what_the_browser_sees(page, app_url):
    seen_by_browser = _browser_lesson(page, app_url)
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(1) as pool:  # a thread of its own: Playwright's sync API holds this one's event loop
        seen_by_protocol = pool.submit(lambda: asyncio.run(asyncio.wait_for(_protocol_lesson(app_url), 120))).result()
    assert seen_by_protocol == seen_by_browser
    assert len(seen_by_browser["routing"]) == 5 and len(seen_by_browser["dims"].split(",")) == 16


def test_a_short_class_walks_the_lesson_without_errors(app_url, tmp_path):
    out = tmp_path / "load.json"
    proc = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "loadtest.py"), "--url", app_url, "--sessions", "3", "--duration", "25",
         "--think", "0.2", "--arrival", "1", "--invert-share", "1", "--json", str(out)],
        capture_output=True, text=True, timeout=300,
    )
    assert out.exists(), proc.stderr[-3000:]
    result = json.loads(out.read_text())
    assert proc.returncode == 0 and result["errors"] == 0, (result["error_samples"], proc.stdout[-2000:])
    assert result["lessons"] >= 3
    assert set(result["by_action_s"]) >= {"open_gan", "gan_direction", "ae_strength", "ae_drawn",
                                          "caps_dimension", "caps_routing", "gan_inversion"}
    # the replay's frames, one static file per session, however often it comes back to the GAN lab
    assert result["by_action_s"]["gan_replay_pack_fetch"]["n"] == 3 and "gan_replay_frames" not in result["by_action_s"]
    assert result["heavy_s"]["n"] == result["by_action_s"]["gan_inversion"]["n"] > 0
    assert result["client_cpu_pct_of_machine"] < 50 and result["action_s"]["p50"] > 0
