"""The launcher's warm-up: models, the GAN's directions and its bank are ready before any
session asks, and a session then gets those very objects from the cache."""

from __future__ import annotations

import subprocess
import sys

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
