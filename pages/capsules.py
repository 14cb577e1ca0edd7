"""Capsule viewer: the CapsNet reads a digit; its capsule lengths, the CNN beside it, and the
16 dimensions of the chosen capsule to perturb."""

import numpy as np
import plotly.graph_objects as go
import streamlit as st

from advdl.inference import classify, decode_capsule, read_capsules, rotate
from advdl.ui.digit_input import digit_input
from advdl.ui.i18n import t
from advdl.ui.models import get_model
from advdl.viz import upscale

st.title(t("caps.title"))
capsnet = get_model("capsnet")
cnn = get_model("cnn", show_error=False)
img = digit_input("caps")
angle = st.slider(t("caps.rotation"), -90, 90, 0, 5, key="caps.rotation")

if img is not None and capsnet is not None:
    x = rotate(img, angle)
    out = read_capsules(capsnet, x)
    lengths = out.lengths[0].numpy()
    pred = int(lengths.argmax())
    caps = out.capsules[0, pred].numpy()
    left, mid, right = st.columns(3)
    with left:
        fig = go.Figure(go.Bar(x=list(range(10)), y=lengths, marker_color=["#d93025" if i == pred else "#5f6368" for i in range(10)]))
        fig.update_layout(height=300, margin=dict(l=10, r=10, t=40, b=10), title=t("caps.lengths"), xaxis=dict(dtick=1, title=t("common.class")), yaxis=dict(range=[0, 1]))
        st.plotly_chart(fig, width="stretch")
        st.markdown(t("caps.pred", label=pred))
        if cnn is not None:
            probs = classify(cnn, x)
            st.markdown(t("caps.cnn_pred", label=int(probs.argmax()), p=float(probs.max())))
    with right:
        st.caption(t("caps.perturb"))
        if st.button(t("caps.reset"), key="caps.reset"):
            for i in range(16):
                st.session_state.pop(f"caps.d{i}", None)
        delta = np.array([st.slider(t("caps.dim", i=i + 1), -0.25, 0.25, 0.0, 0.05, key=f"caps.d{i}") for i in range(16)], dtype=np.float32)
    with mid:
        recon = decode_capsule(capsnet, caps + delta, pred)[0]
        st.image(upscale(recon, 280), caption=t("caps.recon"))

with st.expander(t("caps.notes_title")):
    st.markdown(t("caps.notes"))
