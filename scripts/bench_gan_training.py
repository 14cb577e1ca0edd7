#!/usr/bin/env python
"""Benchmarks of the GAN training playground (run by ``scripts/bench.py --gan-training``, or alone).

    python scripts/bench_gan_training.py                 # throughput and the converges preset
    python scripts/bench_gan_training.py --browser       # also Chromium and a class of protocol clients

Figures:
- epochs/s of one run on one torch thread (GAN Lab's default networks, the page's default, the
  "converges" preset), as ``advdl.gan_training`` trains them;
- the "converges" preset on the ring, ``--seeds`` seeds x 4000 epochs: modes covered at the end;
- in Chromium (1280 x 720, presentation mode, the lab served as `make run` serves it): a Step D /
  Step G click until the canvas shows the update (in the page's clock), epochs/s and painted
  canvas frames/s while playing, and the size of each snapshot message on the websocket;
- a class: ``--players`` sessions playing at once, each a client of Streamlit's own websocket
  protocol replaying the messages Chromium sent for the same clicks (the page loaded, Play, and
  its ticks; a tick is sent ``next_ms`` after a snapshot arrived, as the component does), and
  meanwhile a GAN-lab session committing a new direction every 1.5 s; its commit (message sent
  until the run's script_finished) beside the same commits with no players, in the same run.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parent.parent

from advdl.gan_training import ToyGAN, ToyGANConfig, preset_config



# GAN Lab's default networks: one hidden layer of 8 neurons each, SGD at 0.1, batches of 150, 2-D uniform noise
GANLAB_QUERY = {"g_layers": 1, "g_width": 8, "d_layers": 1, "d_width": 8, "noise": "2u", "optimizer": "sgd", "lr_g": 0.1, "lr_d": 0.1, "batch": 150}
GANLAB = ToyGANConfig.from_dict(GANLAB_QUERY)


def pct(xs: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(xs, np.float64), q)) if xs else float("nan")


def throughput(seconds: float = 3.0) -> dict:
    out = {}
    for name, cfg in (("ganlab_1x8_sgd", GANLAB), ("page_default_2x64_adam", ToyGANConfig()), ("converges_2x128_adam", preset_config("converges"))):
        gan = ToyGAN(cfg)
        gan.train_for(0.3)
        t0 = time.perf_counter()
        n = gan.train_for(seconds)
        dt = time.perf_counter() - t0
        t1 = time.perf_counter()
        for _ in range(20):
            gan.snapshot()
        out[name] = {"epochs_per_s": round(n / dt, 1), "snapshot_ms": round((time.perf_counter() - t1) / 20 * 1000, 2)}
    return out


def convergence(seeds: int, epochs: int = 4000) -> dict:
    modes = []
    for seed in range(seeds):
        gan = ToyGAN(replace(preset_config("converges"), seed=seed))
        for _ in range(epochs):
            gan.epoch()
        modes.append(gan.metrics()["modes"])
    return {"epochs": epochs, "modes_per_seed": modes, "seeds_with_7_of_8_or_more": sum(m >= 7 for m in modes)}


# ----------------------------------------------------------------------------- Chromium
WATCH_JS = """
window.__gcanLog = [];
const advdlFind = () => [document, ...[...document.querySelectorAll('*')].map(e => e.shadowRoot).filter(Boolean)].map(r => r.querySelector('.gcan')).find(Boolean);
const advdlWatch = setInterval(() => {
  const el = advdlFind();
  if (!el) return;
  clearInterval(advdlWatch);
  new MutationObserver(() => window.__gcanLog.push([performance.now(), el.dataset.stepsD, el.dataset.stepsG, el.dataset.epoch]))
    .observe(el, { attributes: true, attributeFilter: ['data-steps-d', 'data-steps-g', 'data-epoch'] });
}, 20);
"""


def _click_latency(page, label: str, attr: int, n: int) -> list[float]:
    """Click the button ``label`` n times; each time, ms from the click until the canvas's
    counter ``attr`` (1: D steps, 2: G steps) changed, in the page's own clock."""
    out = []
    for _ in range(n):
        before = page.evaluate(f"() => window.__gcanLog.length ? window.__gcanLog[window.__gcanLog.length - 1][{attr}] : null")
        t_click = page.evaluate(
            """(label) => { const b = [document, ...[...document.querySelectorAll('*')].map(e => e.shadowRoot).filter(Boolean)]
                              .flatMap(r => [...r.querySelectorAll('button')]).find(b => b.innerText.trim() === label);
                          const t = performance.now(); b.click(); return t; }""", label)
        page.wait_for_function(
            f"(b) => window.__gcanLog.some(e => e[0] > {t_click} && e[{attr}] !== b)", arg=before, timeout=20000)
        t_seen = page.evaluate(f"() => window.__gcanLog.find(e => e[0] > {t_click})[0]")
        out.append(t_seen - t_click)
        page.wait_for_selector("[data-test-script-state='notRunning']")
        page.wait_for_timeout(150)
    return out


def browser_figures(url: str, repeats: int, play_s: float = 8.0) -> tuple[dict, dict]:
    """The Chromium figures, and the messages Chromium sent (for the protocol clients)."""
    from browserkit import CHROMIUM, CHROMIUM_ARGS, wait_idle
    from playwright.sync_api import sync_playwright
    from streamlit.proto.BackMsg_pb2 import BackMsg

    sent: list[bytes] = []
    received: list[tuple[float, int]] = []
    res: dict = {}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 720})
        page.add_init_script(WATCH_JS)

        def on_ws(ws):
            ws.on("framesent", lambda payload: sent.append(payload) if isinstance(payload, bytes) else None)
            ws.on("framereceived", lambda payload: received.append((time.perf_counter(), len(payload))))

        page.on("websocket", on_ws)
        page.goto(f"{url}/gan_training?lang=en&present=1")
        wait_idle(page)
        page.wait_for_function("window.__gcanLog !== undefined")
        page.wait_for_timeout(500)
        res["step_d_click_to_view_ms"] = _summary(_click_latency(page, "Step D", 1, repeats))
        res["step_g_click_to_view_ms"] = _summary(_click_latency(page, "Step G", 2, repeats))
        n_sent_before_play = len(sent)
        frames0 = int(page.locator(".gcan").first.evaluate("e => Number(e.dataset.frames)"))
        page.get_by_role("button", name="Play").click()
        page.wait_for_function("() => window.__gcanLog.length && Number(window.__gcanLog[window.__gcanLog.length - 1][3]) > 0")
        t0 = time.perf_counter()
        e0 = int(page.locator(".gcan").first.evaluate("e => Number(e.dataset.epoch)"))
        f0 = int(page.locator(".gcan").first.evaluate("e => Number(e.dataset.frames)"))
        r0 = len(received)
        page.wait_for_timeout(play_s * 1000)
        dt = time.perf_counter() - t0
        e1 = int(page.locator(".gcan").first.evaluate("e => Number(e.dataset.epoch)"))
        f1 = int(page.locator(".gcan").first.evaluate("e => Number(e.dataset.frames)"))
        sizes = [n for _, n in received[r0:] if n > 2000]  # the snapshots (the small ones: run status)
        res["playing_epochs_per_s_page_default_nets"] = round((e1 - e0) / dt, 1)
        res["painted_frames_per_s"] = round((f1 - f0) / dt, 1)
        res["snapshot_messages_per_s"] = round(len(sizes) / dt, 2)
        res["snapshot_message_bytes"] = {"median": int(statistics.median(sizes)), "max": max(sizes), "n": len(sizes)} if sizes else None
        res["frames_before_play"] = frames0
        page.get_by_role("button", name="Pause").click()
        wait_idle(page)
        # the same with GAN Lab's default networks (1 hidden layer of 8, SGD), from a shared link
        page.goto(f"{url}/gan_training?lang=en&present=1&" + "&".join(f"{k}={v}" for k, v in GANLAB_QUERY.items()))
        wait_idle(page)
        page.get_by_role("button", name="Play").click()
        page.wait_for_function("() => window.__gcanLog.length && Number(window.__gcanLog[window.__gcanLog.length - 1][3]) > 0")
        t0 = time.perf_counter()
        e0 = int(page.locator(".gcan").first.evaluate("e => Number(e.dataset.epoch)"))
        page.wait_for_timeout(play_s * 1000)
        e1 = int(page.locator(".gcan").first.evaluate("e => Number(e.dataset.epoch)"))
        res["playing_epochs_per_s_ganlab_nets"] = round((e1 - e0) / (time.perf_counter() - t0), 1)
        page.get_by_role("button", name="Pause").click()
        wait_idle(page)
        # the GAN lab: one direction commit, for the class's other-lab client
        n_gan = len(sent)
        page.goto(f"{url}/gan?lang=en")
        wait_idle(page)
        slider = page.locator("input[type=range][aria-label='Direction 1']").first
        slider.focus()
        page.keyboard.press("ArrowRight")
        wait_idle(page)
        browser.close()
    msgs = [BackMsg.FromString(b) for b in sent]
    rerun = [(i, m) for i, m in enumerate(msgs) if m.WhichOneof("type") == "rerun_script"]
    captured = {
        "load": next(m for i, m in rerun if not m.rerun_script.fragment_id),
        "play": next(m for i, m in rerun if i >= n_sent_before_play),
        "tick": next(m for i, m in rerun if i > n_sent_before_play + 1 and m.rerun_script.fragment_id and _has_tick(m)),
        "gan_load": next(m for i, m in rerun if i >= n_gan and not m.rerun_script.fragment_id),
        "gan_commit": [m for i, m in rerun if i >= n_gan and m.rerun_script.fragment_id][-1],
    }
    return res, captured


def _has_tick(m) -> bool:
    return any(w.WhichOneof("value") == "json_value" and '"tick"' in w.json_value for w in m.rerun_script.widget_states.widgets)


def _summary(xs: list[float]) -> dict:
    return {"p50_ms": round(pct(xs, 50), 1), "p95_ms": round(pct(xs, 95), 1), "n": len(xs)}


# ----------------------------------------------------------------------------- a class of protocol clients
def _prepared(msg, **widget_json) -> bytes:
    """A captured BackMsg for another session: no cached-message hashes (this client caches
    nothing), and the JSON state of the widgets whose state holds the given keys replaced."""
    from streamlit.proto.BackMsg_pb2 import BackMsg

    m = BackMsg()
    m.CopyFrom(msg)
    del m.rerun_script.cached_message_hashes[:]
    for w in m.rerun_script.widget_states.widgets:
        if w.WhichOneof("value") == "json_value":
            state = json.loads(w.json_value)
            if not isinstance(state, dict):
                continue
            # only a state of the same shape (the direction scrubber's 8 indices, not the replay's 1),
            # at the top or in a scrubber's commit ({"commit": {"epoch": e, "indices": [...]}})
            changed = False
            for part in (state, state.get("commit")):
                if isinstance(part, dict):
                    hits = {k: v for k, v in widget_json.items() if k in part and (not isinstance(v, list) or len(v) == len(part[k] or []))}
                    part.update(hits)
                    changed |= bool(hits)
            if changed:
                w.json_value = json.dumps(state)
    return m.SerializeToString()


class Session:
    """One websocket session of the lab, as a client of Streamlit's protocol."""

    def __init__(self, url: str) -> None:
        self.url = url.replace("http://", "ws://") + "/_stcore/stream"
        self.conn = None
        self.finished = asyncio.Event()
        self.canvas: dict | None = None
        self.errors = 0

    async def connect(self) -> None:
        import websockets

        # no size limit (a page's first messages are megabytes), no client pings (the server's
        # are answered by the library), binary frames only (what the browser sends)
        self.conn = await websockets.connect(self.url, max_size=None, ping_interval=None)
        self.reader = asyncio.ensure_future(self._read())

    async def close(self) -> None:
        self.closing = True
        await self.conn.close()

    async def _read(self) -> None:
        import websockets
        from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

        while True:
            try:
                raw = await self.conn.recv()
            except websockets.ConnectionClosed:
                if not getattr(self, "closing", False):
                    self.errors += 1  # a disconnect
                return
            if isinstance(raw, str):
                continue
            msg = ForwardMsg.FromString(raw)
            kind = msg.WhichOneof("type")
            if kind == "script_finished":
                self.finished.set()
            elif kind == "delta" and msg.delta.WhichOneof("type") == "new_element":
                el = msg.delta.new_element
                which = el.WhichOneof("type")
                if which == "exception":
                    self.errors += 1
                elif which == "bidi_component" and '"snap"' in el.bidi_component.json[:200000]:
                    self.canvas = json.loads(el.bidi_component.json)[0]

    async def run(self, payload: bytes, timeout: float = 60.0) -> float:
        """Send a rerun and wait for its script_finished; seconds taken."""
        self.finished.clear()
        t0 = time.perf_counter()
        await self.conn.send(payload)
        await asyncio.wait_for(self.finished.wait(), timeout)
        return time.perf_counter() - t0


async def _player(url: str, captured: dict, until: float, stats: dict, start_delay: float) -> None:
    await asyncio.sleep(start_delay)
    s = Session(url)
    await s.connect()
    await s.run(_prepared(captured["load"]))
    await s.run(_prepared(captured["play"]))
    first_epoch, t_first = None, None
    while time.monotonic() < until:
        c = s.canvas
        if not c or not c.get("playing"):
            stats["not_playing"] += 1
            break
        if first_epoch is None:
            first_epoch, t_first = c["snap"]["epoch"], time.monotonic()
        await asyncio.sleep(c.get("next_ms", 0) / 1000)
        try:
            await s.run(_prepared(captured["tick"], tick=int(time.time() * 1000), drawn=None))
        except asyncio.TimeoutError:
            stats["timeouts"] += 1
    if s.canvas and t_first is not None and time.monotonic() > t_first:
        stats["epochs_per_s"].append((s.canvas["snap"]["epoch"] - first_epoch) / (time.monotonic() - t_first))
    await s.close()
    stats["errors"] += s.errors


async def _gan_committer(url: str, captured: dict, until: float, out: list[float], every_s: float = 1.5) -> None:
    s = Session(url)
    await s.connect()
    await s.run(_prepared(captured["gan_load"]))
    rng = np.random.default_rng(0)
    while time.monotonic() < until:
        indices = [int(i) for i in rng.integers(10, 31, 8)]  # a new view each time: nothing cached
        out.append(await s.run(_prepared(captured["gan_commit"], indices=indices)))
        await asyncio.sleep(every_s)
    await s.close()


def a_class(url: str, captured: dict, players: int, seconds: float, server_pid: int) -> dict:
    import psutil

    server = psutil.Process(server_pid)

    async def main() -> dict:
        alone: list[float] = []
        await _gan_committer(url, captured, time.monotonic() + 12, alone)
        stats = {"epochs_per_s": [], "errors": 0, "timeouts": 0, "not_playing": 0}
        during: list[float] = []
        until = time.monotonic() + seconds
        cpu0, own0, t0 = server.cpu_times(), time.process_time(), time.monotonic()
        tasks = [asyncio.ensure_future(_player(url, captured, until, stats, start_delay=i * 0.2)) for i in range(players)]
        await asyncio.sleep(players * 0.2 + 3)  # everybody playing
        await _gan_committer(url, captured, until, during)
        await asyncio.gather(*tasks)
        wall = time.monotonic() - t0
        cpu1, own1 = server.cpu_times(), time.process_time()
        eps = stats["epochs_per_s"]
        return {
            "players": players, "seconds": seconds,
            "epochs_per_s_per_player": {"min": round(min(eps), 1), "median": round(statistics.median(eps), 1), "n": len(eps)} if eps else None,
            "errors": stats["errors"], "timeouts": stats["timeouts"], "stopped_playing": stats["not_playing"],
            "gan_commit_alone_s": {"p50": round(pct(alone, 50), 3), "p95": round(pct(alone, 95), 3), "n": len(alone)},
            "gan_commit_during_s": {"p50": round(pct(during, 50), 3), "p95": round(pct(during, 95), 3), "n": len(during)},
            "server_cpu_cores": round((cpu1.user + cpu1.system - cpu0.user - cpu0.system) / wall, 2),
            "client_cpu_pct_of_machine": round(100 * (own1 - own0) / wall / (os.cpu_count() or 1), 1),
        }

    return asyncio.run(main())


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--seeds", type=int, default=6, help="seeds of the converges preset (default: 6)")
    p.add_argument("--browser", action="store_true", help="also Chromium and the class of protocol clients")
    p.add_argument("--players", type=int, default=30, help="sessions playing at once in the class run (default: 30)")
    p.add_argument("--class-seconds", type=float, default=40, help="how long the class plays (default: 40)")
    p.add_argument("--repeats", type=int, default=10, help="clicks per Step figure (default: 10)")
    p.add_argument("--json", default=str(ROOT / "bench-results" / "gan_training.json"))
    a = p.parse_args(argv)
    torch.set_num_threads(1)  # as the app: one torch thread per session
    result = run(a)
    Path(a.json).parent.mkdir(parents=True, exist_ok=True)
    Path(a.json).write_text(json.dumps(result, indent=2))
    print(json.dumps(result, indent=2))
    print(f"wrote {a.json}")
    return 0


# The playground's goals, by the JSON path of the figure they bound (see bench.GOALS).
GOALS = {
    "throughput_one_thread.page_default_2x64_adam.epochs_per_s": (">=", 300, "epochs/s"),
    "converges_preset.seeds_with_7_of_8_or_more": (">=", 5, "of 6 seeds"),
    "browser.step_d_click_to_view_ms.p50_ms": ("<=", 150, "ms"),
    "browser.step_g_click_to_view_ms.p50_ms": ("<=", 150, "ms"),
    "browser.painted_frames_per_s": (">=", 30, "/s"),
    "browser.snapshot_message_bytes.max": ("<=", 16384, "bytes"),
    "class.epochs_per_s_per_player.min": (">=", 10, "epochs/s"),
    "class.errors": ("<=", 0, ""),
    "class.gan_commit_during_s.p95": ("<=", 1.5, "s"),
}


def run(a) -> dict:
    from bench import machine

    result = {"machine": machine(), "goals": GOALS, "throughput_one_thread": throughput()}
    print("throughput", result["throughput_one_thread"], flush=True)
    if a.seeds:
        result["converges_preset"] = convergence(a.seeds)
        print("converges", result["converges_preset"], flush=True)
    if a.browser:
        from browserkit import lab_checkpoints, start_server

        tmp = Path(tempfile.mkdtemp())
        proc, url = start_server(lab_checkpoints(tmp / "ck"), tmp / "server.log")
        try:
            time.sleep(15)  # the launcher's warm-up: a server up before the class
            result["browser"], captured = browser_figures(url, a.repeats)
            print("browser", result["browser"], flush=True)
            result["class"] = a_class(url, captured, a.players, a.class_seconds, proc.pid)
            print("class", result["class"], flush=True)
        finally:
            proc.terminate()
            proc.wait(10)
    return result


if __name__ == "__main__":
    sys.exit(main())
