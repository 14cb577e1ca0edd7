"""The lab in a real browser: it opens, every page renders without an exception, pages switch,
and a digit drawn with the mouse reaches the models."""

from __future__ import annotations

import pytest

from .conftest import wait_idle

pytestmark = pytest.mark.browser

PAGES = [("gan", "GAN latent explorer"), ("autoencoders", "Autoencoder playground"), ("capsules", "Capsule viewer")]


def test_app_opens_and_switches_pages(page, app_url):
    page.goto(f"{app_url}/?lang=en")
    wait_idle(page)
    assert page.locator("h1").first.inner_text().strip() == "Advanced Deep Learning Lab"
    assert page.locator("[data-testid='stException']").count() == 0
    for slug, title in PAGES:
        page.locator(f"[data-testid='stSidebarNav'] a[href$='/{slug}']").click()
        page.wait_for_url(f"**/{slug}**")
        wait_idle(page)
        page.wait_for_selector(f"h1:has-text('{title}')")
        assert page.locator("[data-testid='stException']").count() == 0, slug


def test_language_is_kept_in_the_url(page, app_url):
    page.goto(f"{app_url}/?lang=en")
    wait_idle(page)
    page.locator("[data-testid='stSidebar'] label:has-text('中文')").click()
    wait_idle(page)
    page.wait_for_selector("h1:has-text('深度学习高级主题实验室')")
    assert "lang=zh" in page.url
    page.reload()
    wait_idle(page)
    page.wait_for_selector("h1:has-text('深度学习高级主题实验室')")


def draw_stroke(page, points):
    canvas = page.locator("canvas.upper-canvas").first
    canvas.wait_for(state="visible")
    box = canvas.bounding_box()
    x0, y0 = box["x"], box["y"]
    page.mouse.move(x0 + points[0][0], y0 + points[0][1])
    page.mouse.down()
    for x, y in points[1:]:
        page.mouse.move(x0 + x, y0 + y, steps=8)
    page.mouse.up()


def test_drawn_digit_reaches_the_autoencoders(page, app_url):
    page.goto(f"{app_url}/autoencoders?lang=en")
    wait_idle(page)
    page.locator("label:has-text('Draw')").first.click()
    wait_idle(page)
    assert page.locator("text=The canvas is empty").count() == 1
    draw_stroke(page, [(100, 60), (220, 60), (150, 260)])  # a 7
    page.wait_for_selector("text=The 28×28 image the models see", timeout=30_000)
    wait_idle(page)
    assert page.locator("text=PSNR").count() == 4
    assert page.locator("[data-testid='stException']").count() == 0
