"""The GAN training playground in Chromium: Play moves the fakes, Step D changes only D's
heatmap, Step G only the fakes, a drawing becomes the data, and the page fits a projector."""

from __future__ import annotations

import pytest

from .conftest import wait_idle
from .test_browser import OVERFLOW

pytestmark = pytest.mark.browser


def view(pg) -> dict:
    """The canvas component's view as it says it in its data attributes."""
    return pg.locator(".gcan").first.evaluate("e => ({...e.dataset})")


def wait_view(pg, test: str, timeout_ms: int = 20_000) -> dict:
    """Wait until the canvas's dataset satisfies ``test`` (a JS expression over ``d``)."""
    pg.locator(".gcan").first.wait_for(state="attached")
    pg.wait_for_function(
        f"() => {{ const e = [document, ...[...document.querySelectorAll('*')].map(x => x.shadowRoot).filter(Boolean)]"
        f".map(r => r.querySelector('.gcan')).find(Boolean); if (!e) return false; const d = e.dataset; return {test}; }}",
        timeout=timeout_ms,
    )
    return view(pg)




def test_steps_and_play_in_a_1280x720_presentation(projector, app_url):
    pg = projector
    pg.goto(f"{app_url}/gan_training?lang=en&present=1")
    wait_idle(pg)
    start = wait_view(pg, "d.epoch === '0'")
    assert pg.locator("[data-testid='stException']").count() == 0

    # nothing overflows the projector: no horizontal scrollbar, the canvas and its side panel inside
    assert pg.evaluate(OVERFLOW) == []
    for sel in (".gcan-main", ".gcan-side", ".gcan-toggles"):
        box = pg.locator(sel).first.bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= 1280, (sel, box)
    main = pg.locator(".gcan-main").first.bounding_box()
    assert main["width"] >= 300 and main["y"] + main["height"] <= 720, main

    pg.get_by_role("button", name="Step D").click()
    after_d = wait_view(pg, "d.stepsD === '1'")
    assert after_d["fakeSig"] == start["fakeSig"] and after_d["heatSig"] != start["heatSig"]

    pg.get_by_role("button", name="Step G").click()
    after_g = wait_view(pg, "d.stepsG === '1'")
    assert after_g["fakeSig"] != after_d["fakeSig"] and after_g["heatSig"] == after_d["heatSig"]

    pg.get_by_role("button", name="Play").click()
    playing = wait_view(pg, "d.playing === '1' && Number(d.epoch) > 0")
    frames = int(playing["frames"])
    pg.wait_for_timeout(2000)
    later = wait_view(pg, f"Number(d.epoch) > {int(playing['epoch']) + 50}")  # the browser keeps asking for ticks
    # the fakes moved, and the view was repainted in between snapshots (a few arrive per second)
    assert later["fakeSig"] != playing["fakeSig"] and int(later["frames"]) > frames + 20, (playing, later)
    pg.get_by_role("button", name="Pause").click()
    paused = wait_view(pg, "d.playing === '0'")
    pg.wait_for_timeout(1000)
    assert view(pg)["epoch"] == paused["epoch"]
    assert pg.locator("[data-testid='stException']").count() == 0


def test_a_sprayed_drawing_becomes_the_real_data(page, app_url):
    page.goto(f"{app_url}/gan_training?lang=zh&data=drawn")
    wait_idle(page)
    assert page.locator("[data-testid='stException']").count() == 0
    assert page.locator("text=在画布上按住鼠标拖动").count() >= 1  # draw first, in Chinese
    canvas = page.locator(".gcan-main").first
    canvas.wait_for(state="visible")
    box, settled = canvas.bounding_box(), None
    while box != settled:  # the layout settles (fonts, the first snapshot) before the stroke
        page.wait_for_timeout(250)
        settled, box = box, canvas.bounding_box()
    page.mouse.move(box["x"] + box["width"] * 0.7, box["y"] + box["height"] * 0.3)
    page.mouse.down()
    for i in range(12):
        page.mouse.move(box["x"] + box["width"] * (0.7 + 0.01 * i), box["y"] + box["height"] * (0.3 + 0.01 * i), steps=2)
    page.mouse.up()
    drawn = wait_view(page, "d.epoch === '0' && !!d.realMean")
    x, y = map(float, drawn["realMean"].split(","))
    # sprayed around 70 % across and 30 % down the canvas: (0.5, 0.5) in data coordinates, a little lower right
    assert 0.4 < x < 0.75 and 0.25 < y < 0.6, drawn["realMean"]
    page.get_by_role("button", name="训练 D 一步").click()
    wait_view(page, "d.stepsD === '1'")
    assert page.locator("[data-testid='stException']").count() == 0
