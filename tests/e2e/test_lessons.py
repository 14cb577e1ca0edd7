"""The lesson mode in a real browser: the keyboard walks every lesson (→ through it, ← back, Esc
out) on a 1280 x 720 projector, each step's caption and section in view, and a lesson's link works
as the very first request to a fresh server."""

from __future__ import annotations

import subprocess

import pytest

from advdl.lessons import available, load

from .conftest import lab_checkpoints, start_server, wait_idle

pytestmark = pytest.mark.browser

# Where the step bar and the step's section are, and whether anything overflows sideways.
LAYOUT = """(focus) => {
  const box = (e) => e ? e.getBoundingClientRect().toJSON() : null;
  const main = document.querySelector('[data-testid=stMain]');
  return { bar: box(document.querySelector('.st-key-lesson-bar')), focus: box(focus ? document.getElementById(focus) : null),
           sideways: main.scrollWidth - main.clientWidth, h: innerHeight };
}"""


# The step bar's list shows "n / N · title" (in its input's value).
STEP_SHOWN = """(prefix) => { const i = document.querySelector('.st-key-lesson-bar [data-testid=stSelectbox] input');
  return !!i && i.value.startsWith(prefix); }"""


def _on_step(page, lesson, i: int) -> None:
    """Wait until the page shows step ``i`` (from 0) of ``lesson`` and has finished drawing it."""
    page.wait_for_function(STEP_SHOWN, arg=f"{i + 1} / {len(lesson.steps)} ·", timeout=60_000)
    wait_idle(page)


def _check_step(page, lesson, i: int, lang: str) -> None:
    step = lesson.steps[i]
    where = (lesson.id, i + 1)
    assert page.locator("[data-testid='stException']").count() == 0, where
    assert f"/{step.page}?" in page.url or page.url.endswith(f"/{step.page}"), (where, page.url)
    assert f"lesson={lesson.id}" in page.url and f"step={i + 1}" in page.url, (where, page.url)
    caption = page.locator(".st-key-lesson-bar").get_by_text(step.caption[lang][:30])
    caption.wait_for(timeout=10_000)
    if step.focus:  # the section is brought under the bar, or as near as the page's end allows
        page.wait_for_function(
            """(f) => { const e = document.getElementById(f); const b = document.querySelector('.st-key-lesson-bar');
                const top = e && e.getBoundingClientRect().top, under = b && b.getBoundingClientRect().bottom;
                return e && b && top >= under - 2 && top < innerHeight - 200; }""",
            arg=step.focus, timeout=15_000)
    got = page.evaluate(LAYOUT, step.focus)
    assert got["bar"] and 0 <= got["bar"]["top"] and got["bar"]["bottom"] <= got["h"] * 0.4, (where, got)  # the bar: in view, small
    assert got["sideways"] <= 1, (where, got)
    if step.focus:
        assert got["bar"]["bottom"] - 2 <= got["focus"]["top"] < got["h"] - 200, (where, got)  # the section: under the bar, in view


@pytest.mark.parametrize("name, lang", [("gan", "zh"), ("autoencoders", "en"), ("capsules", "zh")])
def test_the_keyboard_walks_a_lesson_on_a_projector(browser, app_url, name, lang):
    lesson = load(name)
    ctx = browser.new_context(viewport={"width": 1280, "height": 720})
    page = ctx.new_page()
    try:
        page.goto(f"{app_url}/?lesson={name}&step=1&lang={lang}&present=1")
        _on_step(page, lesson, 0)
        _check_step(page, lesson, 0, lang)
        keys = ["ArrowRight", "PageDown"]  # the keyboard and a presentation clicker
        for i in range(1, len(lesson.steps)):
            page.keyboard.press(keys[i % 2])
            _on_step(page, lesson, i)
            _check_step(page, lesson, i, lang)
        page.keyboard.press("ArrowRight")  # past the last step: it stays there
        wait_idle(page)
        _on_step(page, lesson, len(lesson.steps) - 1)
        for i in range(len(lesson.steps) - 2, -1, -1):
            page.keyboard.press("ArrowLeft" if i % 2 else "PageUp")
            _on_step(page, lesson, i)
        assert page.locator("[data-testid='stException']").count() == 0
        here = page.url.split("?")[0]
        page.keyboard.press("Escape")  # out of the lesson, the lab as it is
        page.locator(".st-key-lesson-bar").wait_for(state="detached", timeout=30_000)
        wait_idle(page)
        assert page.url.split("?")[0] == here and "lesson=" not in page.url and "step=" not in page.url
        assert page.locator("[data-testid='stSidebar'] button").filter(has_text=lesson.title[lang]).count() == 1  # the way back
    finally:
        ctx.close()


def test_keys_typed_into_a_slider_stay_the_sliders(page, app_url):
    lesson = load("capsules")
    i = next(k for k, s in enumerate(lesson.steps) if s.focus == "perturb")
    page.goto(f"{app_url}/capsules?lesson=capsules&step={i + 1}&lang=en")
    _on_step(page, lesson, i)
    slider = page.locator("input[type=range]").first
    slider.focus()
    before = slider.input_value()
    page.keyboard.press("ArrowRight")
    wait_idle(page)
    assert slider.input_value() != before  # the slider moved
    assert f"step={i + 1}" in page.url  # and the lesson did not
    _on_step(page, lesson, i)


@pytest.mark.parametrize("lang, name, step", [("en", "capsules", 2), ("zh", "gan", 7)])
def test_a_lesson_link_is_the_first_request_to_a_fresh_server(browser, tmp_path, lang, name, step):
    proc, url = start_server(lab_checkpoints(tmp_path / "ckpt"), tmp_path / "server.log")
    try:
        lesson = load(name)
        page = browser.new_page(viewport={"width": 1280, "height": 720})
        page.goto(f"{url}/?lesson={name}&step={step}&lang={lang}&present=1")
        _on_step(page, lesson, step - 1)
        _check_step(page, lesson, step - 1, lang)
        assert f"lang={lang}" in page.url
        page.close()
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()


def test_every_lesson_is_walked():
    assert available() == ["gan", "autoencoders", "capsules"]
