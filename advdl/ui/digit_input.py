"""The digit input every lab shares: draw on a canvas, pick a sample digit, or upload an image.

Whatever the source, the digit goes through :func:`advdl.digits.prepare_digit`, the 28 x 28 image
the models see is shown beside it, and the latest digit is kept in ``st.session_state["digit"]``
so that another lab can use it without drawing again.
"""

from __future__ import annotations

import numpy as np
import streamlit as st

from advdl.data import load_samples
from advdl.digits import DigitError, prepare_digit
from advdl.viz import upscale

from .i18n import t

SOURCES = ("sample", "draw", "upload")
CANVAS_PX = 320


@st.cache_data(show_spinner=False)
def _samples() -> tuple[np.ndarray, np.ndarray]:
    s = load_samples()
    return s.images.numpy(), s.labels.numpy()


def sample_digit(cls: int, index: int) -> np.ndarray:
    """Sample ``index`` of class ``cls`` as a float (28, 28) image in [0, 1]."""
    images, labels = _samples()
    picks = np.flatnonzero(labels == cls)
    return images[picks[index % len(picks)]].astype(np.float32) / 255.0


def samples_per_class() -> int:
    _, labels = _samples()
    return int(np.bincount(labels).min())


def _draw(ns: str) -> np.ndarray | None:
    from streamlit_drawable_canvas import st_canvas

    st.caption(t("input.draw_hint"))
    result = st_canvas(
        stroke_width=22, stroke_color="#FFFFFF", background_color="#000000",
        height=CANVAS_PX, width=CANVAS_PX, drawing_mode="freedraw",
        return_image_data=True, key=f"{ns}.canvas",
    )
    data = result.image_data
    digit = prepare_digit(data, light_ink=True) if data is not None else None
    if digit is None or digit.empty:
        st.info(t("input.empty"))
        return None
    if digit.overfilled:
        st.warning(t("input.overfilled", pct=round(100 * digit.coverage)))
        return None
    return digit.image


def _sample(ns: str) -> np.ndarray:
    c1, c2 = st.columns(2)
    cls = c1.selectbox(t("input.class"), list(range(10)), index=7, key=f"{ns}.sample_class")
    idx = c2.number_input(t("input.index"), 1, samples_per_class(), 1, key=f"{ns}.sample_index")
    return sample_digit(int(cls), int(idx) - 1)


def _upload(ns: str) -> np.ndarray | None:
    file = st.file_uploader(t("input.upload_label"), type=["png", "jpg", "jpeg", "gif", "bmp", "webp"], key=f"{ns}.upload")
    if file is None:
        st.info(t("input.no_upload"))
        return None
    try:
        digit = prepare_digit(file.getvalue())
    except DigitError as exc:
        st.error(t(exc.code, detail=str(exc)))
        return None
    if digit.empty:
        st.warning(t("input.no_digit"))
        return None
    if digit.overfilled:
        st.warning(t("input.overfilled", pct=round(100 * digit.coverage)))
        return None
    return digit.image


def digit_input(ns: str) -> np.ndarray | None:
    """Show the input widgets of page ``ns``; return the MNIST-style digit or None.

    The latest digit of any lab is kept in ``st.session_state["digit"]``; another lab offers it
    as a source ("from the other lab") so that nobody has to draw it again.
    """
    shared = st.session_state.get("digit")
    sources = list(SOURCES) + (["shared"] if shared is not None and shared["from"] != ns else [])
    # Labels are looked up now, not inside format_func: AppTest calls format_func outside a run.
    labels = {s: t(f"input.{s}") for s in sources}
    if st.session_state.get(f"{ns}.source") not in sources:
        st.session_state.pop(f"{ns}.source", None)
    source = st.radio(t("input.source"), sources, format_func=labels.get, horizontal=True, key=f"{ns}.source")
    left, right = st.columns([3, 2], vertical_alignment="center")
    with left:
        if source == "shared":
            img = shared["image"]
            st.caption(t("input.shared_from", lab=t(f"nav.{shared['from']}")))
        else:
            img = {"draw": _draw, "sample": _sample, "upload": _upload}[source](ns)
    with right:
        if img is not None:
            st.image(upscale(img, 196), caption=t("input.seen"))
    if source != "shared":
        # Only a digit the student chose (not the lab's default on its first render) is shared.
        prev, seen = st.session_state.get(f"{ns}.last_digit"), st.session_state.get(f"{ns}.seen", False)
        if img is not None and seen and (prev is None or not np.array_equal(prev, img)):
            st.session_state["digit"] = {"image": img, "from": ns}
        st.session_state[f"{ns}.last_digit"] = img
    st.session_state[f"{ns}.seen"] = True
    return img
