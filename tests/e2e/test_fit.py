"""The autoencoder lab's "train it yourself" in a real browser: Start shows the curve growing and the
reconstructions changing while it trains, Stop stops it."""

from __future__ import annotations

import pytest

from .conftest import wait_idle

pytestmark = pytest.mark.browser

STATE = """() => { const img = document.querySelector('.st-key-aefit-live img');
  const bar = document.querySelector('.st-key-aefit-live [data-testid=stProgress] p, .st-key-aefit-live [data-testid=stProgress]');
  return { img: img ? img.src.length + ':' + img.src.slice(-40) : null, text: bar ? bar.innerText : '' }; }"""


def test_start_trains_live_and_stop_stops(page, app_url):
    page.goto(f"{app_url}/autoencoders?lang=en")
    wait_idle(page)
    page.locator("[data-testid=stNumberInput] input[aria-label='Epochs']").fill("50")
    page.keyboard.press("Enter")
    wait_idle(page)
    page.locator("button:has-text('Start')").click()
    page.locator(".st-key-aefit-live [data-testid=stProgress]").wait_for(timeout=30_000)
    seen = set()
    for _ in range(40):
        page.wait_for_timeout(250)
        seen.add(page.evaluate(STATE)["img"])
        if len(seen) >= 3:
            break
    assert len(seen) >= 3, seen  # the reconstructions changed while it trained
    progress = page.evaluate(STATE)["text"]
    page.locator("button:has-text('Stop')").click()
    page.locator("text=Stopped.").wait_for(timeout=15_000)
    wait_idle(page)
    after = page.evaluate(STATE)
    page.wait_for_timeout(1500)
    assert page.evaluate(STATE) == after  # nothing trains any more
    assert progress != after["text"] or "Epoch" in after["text"]
    assert page.locator("[data-testid='stException']").count() == 0
