"""docs/performance.md's tables: rendered from a benchmark's JSON, each goal judged on its figure."""

from __future__ import annotations

import json

import make_docs


def test_a_benchmarks_table_shows_its_figures_machine_and_goals(tmp_path):
    data = {
        "machine": {"cpu": "Test CPU", "cpus": 2, "torch": "2.14.1", "date": "2026-12-02", "commit": "abc1234"},
        "server": {"figure4_grid": {"p50_ms": 4.8, "p95_ms": 6.1}, "cnn_single": {"p50_ms": 0.6, "p95_ms": 0.6}},
        "rss_mb_all_models": 438.2,
        "training": {"capsnet_speedup_vs_loop": 1.5, "dcgan_config": {"g_refine": 5}},
        "browser": {"cold_start_to_gan_lab_drawn_s": {"median_s": 2.95, "min_s": 2.84, "max_s": 3.02, "runs": 5},
                    "key_to_image_p50_vs_bare": {"gan": 0.03, "capsules": 2.0}},
        "goals": {"server.figure4_grid.p50_ms": ["<=", 50, "ms"], "training.capsnet_speedup_vs_loop": [">=", 2, "×"],
                  "browser.key_to_image_p50_vs_bare.gan": ["<=", 1.3, "× the bare app"],
                  "browser.key_to_image_p50_vs_bare.capsules": ["<=", 1.3, "× the bare app"],
                  "browser.drag_changes_per_s_gan": [">=", 30, "/s"]},
    }
    (tmp_path / "bench.json").write_text(json.dumps(data))
    table = make_docs.bench_table("bench", tmp_path)
    rows = {line.split(" | ")[0].strip("| "): line for line in table.splitlines() if line.startswith("| ")}
    assert "Test CPU, 2 CPUs, torch 2.14.1, 2026-12-02, commit abc1234" in table
    assert "4.8 ms (6.1)" in rows["Figure 4 grid (16 × 11 decoder images)"] and "≤ 50 ms: met" in rows["Figure 4 grid (16 × 11 decoder images)"]
    assert "0.6 ms |" in rows["CNN, one image"]  # p95 equal to p50: shown once
    assert "≥ 2 ×: **missed**" in rows["CapsNet training, vectorized vs looped routing"]
    assert "2.95 s (2.84–3.02, 5 runs)" in rows["cold start: spawn (`make run`) → the GAN lab drawn"]
    ratio = rows["new image after a key press, p50 against the bare app's"]
    assert "gan ≤ 1.3 × the bare app: met" in ratio and "capsules ≤ 1.3 × the bare app: **missed**" in ratio
    assert "438.2" in rows["RSS of a fresh process with every model loaded (MB)"]
    assert not any("dcgan_config" in r for r in rows)  # explained elsewhere, not a figure


def test_a_benchmark_not_run_yet_says_how_to_run_it(tmp_path):
    assert "run the benchmark" in make_docs.bench_table("gan_training", tmp_path)
