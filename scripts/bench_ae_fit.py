#!/usr/bin/env python
"""Benchmark of the autoencoder lab's "train it yourself" (run by ``scripts/bench.py --ae-fit``, or alone).

    python scripts/bench_ae_fit.py              # writes bench-results/ae_fit.json

Figures:
- the panel's default run (plain 784-32-784, batch 32, Adam 3e-3, 10 epochs, shuffled, 10 % of the
  6000 shipped digits for validation) on one torch thread, as advdl.ae_fit trains it: its time,
  and its last validation BCE against the shipped ae_plain's test BCE (from its card);
- in Chromium (the lab served as `make run` serves it, warm): Start until the first epoch's point
  and reconstructions are shown; Stop until the run has stopped and the page is idle; and, as the
  reference in the same run, a key press on a bare one-slider app until its rerun has ended.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent

GOALS = {
    "fit.plain_default_10_epochs_s": ("<=", 10, "s"),
    "fit.val_bce_vs_shipped_test_bce": ("<=", 1.15, "×"),
    "browser.start_to_first_epoch_shown_s.p50": ("<=", 2, "s"),
    "browser.stop_to_idle_s.p50": ("<=", 0.5, "s"),
}


def default_run() -> dict:
    from advdl import checkpoints
    from advdl.ae_fit import Fit, FitConfig
    from advdl.data import load_subset

    torch.set_num_threads(1)
    train, _ = load_subset()
    fit = Fit(FitConfig(), train)
    t0 = time.perf_counter()
    while fit.state == "running":
        fit.train_for(0.25)
    seconds = time.perf_counter() - t0
    shipped = checkpoints.read_card("ae_plain")["metrics"]["test_bce"]
    val = fit.history[-1][2]
    return {"plain_default_10_epochs_s": round(seconds, 2), "val_bce": round(val, 5), "shipped_test_bce": shipped,
            "val_bce_vs_shipped_test_bce": round(val / shipped, 3), "threads": torch.get_num_threads()}


# The live view's progress line ("Epoch n of N · batch b of B"), and a check that a new run's
# first epoch has ended: n >= 1 (a tick may end two) in a line other than the stopped run's.
PROGRESS_LINE = """() => { const live = document.querySelector('.st-key-aefit-live');
  const m = live && live.innerText.match(/Epoch \\d+ of \\d+ · batch \\d+ of \\d+/); return m ? m[0] : ''; }"""
FIRST_EPOCH = """(before) => { const live = document.querySelector('.st-key-aefit-live');
  const m = live && live.innerText.match(/Epoch (\\d+) of \\d+ · batch \\d+ of \\d+/);
  return !!m && m[0] !== before && Number(m[1]) >= 1; }"""


def browser(repeats: int) -> dict:
    from bench_lessons import _spread, bare_reference
    from browserkit import CHROMIUM, CHROMIUM_ARGS, lab_checkpoints, start_server, wait_idle
    from playwright.sync_api import sync_playwright

    tmp = Path(tempfile.mkdtemp())
    starts, stops = [], []
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        proc, url = start_server(lab_checkpoints(tmp / "ck"), tmp / "server.log")
        try:
            time.sleep(15)  # the launcher's warm-up
            page = b.new_page(viewport={"width": 1280, "height": 900})
            page.goto(f"{url}/autoencoders?lang=en")
            wait_idle(page)
            page.locator("[data-testid=stNumberInput] input[aria-label='Epochs']").fill("50")
            page.keyboard.press("Enter")
            wait_idle(page)
            for _ in range(repeats + 1):  # the first: warming up
                before = page.evaluate(PROGRESS_LINE)  # the stopped run's, still shown until the new one draws
                t0 = time.perf_counter()
                page.locator("button:has-text('Start')").click()
                page.wait_for_function(FIRST_EPOCH, arg=before, timeout=60_000, polling=10)
                starts.append(time.perf_counter() - t0)
                page.wait_for_timeout(500)
                t0 = time.perf_counter()
                page.locator("button:has-text('Stop')").click()
                page.locator("text=Stopped.").wait_for(timeout=30_000)
                page.wait_for_selector("[data-test-script-state='notRunning']", timeout=30_000)
                stops.append(time.perf_counter() - t0)
                wait_idle(page)
        finally:
            proc.terminate()
            proc.wait(10)
        ref = bare_reference(b, tmp, 20)
        b.close()
    return {"start_to_first_epoch_shown_s": _spread(starts[1:]), "stop_to_idle_s": _spread(stops[1:]),
            "bare_app_key_to_rerun_end_s": ref, "start_p50_vs_bare": round(statistics.median(starts[1:]) / ref["p50"], 1)}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--repeats", type=int, default=8, help="Start/Stop pairs timed in Chromium (default: 8)")
    p.add_argument("--no-browser", action="store_true", help="the training run only")
    p.add_argument("--json", default=str(ROOT / "bench-results" / "ae_fit.json"), help="where to write the JSON")
    a = p.parse_args(argv)
    from bench import machine

    result = {"machine": machine(), "goals": GOALS, "fit": default_run()}
    print("fit", result["fit"], flush=True)
    if not a.no_browser:
        result["browser"] = browser(a.repeats)
        print("browser", result["browser"], flush=True)
    Path(a.json).parent.mkdir(parents=True, exist_ok=True)
    Path(a.json).write_text(json.dumps(result, indent=2))
    print(f"wrote {a.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
