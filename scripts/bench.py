#!/usr/bin/env python
"""Benchmarks: the server's work per interaction, training throughput, memory, and (with
--browser) what a user feels in Chromium.

    python scripts/bench.py                      # direct calls: inference, Figure 4, inversion, training
    python scripts/bench.py --browser            # also Playwright: cold start, drag rate, commit latency
    python scripts/bench.py --json bench.json
    python scripts/bench.py --gan-training --browser   # the GAN training playground (bench_gan_training.py)

Browser figures: the cold start (from spawning the server as `make run` does to the GAN lab
drawn with its models, its charts below the fold, its training replay's frames; --cold-starts
times, in turn with a bare app's and with the lab's by plain `streamlit run app.py`, each from a
fresh server); image
changes per second during a one-second mouse drag on a GAN direction and a capsule dimension
slider; the commit latency (a key press on a slider until the rerun it caused has ended, from
Streamlit's script_finished message) on each lab; the end of a stroke on the autoencoder canvas
until the four reconstructions are shown; and, in the same run, a bare one-slider Streamlit app
that shows an image, as the reference. Each figure is a median over --repeats runs (p95 where
it matters). Prints a table and writes JSON.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parent.parent

from advdl import checkpoints
from advdl.models import MODELS, build


def cpu_model() -> str:
    """The CPU's model name, with its family and model numbers (``/proc/cpuinfo``)."""
    try:
        with open("/proc/cpuinfo") as f:
            info = dict(line.split(":", 1) for line in f.read().split("\n\n")[0].splitlines() if ":" in line)
    except OSError:
        return platform.processor() or platform.machine()
    info = {k.strip(): v.strip() for k, v in info.items()}
    return f"{info.get('model name', '?')} (family {info.get('cpu family', '?')}, model {info.get('model', '?')})"


# The lab's speed goals (issue 8), by the JSON path of the figure they bound: written into the
# results, so that docs/performance.md says for each run whether it met them.
GOALS = {
    "server.figure4_grid.p50_ms": ("<=", 50, "ms"),
    "server.capsnet_layer_walk.p50_ms": ("<=", 150, "ms"),
    "server.gan_inversion_100x4_nearest_starts.p50_ms": ("<=", 2000, "ms"),
    "training.capsnet_speedup_vs_loop": (">=", 2, "×"),
    "browser.server_memory_after_the_labs.rss_mb": ("<=", 800, "MB"),
    "browser.drag_changes_per_s_gan": (">=", 30, "/s"),
    "browser.drag_changes_per_s_capsules": (">=", 30, "/s"),
    "browser.key_to_image_p50_vs_bare.gan": ("<=", 1.3, "× the bare app"),
    "browser.key_to_image_p50_vs_bare.autoencoders": ("<=", 1.3, "× the bare app"),
    "browser.key_to_image_p50_vs_bare.capsules": ("<=", 1.3, "× the bare app"),
    "browser.stroke_to_four_reconstructions_ms.p50_ms": ("<=", 1000, "ms"),
    "browser.cold_start_to_gan_lab_drawn_s.median_s": ("<=", 4, "s"),
    "browser.cold_start_vs_bare": ("<=", 2, "× the bare app"),
    **{f"browser.first_drawing_warm_vs_bare.{lab}": ("<=", 1.5, "× the bare app") for lab in ("gan", "gan_training", "real_or_fake", "autoencoders", "capsules")},
    **{f"browser.commit_ms_{lab}.p50_ms": ("<=", 300, "ms") for lab in ("gan", "autoencoders", "capsules")},
    **{f"browser.commit_p50_vs_bare.{lab}": ("<=", 5, "× the bare app") for lab in ("gan", "autoencoders", "capsules")},
}


def machine() -> dict:
    """What a run's figures depend on, written beside them: the CPU, torch, the day and the code."""
    import datetime
    import subprocess as sp

    try:
        commit = sp.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True, timeout=10).stdout.strip() or None
    except (OSError, sp.SubprocessError):
        commit = None
    return {"platform": platform.platform(), "processor": platform.processor() or platform.machine(), "cpu": cpu_model(),
            "cpus": os.cpu_count(), "torch_threads": torch.get_num_threads(), "torch": torch.__version__,
            "date": datetime.datetime.now(datetime.timezone.utc).date().isoformat(), "commit": commit}


def timeit(fn, repeats: int, warmup: int = 2) -> dict:
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000)
    return {"p50_ms": round(statistics.median(times), 2), "p95_ms": round(float(np.percentile(times, 95)), 2)}


def load_all(root=None, fill_from=None) -> dict:
    out = {}
    for name in MODELS:
        try:
            out[name] = checkpoints.load_model(name, root)
            continue
        except checkpoints.CheckpointError:
            pass
        try:
            if fill_from is None:
                raise checkpoints.CheckpointMissingError(name, "no fill-in root")
            out[name] = checkpoints.load_model(name, fill_from)
            out[name].filled_in = True
        except checkpoints.CheckpointError:
            torch.manual_seed(0)
            out[name] = build(name).eval()  # a stand-in with the same shapes: timings only
            out[name].stand_in = True
    return out


def bench_server(models: dict, repeats: int) -> dict:
    from advdl.gan_tools import INVERSION_RESTARTS, INVERSION_STEPS, CandidatePool, invert
    from advdl.inference import capsule_filmstrips, classify, direction_filmstrips, read_capsules, reconstruct
    from advdl.models.gan import sefa_directions

    img = np.zeros((28, 28), np.float32)
    img[6:22, 12:16] = 1.0
    res = {}
    res["cnn_single"] = timeit(lambda: classify(models["cnn"], img), repeats)
    aes = {n: models[n] for n in ("ae_plain", "ae_deep", "ae_conv", "ae_denoise")}
    res["autoencoders_all_four"] = timeit(lambda: reconstruct(aes, img, img), repeats)
    res["capsnet_single"] = timeit(lambda: read_capsules(models["capsnet"], img), repeats)
    out = read_capsules(models["capsnet"], img)
    cap = out.capsules[0, 1].numpy()
    steps = np.linspace(-0.25, 0.25, 11)
    res["figure4_grid"] = timeit(lambda: capsule_filmstrips(models["capsnet"], cap, 1, np.zeros(16), steps), repeats)
    from advdl.capsule_layers import walk
    from advdl.capsule_routing import trace

    res["capsnet_layer_walk"] = timeit(lambda: walk(models["capsnet"], img), repeats)
    res["capsnet_routing_trace_5_iterations"] = timeit(lambda: trace(models["capsnet"], img, 5), repeats)
    gan = models["dcgan"]
    dirs = sefa_directions(gan, 8)[0].numpy()
    z = np.random.default_rng(0).standard_normal(100).astype(np.float32)
    grid = np.linspace(-4, 4, 41)
    res["gan_direction_filmstrips_8x41"] = timeit(lambda: direction_filmstrips(gan, z, dirs, np.zeros(8), grid), repeats)
    # the same frames as the lab makes them: bfloat16 previews where the CPU has bfloat16 (else float32 again)
    res["gan_direction_filmstrips_8x41_preview"] = timeit(lambda: direction_filmstrips(gan, z, dirs, np.zeros(8), grid, preview=True), repeats)
    t0 = time.perf_counter()
    pool = CandidatePool(gan)  # made once per server
    ms = round((time.perf_counter() - t0) * 1000, 2)
    res["gan_inversion_candidate_pool_once"] = {"p50_ms": ms, "p95_ms": ms}
    label = f"gan_inversion_{INVERSION_STEPS}x{INVERSION_RESTARTS}_nearest_starts"
    res[label] = timeit(lambda: invert(gan, img, steps=INVERSION_STEPS, restarts=INVERSION_RESTARTS, pool=pool),
                        max(3, repeats // 5), warmup=1)
    return res


CAPS_DIMS_KEY = "caps.dims"  # the capsule lab's 16 dimension sliders


def bench_lab_commits(repeats: int) -> dict:
    """The server's script run after one slider commit on each lab (Streamlit's AppTest on the
    shipped checkpoints, no browser), the commit injected as the browser's component sends it.
    AppTest reruns the whole page, where the browser reruns only the lab's fragment: an upper
    bound of the server's work per commit (the browser's commit figures time the real rerun).
    On the GAN lab every commit is a view not seen before (its filmstrips are cached per view),
    as in the browser figures."""
    from streamlit.testing.v1 import AppTest

    def open_lab(page: str):
        at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
        at.query_params["lang"] = "en"
        at.run()
        at.switch_page(f"pages/{page}.py").run()
        return at

    def timed(at, commits) -> dict:
        times = []
        if commits[0][0] not in at.session_state:  # the component registers its key when drawn
            raise RuntimeError(f"the lab drew no slider {commits[0][0]!r}")
        for i, (key, value) in enumerate(commits):
            at.session_state[key] = value
            t0 = time.perf_counter()
            at.run()
            if i:  # the first rerun after opening warms the fragment's caches
                times.append((time.perf_counter() - t0) * 1000)
            if at.exception:
                raise RuntimeError(f"{key}: {at.exception[0].message}")
        return {"p50_ms": round(statistics.median(times), 2), "p95_ms": round(float(np.percentile(times, 95)), 2)}

    def commit(indices: list[int]) -> dict:  # what the browser sends on release, in the lab's first epoch
        return {"commit": {"epoch": 0, "indices": indices}}

    n = max(5, repeats) + 1
    res = {}
    at = open_lab("gan")
    # direction 3 stepped away from the centre and back: each index a new view
    res["page_run_after_commit_gan_direction"] = timed(at, [("gan.dirs", commit([20, 20, (21 + k) % 41] + [20] * 5)) for k in range(n)])
    at = open_lab("autoencoders")
    res["page_run_after_commit_ae_strength"] = timed(at, [("ae.strength", commit([k % 21])) for k in range(n)])
    at = open_lab("capsules")
    res["page_run_after_commit_caps_dimension"] = timed(at, [(CAPS_DIMS_KEY, commit([20, 20, k % 41] + [20] * 13)) for k in range(n)])
    return res


def bench_training(repeats: int, batch: int = 64, threads: int | None = None) -> dict:
    """Training throughput at the thread count that training uses (``train.py --threads``:
    every core here). The CapsNet with the vectorized routing and with the looped one are timed
    in alternation, step by step, so that a slow spell of a shared machine hits both alike."""
    from advdl.models import capsnet as capsmod

    app_threads = torch.get_num_threads()
    torch.set_num_threads(threads or os.cpu_count() or 1)
    x = torch.rand(batch, 1, 28, 28)
    y = torch.arange(batch) % 10
    res = {"threads": torch.get_num_threads()}

    def caps_step(model, opt, routing):
        original = capsmod.dynamic_routing
        capsmod.dynamic_routing = routing
        try:
            out = model(x, y)
            loss = model.loss(out, x, y)[0]
            opt.zero_grad()
            loss.backward()
            opt.step()
        finally:
            capsmod.dynamic_routing = original

    # float32 throughout, and with the two convolutions in bfloat16 (train.py --amp bf16), each
    # pair in alternation with its looped twin
    for suffix, conv_dtype in (("", None), ("_bf16_convs", torch.bfloat16)):
        runs = {}
        for label, routing in (("capsnet_vectorized", capsmod.dynamic_routing), ("capsnet_looped", capsmod.dynamic_routing_loop)):
            torch.manual_seed(0)
            model = build("capsnet").train()
            model.conv_dtype = conv_dtype
            runs[label + suffix] = (model, torch.optim.Adam(model.parameters(), 1e-3), routing, [])
            caps_step(*runs[label + suffix][:3])  # warm-up
        for _ in range(max(5, repeats // 2)):
            for model, opt, routing, times in runs.values():
                t0 = time.perf_counter()
                caps_step(model, opt, routing)
                times.append((time.perf_counter() - t0) * 1000)
        for label, (_, _, _, times) in runs.items():
            p50 = statistics.median(times)
            res[label] = {"p50_ms": round(p50, 2), "p95_ms": round(float(np.percentile(times, 95)), 2),
                          "images_per_s": round(batch / (p50 / 1000), 1)}
        res["capsnet_speedup_vs_loop" + suffix] = round(
            res["capsnet_vectorized" + suffix]["images_per_s"] / res["capsnet_looped" + suffix]["images_per_s"], 2)

    # The routing alone (forward and backward on the predictions of a batch): the whole step is
    # dominated by the 9x9 PrimaryCaps convolution, which both versions share.
    u_hat = torch.randn(batch, 1152, 10, 16, requires_grad=True)

    def route(fn):
        v, _ = fn(u_hat)
        v.square().sum().backward()
        u_hat.grad = None

    for label, fn in (("routing_vectorized", capsmod.dynamic_routing), ("routing_looped", capsmod.dynamic_routing_loop)):
        res[label] = {**timeit(lambda: route(fn), max(5, repeats // 2)), "images_per_s": 0.0}
        res[label]["images_per_s"] = round(batch / (res[label]["p50_ms"] / 1000), 1)
    res["routing_speedup_vs_loop"] = round(res["routing_looped"]["p50_ms"] / res["routing_vectorized"]["p50_ms"], 2)
    res["routing_share_of_step_pct"] = round(100 * res["routing_vectorized"]["p50_ms"] / res["capsnet_vectorized"]["p50_ms"], 1)

    from advdl.training import GANTask, TrainArgs, Dist

    torch.manual_seed(0)
    try:  # the shipped generator's architecture (its card), else the default one
        gan_config = MODELS["dcgan"].config_cls(**checkpoints.read_card("dcgan")["config"])
    except (checkpoints.CheckpointError, KeyError, TypeError):
        gan_config = None
    gan = build("dcgan", gan_config).train()
    res["dcgan_config"] = dataclasses.asdict(gan.config)
    task = GANTask(gan, TrainArgs(model="dcgan"), torch.device("cpu"), Dist())
    xb = torch.rand(128, 1, 28, 28)
    t = timeit(lambda: task.step(xb, None), max(3, repeats // 4), warmup=1)
    res["dcgan"] = {**t, "images_per_s": round(128 / (t["p50_ms"] / 1000), 1)}
    torch.set_num_threads(app_threads)
    return res


def rss_after_loading() -> float:
    """RSS in MB of a fresh process that imports the app's stack and loads every model, as the
    server does (``advdl.ui.serve``: the CUDA libraries' pages released after the imports)."""
    code = (
        "import psutil\n"
        "import streamlit, torch\n"
        "from advdl.ui.serve import release_library_pages\n"
        "release_library_pages()\n"
        "from advdl import checkpoints\n"
        "for n in checkpoints.available(): checkpoints.load_model(n)\n"
        "print(psutil.Process().memory_info().rss / 2**20)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return round(float(out.stdout.strip().splitlines()[-1]), 1)


def server_memory(pid: int) -> dict:
    """A running server's RSS in MB, split into anonymous memory and mapped files."""
    fields = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            key, _, value = line.partition(":")
            if key in ("VmRSS", "RssAnon", "RssFile"):
                fields[key] = round(int(value.split()[0]) / 1024, 1)
    return {"rss_mb": fields["VmRSS"], "anon_mb": fields["RssAnon"], "file_mb": fields["RssFile"]}


# The reference: a bare one-slider Streamlit app that shows an image, as a plain lab would be.
BARE_APP = """
import numpy as np
import streamlit as st
from PIL import Image

v = st.slider("Value", 0, 40, 20)
img = np.zeros((28, 28), np.uint8)
img[4:24, 2 + v // 2 : 6 + v // 2] = 255
st.image(Image.fromarray(img).resize((280, 280), Image.NEAREST))
"""

# (page, slider label, which images to watch) for the drag and commit measurements
LAB_SLIDERS = [("gan", "Direction 1", ".scrub-img"), ("autoencoders", "Strength", ".pscrub-fig:first-child .pscrub-img"), ("capsules", "Dim 1", ".scrub-img")]
BARE_IMAGE = "[data-testid='stImage'] img"


def bench_browser(repeats: int, fill_from: Path | None = None, cold_starts: int = 5) -> dict:
    import tempfile

    from browserkit import IMAGE_LOG_JS, STATE_LOG_JS, RunWatcher, gan_lab_drawn
    from browserkit import CHROMIUM, CHROMIUM_ARGS, lab_checkpoints, start_server, wait_idle
    from playwright.sync_api import sync_playwright

    tmp = Path(tempfile.mkdtemp())
    ck = lab_checkpoints(tmp / "ck", fill_from)
    bare = tmp / "bare_app.py"
    bare.write_text(BARE_APP)
    res: dict = {}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        # the first lab on a server that has been up for a while (a teacher starts it before the
        # class): the launcher's warm-up has loaded torch, the models and the GAN's bank
        proc, url = start_server(ck, tmp / "server0.log")
        try:
            time.sleep(15)
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.add_init_script(STATE_LOG_JS)
            page.add_init_script(IMAGE_LOG_JS)
            t0 = time.time()
            page.goto(f"{url}/gan?lang=en")
            drawn, replay = gan_lab_drawn(page)
            res["first_gan_lab_on_a_server_up_15s_s"] = round(drawn - t0, 2)
            res["first_gan_lab_on_a_server_up_15s_with_replay_frames_s"] = round(replay - t0, 2)
            page.close()
        finally:
            proc.terminate()
            proc.wait(10)
        # cold starts, each from spawning the server until the page itself saw the lab drawn
        # (STATE_LOG_JS; the bare app: its first script run end): the lab as `make run` starts it,
        # the bare app, and the lab by plain `streamlit run app.py`, in turn. The tab is opened
        # before the spawn (as a browser waiting for the server is), so that Playwright's own tab
        # creation is not counted.
        lab_starts, bare_starts, plain_starts = [], [], []
        for k in range(cold_starts):
            lab_starts.append(_cold_start(browser, lambda: start_server(ck, tmp / f"cold{k}.log"), "/gan?lang=en", lab=True))
            bare_starts.append(_cold_start(browser, lambda: start_server(ck, tmp / f"bare{k}.log", app=bare), "", lab=False))
            plain_starts.append(_cold_start(browser, lambda: start_server(ck, tmp / f"plain{k}.log", plain=True), "/gan?lang=en", lab=True))
        for key in ("drawn", "replay", "charts"):
            res[f"cold_start_to_gan_lab_{key}_s"] = _spread([c[key] for c in lab_starts])
        res["cold_start_bare_app_s"] = _spread([c["drawn"] for c in bare_starts])
        res["cold_start_plain_streamlit_run_to_gan_lab_drawn_s"] = _spread([c["drawn"] for c in plain_starts])
        # the lab, warm: drags and commits on each lab
        proc, url = start_server(ck, tmp / "server.log")
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.add_init_script(STATE_LOG_JS)
            page.add_init_script(IMAGE_LOG_JS)
            watcher = RunWatcher(page)
            page.goto(f"{url}/gan?lang=en")
            gan_lab_drawn(page)
            wait_idle(page)
            drawings = _first_drawings(browser, url, {lab: f"/{lab}?lang=en" for lab in WARM_PAGES}, repeats)
            for lab, label, images in LAB_SLIDERS:
                page.goto(f"{url}/{lab}?lang=en")
                wait_idle(page)
                rates = []
                for _ in range(repeats):
                    rates.append(_drag_rate(page, label, images))
                    wait_idle(page)
                res[f"drag_changes_per_s_{lab}"] = round(statistics.median(rates), 1)
                res[f"commit_ms_{lab}"], res[f"key_to_image_ms_{lab}"] = _commit_latency(
                    page, watcher, label, images, 4 * repeats, fresh=lab == "gan")
            res["stroke_to_four_reconstructions_ms"] = _stroke_latency(page, url, repeats)
            res["server_memory_after_the_labs"] = server_memory(proc.pid)  # every model loaded and used
        finally:
            proc.terminate()
            proc.wait(10)
        # the reference in the same run
        proc, url = start_server(ck, tmp / "bare.log", app=bare)
        try:
            bare_drawing = _first_drawings(browser, url, {"bare_app": ""}, repeats)["bare_app"]
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            watcher = RunWatcher(page)
            page.goto(url)
            wait_idle(page)
            res["drag_changes_per_s_bare_app"] = round(statistics.median(
                [_drag_rate(page, "Value", BARE_IMAGE) for _ in range(repeats)]), 1)
            wait_idle(page)
            res["commit_ms_bare_app"], res["key_to_image_ms_bare_app"] = _commit_latency(page, watcher, "Value", BARE_IMAGE, 4 * repeats)
        finally:
            proc.terminate()
            proc.wait(10)
        browser.close()
    for lab, spread in drawings.items():
        res[f"first_drawing_warm_{lab}_s"] = spread
    res["first_drawing_warm_bare_app_s"] = bare_drawing
    res["first_drawing_warm_vs_bare"] = {lab: round(d["median_s"] / bare_drawing["median_s"], 2) for lab, d in drawings.items()}
    res["cold_start_vs_bare"] = round(res["cold_start_to_gan_lab_drawn_s"]["median_s"] / res["cold_start_bare_app_s"]["median_s"], 2)
    bare_p50 = res["commit_ms_bare_app"]["p50_ms"]
    res["commit_p50_vs_bare"] = {lab: round(res[f"commit_ms_{lab}"]["p50_ms"] / bare_p50, 2) for lab, _, _ in LAB_SLIDERS}
    bare_shown = res["key_to_image_ms_bare_app"]["p50_ms"]
    res["key_to_image_p50_vs_bare"] = {lab: round(res[f"key_to_image_ms_{lab}"]["p50_ms"] / bare_shown, 2) for lab, _, _ in LAB_SLIDERS}
    return res


# Notes (epoch ms) when the GAN lab's two charts (below the fold at 1280 x 900: the morph's
# class probabilities and the training losses) have been drawn.
CHARTS_JS = """
new MutationObserver(() => {
  if (!window.__advdlCharts && document.querySelectorAll('[data-testid="stVegaLiteChart"] svg.marks').length >= 2)
    window.__advdlCharts = performance.timeOrigin + performance.now();
}).observe(document, { subtree: true, childList: true });
"""


# Every lab's page, each opened in a new tab on a warm server for its first drawing
WARM_PAGES = ("gan", "gan_training", "real_or_fake", "autoencoders", "capsules")


def _first_drawings(browser, url: str, paths: dict[str, str], repeats: int) -> dict[str, dict]:
    """Each page opened in a new tab on a server that has already drawn it once (a class's second
    student onwards): seconds from asking for the page until it was drawn (browserkit.page_drawn),
    median and spread over ``repeats`` tabs."""
    from browserkit import DRAWN_LOG_JS, STATE_LOG_JS, page_drawn

    def once(path: str) -> float:
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.add_init_script(STATE_LOG_JS)
        page.add_init_script(DRAWN_LOG_JS)
        try:
            t0 = time.time()
            page.goto(url + path)
            return page_drawn(page) - t0
        finally:
            page.close()

    for path in paths.values():  # the rehearsal: every page drawn once on this server
        once(path)
    times = {name: [] for name in paths}
    for _ in range(repeats):  # in turn, so that a slow minute of the machine falls on every page
        for name, path in paths.items():
            times[name].append(once(path))
    return {name: _spread(xs) for name, xs in times.items()}


def _spread(xs: list[float]) -> dict:
    return {"median_s": round(statistics.median(xs), 2), "min_s": round(min(xs), 2), "max_s": round(max(xs), 2), "runs": len(xs)}


def _cold_start(browser, spawn, path: str, lab: bool) -> dict:
    """One cold start: seconds from spawning the server until the page saw the lab drawn (for the
    bare app: its first run end), for the lab also until the training replay's frames were in and
    its charts drawn."""
    from browserkit import IMAGE_LOG_JS, STATE_LOG_JS, first_run_end, gan_lab_drawn

    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.add_init_script(STATE_LOG_JS)
    if lab:
        page.add_init_script(IMAGE_LOG_JS)
        page.add_init_script(CHARTS_JS)
    spawned = time.time()
    proc, url = spawn()
    try:
        page.goto(url + path)
        if lab:
            drawn, replay = gan_lab_drawn(page)
            page.wait_for_function("window.__advdlCharts > 0", timeout=60_000)
            charts = page.evaluate("window.__advdlCharts") / 1000.0
            return {"drawn": drawn - spawned, "replay": replay - spawned, "charts": charts - spawned}
        return {"drawn": first_run_end(page) - spawned}
    finally:
        page.close()
        proc.terminate()
        proc.wait(10)


# The sources of the four reconstructions in the autoencoder lab's noise panel (its images after
# the first, the noisy input), wherever the component's root is.
RECON_SRCS = """() => {
  const roots = [document, ...[...document.querySelectorAll('*')].map(e => e.shadowRoot).filter(Boolean)];
  const imgs = roots.flatMap(r => [...r.querySelectorAll('.pscrub-img')]).slice(1);
  return imgs.map(img => img.complete && img.naturalWidth > 0 ? img.src : '');
}"""


def _stroke_latency(page, url: str, n: int) -> dict:
    """The end of a mouse stroke on the autoencoder lab's canvas until the four reconstructions
    of the new drawing are shown (p50, p95 ms)."""
    from browserkit import draw_stroke, wait_idle

    times = []
    for i in range(n):
        page.goto(f"{url}/autoencoders?lang=en")
        wait_idle(page)
        page.locator("label:has-text('Draw')").first.click()
        wait_idle(page)
        page.locator("canvas.upper-canvas").first.wait_for(state="visible")
        before = page.evaluate(RECON_SRCS)
        draw_stroke(page, [(100, 60), (220, 60), (150 + 5 * i, 260)])  # a 7
        t0 = time.perf_counter()
        while True:
            srcs = page.evaluate(RECON_SRCS)
            if len(srcs) == 4 and all(srcs) and srcs != before:
                break
            if time.perf_counter() - t0 > 30:
                raise TimeoutError("the reconstructions of a drawn digit did not appear")
            page.wait_for_timeout(5)
        times.append((time.perf_counter() - t0) * 1000)
    return {"p50_ms": round(statistics.median(times), 1), "p95_ms": round(float(np.percentile(times, 95)), 1), "n": n}


# Times, in the page's own clock, a key press and the first change of the images that
# ``selector`` names (in the document or in a component's shadow root) after it.
KEY_TO_IMAGE = """(selector) => {
  (window.__shownObs || []).forEach(o => o.disconnect());
  const roots = [document, ...[...document.querySelectorAll('*')].map(e => e.shadowRoot).filter(Boolean)];
  const srcs = () => roots.flatMap(r => [...r.querySelectorAll(selector)]).map(i => i.src).join('|');
  const before = srcs();
  window.__key = null; window.__shown = null;
  document.addEventListener('keydown', () => { if (window.__key === null) window.__key = performance.now(); }, {capture: true, once: true});
  const check = () => { if (window.__shown === null && window.__key !== null && srcs() !== before) window.__shown = performance.now(); };
  window.__shownObs = roots.map(r => { const o = new MutationObserver(check);
    o.observe(r, {subtree: true, childList: true, attributes: true, attributeFilter: ['src']}); return o; });
}"""


def _commit_latency(page, watcher, label: str, images: str, n: int, settle_ms: int = 800, fresh: bool = False) -> tuple[dict, dict]:
    """A keyboard step on slider ``label``: until the rerun it causes has ended, and until the
    images ``images`` show the new value (p50, p95 ms each).

    The steps go left and right in turn (the drags left the slider at its right end). ``fresh``:
    every step shows a view not seen before, for a lab that caches its views (the GAN lab's
    filmstrips): steps to the left on ``label`` and on the next slider in turn (its label's
    number plus one), n // 2 steps at most."""
    from browserkit import wait_idle

    labels = [label]
    if fresh:
        name, number = label.rsplit(" ", 1)
        labels.append(f"{name} {int(number) + 1}")
        n = n // 2
    times, shown = [], []
    for i in range(n):
        slider = page.locator(f"input[type=range][aria-label='{labels[i % len(labels)]}']").first
        slider.evaluate("e => e.scrollIntoView({block: 'center'})")
        slider.focus()
        page.evaluate(KEY_TO_IMAGE, images)
        before = watcher.finished
        t0 = time.perf_counter()
        page.keyboard.press("ArrowLeft" if fresh or i % 2 == 0 else "ArrowRight")
        watcher.wait_past(before)
        times.append((watcher.last - t0) * 1000)
        wait_idle(page)
        key, seen = page.evaluate("[window.__key, window.__shown]")
        if key is None or seen is None:
            raise RuntimeError(f"the images {images!r} did not change after a key press on {label!r}")
        shown.append(seen - key)
        page.wait_for_timeout(settle_ms)  # let the browser finish drawing before the next step

    def stats(xs):
        return {"p50_ms": round(statistics.median(xs), 1), "p95_ms": round(float(np.percentile(xs, 95)), 1), "n": n}

    return stats(times), stats(shown)


COUNT_IMAGE_CHANGES = """(selector) => {
  (window.__obs || []).forEach(o => o.disconnect());
  window.__changes = 0; window.__obs = [];
  const roots = [document, ...[...document.querySelectorAll('*')].map(e => e.shadowRoot).filter(Boolean)];
  roots.flatMap(r => [...r.querySelectorAll(selector)]).forEach(img => {
    let last = img.src;
    const o = new MutationObserver(() => { if (img.src !== last) { last = img.src; window.__changes++; } });
    o.observe(img, {attributes: true, attributeFilter: ['src']});
    window.__obs.push(o);
  });
}"""


def _drag_rate(page, label: str, images: str) -> float:
    """Image changes per second during a one-second drag across slider ``label``, before release."""
    page.evaluate(COUNT_IMAGE_CHANGES, images)
    slider = page.locator(f"input[type=range][aria-label='{label}']").first
    slider.evaluate("e => e.scrollIntoView({block: 'center'})")
    # Streamlit's own slider hides its <input>; its track is the visible group around it
    track = page.locator(f"[role=group][aria-label='{label}']").first if label == "Value" else slider
    box = track.bounding_box()
    y = box["y"] + box["height"] / 2
    page.mouse.move(box["x"] + 2, y)
    page.mouse.down()
    t0 = time.perf_counter()
    n = 60
    for i in range(1, n + 1):  # a one-second sweep across the slider
        page.mouse.move(box["x"] + 2 + i * (box["width"] - 4) / n, y)
        page.wait_for_timeout(max(0.0, (t0 + i / n - time.perf_counter()) * 1000))
    elapsed = time.perf_counter() - t0
    changes = page.evaluate("window.__changes")
    page.mouse.up()
    return changes / elapsed


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--repeats", type=int, default=20, help="runs per figure (default: 20)")
    p.add_argument("--threads", type=int, default=1, help="torch CPU threads (default: 1, as the app sets)")
    p.add_argument("--browser", action="store_true", help="also measure in Chromium (needs /usr/bin/chromium)")
    p.add_argument("--cold-starts", type=int, default=5, help="cold starts of the lab, the bare app and the lab by plain `streamlit run`, in turn (default: 5)")
    p.add_argument("--no-training", action="store_true", help="skip training throughput")
    p.add_argument("--fill-from", type=Path, metavar="ROOT",
                   help="a checkpoint root for models not shipped yet (e.g. a training export); else random stand-ins")
    p.add_argument("--json", default=str(ROOT / "bench-results" / "bench.json"), help="where to write the JSON")
    p.add_argument("--gan-training", action="store_true",
                   help="the GAN training playground's figures instead (scripts/bench_gan_training.py; with --browser also Chromium "
                        "and a class of 30 protocol-level sessions); writes bench-results/gan_training.json")
    p.add_argument("--lessons", action="store_true",
                   help="the lesson mode's step-to-step times instead (scripts/bench_lessons.py; Chromium); writes bench-results/lessons.json")
    p.add_argument("--capsules", action="store_true",
                   help="the capsule lab's layer walk, routing trace and routing switch (Chromium) instead (scripts/bench_capsules.py); "
                        "writes bench-results/capsules.json")
    p.add_argument("--ae-fit", action="store_true",
                   help="the autoencoder lab's train-it-yourself figures instead (scripts/bench_ae_fit.py); writes bench-results/ae_fit.json")
    a = p.parse_args(argv)
    if a.capsules:
        import bench_capsules

        return bench_capsules.main([])
    if a.ae_fit:
        import bench_ae_fit

        return bench_ae_fit.main([])
    if a.lessons:
        import bench_lessons

        return bench_lessons.main([])
    if a.gan_training:
        import bench_gan_training

        return bench_gan_training.main(["--browser"] if a.browser else [])
    if a.threads:
        torch.set_num_threads(a.threads)
    models = load_all(fill_from=a.fill_from)
    result = {
        "machine": machine(),
        "stand_ins": sorted(n for n, m in models.items() if getattr(m, "stand_in", False)),
        "filled_in": {n: str(a.fill_from) for n, m in models.items() if getattr(m, "filled_in", False)},
        "server": {**bench_server(models, a.repeats), **bench_lab_commits(a.repeats)},
        "rss_mb_all_models": rss_after_loading(),
    }
    if not a.no_training:
        result["training"] = bench_training(a.repeats)
    if a.browser:
        result["browser"] = bench_browser(max(3, a.repeats // 5), a.fill_from, a.cold_starts)
    result["goals"] = GOALS
    Path(a.json).parent.mkdir(parents=True, exist_ok=True)
    Path(a.json).write_text(json.dumps(result, indent=2))
    print(f"{'figure':44s} {'p50':>10s} {'p95':>10s}")
    for k, v in result["server"].items():
        print(f"{k:44s} {v['p50_ms']:>8.1f}ms {v['p95_ms']:>8.1f}ms")
    for k, v in result.get("training", {}).items():
        if k == "threads":
            print(f"{'train torch threads':44s} {v:>10}")
            continue
        if k == "dcgan_config":
            print(f"{'train dcgan config':44s} " + ", ".join(f"{n}={x}" for n, x in v.items()))
            continue
        print(f"{'train ' + k:44s} " + (f"{v['images_per_s']:>8.1f}/s" if isinstance(v, dict) else (f"{v:>9}%" if k.endswith("pct") else f"{v:>9}x")))
    print(f"{'RSS with every model loaded':44s} {result['rss_mb_all_models']:>8.1f}MB")
    for k, v in result.get("browser", {}).items():
        if isinstance(v, dict) and "p50_ms" in v:
            print(f"{k:44s} {v['p50_ms']:>8.1f}ms {v['p95_ms']:>8.1f}ms")
        elif isinstance(v, dict) and "median_s" in v:
            print(f"{k:44s} {v['median_s']:>9.2f}s  ({v['min_s']:.2f}-{v['max_s']:.2f} s, {v['runs']} runs)")
        elif isinstance(v, dict) and "rss_mb" in v:
            print(f"{k:44s} " + "  ".join(f"{n} {x}MB" for n, x in v.items()))
        elif isinstance(v, dict):
            print(f"{k:44s} " + "  ".join(f"{lab} {x}x" for lab, x in v.items()))
        else:
            print(f"{k:44s} {v:>10}")
    for name, where in result["filled_in"].items():
        print(f"({name}: not shipped; measured with the one in {where})")
    if result["stand_ins"]:
        print(f"(random-weight stand-ins for missing checkpoints: {', '.join(result['stand_ins'])})")
    m = result["machine"]
    print(f"machine: {m['cpu']}, {m['cpus']} CPUs, {m['platform']}, torch {m['torch']}")
    print(f"wrote {a.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
