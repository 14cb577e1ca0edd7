#!/usr/bin/env python
"""Benchmark of the lesson mode (run by ``scripts/bench.py --lessons``, or alone).

    python scripts/bench_lessons.py            # writes bench-results/lessons.json

In Chromium at 1280 x 720 in presentation mode, the lab served as `make run` serves it: each
lesson walked once with → to warm the server (every page and view made once, as a teacher's
rehearsal does), then ``--walks`` more times; each → is timed from the key press until the page
shows the new step and its script run has ended (the lab drawn), in the page's own clock. The
steps that open another page and those that stay on one are also shown apart. The reference in the
same run: a bare one-slider Streamlit app, a key press on its slider until its rerun has ended.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent

from advdl.lessons import available, load  # noqa: E402

GOALS = {"steps.step_to_step_drawn_s.p50": ("<=", 1.0, "s")}

# True once the step bar shows step ``prefix`` and the app's script is not running (STATE_LOG_JS
# notes the state's changes; this reads the current one).
DRAWN = """(prefix) => { const i = document.querySelector('.st-key-lesson-bar [data-testid=stSelectbox] input');
  const s = document.querySelector('[data-test-script-state]');
  return !!i && i.value.startsWith(prefix) && !!s && s.getAttribute('data-test-script-state') === 'notRunning'; }"""


def _spread(xs: list[float]) -> dict:
    a = np.asarray(xs, np.float64)
    return {"p50": round(float(np.percentile(a, 50)), 3), "p95": round(float(np.percentile(a, 95)), 3), "n": len(xs)}


def _press_until(page, key: str, prefix: str, timeout_s: float = 60.0) -> float:
    """Seconds from pressing ``key`` until the step ``prefix`` is drawn (polled every 10 ms, and
    held for 150 ms so that a run that follows at once, a lazy scrubber's, is waited for too)."""
    t0 = page.evaluate("performance.now()")
    page.keyboard.press(key)
    deadline = time.time() + timeout_s
    while True:
        if page.evaluate(DRAWN, prefix):
            at = page.evaluate("performance.now()")
            page.wait_for_timeout(150)
            if page.evaluate(DRAWN, prefix):
                return (at - t0) / 1000.0
        if time.time() > deadline:
            raise TimeoutError(f"step {prefix!r} was not drawn in {timeout_s} s")
        page.wait_for_timeout(10)


def walk(page, url: str, name: str) -> list[tuple[float, bool]]:
    """One walk through lesson ``name`` with →: (seconds, opened another page) per step."""
    from browserkit import wait_idle

    lesson = load(name)
    n = len(lesson.steps)
    page.goto(f"{url}/?lesson={name}&step=1&lang=en&present=1")
    page.wait_for_function(DRAWN, arg=f"1 / {n} ·", timeout=60_000)
    wait_idle(page)
    out = []
    for i in range(1, n):
        switched = lesson.steps[i].page != lesson.steps[i - 1].page
        out.append((_press_until(page, "ArrowRight", f"{i + 1} / {n} ·"), switched))
        wait_idle(page)
    return out


BARE_APP = """
import streamlit as st
st.slider("Value", 0, 400, 200)
"""


def bare_reference(browser, tmp: Path, presses: int) -> dict:
    """A key press on a bare app's slider until its script_finished message (as bench.py's
    commit_ms_bare_app: its rerun is too quick for the page's script state to show it)."""
    from browserkit import RunWatcher, start_server, wait_idle

    app = tmp / "bare_app.py"
    app.write_text(BARE_APP)
    proc, url = start_server(tmp, tmp / "bare.log", app=app)
    try:
        page = browser.new_page(viewport={"width": 1280, "height": 720})
        watcher = RunWatcher(page)
        page.goto(url)
        wait_idle(page)
        thumb = page.locator("input[type=range][aria-label='Value']").first  # Streamlit's slider: its hidden input
        times = []
        for i in range(presses):
            thumb.focus()
            before = watcher.finished
            t0 = time.perf_counter()
            page.keyboard.press("ArrowRight" if i % 2 else "ArrowLeft")
            watcher.wait_past(before)
            times.append(watcher.last - t0)
            wait_idle(page)
        return _spread(times)
    finally:
        proc.terminate()
        proc.wait(10)


def run(walks: int) -> dict:
    from bench import machine
    from browserkit import CHROMIUM, CHROMIUM_ARGS, lab_checkpoints, start_server
    from playwright.sync_api import sync_playwright

    tmp = Path(tempfile.mkdtemp())
    result = {"machine": machine(), "goals": GOALS}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        proc, url = start_server(lab_checkpoints(tmp / "ck"), tmp / "server.log")
        try:
            time.sleep(15)  # the launcher's warm-up: a server up before the class
            page = browser.new_page(viewport={"width": 1280, "height": 720})
            for name in available():  # the rehearsal
                walk(page, url, name)
            timed = [t for _ in range(walks) for name in available() for t in walk(page, url, name)]
            print(f"{len(timed)} steps timed", flush=True)
        finally:
            proc.terminate()
            proc.wait(10)
        ref = bare_reference(browser, tmp, 20)
        browser.close()
    all_s = [s for s, _ in timed]
    result["steps"] = {
        "step_to_step_drawn_s": _spread(all_s),
        "same_page_s": _spread([s for s, sw in timed if not sw]),
        "other_page_s": _spread([s for s, sw in timed if sw]),
        "bare_app_key_to_rerun_end_s": ref,
        "p50_vs_bare": round(statistics.median(all_s) / ref["p50"], 2),
    }
    return result


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--walks", type=int, default=2, help="timed walks through every lesson after the rehearsal (default: 2)")
    p.add_argument("--json", default=str(ROOT / "bench-results" / "lessons.json"), help="where to write the JSON")
    a = p.parse_args(argv)
    result = run(a.walks)
    Path(a.json).parent.mkdir(parents=True, exist_ok=True)
    Path(a.json).write_text(json.dumps(result, indent=2))
    print(json.dumps(result["steps"], indent=2))
    print(f"wrote {a.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
