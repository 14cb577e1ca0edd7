#!/usr/bin/env python
"""A class at once: N students' sessions, each a client of Streamlit's own protocol
(scripts/stclient.py) in one asyncio process, walk a scripted lesson against one server.

    python scripts/loadtest.py --sessions 30 --duration 600              # the class (`make loadtest`)
    python scripts/loadtest.py --sessions 13 --fit 10 --duration 240      # 10 train an autoencoder, 3 walk the lesson
    python scripts/loadtest.py --url http://127.0.0.1:8501 --sessions 5   # an app already running
    python scripts/loadtest.py --browser --sessions 3 --duration 60       # real Chromium pages instead

Each session arrives within ``--arrival`` seconds and loops through the lesson, thinking ``--think``
seconds (exponentially spread) between actions, as the browser would send them: the GAN lab
(first load; the training replay's strip that the page asks for at once; a direction commit),
the autoencoder lab (a noise-strength commit; a digit drawn on the canvas), the capsule lab (a
dimension commit; the routing switch), and back to the GAN lab for an inversion of the drawn digit
(``--invert-share`` of the lessons). With ``--fit K`` the first K sessions first train an
autoencoder in the lab's panel (Start, then the panel's timer as the page fires it, until the run
has ended) and then walk the lesson; the commits the others make meanwhile are reported apart. Every action is
timed from the message sent until its ``script_finished`` (runs that ended early for a rerun are
waited through); the images a page shows are fetched from ``/media`` as a browser loads them.
The goals' figures are the interactive actions; an inversion (seconds of optimisation behind a
progress bar, or its queue message) is timed apart.
Errors: an exception drawn, a disconnect, a run that did not finish within ``--timeout``. The
server's CPU and RSS are sampled over time, and this process's own CPU.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import io
import json
import os
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent

from stclient import ProtocolError, Session  # noqa: E402


def canvas_state(rng: np.random.Generator, size: int = 320) -> dict:
    """What the drawing canvas sends after a stroke: its drawing with the canvas as a PNG (white
    ink on black, as the lab's canvas draws), here a one or a seven with a random lean."""
    from PIL import Image, ImageDraw

    img = Image.new("RGBA", (size, size), (0, 0, 0, 255))
    d = ImageDraw.Draw(img)
    lean = float(rng.uniform(-30, 30))
    if rng.random() < 0.5:
        pts = [(size / 2 + lean, 50), (size / 2, size / 2), (size / 2 - lean, size - 50)]
    else:
        pts = [(90, 70), (230, 70), (size / 2 + lean, size - 50)]
    d.line(pts, fill=(255, 255, 255, 255), width=22, joint="curve")
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    url = "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()
    return {"drawing": {"raw": {"version": "7.4.0", "objects": [{"type": "Path"}], "background": "#000000"}, "data": url}}


def component_data(s: Session, key: str) -> dict:
    """The data a v2 component was last drawn with (the lab's scrubbers send it as a one-item list)."""
    data = json.loads(s.widget(key).proto.json or "null")
    return data[0] if isinstance(data, list) and data else (data or {})


def scrub_commit(s: Session, key: str, rng: np.random.Generator | None = None, k: int | None = None, by: int | None = None) -> dict:
    """A scrubber's release: each slider's committed step, one of them (``k``, else a random one)
    moved ``by`` steps (else a few at random), in the scrubber's current epoch (a commit of an
    older epoch is ignored by the page)."""
    data = component_data(s, key)
    sliders = data.get("sliders") or ([{"index": data["index"], "values": data["values"]}] if data.get("panel") else [])
    if not sliders:
        raise ProtocolError(f"scrubber {key!r} drew no sliders")
    indices = [int(sl["index"]) for sl in sliders]
    k = int(rng.integers(len(indices))) if k is None else k
    by = int(rng.choice([-3, -2, -1, 1, 2, 3])) if by is None else by
    indices[k] = int(np.clip(indices[k] + by, 0, len(sliders[k]["values"]) - 1))
    return {"commit": {"epoch": int(data.get("epoch", 0)), "indices": indices}}


class Stats:
    def __init__(self) -> None:
        self.latencies: dict[str, list[float]] = {}
        self.errors: list[str] = []
        self.lessons = 0
        self.actions = 0
        self.bytes = 0
        self.media_bytes = 0
        self.early_reruns = 0
        self.fits: list[dict] = []
        self.heavy: list[dict] = []  # per inversion: whether it showed the queue's message, and the "busy" one
        self.timeline: list[tuple[float, str, float]] = []  # (when it ended, action, seconds)
        self.replicas: list[set[str]] = []  # per session, the replicas that answered it (behind the proxy)

    def add(self, what: str, run) -> None:
        self.latencies.setdefault(what, []).append(run.seconds)
        self.timeline.append((time.perf_counter(), what, run.seconds))
        self.actions += 1
        self.bytes += run.bytes
        self.early_reruns += run.early
        for e in run.exceptions:
            self.errors.append(f"{what}: exception {e}")


async def act(s: Session, stats: Stats, what: str, coro) -> object:
    run = await coro
    stats.add(what, run)
    if s.media:
        stats.media_bytes += await s.fetch_media()
    return run


async def think(rng: np.random.Generator, mean_s: float) -> None:
    if mean_s > 0:
        await asyncio.sleep(float(rng.exponential(mean_s)))


async def lesson(s: Session, stats: Stats, rng: np.random.Generator, args, stage: list) -> None:
    """One pass through the lesson (``stage[0]`` names the action under way, for error reports)."""
    stage[0] = "gan: open"
    await act(s, stats, "open_gan", s.switch_page("gan", "lang=en") if s.pages else s.open("gan", "lang=en"))
    replay = component_data(s, "gan.replay")
    if replay.get("pending"):  # the page asks for the replay's frames at once
        stage[0] = "gan: replay frames"
        await act(s, stats, "gan_replay_frames", s.set("gan.replay", {"ready": True}))
    for sl in replay.get("sliders", []):  # or fetches them as one file, once (the browser keeps it)
        if "pack" in sl:
            stage[0] = "gan: replay pack"
            t0 = time.perf_counter()
            got = await s.fetch(sl["pack"]["url"])
            if got:
                stats.media_bytes += got
                stats.latencies.setdefault("gan_replay_pack_fetch", []).append(time.perf_counter() - t0)
    await think(rng, args.think)
    stage[0] = "gan: direction"
    await act(s, stats, "gan_direction", s.set("gan.dirs", scrub_commit(s, "gan.dirs", rng)))
    await think(rng, args.think)

    stage[0] = "autoencoders: open"
    await act(s, stats, "open_autoencoders", s.switch_page("autoencoders", "lang=en"))
    await think(rng, args.think)
    stage[0] = "autoencoders: strength"
    await act(s, stats, "ae_strength", s.set("ae.strength", scrub_commit(s, "ae.strength", rng)))
    await think(rng, args.think)
    stage[0] = "autoencoders: draw"
    await act(s, stats, "ae_source", s.set("ae.source", "Draw"))
    await act(s, stats, "ae_drawn", s.set("ae.canvas", canvas_state(rng)))
    await think(rng, args.think)

    stage[0] = "capsules: open"
    await act(s, stats, "open_capsules", s.switch_page("capsules", "lang=en"))
    await think(rng, args.think)
    stage[0] = "capsules: dimension"
    await act(s, stats, "caps_dimension", s.set("caps.dims", scrub_commit(s, "caps.dims", rng)))
    await think(rng, args.think)
    stage[0] = "capsules: routing"
    await act(s, stats, "caps_routing", s.set("caps.iters", str(rng.choice(["1", "5"]))))
    await think(rng, args.think)

    if rng.random() < args.invert_share:
        stage[0] = "gan: inversion"
        await act(s, stats, "open_gan", s.switch_page("gan", "lang=en"))
        await act(s, stats, "gan_source", s.set("gan.source", "Digit from another lab"))
        run = await act(s, stats, "gan_inversion", s.click("gan.invert_go"))
        stats.heavy.append({"queued": QUEUED in run.texts, "refused": BUSY in run.texts})
        await think(rng, args.think)
    stats.lessons += 1


async def fit(s: Session, stats: Stats, deadline: float) -> None:
    """Train an autoencoder in the lab's panel: Start, then the panel's timer as the browser fires
    it, until the run has ended (its result drawn) or the time is up."""
    await act(s, stats, "open_autoencoders", s.switch_page("autoencoders", "lang=en") if s.pages else s.open("autoencoders", "lang=en"))
    t0 = time.perf_counter()
    await act(s, stats, "fit_start", s.click("aefit.start"))
    ticks = 0
    while time.perf_counter() < deadline:
        if not s.auto_reruns:
            break
        await asyncio.sleep(next(iter(s.auto_reruns.values())))
        run = await act(s, stats, "fit_tick", s.auto_rerun())
        ticks += 1
        if "aefit.use" in {w.key for w in s.widgets.values()} or run.exceptions:  # "use this model": the run has ended
            break
    stats.fits.append({"start": t0, "end": time.perf_counter(), "seconds": round(time.perf_counter() - t0, 1), "ticks": ticks,
                       "finished": "aefit.use" in {w.key for w in s.widgets.values()}})


async def student(i: int, url: str, deadline: float, stats: Stats, args) -> None:
    rng = np.random.default_rng(args.seed + i)
    await asyncio.sleep(float(rng.uniform(0, args.arrival)))  # a class does not arrive in the same second
    s = Session(url, timeout=args.timeout)
    stage = [""]
    try:
        if i < args.fit:
            stage[0] = "fit"
            await fit(s, stats, deadline)
        while time.perf_counter() < deadline:
            try:
                await lesson(s, stats, rng, args, stage)
            except (asyncio.TimeoutError, ProtocolError, OSError) as exc:
                stats.errors.append(f"session {i} at {stage[0]}: {type(exc).__name__}: {str(exc)[:160]}")
                if s.disconnected:
                    await s.close()
                    s = Session(url, timeout=args.timeout)
                else:
                    s.pages = s.pages or {}
    finally:
        stats.errors.extend(f"session {i}: {e}" for e in s.errors)
        stats.replicas.append(s.replicas)
        await s.close()


def sample(pids: list[int], stop: threading.Event, out: list, t0: float, every: float) -> None:
    """The servers' RSS (MB, all replicas together) and CPU (cores busy since the last sample) every
    ``every`` seconds."""
    import psutil

    procs = [psutil.Process(p) for p in pids]
    last = sum(sum(p.cpu_times()[:2]) for p in procs)
    while not stop.wait(every):
        try:
            cpu = sum(sum(p.cpu_times()[:2]) for p in procs)
            rss = sum(p.memory_info().rss for p in procs)
            out.append((round(time.perf_counter() - t0, 1), round(rss / 2**20, 1), round((cpu - last) / every, 2)))
            last = cpu
        except psutil.Error:
            break


GOALS = {  # issue 24's, for a class on one server of this machine
    "summary.errors": ("<=", 0, "errors"),
    "summary.action_s.p95": ("<=", 1.5, "s"),
    "summary.action_s.p50": ("<=", 0.5, "s"),
    "summary.client_cpu_pct_of_machine": ("<=", 5, "% of the machine"),
    "summary.rss_growth_after_warmup_pct": ("<=", 10, "%"),
}
COMMITS = {"gan_direction", "ae_strength", "caps_dimension", "caps_routing"}  # a slider or switch on a lab
# Jobs that take seconds on an idle server and show their progress or queue message while they
# run (an inversion: hundreds of optimiser steps); timed apart from the interactive actions that
# the goals are about, which their CPU still slows.
HEAVY = {"gan_inversion"}


def _english(key: str) -> str:
    import tomllib

    return tomllib.loads((ROOT / "advdl" / "ui" / "locales" / "en.toml").read_text(encoding="utf-8"))[key]


QUEUED, BUSY = _english("common.queued"), _english("common.busy")  # what a queued inversion shows (the lesson runs in English)


def pct(values: list[float], q: float) -> float | None:
    return round(float(np.percentile(values, q)), 3) if values else None


async def run(args) -> dict:
    import contextlib

    import psutil
    from browserkit import start_server

    url, pids = args.url, []
    with contextlib.ExitStack() as servers:
        if url is None:
            from advdl import checkpoints

            root = Path(args.checkpoints) if args.checkpoints else checkpoints.checkpoint_root()
            if args.replicas:
                from replicas import Replicas

                r = servers.enter_context(Replicas(args.replicas, port=args.proxy_port, checkpoints=root))
                url, pids = r.url, r.pids()
            else:
                tmp = Path(tempfile.mkdtemp())
                proc, url = start_server(root, tmp / "server.log")
                servers.callback(lambda: (proc.terminate(), proc.wait(10)))
                pids = [proc.pid]
            await asyncio.sleep(args.warm)  # a server started before the class comes in
        stats, samples, stop = Stats(), [], threading.Event()
        t0 = time.perf_counter()
        if pids:
            threading.Thread(target=sample, args=(pids, stop, samples, t0, args.sample_every), daemon=True).start()
        me = psutil.Process()
        own0 = sum(me.cpu_times()[:2])

        def server_cpu_s() -> float:
            return sum(sum(psutil.Process(p).cpu_times()[:2]) for p in pids)

        server0 = server_cpu_s() if pids else None
        deadline = time.perf_counter() + args.duration
        try:
            await asyncio.gather(*(student(i, url, deadline, stats, args) for i in range(args.sessions)))
        finally:
            wall = time.perf_counter() - t0
            stop.set()
            own = sum(me.cpu_times()[:2]) - own0
            server_cpu = server_cpu_s() - server0 if pids else None
    actions = [v for k, vs in stats.latencies.items() if k not in ("fit_tick", "gan_replay_pack_fetch") and k not in HEAVY for v in vs]
    heavy = [v for k, vs in stats.latencies.items() if k in HEAVY for v in vs]
    during = []
    if stats.fits:  # the other labs' commits while the autoencoders trained
        lo, hi = min(f["start"] for f in stats.fits), max(f["end"] for f in stats.fits)
        during = [sec for t, what, sec in stats.timeline if lo <= t - sec and t <= hi and what in COMMITS]
    warm = [m for t, m, _ in samples if t >= args.warmup]
    cpus = os.cpu_count() or 1
    result = {
        "machine": _machine(),
        "sessions": args.sessions, "replicas_started": args.replicas or None, "duration_s": args.duration, "think_s": args.think, "arrival_s": args.arrival,
        "invert_share": args.invert_share, "fit": args.fit, "wall_s": round(wall, 1),
        "lessons": stats.lessons, "actions": stats.actions, "errors": len(stats.errors), "error_samples": stats.errors[:20],
        "action_s": {"p50": pct(actions, 50), "p95": pct(actions, 95), "n": len(actions)},
        "heavy_s": {"p50": pct(heavy, 50), "p95": pct(heavy, 95), "n": len(heavy),
                    "queued_with_message": sum(h["queued"] for h in stats.heavy), "told_busy": sum(h["refused"] for h in stats.heavy)},
        "by_action_s": {k: {"p50": pct(v, 50), "p95": pct(v, 95), "n": len(v)} for k, v in sorted(stats.latencies.items())},
        "early_reruns": stats.early_reruns,
        "replicas": _replicas(stats.replicas),
        "received_mb": round(stats.bytes / 2**20, 1), "media_mb": round(stats.media_bytes / 2**20, 1),
        "fits": {"runs": len(stats.fits), "finished": sum(f["finished"] for f in stats.fits),
                 "seconds": {"p50": pct([f["seconds"] for f in stats.fits], 50), "max": max((f["seconds"] for f in stats.fits), default=None)},
                 "other_commits_meanwhile_s": {"p50": pct(during, 50), "p95": pct(during, 95), "n": len(during)}}
        if stats.fits else None,
        "client_cpu_pct_of_machine": round(100 * own / wall / cpus, 1),
        "server_cpu_cores": round(server_cpu / wall, 2) if server_cpu is not None else None,
        "server_samples": samples,  # (seconds, RSS MB, CPU cores)
        "rss_after_warmup_mb": warm[0] if warm else None,
        "rss_end_mb": samples[-1][1] if samples else None,
        "rss_growth_after_warmup_pct": round(100 * (warm[-1] / warm[0] - 1), 1) if warm else None,  # the end against then
        "rss_peak_mb": max(warm) if warm else None,
    }
    # the figures docs/performance.md shows (scripts/make_docs.py), with the goals they answer
    result["summary"] = {k: result[k] for k in ("sessions", "duration_s", "think_s", "lessons", "actions", "errors", "action_s", "heavy_s",
                                                 "client_cpu_pct_of_machine", "server_cpu_cores", "rss_after_warmup_mb",
                                                 "rss_growth_after_warmup_pct", "rss_peak_mb") if result[k] is not None}
    if result["fits"]:
        result["summary"]["fits_finished"] = f"{result['fits']['finished']} of {result['fits']['runs']}"
        result["summary"]["other_commits_while_fitting_s"] = result["fits"]["other_commits_meanwhile_s"]
    result["goals"] = GOALS
    return result


def _replicas(seen: list[set[str]]) -> dict | None:
    """Behind scripts/replicas.py's proxy: sessions per replica, and sessions answered by more than one."""
    if not any(seen):
        return None
    from collections import Counter

    return {"sessions_per_replica": dict(Counter(next(iter(r)) for r in seen if len(r) == 1)),
            "sessions_on_several": sum(len(r) > 1 for r in seen)}


def _machine() -> dict:
    from bench import machine

    return machine()


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--browser", action="store_true", help="real Chromium pages instead (scripts/loadtest_browser.py; its own options)")
    p.add_argument("--sessions", type=int, default=30, help="students (default: 30)")
    p.add_argument("--duration", type=float, default=600, help="seconds of lesson (default: 600)")
    p.add_argument("--think", type=float, default=5.0, help="mean seconds between a student's actions (default: 5)")
    p.add_argument("--arrival", type=float, default=30.0, help="students arrive over this many seconds (default: 30)")
    p.add_argument("--invert-share", type=float, default=0.3, help="share of lessons that end with an inversion (default: 0.3)")
    p.add_argument("--fit", type=int, default=0, metavar="K", help="the first K students first train an autoencoder in the lab's panel")
    p.add_argument("--timeout", type=float, default=90.0, help="seconds before an action counts as an error (default: 90)")
    p.add_argument("--warm", type=float, default=15.0, help="seconds the server this script starts is up before the class (default: 15)")
    p.add_argument("--warmup", type=float, default=60.0, help="seconds after which RSS growth is counted (default: 60)")
    p.add_argument("--sample-every", type=float, default=10.0, help="seconds between the server's RSS and CPU samples (default: 10)")
    p.add_argument("--replicas", type=int, default=0, metavar="K",
                   help="start K replicas behind nginx (scripts/replicas.py) instead of one server")
    p.add_argument("--proxy-port", type=int, default=8080, help="nginx's port with --replicas (default: 8080)")
    p.add_argument("--url", default=None, help="an app already running; default: start one (`make run`'s way) on the shipped checkpoints")
    p.add_argument("--checkpoints", default=None, help="checkpoint root for the server this script starts")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", default=str(ROOT / "bench-results" / "loadtest.json"))
    a, rest = p.parse_known_args(argv)
    if a.browser:
        import loadtest_browser

        return loadtest_browser.main([x for x in (argv if argv is not None else sys.argv[1:]) if x != "--browser"])
    if rest:
        p.error(f"unrecognized arguments: {' '.join(rest)}")
    result = asyncio.run(run(a))
    Path(a.json).parent.mkdir(parents=True, exist_ok=True)
    Path(a.json).write_text(json.dumps(result, indent=2))
    act = result["action_s"]
    print(f"{a.sessions} sessions for {a.duration:.0f} s (think {a.think} s): {result['lessons']} lessons, "
          f"{result['actions']} actions, {result['errors']} errors")
    print(f"action until script_finished: p50 {act['p50']} s, p95 {act['p95']} s (heavy jobs apart: {sorted(HEAVY)}, "
          f"p50 {result['heavy_s']['p50']} s, p95 {result['heavy_s']['p95']} s; {result['heavy_s']['queued_with_message']} "
          f"queued with their message, {result['heavy_s']['told_busy']} told the server is busy)")
    for k, v in result["by_action_s"].items():
        print(f"  {k:20s} n={v['n']:5d}  p50 {v['p50']} s  p95 {v['p95']} s")
    if result["fits"]:
        print(f"fits: {result['fits']}")
    print(f"this client: {result['client_cpu_pct_of_machine']} % of the machine; server: {result['server_cpu_cores']} cores busy; "
          f"received {result['received_mb']} MB + media {result['media_mb']} MB")
    if result["rss_after_warmup_mb"]:
        print(f"server RSS {result['rss_after_warmup_mb']} MB after warm-up, {result['rss_end_mb']} MB at the end "
              f"({result['rss_growth_after_warmup_pct']:+} %), peak {result['rss_peak_mb']} MB")
    for e in result["error_samples"][:10]:
        print("  error:", e)
    print(f"wrote {a.json}")
    return 0 if result["errors"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
