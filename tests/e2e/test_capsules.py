"""The capsule lab's inside views on a 1280 x 720 projector in presentation mode: the layer walk's
tabs, the routing switch (1, 3, 5 iterations) and the "why capsules" tabs, each drawn without an
exception and without anything overflowing sideways."""

from __future__ import annotations

import pytest

from .conftest import wait_idle

pytestmark = pytest.mark.browser

SIDEWAYS = """() => { const m = document.querySelector('[data-testid=stMain]'); return m.scrollWidth - m.clientWidth; }"""
# the routing view's per-iteration maps: their captions begin "Iteration r · "
ITERATION_MAPS = """() => [...document.querySelectorAll('[data-testid=stImageCaption]')].filter(e => /^Iteration \\d /.test(e.textContent)).length"""




def _no_trouble(page, where: str) -> None:
    assert page.locator("[data-testid='stException']").count() == 0, where
    assert page.evaluate(SIDEWAYS) <= 1, where


def test_walk_routing_and_why_at_1280x720_presenting(projector, app_url):
    page = projector
    page.goto(f"{app_url}/capsules?lang=en&present=1")
    page.get_by_role("tab", name="Conv1").wait_for(timeout=60_000)
    wait_idle(page)
    _no_trouble(page, "opened")
    for name in ("Conv1", "PrimaryCaps", "DigitCaps", "Decoder", "Input"):
        tab = page.get_by_role("tab", name=name, exact=True)
        tab.scroll_into_view_if_needed()
        tab.click()
        wait_idle(page)
        assert tab.get_attribute("aria-selected") == "true", name
        _no_trouble(page, f"walk: {name}")
    page.wait_for_function(f"() => ({ITERATION_MAPS})() === 3", timeout=30_000)  # the model's own 3 iterations
    for n in ("5", "1", "3"):
        button = page.locator(".st-key-caps-iters button").filter(has_text=n)
        button.scroll_into_view_if_needed()
        button.click()
        page.wait_for_function(f"() => ({ITERATION_MAPS})() === {n}", timeout=30_000)
        wait_idle(page)
        _no_trouble(page, f"routing: {n} iterations")
    for name in ("Overlapping digits", "Parts rearranged"):
        tab = page.get_by_role("tab", name=name, exact=True)
        tab.scroll_into_view_if_needed()
        tab.click()
        wait_idle(page)
        _no_trouble(page, f"why: {name}")
    page.get_by_text("Top and bottom halves swapped").wait_for()
