"""GAN latent explorer: a latent vector, sliders on its first dimensions, what D and the CNN
think of the digit, and the replay of training."""

import csv

import numpy as np
import plotly.graph_objects as go
import streamlit as st

from advdl import checkpoints
from advdl.inference import classify, generate, realness
from advdl.ui.i18n import t
from advdl.ui.models import get_model
from advdl.viz import grid, upscale

N_SLIDERS = 8

st.title(t("gan.title"))
gan = get_model("dcgan")
cnn = get_model("cnn", show_error=False)

if gan is not None:
    c1, c2 = st.columns([1, 1])
    seed = c1.number_input(t("gan.seed"), 0, 2**31 - 1, int(st.session_state.get("gan.seed", 0)), key="gan.seed_input")
    if c2.button(t("gan.new"), key="gan.new"):
        seed = int(np.random.default_rng().integers(0, 2**31 - 1))
        st.session_state["gan.seed"] = seed
        st.rerun()
    z = np.random.default_rng(int(seed)).standard_normal(gan.config.z_dim).astype(np.float32)
    left, right = st.columns([2, 1])
    with right:
        st.caption(t("gan.dims", n=N_SLIDERS))
        for i in range(N_SLIDERS):
            z[i] = st.slider(t("gan.dim", i=i + 1), -3.0, 3.0, float(round(z[i], 2)), 0.05, key=f"gan.z{i}.{seed}")
    img = generate(gan, z)[0]
    with left:
        st.image(upscale(img, 320), caption=t("gan.generated"))
        st.write(t("gan.realness", p=realness(gan, img)))
        if cnn is not None:
            probs = classify(cnn, img)
            st.write(t("gan.cnn_label", label=int(probs.argmax()), p=float(probs.max())))

    folder = checkpoints.checkpoint_dir("dcgan")
    if (folder / "samples.npz").exists():
        st.subheader(t("gan.training"))
        with np.load(folder / "samples.npz", allow_pickle=False) as f:
            samples = f["samples"]
        epoch = st.slider(t("gan.epoch"), 1, len(samples), len(samples), key="gan.replay")
        a, b = st.columns([1, 1])
        a.image(grid(samples[epoch - 1], 8), width=320)
        with open(folder / checkpoints.HISTORY) as fh:
            rows = list(csv.DictReader(fh))
        fig = go.Figure()
        for key, name in [("loss_d", "D"), ("loss_g", "G")]:
            fig.add_scatter(x=[int(r["epoch"]) for r in rows], y=[float(r[key]) for r in rows], name=name)
        fig.add_vline(x=epoch, line_dash="dot")
        fig.update_layout(height=320, margin=dict(l=10, r=10, t=30, b=10), title=t("gan.losses"), xaxis_title=t("gan.epoch"), yaxis_title=t("common.loss"))
        b.plotly_chart(fig, width="stretch")

with st.expander(t("gan.notes_title")):
    st.markdown(t("gan.notes"))
