"""Helpers shared by the browser benchmarks (scripts/bench.py, scripts/loadtest.py).

:class:`RunWatcher` listens to a page's websocket and notes when each script run of the app
ends (Streamlit's ``script_finished`` message), so that a benchmark can time an interaction from
the key press to the end of the rerun it caused, in the sync and the async Playwright API alike.
"""

from __future__ import annotations

import time

from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

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


def idle_epochs(page) -> list[float]:
    """When (time.time() seconds) the page's app went from running to idle, each time, as the
    page saw it (needs STATE_LOG_JS added before the page loaded)."""
    log = page.evaluate("window.__advdlStates || []")
    return [t / 1000.0 for (t, s), (_, before) in zip(log[1:], log) if s == "notRunning" and before == "running"]


def first_run_end(page, timeout_s: float = 60.0) -> float:
    """When (time.time() seconds) the page first saw its app's script run end."""
    deadline = time.time() + timeout_s
    while not idle_epochs(page):
        if time.time() > deadline:
            raise TimeoutError("the app never finished its first run")
        page.wait_for_timeout(10)
    return idle_epochs(page)[0]


def gan_lab_drawn(page, timeout_s: float = 60.0) -> tuple[float, float]:
    """After opening the GAN lab: when its first script run had ended (the lab drawn), and when
    its training replay had all its frames (the lazy scrubber's own rerun; the same time when
    the checkpoint has no replay), in time.time() seconds as the page saw them."""
    page.locator(".scrub-img").first.wait_for(state="visible", timeout=timeout_s * 1000)
    first_run_end(page, timeout_s)
    deadline = time.time() + timeout_s
    if page.locator("input[type=range][aria-label='Epoch']").count():
        while len(idle_epochs(page)) < 2 or page.locator("[data-test-script-state='running']").count():
            if time.time() > deadline:
                raise TimeoutError("the training replay never received its frames")
            page.wait_for_timeout(10)
    ends = idle_epochs(page)
    return ends[0], ends[-1]


class RunWatcher:
    def __init__(self, page) -> None:
        self.finished = 0  # script runs ended since the watcher was attached
        self.last = 0.0  # time.perf_counter() when the latest one ended
        page.on("websocket", self._attach)

    def _attach(self, ws) -> None:
        ws.on("framereceived", self._frame)

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
