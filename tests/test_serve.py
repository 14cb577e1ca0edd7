"""The launcher's warm-up: models, the GAN's directions and its bank are ready before any
session asks, and a session then gets those very objects from the cache."""

from __future__ import annotations

import io

import subprocess
import sys
import time

import numpy as np
import pytest
from PIL import Image

from conftest import ROOT


def test_warm_up_fills_the_caches_the_pages_use(random_checkpoints, checkpoint_env):
    from advdl.ui import models

    checkpoint_env(random_checkpoints)
    loaded = models.warm_up()
    assert {"dcgan", "cnn", "capsnet", "ae_plain"} <= set(loaded)
    gan, cnn = models.get_model("dcgan"), models.get_model("cnn")
    root = str(random_checkpoints)
    assert gan is models._load("dcgan", root, models._stamp("dcgan", root))  # the cached object
    bank = models.gan_bank(gan, cnn)
    assert bank is models.gan_bank(gan, cnn) and bank.drawn > 0  # drawn during the warm-up
    dirs = models.gan_directions(gan, 8)
    assert dirs.shape == (8, gan.config.z_dim) and dirs is models.gan_directions(gan, 8)


def test_warm_up_without_checkpoints_loads_nothing_and_does_not_fail(tmp_path, checkpoint_env):
    from advdl.ui import models

    checkpoint_env(tmp_path)
    assert models.warm_up() == []


def test_launcher_passes_streamlit_its_options():
    proc = subprocess.run([sys.executable, "-m", "advdl.ui.serve", "--help"], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "--server.port" in proc.stdout  # streamlit run's own options


def test_training_replay_is_read_once_and_shown_epoch_by_epoch(random_checkpoints, checkpoint_env, tmp_path):
    import shutil

    from advdl.ui import models
    from conftest import component_payload, run_page, write_replay

    root = tmp_path / "ck"
    shutil.copytree(random_checkpoints, root)
    epochs = 5
    samples = write_replay(root, epochs)
    checkpoint_env(root)
    models.warm_up()
    grids, rows = models.gan_replay()
    assert grids.shape[0] == epochs and len(rows) == epochs and grids.dtype == np.uint8
    assert np.array_equal(grids[2][2:30, 32:60], samples[2][1])  # epoch 3's second digit, in its cell
    assert models.gan_replay()[0] is grids  # read and tiled once, shared by every session
    at = run_page("gan")
    assert not at.exception
    replay = [p for p in map(component_payload, at.get("bidi_component")) if p.get("sliders", [{}])[0].get("label") == "Epoch"]
    assert len(replay) == 1
    slider = replay[0]["sliders"][0]
    assert slider["values"] == [1, 2, 3, 4, 5] and slider["index"] == epochs - 1 and len(slider["frames"]) == epochs
    # the first drawing holds only the committed (last) epoch; every epoch is in one static file,
    # its PNGs one after another at the offsets given
    assert not replay[0]["pending"] and [bool(f) for f in slider["frames"]] == [False] * (epochs - 1) + [True]
    from advdl.ui.scrub import STATIC, STATIC_URL

    pack = slider["pack"]
    assert pack["url"].startswith(STATIC_URL + "/cache/") and len(pack["offsets"]) == epochs + 1
    blob = (STATIC / pack["url"][len(STATIC_URL) + 1:]).read_bytes()
    assert len(blob) == pack["offsets"][-1]
    for i in range(epochs):
        frame = np.asarray(Image.open(io.BytesIO(blob[pack["offsets"][i]:pack["offsets"][i + 1]])))
        assert np.array_equal(frame, grids[i])
    assert models.gan_replay_pack() is models.gan_replay_pack()  # written once
    # a browser that cannot fetch the file says so: the frames come inline, lazily, as without one
    at.session_state["gan.replay"] = {"commit": None, "ready": False, "nopack": True}
    at.run()
    replay = [p for p in map(component_payload, at.get("bidi_component")) if p.get("sliders", [{}])[0].get("label") == "Epoch"]
    assert replay[0]["pending"] and "pack" not in replay[0]["sliders"][0]
    at.session_state["gan.replay"] = {"commit": {"epoch": 0, "indices": [epochs - 1]}, "ready": True, "nopack": True}
    at.run()
    replay = [p for p in map(component_payload, at.get("bidi_component")) if p.get("sliders", [{}])[0].get("label") == "Epoch"]
    assert not replay[0]["pending"] and all(f.startswith("data:image/png;base64,") for f in replay[0]["sliders"][0]["frames"])


def test_warm_up_encodes_the_gan_labs_opening_view(random_checkpoints, checkpoint_env, monkeypatch):
    """The first session's direction filmstrips (seed 0, every slider centred) come from the
    warm-up's cache: the page encodes none of their 8 x 41 frames itself (it does once the
    cache is cleared)."""
    from advdl.gan_tools import DIRECTION_STEPS, N_DIRECTIONS
    from advdl.ui import models, scrub
    from conftest import component_payload, run_page

    checkpoint_env(random_checkpoints)
    models.warm_up()
    encoded = []
    real = scrub.png_data_url
    monkeypatch.setattr(scrub, "png_data_url", lambda img: encoded.append(1) or real(img))
    at = run_page("gan")
    assert not at.exception
    dirs = [p for p in map(component_payload, at.get("bidi_component")) if len(p.get("sliders", [])) == N_DIRECTIONS]
    assert len(dirs) == 1 and all(len(s["frames"]) == len(DIRECTION_STEPS) for s in dirs[0]["sliders"])
    assert len(encoded) < len(DIRECTION_STEPS)  # at most the morph's strip was new
    scrub._encode_strip.clear()  # the control: without the warm-up's encodings
    assert not run_page("gan").exception
    assert len(encoded) >= N_DIRECTIONS * len(DIRECTION_STEPS)


def test_a_commit_makes_only_the_other_sliders_strips(monkeypatch):
    """Committing direction k moves every strip but k's own: the server makes the other K - 1
    strips (K - 1 x 41 images) and reuses strip k, byte for byte; each strip is the direction's
    sweep from the committed view."""
    import torch

    import advdl.inference as inference
    from advdl.gan_tools import DIRECTION_STEPS
    from advdl.models import build
    from advdl.ui import models

    torch.manual_seed(0)
    gan = build("dcgan").eval()
    gan.stamp = "test:strips"
    dirs = np.linalg.qr(np.random.default_rng(0).standard_normal((100, 4)))[0].T.astype(np.float32)
    z = np.random.default_rng(1).standard_normal(100).astype(np.float32)
    made = []
    real = inference.generate_split
    monkeypatch.setattr(inference, "generate_split", lambda g, zz, *a, **k: made.append(len(zz)) or real(g, zz, *a, **k))
    first = models.gan_filmstrips(gan, z, dirs, np.array([0, 0.5, -1, 0], np.float32), parts=1)
    second = models.gan_filmstrips(gan, z, dirs, np.array([0, 2.0, -1, 0], np.float32), parts=1)
    assert made == [4 * len(DIRECTION_STEPS), 3 * len(DIRECTION_STEPS)]
    assert first.shape == (4, len(DIRECTION_STEPS), 28, 28) and first.dtype == np.uint8
    assert second[1].tobytes() == first[1].tobytes() and not np.array_equal(second[0], first[0])
    want = inference.direction_filmstrips(gan, z, dirs, np.array([0, 2.0, -1, 0], np.float32), DIRECTION_STEPS, parts=1, preview=True)
    assert np.abs(second.astype(int) - np.round(want * 255)).max() <= 1


@pytest.mark.slow
def test_launcher_stopped_during_its_warm_up_exits_cleanly(tmp_path, random_checkpoints):
    """A server stopped while the warm-up thread is still inside torch exits as Streamlit does
    (a daemon thread there aborted the interpreter: 'terminate called without an active
    exception')."""
    import os
    import signal
    import time

    env = {**os.environ, "ADVDL_CHECKPOINTS": str(random_checkpoints)}
    proc = subprocess.Popen([sys.executable, "-m", "advdl.ui.serve", "--server.port", "0", "--server.headless", "true"],
                            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    time.sleep(2.5)  # torch imported, the warm-up under way
    proc.send_signal(signal.SIGTERM)
    out, _ = proc.communicate(timeout=60)
    assert proc.returncode in (0, -signal.SIGTERM), out[-2000:]
    assert "terminate called" not in out and "Traceback" not in out


@pytest.mark.slow
def test_launcher_stopped_before_any_session_does_not_wait_for_one(tmp_path, random_checkpoints):
    """A server stopped while its warm-up waits for a first session (up to 30 s) exits at once:
    the warm-up skips the rest (a teacher's Ctrl-C hung for 30 s)."""
    import os
    import signal
    import time

    env = {**os.environ, "ADVDL_CHECKPOINTS": str(random_checkpoints)}
    proc = subprocess.Popen([sys.executable, "-m", "advdl.ui.serve", "--server.port", "0", "--server.headless", "true"],
                            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    time.sleep(6)  # the warm-up's first part is done; it waits for a session
    proc.send_signal(signal.SIGTERM)
    try:
        out, _ = proc.communicate(timeout=15)  # not the 30 s the warm-up would wait
    except subprocess.TimeoutExpired:
        proc.kill()
        raise AssertionError("the server kept running after SIGTERM: the warm-up held it")
    assert proc.returncode in (0, -signal.SIGTERM) and "Traceback" not in out, out[-2000:]


def test_warm_up_does_the_rest_only_after_a_first_run_ended(random_checkpoints, checkpoint_env, monkeypatch):
    """The launcher's warm-up readies the GAN lab's opening view, then waits for a session's first
    run to end before the work that no first drawing needs (here: the inversion's candidates and
    the other labs' models), so that this work does not compete with the first page."""
    import threading

    from advdl.ui import models

    checkpoint_env(random_checkpoints)
    pools = []
    real_pool = models.gan_pool
    monkeypatch.setattr(models, "gan_pool", lambda gan: pools.append(1) or real_pool(gan))

    class Gate:  # stands in for shell.FIRST_RUN_ENDED
        def __init__(self):
            self.reached, self.opened = threading.Event(), threading.Event()

        def wait(self, timeout=None):
            self.reached.set()
            return self.opened.wait(timeout)

    gate, result = Gate(), []
    worker = threading.Thread(target=lambda: result.append(models.warm_up(first_run=gate, wait_s=120, settle_s=0)))
    worker.start()
    try:
        assert gate.reached.wait(120)
        assert worker.is_alive() and not pools and not result
        gan, cnn = models.get_model("dcgan"), models.get_model("cnn")
        assert models.gan_bank(gan, cnn).drawn > 0  # the morph's opening latents are drawn
    finally:
        gate.opened.set()
        worker.join(120)
    assert pools == [1] and {"dcgan", "cnn", "capsnet", "ae_plain"} <= set(result[0])


def test_a_stopped_server_ends_the_warm_up_before_the_rest(random_checkpoints, checkpoint_env, monkeypatch):
    import threading

    from advdl.ui import models

    checkpoint_env(random_checkpoints)
    pools = []
    monkeypatch.setattr(models, "gan_pool", lambda gan: pools.append(1))
    never, stopped = threading.Event(), threading.Event()
    stopped.set()
    loaded = models.warm_up(first_run=never, wait_s=120, stop=stopped)  # returns without waiting 120 s
    assert {"dcgan", "cnn"} <= set(loaded) and "capsnet" not in loaded and not pools


def test_after_the_first_run_the_warm_up_leaves_the_first_page_its_requests_before_the_rest(random_checkpoints, checkpoint_env, monkeypatch):
    """Once the gate opens, the rest waits ``settle_s`` more (the first browser loads the code
    for what it was sent and asks for the replay's frames); a server stopped meanwhile skips it."""
    import threading

    from advdl.ui import models

    class Stop:  # stands in for the launcher's stop event, and says when the warm-up waits on it
        def __init__(self):
            self.event, self.waits = threading.Event(), []

        def is_set(self):
            return self.event.is_set()

        def wait(self, timeout=None):
            self.waits.append(timeout)
            return self.event.wait(timeout)

    checkpoint_env(random_checkpoints)
    pools, opened, stop, result = [], threading.Event(), Stop(), []
    monkeypatch.setattr(models, "gan_pool", lambda gan: pools.append(1))
    opened.set()  # a first run has ended
    worker = threading.Thread(target=lambda: result.append(models.warm_up(first_run=opened, settle_s=120, stop=stop)))
    worker.start()
    try:
        deadline = time.monotonic() + 60
        while not stop.waits and time.monotonic() < deadline:
            time.sleep(0.05)
        assert stop.waits == [120]  # settling
        assert worker.is_alive() and not pools and not result  # the rest not begun
    finally:
        stop.event.set()
        worker.join(120)
    assert not worker.is_alive() and not pools and "capsnet" not in result[0]


def test_a_finished_run_opens_the_warm_ups_gate(random_checkpoints, checkpoint_env):
    from advdl.ui.shell import FIRST_RUN_ENDED
    from conftest import run_page

    checkpoint_env(random_checkpoints)
    FIRST_RUN_ENDED.clear()
    assert not run_page("home").exception
    assert FIRST_RUN_ENDED.is_set()


RELEASE_PROBE = r"""
import json
import torch
from advdl.ui.serve import UNUSED_LIBRARIES, read_mappings, release_library_pages

def mappings():
    return {f"{m['start']:x}{m['perms']}{m['path']}": m for m in read_mappings() if UNUSED_LIBRARIES.search(m["path"])}

before = mappings()
released = release_library_pages()
after = mappings()
x = torch.arange(16.0).view(4, 4)

# A library of our own, so that the release is measured on every torch build (a CPU-only one maps
# no CUDA library): a read-only shared mapping of a file, every page touched.
import mmap, os, re, tempfile
path = os.path.join(tempfile.mkdtemp(), "libadvdlprobe.so")
with open(path, "wb") as f:
    f.write(os.urandom(8 << 20))
fd = os.open(path, os.O_RDONLY)
lib = mmap.mmap(fd, 8 << 20, prot=mmap.PROT_READ)
touched = sum(lib[i] for i in range(0, 8 << 20, 4096))
own = lambda: sum(m["Rss"] for m in read_mappings() if m["path"] == path)
probe = {"before": own(), "released": release_library_pages(re.compile("libadvdlprobe")), "after": own(),
         "intact": sum(lib[i] for i in range(0, 8 << 20, 4096)) == touched}
print(json.dumps({"released": released, "before": before, "after": after, "probe": probe,
                  "matmul": (x @ x).sum().item(), "again": release_library_pages()}))
"""


@pytest.mark.slow
def test_the_server_releases_the_pages_of_cuda_libraries_it_never_runs():
    """Only mappings the process cannot have changed (read-only, nothing copied on write) lose
    their pages; the count returned is what they held; torch computes as before."""
    import json

    proc = subprocess.run([sys.executable, "-c", RELEASE_PROBE], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    r = json.loads(proc.stdout.strip().splitlines()[-1])
    eligible = {k for k, m in r["before"].items() if "w" not in m["perms"] and m.get("Anonymous", 1) == 0 and m["Rss"] > 0}
    assert r["released"] == sum(r["before"][k]["Rss"] for k in eligible)
    for k in eligible:
        assert r["after"][k]["Rss"] < r["before"][k]["Rss"] // 4 + 64 * 1024  # what a page fault since brought back
    for k, m in r["before"].items():
        if "w" in m["perms"]:  # relocated data and the like stay as they are
            assert r["after"][k]["Rss"] >= m["Rss"] * 0.9
    assert r["matmul"] == float((np.arange(16.0).reshape(4, 4) @ np.arange(16.0).reshape(4, 4)).sum())
    if eligible:  # torch's CUDA build, as pinned, with some of its CUDA code resident
        assert r["released"] > 0
    # the probe's own read-only library: all its 8 MB resident, released, read back intact
    probe = r["probe"]
    assert probe["before"] >= 8 << 20 and probe["released"] == probe["before"]
    assert probe["after"] < probe["before"] // 4 and probe["intact"]


def test_releasing_pages_needs_a_readable_smaps(tmp_path):
    from advdl.ui.serve import release_library_pages

    assert release_library_pages(smaps=str(tmp_path / "missing")) == 0
    fake = tmp_path / "smaps"  # kernel addresses, which no process maps: madvise refuses them
    fake.write_text("ffff800000000000-ffff800000010000 r-xp 00000000 fe:00 1 /x/nvidia/lib/libfake.so\nRss:  64 kB\nAnonymous:  0 kB\n")
    assert release_library_pages(smaps=str(fake)) == 0


def test_the_warm_up_thread_hands_memory_back_when_it_ends_even_after_a_failure(monkeypatch):
    from advdl.ui import models, serve

    calls = []

    def failing_warm_up(**_):
        calls.append("warm_up")
        raise RuntimeError("a damaged checkpoint")

    monkeypatch.setattr(models, "warm_up", failing_warm_up)
    monkeypatch.setattr(models, "trim_heap", lambda: calls.append("trim"))
    monkeypatch.setattr(serve, "release_library_pages", lambda: calls.append("release") or 0)
    serve._warm_up()
    assert calls == ["warm_up", "trim", "release"]
