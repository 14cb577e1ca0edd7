"""The benchmark's own parts that run without a browser: they must keep working as the labs change."""

from __future__ import annotations

import os

import bench
import pytest

pytestmark = pytest.mark.slow  # the benchmarks' own code, on real pages and networks


def test_each_lab_commit_is_timed_through_apptest(random_checkpoints, checkpoint_env):
    checkpoint_env(random_checkpoints)
    res = bench.bench_lab_commits(repeats=1)  # at least 5 timed commits per lab
    assert set(res) == {"page_run_after_commit_gan_direction", "page_run_after_commit_ae_strength",
                        "page_run_after_commit_caps_dimension"}
    for figure in res.values():
        assert 0 < figure["p50_ms"] <= figure["p95_ms"]


def test_server_memory_splits_the_rss_into_anonymous_and_file_pages():
    import psutil

    mem = bench.server_memory(os.getpid())
    rss = psutil.Process().memory_info().rss / 2**20
    assert mem["anon_mb"] > 0 and mem["file_mb"] > 0
    assert abs(mem["rss_mb"] - rss) < 0.1 * rss  # the same process, read twice
    assert mem["anon_mb"] + mem["file_mb"] <= mem["rss_mb"] + 1


def test_a_commit_to_a_slider_the_lab_does_not_draw_is_an_error(random_checkpoints, checkpoint_env, monkeypatch):
    """A lab whose slider key changed must fail the benchmark, not time reruns that commit nothing."""
    import pytest

    checkpoint_env(random_checkpoints)
    monkeypatch.setattr(bench, "CAPS_DIMS_KEY", "caps.dims.renamed")
    with pytest.raises(RuntimeError, match="no slider 'caps.dims.renamed'"):
        bench.bench_lab_commits(repeats=1)


def test_the_class_clients_replay_a_captured_message_with_their_own_state():
    import json

    from streamlit.proto.BackMsg_pb2 import BackMsg

    import bench_gan_training

    msg = BackMsg()
    msg.rerun_script.page_script_hash = "abc"
    msg.rerun_script.cached_message_hashes.extend(["h1", "h2"])
    canvas, replay, button = msg.rerun_script.widget_states.widgets.add(), msg.rerun_script.widget_states.widgets.add(), msg.rerun_script.widget_states.widgets.add()
    canvas.id, canvas.json_value = "canvas", json.dumps({"tick": 1, "drawn": None})
    replay.id, replay.json_value = "replay", json.dumps({"commit": {"epoch": 0, "indices": [3]}, "ready": True})
    dirs = msg.rerun_script.widget_states.widgets.add()
    dirs.id, dirs.json_value = "dirs", json.dumps({"commit": {"epoch": 2, "indices": [20] * 8}, "ready": False})
    button.id, button.trigger_value = "play", True
    out = BackMsg.FromString(bench_gan_training._prepared(msg, tick=99, indices=[1] * 8))
    states = {w.id: w for w in out.rerun_script.widget_states.widgets}
    assert list(out.rerun_script.cached_message_hashes) == [] and out.rerun_script.page_script_hash == "abc"
    assert json.loads(states["canvas"].json_value) == {"tick": 99, "drawn": None}
    assert json.loads(states["replay"].json_value) == {"commit": {"epoch": 0, "indices": [3]}, "ready": True}  # another shape: left alone
    assert json.loads(states["dirs"].json_value) == {"commit": {"epoch": 2, "indices": [1] * 8}, "ready": False}
    assert states["play"].trigger_value
    assert list(msg.rerun_script.cached_message_hashes) == ["h1", "h2"]  # the captured message is kept as it was


def test_the_playground_throughput_figures_are_measured_for_each_network():
    import bench_gan_training

    res = bench_gan_training.throughput(seconds=0.2)
    assert set(res) == {"ganlab_1x8_sgd", "page_default_2x64_adam", "converges_2x128_adam"}
    assert all(v["epochs_per_s"] > 0 and v["snapshot_ms"] > 0 for v in res.values())
