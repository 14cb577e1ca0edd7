#!/usr/bin/env python
"""Write the figures the documentation shows from the files that hold them, never by hand.

    python scripts/make_docs.py            # rewrite the generated parts
    python scripts/make_docs.py --check    # exit 1 if a generated part is out of date

Generated parts sit between ``<!-- NAME:begin -->`` and ``<!-- NAME:end -->`` markers:
``models`` in README.md, from the checkpoint cards and the registry's bars; ``bench`` and
``gan_training``, ``lessons`` and ``ae_fit`` in docs/performance.md, from
``bench-results/<name>.json`` (written by ``scripts/bench.py``, ``scripts/bench_gan_training.py``,
``scripts/bench_lessons.py`` and ``scripts/bench_ae_fit.py``) and the goals they carry.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

from advdl import checkpoints
from advdl.cards import FORMATS, test_set_seen
from advdl.models import MODELS

ROOT = Path(__file__).resolve().parent.parent
DESCRIPTIONS = {
    "cnn": "CNN baseline",
    "ae_plain": "plain autoencoder 784-32-784",
    "ae_deep": "deep autoencoder 784-128-64-32-64-128-784",
    "ae_conv": "convolutional autoencoder, the course's layers",
    "ae_denoise": "denoising autoencoder",
    "dcgan": "DCGAN",
    "capsnet": "CapsNet",
}
SHOWN = {  # the figures of each model's row: the bars' metrics and a few more
    "cnn": ("test_accuracy", "restyled_accuracy"),
    "capsnet": ("test_accuracy", "restyled_accuracy"),
    "dcgan": ("confident_share", "class_share_min", "class_share_max", "frechet_ratio"),
}
TABLE_FORMATS = {**FORMATS, "test_accuracy": ("{:.2%}", ""), "class_share_min": ("{:.1%}", ""), "class_share_max": ("{:.1%}", "")}


def fmt(metric: str, value) -> str:
    if not isinstance(value, (int, float)):
        return "—"
    spec, unit = TABLE_FORMATS.get(metric, ("{:g}", ""))
    return spec.format(value) + unit


def models_table(root: Path | None = None) -> str:
    rows = ["| model | bars (advdl/models) | shipped (scripts/evaluate.py) | made | recipe |", "| --- | --- | --- | --- | --- |"]
    for name, spec in MODELS.items():
        try:
            card = checkpoints.read_card(name, root)
        except checkpoints.CheckpointError:
            rows.append(f"| {DESCRIPTIONS[name]} (`{name}`) | {'; '.join(map(str, spec.bars))} | not shipped | | |")
            continue
        m = card.get("metrics", {})
        metrics = SHOWN.get(name, tuple(b.metric for b in spec.bars))
        shown = ", ".join(f"{k} {fmt(k, m.get(k))}" for k in metrics)
        verdict = "meets its bars" if m.get("meets_bar") else "**misses a bar**"
        made = f"{card.get('epochs')} epochs on {' + '.join(card.get('devices') or ['?'])}"
        if test_set_seen(card):
            made += "; the test set was seen (card: validation)"
        recipe = (card.get("recipe") or {}).get("path", "—")
        params = f"{card.get('parameters', 0) / 1e6:.2f} M params"
        rows.append(f"| {DESCRIPTIONS[name]} (`{name}`, {params}) | {'; '.join(map(str, spec.bars))} | {shown}: {verdict} | {made} | `{recipe}` |")
    return "\n".join(rows) + "\n"


# What each benchmark figure is, by its JSON path; a figure without a label is shown by its path.
LABELS = {
    "server.cnn_single": "CNN, one image",
    "server.autoencoders_all_four": "the four autoencoders, one image",
    "server.capsnet_single": "CapsNet, one image",
    "server.figure4_grid": "Figure 4 grid (16 × 11 decoder images)",
    "server.capsnet_layer_walk": "CapsNet layer walk, one digit (every stage's arrays)",
    "server.capsnet_routing_trace_5_iterations": "CapsNet routing traced over 5 iterations, one digit",
    "server.gan_direction_filmstrips_8x41": "GAN filmstrips, 8 directions × 41 steps",
    "server.gan_direction_filmstrips_8x41_preview": "GAN filmstrips, 8 × 41, as previews (bfloat16 where the CPU has it)",
    "server.gan_inversion_candidate_pool_once": "GAN inversion's candidate pool (once per server)",
    "server.gan_inversion_100x4_nearest_starts": "GAN inversion: 100 steps from the 4 nearest candidates",
    "server.page_run_after_commit_gan_direction": "the page's run after a slider commit (AppTest): GAN direction",
    "server.page_run_after_commit_ae_strength": "… autoencoders' noise strength",
    "server.page_run_after_commit_caps_dimension": "… a capsule dimension",
    "rss_mb_all_models": "RSS of a fresh process with every model loaded (MB)",
    "training.threads": "training torch threads",
    "training.capsnet_vectorized": "CapsNet training step, vectorized routing",
    "training.capsnet_looped": "CapsNet training step, routing looped over the capsules",
    "training.capsnet_speedup_vs_loop": "CapsNet training, vectorized vs looped routing",
    "training.capsnet_vectorized_bf16_convs": "the same, convolutions in bf16 (`--amp bf16`)",
    "training.capsnet_looped_bf16_convs": "… looped, bf16",
    "training.capsnet_speedup_vs_loop_bf16_convs": "… vectorized vs looped in bf16",
    "training.routing_vectorized": "routing alone (forward and backward), vectorized",
    "training.routing_looped": "routing alone, looped",
    "training.routing_speedup_vs_loop": "routing alone, vectorized vs looped",
    "training.routing_share_of_step_pct": "routing's share of a training step (%)",
    "training.dcgan": "DCGAN training, the shipped architecture, batches of 128",
    "browser.first_gan_lab_on_a_server_up_15s_s": "the first GAN lab on a server up for 15 s, drawn (s)",
    "browser.first_gan_lab_on_a_server_up_15s_with_replay_frames_s": "… with the replay's frames (s)",
    "browser.cold_start_to_gan_lab_drawn_s": "cold start: spawn (`make run`) → the GAN lab drawn",
    "browser.cold_start_to_gan_lab_charts_s": "… its charts drawn",
    "browser.cold_start_to_gan_lab_replay_s": "… the replay's frames in",
    "browser.cold_start_bare_app_s": "cold start of a bare one-slider app",
    "browser.cold_start_plain_streamlit_run_to_gan_lab_drawn_s": "cold start by plain `streamlit run app.py` (no warm-up)",
    "browser.drag_changes_per_s_gan": "image changes per second while dragging: GAN",
    "browser.drag_changes_per_s_autoencoders": "… autoencoders' noise strength",
    "browser.drag_changes_per_s_capsules": "… capsule",
    "browser.drag_changes_per_s_bare_app": "… Streamlit's own slider (bare app)",
    "browser.commit_ms_gan": "a key press until the rerun it caused has ended: GAN",
    "browser.commit_ms_autoencoders": "… autoencoders",
    "browser.commit_ms_capsules": "… capsules",
    "browser.commit_ms_bare_app": "… the bare app",
    "browser.key_to_image_ms_gan": "a key press until the new image is shown: GAN",
    "browser.key_to_image_ms_autoencoders": "… autoencoders",
    "browser.key_to_image_ms_capsules": "… capsules",
    "browser.key_to_image_ms_bare_app": "… the bare app",
    "browser.commit_p50_vs_bare": "rerun after a key press, p50 against the bare app's",
    "browser.key_to_image_p50_vs_bare": "new image after a key press, p50 against the bare app's",
    "browser.stroke_to_four_reconstructions_ms": "end of a stroke on the canvas → the four reconstructions shown",
    "browser.server_memory_after_the_labs": "server RSS after a browser has used all three labs (MB)",
    "throughput_one_thread.ganlab_1x8_sgd": "epochs/s on one thread: GAN Lab's 1 × 8 SGD networks",
    "throughput_one_thread.page_default_2x64_adam": "… the page's default 2 × 64 Adam",
    "throughput_one_thread.converges_2x128_adam": "… the converges preset's 2 × 128",
    "converges_preset.epochs": "converges preset: epochs per seed",
    "converges_preset.modes_per_seed": "… modes covered, per seed",
    "converges_preset.seeds_with_7_of_8_or_more": "… seeds that cover at least 7 of 8 modes",
    "browser.step_d_click_to_view_ms": "Step D click until the canvas shows it",
    "browser.step_g_click_to_view_ms": "Step G click until the canvas shows it",
    "browser.playing_epochs_per_s_page_default_nets": "epochs/s while playing, the page's default networks",
    "browser.playing_epochs_per_s_ganlab_nets": "… GAN Lab's networks",
    "browser.painted_frames_per_s": "painted frames per second while playing",
    "browser.snapshot_messages_per_s": "snapshot messages per second",
    "browser.snapshot_message_bytes": "bytes per snapshot message",
    "browser.frames_before_play": "frames painted before Play",
    "class.players": "a class: sessions playing at once (protocol clients)",
    "class.seconds": "… for seconds",
    "class.epochs_per_s_per_player": "… epochs/s per player",
    "class.errors": "… errors",
    "class.timeouts": "… timeouts",
    "class.stopped_playing": "… sessions that stopped playing",
    "class.gan_commit_alone_s": "a GAN-lab direction commit with no players (s)",
    "class.gan_commit_during_s": "… while the class plays (s)",
    "class.server_cpu_cores": "server CPU while the class plays (cores)",
    "class.client_cpu_pct_of_machine": "the clients' CPU (% of the machine)",
    "steps.step_to_step_drawn_s": "→ in a lesson until the next step's lab is drawn (s), every step of the three lessons",
    "steps.same_page_s": "… steps on the same page (s)",
    "steps.other_page_s": "… steps that open another page (s)",
    "steps.bare_app_key_to_rerun_end_s": "a key press on a bare one-slider app until its rerun has ended (s)",
    "steps.p50_vs_bare": "step to step, p50 against the bare app's",
    "fit.plain_default_10_epochs_s": "train it yourself: the default plain autoencoder, 10 epochs of 5 400 digits, one thread (s)",
    "fit.val_bce": "… its last validation BCE",
    "fit.shipped_test_bce": "… the shipped `ae_plain`'s test BCE (its card)",
    "fit.val_bce_vs_shipped_test_bce": "… validation BCE against the shipped model's test BCE",
    "fit.threads": "… torch threads",
    "browser.start_to_first_epoch_shown_s": "Start until the first epoch's point and digits are shown (s)",
    "browser.stop_to_idle_s": "Stop until the run has stopped and the page is idle (s)",
    "browser.bare_app_key_to_rerun_end_s": "a key press on a bare one-slider app until its rerun has ended (s)",
    "browser.start_p50_vs_bare": "Start to first epoch, p50 against the bare app's",
    "server.layer_walk_ms": "the capsule lab's whole layer walk for one digit, one thread",
    "server.routing_trace_1_iterations_ms": "the routing trace, 1 iteration (uniform coupling)",
    "server.routing_trace_3_iterations_ms": "… 3 iterations (the model's own)",
    "server.routing_trace_5_iterations_ms": "… 5 iterations",
    "browser.routing_switch_to_view_s": "routing switch clicked until the view shows its iterations (s)",
    "browser.switch_p50_vs_bare": "routing switch, p50 against the bare app's",
    "summary.sessions": "students (protocol sessions) on one server",
    "summary.duration_s": "… for this many seconds",
    "summary.think_s": "… one action per student every (mean, s)",
    "summary.lessons": "lessons walked",
    "summary.actions": "actions (a page opened, a commit, a drawn digit, an inversion, …)",
    "summary.errors": "errors (an exception drawn, a disconnect, a run that did not finish)",
    "summary.action_s": "an interactive action until its script_finished (s)",
    "summary.heavy_s": "an inversion (a heavy job behind a progress bar) until finished (s)",
    "summary.client_cpu_pct_of_machine": "the load generator's own CPU (% of the machine)",
    "summary.server_cpu_cores": "the server's CPU (cores busy, mean)",
    "summary.rss_after_warmup_mb": "the server's RSS after the first minute (MB)",
    "summary.rss_growth_after_warmup_pct": "… at the end against then (%)",
    "summary.rss_peak_mb": "… its peak after the first minute (MB)",
    "summary.fits_finished": "autoencoders trained in the lab's panel, finished",
    "summary.other_commits_while_fitting_s": "other labs' commits while they trained (s)",
}
BENCHES = {  # marker name: (the JSON's file, its sections in order)
    "bench": ("bench.json", ("server", "rss_mb_all_models", "training", "browser")),
    "gan_training": ("gan_training.json", ("throughput_one_thread", "converges_preset", "browser", "class")),
    "lessons": ("lessons.json", ("steps",)),
    "ae_fit": ("ae_fit.json", ("fit", "browser")),
    "capsules": ("capsules.json", ("server", "browser")),
    "loadtest": ("loadtest.json", ("summary", "by_action_s")),
}
SKIPPED = {"training.dcgan_config"}  # shown in the row it explains


def _number(v) -> str:
    return f"{v:,.0f}" if isinstance(v, (int, float)) and abs(v) >= 10_000 else f"{v:g}" if isinstance(v, float) else str(v)


def _value(v) -> str:
    """A figure as a cell: p50 (p95), a median (min–max, runs), images/s, a dict of labs, a number."""
    if isinstance(v, dict):
        if "p50_ms" in v:
            return f"{_number(v['p50_ms'])} ms" + (f" ({_number(v['p95_ms'])})" if v.get("p95_ms") != v["p50_ms"] else "") + (
                f" · {_number(v['images_per_s'])} images/s" if v.get("images_per_s") else "")
        if "p50" in v and "p95" in v:
            queued = (f"; {v['queued_with_message']} queued with their message, {v['told_busy']} told the server is busy"
                      if "queued_with_message" in v else "")  # an inversion's wait for a free slot (loadtest.py)
            return f"{_number(v['p50'])} ({_number(v['p95'])}), n = {v.get('n', '?')}{queued}"
        if "median_s" in v:
            return f"{_number(v['median_s'])} s ({_number(v['min_s'])}–{_number(v['max_s'])}, {v['runs']} runs)"
        if "median" in v:
            extra = f"min {_number(v['min'])}, " if "min" in v else f"max {_number(v['max'])}, " if "max" in v else ""
            return f"{_number(v['median'])} ({extra}n = {v.get('n', '?')})"
        if "epochs_per_s" in v:
            return f"{_number(v['epochs_per_s'])} epochs/s · snapshot {_number(v['snapshot_ms'])} ms"
        return " · ".join(f"{k} {_value(x)}" for k, x in v.items())
    if isinstance(v, list):
        return ", ".join(map(_number, v))
    return _number(v)


def _lookup(data: dict, path: str):
    for part in path.split("."):
        if not isinstance(data, dict) or part not in data:
            return None
        data = data[part]
    return data


def _goal(data: dict, path: str) -> str:
    """The goals whose figures lie at or under ``path``: "≤ 50 ms: met" or "…: **missed**"."""
    out = []
    for where, (op, bound, unit) in (data.get("goals") or {}).items():
        if where == path or where.startswith(path + "."):
            got = _lookup(data, where)
            met = isinstance(got, (int, float)) and (got <= bound if op == "<=" else got >= bound)
            sign = "≤" if op == "<=" else "≥"
            sub = where[len(path) + 1:]
            sub = f"{sub.replace('_', ' ')} " if sub and not sub.endswith(("p50_ms", "median_s", "rss_mb")) else ""
            out.append(f"{sub}{sign} {_number(bound)} {unit}".strip() + (": met" if met else ": **missed**" if got is not None else ": not measured"))
    return "; ".join(out)


def bench_table(name: str, folder: Path | None = None) -> str:
    file, sections = BENCHES[name]
    path = (folder or ROOT / "bench-results") / file
    if not path.exists():
        return f"No figures yet: run the benchmark (it writes `bench-results/{file}`).\n"
    data = json.loads(path.read_text(encoding="utf-8"))
    m = data.get("machine", {})
    rows = [f"From `bench-results/{file}`: {m.get('cpu', '?')}, {m.get('cpus', '?')} CPUs, torch {m.get('torch', '?')}"
            + (f", {m['date']}" if m.get("date") else "") + (f", commit {m['commit']}" if m.get("commit") else "") + ".",
            "", "| figure | measured: p50 (p95), or median (min–max) | goal |", "| --- | --- | --- |"]
    for section in sections:
        if section not in data:
            continue
        items = data[section].items() if isinstance(data[section], dict) and section not in ("rss_mb_all_models",) else [(None, data[section])]
        order = list(LABELS)
        for key, value in sorted(items, key=lambda kv: order.index(f"{section}.{kv[0]}") if f"{section}.{kv[0]}" in order else len(order)):
            where = section if key is None else f"{section}.{key}"
            if where in SKIPPED:
                continue
            if where == "browser.server_memory_after_the_labs" and isinstance(value, dict):
                value = " (".join([_number(value.get("rss_mb")), f"anonymous {_number(value.get('anon_mb'))} + files {_number(value.get('file_mb'))})"])
            rows.append(f"| {LABELS.get(where, '`' + where + '`')} | {_value(value)} | {_goal(data, where)} |")
    if data.get("stand_ins"):
        rows.append(f"\nRandom-weight stand-ins for models not shipped then: {', '.join(data['stand_ins'])}.")
    return "\n".join(rows) + "\n"


def class_table(folder: Path | None = None) -> str:
    """Every class measured by scripts/loadtest.py (bench-results/loadtest*.json), one row each:
    where p95 passes 1.5 s (the knee), and what replicas change."""
    folder = folder or ROOT / "bench-results"
    runs = []
    for path in sorted(folder.glob("loadtest*.json")):
        d = json.loads(path.read_text(encoding="utf-8"))
        if "action_s" in d and "sessions" in d:
            runs.append((d.get("replicas_started") or 1, d["sessions"], path.name, d))
    if not runs:
        return "No classes measured yet: run scripts/loadtest.py.\n"
    rows = ["| students | replicas | seconds | lessons | errors | action p50 (s) | action p95 (s) | servers' CPU (cores) | generator's CPU | file |",
            "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for replicas, sessions, name, d in sorted(runs, key=lambda r: (r[0], r[1])):
        a = d["action_s"]
        mixed = "" if "heavy_s" in d else " †"  # measured before inversions were timed apart
        who = f"{sessions} ({d['fit']} training an autoencoder)" if d.get("fit") else str(sessions)
        rows.append(f"| {who} | {replicas} | {_number(d['duration_s'])} | {d['lessons']} | {d['errors']} | {_number(a['p50'])} | "
                    f"{_number(a['p95'])}{' (over 1.5)' if (a['p95'] or 0) > 1.5 else ''}{mixed} | {_number(d['server_cpu_cores'])} | "
                    f"{_number(d['client_cpu_pct_of_machine'])} % | `{name}` |")
    m = runs[0][3].get("machine", {})
    note = ("\n† an inversion (seconds of optimisation behind a progress bar) counted among the actions; the other rows "
            "time inversions apart\n") if any("heavy_s" not in r[3] for r in runs) else ""
    return (f"On {m.get('cpu', '?')}, {m.get('cpus', '?')} CPUs, think time {_number(runs[0][3]['think_s'])} s:\n\n" + "\n".join(rows)
            + "\n" + note)


def replace_part(text: str, name: str, body: str) -> str:
    pattern = re.compile(rf"(<!-- {name}:begin -->\n).*?(<!-- {name}:end -->)", re.S)
    if not pattern.search(text):
        raise SystemExit(f"make_docs.py: no <!-- {name}:begin/end --> markers")
    return pattern.sub(lambda mo: mo.group(1) + body + mo.group(2), text)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--check", action="store_true", help="only check that the generated parts are up to date")
    a = p.parse_args(argv)
    stale = []
    for doc, parts in rendered().items():
        old = doc.read_text(encoding="utf-8")
        new = old
        for name, body in parts.items():
            new = replace_part(new, name, body)
        if new != old:
            stale.append(doc)
            if not a.check:
                doc.write_text(new, encoding="utf-8")
                print(f"wrote {doc.relative_to(ROOT)}")
    if a.check and stale:
        print(f"out of date: {', '.join(str(d.relative_to(ROOT)) for d in stale)}; run python scripts/make_docs.py", file=sys.stderr)
        return 1
    return 0


def rendered() -> dict[Path, dict[str, str]]:
    """Each document's generated parts, by marker name."""
    return {ROOT / "README.md": {"models": models_table()},
            ROOT / "docs" / "performance.md": {**{name: bench_table(name) for name in BENCHES}, "classes": class_table()}}


if __name__ == "__main__":
    sys.exit(main())
