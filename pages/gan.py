"""GAN latent explorer: a latent vector, the generator's most important directions as sliders
that morph the digit while they move, all 100 raw dimensions, what D and the CNN think, a morph
from one digit to another, the latent of a drawing, and the replay of training."""

from dataclasses import replace

import numpy as np
import streamlit as st

from advdl.gan_tools import DIRECTION_STEPS as STEPS
from advdl.gan_tools import CANDIDATES, INVERSION_RESTARTS, INVERSION_STEPS, N_DIRECTIONS, OPENING_MORPH, gif_bytes, interpolate, invert, seed_latent
from advdl.inference import classify_batch, generate, realness
from advdl.ui import charts, views
from advdl.ui.charts import cached, rule, show, with_layers
from advdl.ui.digit_input import digit_input
from advdl.ui.i18n import t
from advdl.ui.shell import image_size, presenting
from advdl.ui.models import gan_bank, gan_directions, gan_filmstrips, gan_pool, gan_replay, gan_replay_pack, get_model, heavy_job, stamp
from advdl.ui.scrub import Slider, committed, scrubber
from advdl.ui.views import MAX_SEED, GanView
from advdl.viz import grid, upscale
from advdl.ui.routing import require_shell

require_shell()

st.title(t("gan.title"))
gan = get_model("dcgan")
cnn = get_model("cnn", show_error=False)


def _gif(frames: np.ndarray) -> bytes:
    """The morph as an animated GIF, made only when asked for (the download's click)."""
    with heavy_job(show=False):
        return gif_bytes(frames)


def _view() -> GanView:
    return views.current(GanView, gan.config.z_dim)


def _on_seed() -> None:
    views.update(_view().with_seed(st.session_state["gan.seed"]))


def _new_digit() -> None:
    views.update(_view().with_seed(int(np.random.default_rng().integers(0, MAX_SEED))))


def _use_latent(z: np.ndarray) -> None:
    views.update(_view().with_latent(z))


@st.fragment
def _directions_view(gan, cnn, dirs: np.ndarray) -> None:
    """The direction sliders and what the networks think of the digit. A fragment: committing
    a slider reruns only this part of the lab, not the morph, the inversion or the replay."""
    view = _view()
    z = view.latent(gan.config.z_dim)
    idx = committed("gan.dirs", N_DIRECTIONS, view.dirs, basis=view.basis)
    frames = gan_filmstrips(gan, z, dirs, STEPS[idx])
    sliders = [Slider(t("gan.direction", i=k + 1), STEPS.tolist(), int(i)) for k, i in enumerate(idx)]
    st.caption(t("gan.directions_help"))
    scrubber(list(frames), sliders, key="gan.dirs", size=image_size(320), caption=t("gan.generated"), columns=2)
    view = replace(view, dirs=tuple(idx))
    views.publish(view)  # the URL follows, so that a teacher can share the view
    latent = z + STEPS[idx] @ dirs
    img = generate(gan, latent)[0]

    m1, m2 = st.columns(2)
    m1.metric(t("gan.realness_label"), f"{realness(gan, img):.0%}")
    if cnn is not None:
        probs = classify_batch(cnn, img[None])[0]
        m2.metric(t("gan.cnn_label_short"), f"{int(probs.argmax())}", f"{float(probs.max()):.0%}", delta_color="off")

    if not presenting():  # a secondary control: hidden on the projector
        # Drawn only while open (the expander reruns the fragment when it opens): the table needs
        # pandas and pyarrow on the server and megabytes of scripts in the browser, which the
        # lab's first drawing would otherwise wait for.
        with st.expander(t("gan.raw"), key="gan.raw_open", on_change="rerun") as raw:
            if raw.open:
                # Named by the view it shows, so that another view starts without this one's edits.
                _raw_table(latent, f"gan.raw.{view.basis}.{','.join(map(str, idx))}")


def _raw_table(latent: np.ndarray, key: str) -> None:
    """All 100 dimensions of the latent as an editable 10 x 10 table, and a button to use it."""
    st.caption(t("gan.raw_help"))
    table = st.data_editor(np.round(latent.reshape(10, 10), 2), key=key, width="stretch", hide_index=False)
    edited = np.clip(np.nan_to_num(np.asarray(table, dtype=np.float32).reshape(-1)), -6, 6)
    if st.button(t("gan.raw_apply"), key="gan.raw_apply"):
        _use_latent(edited)
        st.rerun()


@st.fragment
def _replay_view() -> None:
    """The fixed-noise grid of every epoch and the loss curves. A fragment: moving to an epoch
    reruns only this part; the grids (megabytes) come in a rerun of their own after the page is
    drawn (a lazy scrubber), so they do not hold up the lab's first drawing."""
    replay = gan_replay()
    if replay is None:
        return
    grids, rows = replay
    st.subheader(t("gan.training"), anchor="replay")
    a, b = st.columns([1, 2])
    with a:
        epochs = list(range(1, len(grids) + 1))
        scrubber([grids], [Slider(t("gan.epoch"), epochs, len(epochs) - 1, decimals=0)], key="gan.replay", size=300, lazy=True,
                 packs=[gan_replay_pack()])
    epoch = committed("gan.replay", 1, len(grids) - 1)[0] + 1
    with b:
        show(with_layers(_losses_chart((stamp(gan),), rows), [rule(epoch)]), width="stretch")


@cached
def _losses_chart(rows: list[dict]) -> dict:
    """D's and G's loss per epoch of the shipped GAN's training (the same for every student)."""
    epochs = [r["epoch"] for r in rows]
    return charts.lines({name: (epochs, [r.get(col) for r in rows]) for col, name in [("loss_d", "D"), ("loss_g", "G")]},
                        x=t("gan.epoch"), y=t("common.loss"), title=t("gan.losses"), height=320)


@cached
def _morph_chart(positions: list[float], p: np.ndarray) -> dict:
    """The CNN's probability of each class along the morph (classes that pass 5 % somewhere)."""
    shown = [c for c in range(10) if p[:, c].max() > 0.05]
    return charts.lines({str(c): (positions, p[:, c]) for c in shown}, x=t("gan.position"), y=t("common.prob"),
                        title=t("gan.morph_probs"), y_domain=(0, 1), colours=[charts.CLASS_COLOURS[c] for c in shown])


if gan is not None:
    view = _view()
    if views.take_bad_url(GanView):
        st.warning(t("common.bad_url"))
    # Widget keys are dropped when the page changes: the view lives in the session, mirrored
    # into the widgets on every run.
    st.session_state["gan.seed"] = view.seed
    c1, c2 = st.columns([1, 1], vertical_alignment="bottom")
    c1.number_input(t("gan.seed"), 0, MAX_SEED, key="gan.seed", on_change=_on_seed)
    c2.button(t("gan.new"), key="gan.new", on_click=_new_digit)

    dirs = gan_directions(gan, N_DIRECTIONS)
    _directions_view(gan, cnn, dirs)

    # --- morph one digit into another
    st.subheader(t("gan.morph"), anchor="morph")
    bank = gan_bank(gan, cnn) if cnn is not None else None
    m1, m2, m3, m4 = st.columns(4)
    by_class = bank is not None and m1.radio(t("gan.morph_by"), ["class", "seed"], format_func={"class": t("gan.by_class"), "seed": t("gan.by_seed")}.get, key="gan.morph_by") == "class"
    if by_class:
        a_cls = m2.selectbox(t("gan.from"), list(range(10)), index=OPENING_MORPH[0], key="gan.from_cls")
        b_cls = m3.selectbox(t("gan.to"), list(range(10)), index=OPENING_MORPH[1], key="gan.to_cls")
        za, zb = bank.pick(int(a_cls)), bank.pick(int(b_cls))
    else:
        sa = m2.number_input(t("gan.from_seed"), 0, MAX_SEED, 1, key="gan.from_seed")
        sb = m3.number_input(t("gan.to_seed"), 0, MAX_SEED, 2, key="gan.to_seed")
        za, zb = seed_latent(int(sa), gan.config.z_dim), seed_latent(int(sb), gan.config.z_dim)
    mode = m4.radio(t("gan.interp"), ["slerp", "lerp"], format_func={"slerp": t("gan.slerp"), "lerp": t("gan.lerp")}.get, key="gan.interp")
    if za is None or zb is None:
        st.warning(t("gan.bank_empty"))
    else:
        path = interpolate(za, zb, 17, mode)
        morph = generate(gan, path)
        st.image(grid(morph, nrow=17, pad=1), width="stretch", caption=t("gan.strip"))
        left, right = st.columns([1, 2])
        with left:
            fr = np.linspace(0, 1, 17).round(3).tolist()
            scrubber([morph], [Slider(t("gan.position"), fr, 0)], key="gan.morph_scrub", size=220)
            st.download_button(t("gan.gif"), lambda: _gif(morph), file_name="morph.gif", mime="image/gif", key="gan.gif")
        if cnn is not None:
            p = classify_batch(cnn, morph)
            with right:
                show(_morph_chart((stamp(cnn), p.tobytes()), fr, p), width="stretch")

    # --- inversion
    st.subheader(t("gan.invert"), anchor="invert")
    st.caption(t("gan.invert_help", starts=INVERSION_RESTARTS, pool=CANDIDATES))
    target = digit_input("gan")
    if target is not None and st.button(t("gan.invert_go"), key="gan.invert_go", type="primary"):
        with heavy_job() as free:
            if free:
                bar = st.progress(0.0, text=t("gan.inverting"))
                inv = invert(gan, target, steps=INVERSION_STEPS, restarts=INVERSION_RESTARTS, pool=gan_pool(gan),
                             progress=lambda f: bar.progress(f, text=t("gan.inverting")))
                bar.empty()
                st.session_state["gan.inversion"] = (target, inv)
    if "gan.inversion" in st.session_state:
        tgt, inv = st.session_state["gan.inversion"]
        a, b, c = st.columns(3)
        a.image(upscale(tgt, 200), caption=t("gan.target"))
        b.image(upscale(inv.image, 200), caption=t("gan.found", mse=inv.mse))
        c.button(t("gan.use_latent"), key="gan.use_latent", on_click=_use_latent, args=(inv.latent,))

    _replay_view()

if not presenting():
    with st.expander(t("gan.notes_title")):
        st.markdown(t("gan.notes"))
