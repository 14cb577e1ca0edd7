"""Autoencoder playground: a digit, some noise, four autoencoders side by side."""

import streamlit as st

from advdl.digits import NOISE_KINDS, add_noise
from advdl.inference import reconstruct
from advdl.models import AUTOENCODERS
from advdl.ui.digit_input import digit_input
from advdl.ui.i18n import t
from advdl.ui.models import get_model
from advdl.viz import upscale

st.title(t("ae.title"))
clean = digit_input("ae")

c1, c2, c3, c4 = st.columns(4)
noise_labels = {k: t(f"ae.noise.{k}") for k in NOISE_KINDS}
kind = c1.selectbox(t("ae.noise"), NOISE_KINDS, format_func=noise_labels.get, key="ae.noise")
strength = c2.slider(t("ae.strength"), 0.0, 1.0, 0.5, 0.05, key="ae.strength")
seed = c3.number_input(t("ae.noise_seed"), 0, 10_000, 0, key="ae.noise_seed")
use_clean = c4.toggle(t("ae.clean_input"), False, key="ae.clean")

models = {name: m for name in AUTOENCODERS if (m := get_model(name)) is not None}
if clean is not None:
    noisy = clean if use_clean else add_noise(clean, kind, strength, seed=int(seed))
    if models:
        results = reconstruct(models, noisy, clean)
        best = max(results, key=lambda n: results[n].psnr)
        st.subheader(t("ae.recons"))
        cols = st.columns(len(results) + 1)
        cols[0].image(upscale(noisy, 224), caption=t("ae.noisy"))
        for col, (name, r) in zip(cols[1:], results.items()):
            mark = f" ★ {t('ae.best')}" if name == best else ""
            col.image(upscale(r.image, 224), caption=f"{t(f'ae.{name}')}{mark}")
            col.markdown(f"PSNR **{r.psnr:.1f} dB** · SSIM **{r.ssim:.2f}** · BCE {r.bce:.3f}")

with st.expander(t("ae.notes_title")):
    st.markdown(t("ae.notes"))
