"""Helpers shared by the browser tests (tests/e2e) and benchmarks (scripts/bench.py,
scripts/bench_gan_training.py, scripts/loadtest.py): the lab's server on a free port, the
checkpoints it serves, Chromium's path and flags, waiting for a page to be idle, a mouse stroke.

:class:`RunWatcher` listens to a page's websocket and notes when each script run of the app
ends (Streamlit's ``script_finished`` message), so that a benchmark can time an interaction from
the key press to the end of the rerun it caused, in the sync and the async Playwright API alike.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import torch
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

from advdl import checkpoints
from advdl.models import MODELS, build

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def lab_checkpoints(root: Path, fill_from: Path | None = None) -> Path:
    """The shipped checkpoints, then for models not shipped yet those under ``fill_from`` (an
    unshipped training export, say) or else random-weight stand-ins, so the browser tests
    exercise every page's widgets whatever training has reached."""
    root.mkdir(parents=True, exist_ok=True)
    shipped = checkpoints.available()
    extra = checkpoints.available(fill_from) if fill_from else []
    for name in MODELS:
        if name in shipped:
            shutil.copytree(checkpoints.checkpoint_dir(name), root / name)
        elif name in extra:
            shutil.copytree(checkpoints.checkpoint_dir(name, fill_from), root / name)
        else:
            torch.manual_seed(0)
            checkpoints.save(build(name), name, root, card={"epochs": 0})
    return root


def start_server(ckpt_root: Path, log_path: Path, app: Path = ROOT / "app.py", plain: bool = False) -> tuple[subprocess.Popen, str]:
    port = free_port()
    # As `make run` starts it: few malloc arenas keep a many-threaded server's memory in check.
    env = {"MALLOC_ARENA_MAX": "2", **os.environ, "ADVDL_CHECKPOINTS": str(ckpt_root), "PYTHONUNBUFFERED": "1"}
    log = open(log_path, "w")
    # The lab starts as `make run` starts it (advdl.ui.serve: models loading while the server
    # boots); any other app, or the lab with ``plain``, by `streamlit run`.
    launch = ["-m", "advdl.ui.serve"] if app == ROOT / "app.py" and not plain else ["-m", "streamlit", "run", str(app)]
    proc = subprocess.Popen(
        [sys.executable, *launch, "--server.port", str(port),
         "--server.address", "127.0.0.1", "--server.headless", "true"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 90
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"streamlit exited: {log_path.read_text()[-2000:]}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
                if r.read().strip() == b"ok":
                    return proc, url
        except OSError:
            time.sleep(0.05)
    proc.kill()
    raise RuntimeError("streamlit did not become healthy in 90 s")


def wait_idle(page, timeout: float = 60_000) -> None:
    """Wait until the app has finished its script run (and whatever it started)."""
    page.wait_for_timeout(200)
    page.wait_for_selector("[data-test-script-state='notRunning']", timeout=timeout)
    page.wait_for_timeout(100)
    page.wait_for_selector("[data-test-script-state='notRunning']", timeout=timeout)


def draw_stroke(page, points) -> None:
    """Draw one mouse stroke through ``points`` (canvas pixels) on the page's drawing canvas."""
    canvas = page.locator("canvas.upper-canvas").first
    canvas.wait_for(state="visible")
    box = canvas.bounding_box()
    x0, y0 = box["x"], box["y"]
    page.mouse.move(x0 + points[0][0], y0 + points[0][1])
    page.mouse.down()
    for x, y in points[1:]:
        page.mouse.move(x0 + x, y0 + y, steps=8)
    page.mouse.up()

# Added to a page before it loads: notes (epoch ms) every change of the app's script state, so
# that a benchmark can read when the page last became idle without waiting in fixed steps.
STATE_LOG_JS = """
window.__advdlStates = [];
new MutationObserver(() => {
  const el = document.querySelector('[data-test-script-state]');
  const log = window.__advdlStates;
  if (!el) return;
  const s = el.getAttribute('data-test-script-state');
  if (!log.length || log[log.length - 1][1] !== s) log.push([performance.timeOrigin + performance.now(), s]);
}).observe(document, { subtree: true, childList: true, attributes: true, attributeFilter: ['data-test-script-state'] });
"""

# Added to a lab's page before it loads: notes (epoch ms) when a scrubber's image was first shown
# with its pixels, wherever the component's root is (its shadow root), then stops looking (and
# after 60 s on a page that has none).
IMAGE_LOG_JS = """
const advdlImageSince = performance.now();
const advdlImageTimer = setInterval(() => {
  const roots = [document, ...[...document.querySelectorAll('*')].map(e => e.shadowRoot).filter(Boolean)];
  if (roots.some(r => [...r.querySelectorAll('.scrub-img')].some(i => i.complete && i.naturalWidth > 0))) {
    window.__advdlImage = performance.timeOrigin + performance.now();
    clearInterval(advdlImageTimer);
  } else if (performance.now() - advdlImageSince > 60000) {
    clearInterval(advdlImageTimer);
  }
}, 20);
"""


def first_run_end(page, timeout_s: float = 60.0) -> float:
    """When (time.time() seconds) the page first saw its app's script run end."""
    deadline = time.time() + timeout_s
    while not (ends := [e for _, e in script_runs(page) if e is not None]):
        if time.time() > deadline:
            raise TimeoutError("the app never finished its first run")
        page.wait_for_timeout(10)
    return ends[0]


def script_runs(page) -> list[tuple[float, float | None]]:
    """Each script run the page saw: (start, end) in time.time() seconds, end None while it runs
    (needs STATE_LOG_JS added before the page loaded)."""
    runs = []
    for t, s in page.evaluate("window.__advdlStates || []"):
        if s == "running" and (not runs or runs[-1][1] is not None):
            runs.append((t / 1000.0, None))
        elif s == "notRunning" and runs and runs[-1][1] is None:
            runs[-1] = (runs[-1][0], t / 1000.0)
    return runs


def gan_lab_drawn(page, timeout_s: float = 60.0) -> tuple[float, float]:
    """After opening the GAN lab: when it was drawn (its image shown and the script run that drew
    it ended), and when its training replay had all its frames (the lazy scrubber's own rerun; the
    same time when the checkpoint has no replay), in time.time() seconds as the page saw them
    (needs STATE_LOG_JS and IMAGE_LOG_JS added before the page loaded).

    Not merely the first run's end: on a server started by plain ``streamlit run``, a deep link's
    first run is Streamlit's direct run of the page file, which the lab reruns through ``app.py``
    (``advdl.ui.routing``); the lab is drawn by that second run."""
    page.wait_for_function("window.__advdlImage > 0", timeout=timeout_s * 1000)
    shown = page.evaluate("window.__advdlImage") / 1000.0
    deadline = time.time() + timeout_s
    while True:  # the run that drew the image: the last one started before it was shown
        drew = [r for r in script_runs(page) if r[0] <= shown]
        if drew and drew[-1][1] is not None:
            break
        if time.time() > deadline:
            raise TimeoutError("the run that drew the GAN lab never ended")
        page.wait_for_timeout(10)
    drawn = max(shown, drew[-1][1])
    if page.locator("input[type=range][aria-label='Epoch']").count():
        # every epoch's frame in the scrubber (scrub.js sets data-frames="all"): cut from the static
        # file the page fetches, or sent by the rerun a lazy scrubber asks for
        while not page.locator(".scrub[data-frames='all']:has(input[aria-label='Epoch'])").count():
            if time.time() > deadline:
                raise TimeoutError("the training replay never received its frames")
            page.wait_for_timeout(10)
        return drawn, max(drawn, page.evaluate("performance.timeOrigin + performance.now()") / 1000.0)
    ends = [e for _, e in script_runs(page) if e is not None]
    return drawn, max(drawn, ends[-1])


# Added to a page before it loads: notes (epoch ms) the last change of what the viewport shows
# (its images, with their pixels, in the document or a component's shadow root; its charts, as
# Vega draws them; canvases), so that a first drawing is timed the same way for the lab and for the bare app.
DRAWN_LOG_JS = """
window.__advdlDrawn = 0;
(() => {
  let sig = '';
  const since = performance.now();
  // once per frame, when the browser lays the page out anyway (a timer would force extra layouts
  // of a page still being built, and slow a big page more than a small one)
  const look = () => {
    const roots = [document, ...[...document.querySelectorAll('*')].map(e => e.shadowRoot).filter(Boolean)];
    const shown = roots.flatMap(r => [...r.querySelectorAll('img, svg.marks, canvas')]).filter(e => {
      const b = e.getBoundingClientRect();
      return b.width > 0 && b.bottom > 0 && b.top < innerHeight && (e.tagName !== 'IMG' || (e.complete && e.naturalWidth > 0));
    });
    const s = shown.map(e => e.tagName === 'IMG' ? e.src.length + e.src.slice(-48) : e.tagName).join('|');
    if (s !== sig) { sig = s; window.__advdlDrawn = performance.timeOrigin + performance.now(); }
    if (performance.now() - since < 60000) requestAnimationFrame(look);
  };
  requestAnimationFrame(look);
})();
"""


def page_drawn(page, timeout_s: float = 60.0, quiet_ms: int = 1000) -> float:
    """After opening a page: when (time.time() seconds) it was drawn: the viewport's last image or
    chart shown, once the page is idle and nothing changed for ``quiet_ms``, and the script run
    that drew it ended (the last run started before it; a later run that changed nothing in view,
    such as a lazy scrubber's, does not count). Needs STATE_LOG_JS and DRAWN_LOG_JS added before
    the page loaded."""
    first = first_run_end(page, timeout_s)
    wait_idle(page, timeout_s * 1000)
    page.wait_for_timeout(quiet_ms)
    shown = page.evaluate("window.__advdlDrawn") / 1000.0
    drew = [e for s, e in script_runs(page) if s <= shown and e is not None]
    return max(shown, drew[-1] if drew else first)


class RunWatcher:
    def __init__(self, page) -> None:
        self.ws = None
        self.finished = 0  # script runs ended since the watcher was attached
        self.last = 0.0  # time.perf_counter() when the latest one ended
        page.on("websocket", self._attach)

    def _attach(self, ws) -> None:
        self.ws = ws
        ws.on("framereceived", self._frame)

    def wait_past(self, finished: int, timeout_s: float = 30.0) -> None:
        """Until more than ``finished`` runs have ended. Waits on the socket's next frames (no
        polling: a loop of short timeouts would keep Playwright's driver and this process busy,
        taking CPU from a server on the same cores while it works)."""
        if self.ws is None:
            raise RuntimeError("the page has no Streamlit socket yet (wait for its first run before a commit)")
        deadline = time.perf_counter() + timeout_s
        while self.finished <= finished:
            left = deadline - time.perf_counter()
            if left <= 0:
                raise TimeoutError(f"no script run ended within {timeout_s} s")
            try:
                self.ws.wait_for_event("framereceived", timeout=left * 1000)
            except Exception as exc:  # noqa: BLE001 - Playwright's TimeoutError: checked by the loop
                if "Timeout" not in type(exc).__name__:
                    raise

    def _frame(self, payload) -> None:
        # script_finished is a tiny message; the big ones (images, figures) need no parsing
        if isinstance(payload, str) or len(payload) > 256:
            return
        try:
            msg = ForwardMsg.FromString(payload)
        except Exception:
            return
        if msg.WhichOneof("type") == "script_finished":
            self.finished += 1
            self.last = time.perf_counter()
