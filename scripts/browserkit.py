"""Helpers shared by the browser benchmarks (scripts/bench.py, scripts/loadtest.py).

:class:`RunWatcher` listens to a page's websocket and notes when each script run of the app
ends (Streamlit's ``script_finished`` message), so that a benchmark can time an interaction from
the key press to the end of the rerun it caused, in the sync and the async Playwright API alike.
"""

from __future__ import annotations

import time

from streamlit.proto.ForwardMsg_pb2 import ForwardMsg


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
