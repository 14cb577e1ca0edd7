"""GAN latent explorer: a latent vector from a seed, the generator's most important directions
as sliders that morph the digit while they move, what D and the CNN think of the digit, the raw
latent in a grid, and the replay of training."""

import csv

import numpy as np
import plotly.graph_objects as go
import streamlit as st

from advdl import checkpoints
from advdl.inference import classify, direction_filmstrips, generate, realness
from advdl.models.gan import sefa_directions
from advdl.ui.i18n import t
from advdl.ui.models import get_model
from advdl.ui.scrub import Slider, committed, scrubber
from advdl.viz import grid

N_DIRECTIONS = 8
STEPS = np.round(np.linspace(-4.0, 4.0, 33), 2)  # offsets along a unit direction

st.title(t("gan.title"))
gan = get_model("dcgan")
cnn = get_model("cnn", show_error=False)


@st.cache_resource(show_spinner=False)
def _directions(_gan, stamp: int) -> np.ndarray:
    return sefa_directions(_gan, N_DIRECTIONS)[0].numpy()


if gan is not None:
    def _new_digit() -> None:
        st.session_state["gan.seed"] = int(np.random.default_rng().integers(0, 2**31 - 1))

    c1, c2 = st.columns([1, 1], vertical_alignment="bottom")
    seed = int(c1.number_input(t("gan.seed"), 0, 2**31 - 1, 0, key="gan.seed"))
    c2.button(t("gan.new"), key="gan.new", on_click=_new_digit)
    z = np.random.default_rng(seed).standard_normal(gan.config.z_dim).astype(np.float32)

    dirs = _directions(gan, id(gan))
    key = f"gan.dirs.{seed}"
    idx = committed(key, N_DIRECTIONS, len(STEPS) // 2)
    offsets = STEPS[np.clip(idx, 0, len(STEPS) - 1)]
    frames = direction_filmstrips(gan, z, dirs, offsets, STEPS)
    sliders = [Slider(t("gan.direction", i=k + 1), STEPS.tolist(), int(i)) for k, i in enumerate(idx)]
    st.caption(t("gan.directions_help"))
    new_idx = scrubber(list(frames), sliders, key=key, size=320, caption=t("gan.generated"), columns=2)
    offsets = STEPS[new_idx]
    latent = z + offsets @ dirs
    img = generate(gan, latent)[0]
    m1, m2 = st.columns(2)
    m1.metric(t("gan.realness_label"), f"{realness(gan, img):.0%}")
    if cnn is not None:
        probs = classify(cnn, img)
        m2.metric(t("gan.cnn_label_short"), f"{int(probs.argmax())}", f"{float(probs.max()):.0%}", delta_color="off")

    folder = checkpoints.checkpoint_dir("dcgan")
    if (folder / "samples.npz").exists():
        st.subheader(t("gan.training"))
        with np.load(folder / "samples.npz", allow_pickle=False) as f:
            samples = f["samples"]
        epoch = st.slider(t("gan.epoch"), 1, len(samples), len(samples), key="gan.replay") if len(samples) > 1 else 1
        a, b = st.columns([1, 1])
        a.image(grid(samples[epoch - 1], 8), width=320)
        with open(folder / checkpoints.HISTORY) as fh:
            rows = list(csv.DictReader(fh))
        fig = go.Figure()
        for col, name in [("loss_d", "D"), ("loss_g", "G")]:
            fig.add_scatter(x=[int(r["epoch"]) for r in rows], y=[float(r[col]) for r in rows], name=name)
        fig.add_vline(x=epoch, line_dash="dot")
        fig.update_layout(height=320, margin=dict(l=10, r=10, t=30, b=10), title=t("gan.losses"), xaxis_title=t("gan.epoch"), yaxis_title=t("common.loss"))
        b.plotly_chart(fig, width="stretch")

with st.expander(t("gan.notes_title")):
    st.markdown(t("gan.notes"))
