"""Autoencoder playground: a digit, some noise, the four autoencoders side by side, their codes,
the latent map of the test set, a code to edit while dragging, and the noise sweep."""

from dataclasses import replace

import numpy as np
import streamlit as st

from advdl import checkpoints
from advdl.digits import NOISE_KINDS, add_noise
from advdl.inference import code_filmstrips, encode, reconstruct, reconstruct_sweep
from advdl.latent_map import FILENAME, LatentMap, knn_accuracy, trustworthiness
from advdl.models import AUTOENCODERS
from advdl.ui import charts, views
from advdl.ui.charts import cached, dots, picked_rows, show, with_layers
from advdl.ui.digit_input import digit_input
from advdl.ui.fit_panel import fit_panel, used_model
from advdl.ui.i18n import t
from advdl.ui.shell import image_size, presenting
from advdl.ui.models import get_card, get_model
from advdl.ui.scrub import Slider, committed, nearest_index, panel_scrubber, scrubber
from advdl.ui.views import AE_STRENGTHS as STRENGTHS
from advdl.ui.views import AeView
from advdl.viz import grid, upscale
from advdl.ui.routing import require_shell

require_shell()

EDIT_DIMS, EDIT_STEPS = 8, 21
COLORS = charts.CLASS_COLOURS  # the four models' curves and the ten classes' points

st.title(t("ae.title"))
views.current(AeView)  # the URL's view, on the page's first run
if views.take_bad_url(AeView):
    st.warning(t("common.bad_url"))
clean = digit_input("ae")

models = {name: m for name in AUTOENCODERS if (m := get_model(name)) is not None}
if (mine := used_model()) is not None:  # trained by the student below ("use this model"): this session only
    models["ae_mine"] = mine


@st.cache_resource(show_spinner=False)
def _latent_map(path: str, stamp: float) -> LatentMap | None:
    try:
        lm = LatentMap.load(path)
    except (OSError, ValueError, KeyError):
        return None
    lm.path, lm.stamp = path, stamp  # what its charts are kept by
    # each map's 5-NN accuracy and trustworthiness, recomputed from the file once per server
    labels = lm.labels.astype(np.int64)
    lm.quality = {name: (knn_accuracy(pts, labels), trustworthiness(lm.codes, pts) if lm.codes is not None else float("nan"))
                  for name, pts in (("pca", lm.coords), ("umap", lm.umap_coords)) if pts is not None}
    return lm


@st.cache_data(show_spinner=False, max_entries=32)
def _noise_sweep(_models: dict, stamps: tuple, clean: np.ndarray, kind: str, seed: int, use_clean: bool):
    # The digit at every strength and the four reconstructions of each, in one batch per model:
    # dragging the strength then changes all five images and their scores at once. Cached, so a
    # committed strength (or another student on the same digit) does not compute it again.
    inputs = np.stack([clean if use_clean else add_noise(clean, kind, float(s), seed=seed) for s in STRENGTHS])
    return inputs, reconstruct_sweep(_models, inputs, clean)


@st.fragment
def _noise_view(models: dict, clean: np.ndarray | None, lmap: LatentMap | None) -> None:
    """Noise, the four reconstructions, their codes, the noise sweep and the latent map. A
    fragment: changing the noise or clicking the map reruns only this part of the lab."""
    c1, c2, c3 = st.columns(3)
    noise_labels = {k: t(f"ae.noise.{k}") for k in NOISE_KINDS}
    c1.selectbox(t("ae.noise"), NOISE_KINDS, format_func=noise_labels.get, **views.bind(AeView, "ae.noise", "noise"))
    c2.number_input(t("ae.noise_seed"), 0, 10_000, **views.bind(AeView, "ae.noise_seed", "seed"))
    c3.toggle(t("ae.clean_input"), **views.bind(AeView, "ae.clean", "clean"))
    view = views.current(AeView)
    kind, seed, use_clean = view.noise, view.seed, view.clean

    results = {}
    if clean is not None and models:
        inputs, sweeps = _noise_sweep(models, tuple((n, m.stamp) for n, m in models.items()), clean, kind, int(seed), use_clean)
        names = list(sweeps)
        captions, metrics = [], []
        for i in range(len(STRENGTHS)):
            best = max(names, key=lambda n: sweeps[n].psnr[i])
            captions.append([t("ae.clean_shown") if use_clean else t("ae.noisy")]
                            + [f"{t(f'ae.{n}')}{' ★ ' + t('ae.best') if n == best else ''}" for n in names])
            metrics.append([""] + [f"PSNR {sweeps[n].psnr[i]:.1f} dB\nSSIM {sweeps[n].ssim[i]:.2f} · BCE {sweeps[n].bce[i]:.3f}" for n in names])
        frames = np.stack([np.concatenate([inputs[i][None], np.stack([sweeps[n].images[i] for n in names])]) for i in range(len(STRENGTHS))])
        st.subheader(t("ae.recons"), anchor="recons")
        # One row on a monitor; rows of three on a projector, so that each image stays large.
        index = panel_scrubber(
            frames, captions, metrics, Slider(t("ae.strength"), list(STRENGTHS), committed("ae.strength", 1, view.strength)[0]),
            key="ae.strength", columns=3 if presenting() else len(names) + 1,
        )
        view = replace(view, strength=index)
        strength, noisy = float(STRENGTHS[index]), inputs[index]
        results = {n: sweeps[n].at(index) for n in names}

        st.subheader(t("ae.codes"), anchor="codes")
        dense = [n for n in ("ae_plain", "ae_deep") if n in models]
        code_cols = st.columns(len(dense) + 1)
        for col, name in zip(code_cols, dense):
            code = encode(models[name], noisy)
            with col:
                show(_code_chart((name, code.tobytes()), name, code), width="stretch")
        if "ae_conv" in models:
            maps = encode(models["ae_conv"], noisy)  # (32, 7, 7)
            scaled = maps / max(float(maps.max()), 1e-6)
            code_cols[-1].image(grid(scaled, nrow=8, pad=1), caption=t("ae.conv_code"), width="stretch")

    views.publish(view)  # the URL follows, so that a teacher can share the view

    sweep = {n: c["metrics"]["noisy_psnr"] for n in AUTOENCODERS if (c := get_card(n)) and "noisy_psnr" in c.get("metrics", {})}
    if sweep:
        st.subheader(t("ae.sweep"), anchor="sweep")
        spec = _sweep_chart(tuple((n, tuple(sorted(c.items()))) for n, c in sweep.items()), sweep)
        here = [dots([strength], [float(results[name].psnr)], colour=COLORS[i], shape="cross", size=160, label=t(f"ae.{name}"))
                for i, name in enumerate(sweep) if results and name in results and kind == "gaussian" and not use_clean]
        show(with_layers(spec, here), width="stretch")
        st.caption(t("ae.sweep_help"))

    if "ae_plain" in models and lmap is not None:
        st.subheader(t("ae.map"), anchor="map")
        here = encode(models["ae_plain"], noisy if results else clean) if clean is not None else None
        maps = [("pca", lmap.coords, None if here is None else lmap.project(here), ("PC 1", "PC 2"))]
        if lmap.has_umap:
            maps.append(("umap", lmap.umap_coords, None if here is None else lmap.place(here), ("UMAP 1", "UMAP 2")))
        cols = st.columns([2] * len(maps) + [1])
        picked_rows = []
        for col, (name, coords, you, axes) in zip(cols, maps):
            with col:
                picked_rows += _map_plot(name, coords, lmap, you, axes)
                knn, trust = lmap.quality[name]
                st.caption(t(f"ae.map_{name}", knn=f"{knn:.0%}", trust=f"{trust:.2f}"))
        with cols[-1]:
            if picked_rows:
                row = picked_rows[-1]
                picked = lmap.images[row].astype(np.float32) / 255.0
                st.image(upscale(picked, 160), caption=t("ae.picked", label=int(lmap.labels[row])))
                st.image(upscale(reconstruct({"ae_plain": models["ae_plain"]}, picked, picked)["ae_plain"].image, 160), caption=t("ae.ae_plain"))
            else:
                st.caption(t("ae.map_hint"))


@cached
def _code_chart(name: str, code: np.ndarray) -> dict:
    return charts.bars({t(f"ae.{name}"): code}, range(1, len(code) + 1), x=t("caps.dimension"),
                       title=t("ae.code_of", name=t(f"ae.{name}")), height=260, colours=["#0b57d0"])


@cached
def _sweep_chart(sweep: dict) -> dict:
    """The cards' PSNR against noise strength, one line per model."""
    curves = {t(f"ae.{name}"): ([float(s) for s in sorted(c, key=float)], [c[s] for s in sorted(c, key=float)]) for name, c in sweep.items()}
    return charts.lines(curves, x=t("ae.sigma"), y="PSNR (dB)", height=340, colours=COLORS[: len(curves)])


@cached
def _map_chart(name: str, coords: np.ndarray, labels: np.ndarray, axes) -> dict:
    """The test digits' codes on one 2-D map, a colour per class (the same for every student)."""
    by_class = {str(c): np.flatnonzero(labels == c) for c in range(10)}
    return charts.scatter({c: (coords[rows, 0], coords[rows, 1]) for c, rows in by_class.items()}, x=axes[0], y=axes[1],
                          title=t(f"ae.map_title_{name}"), height=460, colours=COLORS[:10], legend_title=t("common.class"),
                          rows=by_class, select="pick")


def _map_plot(name: str, coords: np.ndarray, lmap: LatentMap, you, axes) -> list[int]:
    """One 2-D map of the codes, the student's digit as a star; returns the rows clicked."""
    spec = _map_chart((name, lmap.path, lmap.stamp), name, coords, lmap.labels, axes)
    if you is not None:
        spec = with_layers(spec, [dots([you[0]], [you[1]], shape="M0,-1L0.24,-0.32L0.95,-0.31L0.38,0.12L0.59,0.81L0,0.4L-0.59,0.81L-0.38,0.12L-0.95,-0.31L-0.24,-0.32Z",
                                       size=400, label=t("ae.you"))])
    event = show(spec, width="stretch", on_select="rerun", selection_mode="pick", key=f"ae.map.{name}")
    return picked_rows(event, "pick")[:1]


@st.fragment
def _editor_view(model, clean: np.ndarray, lmap: LatentMap) -> None:
    """The plain autoencoder's code, edited while dragging. A fragment: committing a slider
    reruns only this part."""
    models = {"ae_plain": model}
    st.subheader(t("ae.edit"), anchor="edit")
    st.caption(t("ae.edit_help"))
    code = encode(models["ae_plain"], clean)
    dims = lmap.top_dims(EDIT_DIMS)
    top = np.sqrt(lmap.variance[dims]) * 4 + 1e-3
    steps = np.stack([np.linspace(0.0, hi, EDIT_STEPS) for hi in top])
    start = [nearest_index(steps[k], code[d]) for k, d in enumerate(dims)]
    idx = committed("ae.edit", EDIT_DIMS, start, basis=tuple(start))  # another digit's code: the sliders start over
    edited = code.copy()
    edited[dims] = steps[np.arange(EDIT_DIMS), idx]
    frames = code_filmstrips(models["ae_plain"], edited, dims, steps)
    sliders = [Slider(t("ae.code_dim", i=int(d) + 1), steps[k].round(2).tolist(), idx[k]) for k, d in enumerate(dims)]
    scrubber(list(frames), sliders, key="ae.edit", size=image_size(260), caption=t("ae.decoded"), columns=2)


map_path = checkpoints.checkpoint_dir("ae_plain") / FILENAME
lmap = _latent_map(str(map_path), map_path.stat().st_mtime) if map_path.exists() else None
_noise_view(models, clean, lmap)
if clean is not None and "ae_plain" in models and lmap is not None:
    _editor_view(models["ae_plain"], clean, lmap)

fit_panel(models.get("ae_plain"))

if not presenting():
    with st.expander(t("ae.notes_title")):
        st.markdown(t("ae.notes"))
