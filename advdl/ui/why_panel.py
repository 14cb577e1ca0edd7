"""The capsule lab's "why capsules" (course 5.3.1), measured: the test-set figures that
``scripts/evaluate.py`` wrote into the two classifiers' cards (advdl/why_capsules.py), each with
the student's digit as a live example, and a sentence that says which model is ahead — the CNN
too, where it is."""

from __future__ import annotations

import numpy as np
import streamlit as st

from advdl import why_capsules as W
from advdl.ui.digit_input import sample_digit
from advdl.ui.i18n import t
from advdl.ui import charts
from advdl.ui.charts import cached, rule, show, with_layers
from advdl.ui.models import card_stamp, get_card, shared
from advdl.ui.shell import image_size, presenting
from advdl.viz import upscale

COLOURS = {"capsnet": "#d93025", "cnn": "#8ab4f8"}
MIN_INK = 5.0  # summed grey values below which a drawing is treated as empty (a dot or a stray click)


def _metrics() -> dict[str, dict]:
    return {n: c.get("metrics", {}) for n in ("capsnet", "cnn") if (c := get_card(n))}


def _pct(v: float) -> str:
    return f"{100 * v:.1f} %"


def _pose_series(m: dict[str, dict]) -> dict[str, tuple[dict, str]]:
    """Each pose experiment the cards hold: each model's accuracy by pose value, and its axis label."""
    series = {
        "rotation": ({n: v["rotated_accuracy"] for n, v in m.items() if "rotated_accuracy" in v}, t("caps.rotation")),
        "scale": ({n: v["why_capsules"]["scaled_accuracy"] for n, v in m.items() if "why_capsules" in v}, t("caps.scale")),
        "shear": ({n: v["why_capsules"]["sheared_accuracy"] for n, v in m.items() if "why_capsules" in v}, t("caps.shear")),
    }
    return {k: s for k, s in series.items() if s[0]}


@cached
def _pose_charts(m: dict[str, dict], series: dict[str, tuple[dict, str]]) -> list[dict]:
    """The two models' accuracy curves, a chart per pose experiment (the same for every student)."""
    specs = []
    for kind, (curves, label) in series.items():
        lines = {}
        for n, curve in curves.items():
            if kind != "rotation" and "test_accuracy" in m[n]:  # the unchanged digit: the test accuracy
                curve = {**curve, "1" if kind == "scale" else "0": m[n]["test_accuracy"]}
            xs = sorted(curve, key=float)
            lines[t(f"caps.model_{n}")] = ([float(a) for a in xs], [curve[a] for a in xs])
        specs.append(charts.lines(lines, x=label, y=t("caps.test_accuracy"), title=label, y_domain=(0, 1), height=260,
                                  colours=[COLOURS[n] for n in curves]))
    return specs


def verdict_text(v: W.Verdict) -> str:
    """The sentence under an experiment: its figures and who is ahead (or that they are even)."""
    fmt = (lambda f: f"{f:.2f}") if v.experiment == "parts" else _pct
    return t(f"why.verdict.{v.ahead or 'even'}", what=t(f"why.exp.{v.experiment}"), caps=fmt(v.capsnet), cnn=fmt(v.cnn))


def _verdicts() -> dict[str, W.Verdict]:
    m = _metrics()
    if set(m) != {"capsnet", "cnn"}:
        return {}
    return {v.experiment: v for v in W.verdicts(m["capsnet"], m["cnn"])}


def pose_curves(angle: float, scale: float, shear: float) -> None:
    """Test accuracy under rotation, scale and shear for both models (from their cards), the
    current pose marked, and who holds up better."""
    m = _metrics()
    series = _pose_series(m)
    if not series:
        st.info(t("why.no_metrics"))
        return
    specs = _pose_charts((card_stamp("capsnet"), card_stamp("cnn")), m, series)
    now = {"rotation": angle, "scale": scale, "shear": shear}
    for col, kind, spec in zip(st.columns(len(specs)), series, specs):
        with col:  # the current pose, a dotted line
            show(with_layers(spec, [rule(now[kind])]), width="stretch", key=f"why.pose.{kind}")
    v = _verdicts()
    lines = [verdict_text(v[k]) for k in ("rotation", "scale", "shear") if k in v]
    n = next((v["why_capsules"]["samples"] for v in m.values() if "why_capsules" in v), None)
    st.caption(t("why.pose_caption", n=f"{n:,}" if n else "?") + (" " + " ".join(lines) if lines else ""))


def section(capsnet, cnn, x: np.ndarray, pred: int) -> None:
    """Overlapping digits and parts rearranged, as tabs (the pose experiment is drawn in the
    pose section, beside its sliders)."""
    st.caption(t("why.intro"))
    overlap, parts = st.tabs([t("why.tab_overlap"), t("why.tab_parts")])
    with overlap:
        _overlap(capsnet, cnn, x, pred)
    with parts:
        _parts(capsnet, cnn, x, pred)


@st.fragment
def _overlap(capsnet, cnn, x: np.ndarray, pred: int) -> None:
    """The student's digit over a sample digit of another class; choosing the class reruns only this."""
    others = [c for c in range(10) if c != pred]
    if st.session_state.get("why.other") not in others:
        st.session_state["why.other"] = others[(pred + 2) % len(others)]
    other = st.selectbox(t("why.other"), others, key="why.other")
    if float(x.sum()) < MIN_INK:
        st.info(t("why.empty"))
        return
    ex = shared(W.overlap_example, (capsnet, cnn), x, sample_digit(int(other), 0))
    size = image_size(170)
    a, b, c = st.columns([1, 1, 2])
    a.image(upscale(ex.image, size), caption=t("why.overlaid", a=pred, b=other))
    b.image(np.kron(ex.coloured(), np.ones((size // 28, size // 28, 1), np.uint8)),
            caption=t("why.two_recons", a=ex.capsnet_top[0][0], b=ex.capsnet_top[1][0]))
    with c:
        truth = {pred, int(other)}
        (c1, l1), (c2, l2) = ex.capsnet_top
        st.markdown(t("why.caps_reads", a=c1, la=f"{l1:.2f}", b=c2, lb=f"{l2:.2f}",
                      ok=t("why.both" if {c1, c2} == truth else "why.not_both")))
        if ex.cnn_top:
            (k1, p1), (k2, p2) = ex.cnn_top
            st.markdown(t("why.cnn_reads", a=k1, pa=f"{p1:.0%}", b=k2, pb=f"{p2:.0%}",
                          ok=t("why.both" if {k1, k2} == truth else "why.not_both")))
        v = _verdicts().get("overlap")
        if v is not None:
            pairs = _metrics()["capsnet"]["why_capsules"]["overlap"]["pairs"]
            st.caption(t("why.overlap_caption", n=pairs) + " " + verdict_text(v))
        elif not presenting():
            st.info(t("why.no_metrics"))


def _parts(capsnet, cnn, x: np.ndarray, pred: int) -> None:
    if float(x.sum()) < MIN_INK:
        st.info(t("why.empty"))
        return
    shown = shared(W.parts_example, (capsnet, cnn), x, pred)
    for col, (name, (img, length, prob)) in zip(st.columns(len(shown)), shown.items()):
        with col:
            st.image(upscale(img, 140), width=image_size(150), caption=t(f"why.{name}"))
            st.markdown(t("why.sure_caps", c=pred, v=f"{length:.2f}"))
            if prob is not None:
                st.markdown(t("why.sure_cnn", c=pred, v=f"{prob:.0%}"))
    v = _verdicts().get("parts")
    if v is not None:
        m = _metrics()
        rows = {n: m[n]["why_capsules"]["parts"] for n in ("capsnet", "cnn")}
        figs = {n: " → ".join(f"{r[k]['score_of_original']:.2f}" for k in ("original", *W.REARRANGEMENTS)) for n, r in rows.items()}
        st.caption(t("why.parts_caption", n=rows["capsnet"]["images"], caps=figs["capsnet"], cnn=figs["cnn"]) + " " + verdict_text(v))
    elif not presenting():
        st.info(t("why.no_metrics"))
