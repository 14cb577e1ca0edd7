"""The autoencoder lab's "train it yourself" (course 5.2.2.2): the student builds an autoencoder,
fits it on the MNIST subset shipped with the lab (advdl/ae_fit.py) and watches it learn; "use this
model" puts it beside the shipped ones for this session.

It trains on the subset shipped with the lab (6000 training digits; advdl/assets), or, where the
server has MNIST on disk (``$ADVDL_DATA_ROOT``), on the whole training split less the hold-out.
The run lives in the session and is trained a slice at a time by a fragment that reruns itself
while it trains (as the GAN playground's ticks do): Stop takes effect at the next batch, and a page
that is left stops asking (a run not ticked for a few seconds is stopped). The server's places for
runs are a :class:`~advdl.gan_training.PlayerPool` of their own (``$ADVDL_MAX_FITS``, default 10),
one run training at a time.
"""

from __future__ import annotations

import os
import time
import uuid

import numpy as np
import streamlit as st

from advdl.ae_fit import ARCHS, BATCHES, CODE_SIZES, MAX_EPOCHS, RATES, VAL_SHARES, Fit, FitConfig, FitError, bce
from advdl.data import load_subset
from advdl.gan_training import PlayerPool
from advdl.ui import charts
from advdl.ui.i18n import t
from advdl.viz import grid

RUN = "aefit.run"  # this session's Fit
USED = "aefit.used"  # the student's model, used in the rest of the lab
PLAYER = "aefit.player"
TICK = "aefit.tick_at"
W = "aefit.w."  # the settings' widget keys
SETTINGS = "aefit.settings"  # their values, kept while another page is open
LEFT_S = 3.0  # a run not ticked for this long was left (its page closed or changed): stopped
TICK_S = 0.3


@st.cache_resource(show_spinner=False)
def fit_pool() -> PlayerPool:
    return PlayerPool(max_players=max(1, int(os.environ.get("ADVDL_MAX_FITS", "10"))), max_train_s=0.25, tick_s=TICK_S)


@st.cache_resource(show_spinner=False)
def subset():
    train, val = load_subset()
    return train, val, val.floats()


@st.cache_resource(show_spinner=False)
def full_training_set():
    """The whole MNIST training split less the hold-out, when ``$ADVDL_DATA_ROOT`` holds it
    (read from disk only, never downloaded by a request), else None."""
    root = os.environ.get("ADVDL_DATA_ROOT")
    if not root:
        return None
    from advdl.data import DataNotFoundError, holdout, load_split

    try:
        return holdout(load_split(root, train=True, download=False)).train
    except (DataNotFoundError, OSError, RuntimeError, ValueError):
        return None


def _settings() -> FitConfig:
    ss = st.session_state
    arch = ss.get(W + "arch", "plain")
    noise = ss.get("ae.view").noise if ss.get(W + "denoise") and ss.get("ae.view") is not None else None
    strength = 0.5
    if noise and ss.get("ae.view") is not None:
        from advdl.ui.views import AE_STRENGTHS

        strength = float(AE_STRENGTHS[ss["ae.view"].strength])
    return FitConfig(arch=arch, code=int(ss.get(W + "code", 32)), epochs=int(ss.get(W + "epochs", 10)), batch=int(ss.get(W + "batch", 32)),
                     lr=float(ss.get(W + "lr", 3e-3)), shuffle=bool(ss.get(W + "shuffle", True)), val_share=float(ss.get(W + "val", 0.1)),
                     noise=noise, strength=strength)


def _start() -> None:
    ss = st.session_state
    old = ss.get(RUN)
    if old is not None:
        old.stop()
    full = full_training_set() if ss.get(W + "full") else None
    try:
        ss[RUN] = Fit(_settings(), full if full is not None else subset()[0])
        ss.pop("aefit.error", None)
    except FitError as exc:
        ss[RUN] = None
        ss["aefit.error"] = (exc.code, exc.fmt)
    ss[TICK] = time.monotonic()


def _stop() -> None:
    run = st.session_state.get(RUN)
    if run is not None:
        run.stop()
    fit_pool().leave(st.session_state.get(PLAYER, ""))


def _use() -> None:
    run = st.session_state.get(RUN)
    if run is not None and run.history:
        model = run.model.eval()
        model.stamp = f"mine:{uuid.uuid4().hex}"  # its own cache key (advdl.ui.models.stamp)
        st.session_state[USED] = (model, run.config)


def _forget() -> None:
    st.session_state.pop(USED, None)


def used_model():
    """The student's model that "use this model" put into the lab, or None."""
    used = st.session_state.get(USED)
    return used[0] if used else None


def _form(running: bool) -> None:
    ss = st.session_state
    defaults = {{"val_share": "val"}.get(k, k): v for k, v in FitConfig().to_dict().items()}
    defaults = {k: defaults[k] for k in ("arch", "code", "epochs", "batch", "lr", "shuffle", "val")} | {"denoise": False, "full": False}
    # Streamlit forgets a widget's value on a run that does not draw it (another page): the
    # settings are kept under a key of their own and given back to the widgets when they return.
    saved = ss.setdefault(SETTINGS, {})
    for key, v in defaults.items():
        if W + key not in ss:
            ss[W + key] = saved.get(key, v)
    a, b, c, d = st.columns(4)
    names = {k: t(f"fit.arch.{k}") for k in ARCHS}  # translated now: AppTest calls format_func outside a run
    a.radio(t("fit.arch"), ARCHS, format_func=names.get, key=W + "arch", disabled=running, horizontal=True)
    conv = ss[W + "arch"] == "conv"
    b.select_slider(t("fit.code"), CODE_SIZES, key=W + "code", disabled=running or conv, help=t("fit.code_conv") if conv else None)
    c.number_input(t("fit.epochs"), 1, MAX_EPOCHS, key=W + "epochs", disabled=running)
    d.select_slider(t("fit.batch"), BATCHES, key=W + "batch", disabled=running)
    e, f, g, h = st.columns(4)
    e.select_slider(t("fit.lr"), RATES, key=W + "lr", format_func=lambda r: f"{r:g}", disabled=running)
    f.select_slider(t("fit.val"), VAL_SHARES, key=W + "val", format_func=lambda s: f"{s:.0%}", disabled=running)
    g.toggle(t("fit.shuffle"), key=W + "shuffle", disabled=running)
    h.toggle(t("fit.denoise"), key=W + "denoise", disabled=running, help=t("fit.denoise_help"))
    full = full_training_set()
    if full is not None:
        st.toggle(t("fit.full", n=len(full)), key=W + "full", disabled=running, help=t("fit.full_help"))
    ss[SETTINGS] = {key: ss[W + key] for key in defaults}


def fit_panel(shipped_plain) -> None:
    """The section: settings, Start and Stop, and the run's live view."""
    ss = st.session_state
    ss.setdefault(PLAYER, uuid.uuid4().hex)
    st.subheader(t("fit.title"), anchor="fit")
    st.caption(t("fit.intro", n=len(subset()[0])))
    run = ss.get(RUN)
    if run is not None and run.state == "running" and time.monotonic() - ss.get(TICK, 0) > LEFT_S:
        run.stop("left")  # the page was left while it trained (no tick came)
        fit_pool().leave(ss[PLAYER])
    running = run is not None and run.state == "running"
    _form(running)
    a, b, c = st.columns([1, 1, 4])
    a.button(t("fit.start"), key="aefit.start", type="primary", on_click=_start, disabled=running, width="stretch")
    b.button(t("fit.stop"), key="aefit.stop", on_click=_stop, disabled=not running, width="stretch")
    error = ss.get("aefit.error")
    if error:
        st.error(t(error[0], **error[1]))
    if ss.get(RUN) is not None:
        st.fragment(_live, run_every=TICK_S if running else None)(shipped_plain)
    if used_model() is not None:
        c.button(t("fit.forget"), key="aefit.forget", on_click=_forget)


def _live(shipped_plain) -> None:
    """The run's view; while it trains, each rerun trains a slice first."""
    with st.container(key="aefit-live"):
        _draw(shipped_plain)


def _draw(shipped_plain) -> None:
    ss = st.session_state
    run: Fit = ss[RUN]
    was_running = run.state == "running"
    if was_running:
        ss[TICK] = time.monotonic()
        pool = fit_pool()
        slot = pool.tick(ss[PLAYER])
        if slot is None:
            st.info(t("fit.queued"))
        else:
            with pool.torch_turn:
                run.train_for(slot[0])
            if run.state != "running":
                pool.leave(ss[PLAYER])
    st.progress(run.progress, text=t("fit.progress", epoch=run.epoch, epochs=run.config.epochs, batch=run.batches_done,
                                      batches=run.batches_per_epoch * run.config.epochs))
    left, right = st.columns([3, 2])
    with left:
        xs = (np.arange(len(run.batch_losses)) + 1) / run.batches_per_epoch
        ep = [h[0] for h in run.history]
        curves = {t("fit.batch_curve"): (xs, run.smoothed() if run.batch_losses else []),
                  t("fit.train_loss"): (ep, [h[1] for h in run.history]), t("fit.val_loss"): (ep, [h[2] for h in run.history])}
        spec = charts.lines(curves, x=t("fit.epoch"), y="BCE", height=300, colours=["#9aa0a6", "#0b57d0", "#d93025"], points=False)
        st.vega_lite_chart(spec=spec, width="stretch", key="aefit.curve")
    with right:
        rows = np.concatenate([run.shown[:, 0].numpy(), run.before, run.reconstruct(run.shown)])
        st.image(grid(rows, nrow=len(run.shown), pad=1), width="stretch", caption=t("fit.rows"))
        codes = run.codes()
        if codes is not None:
            labels = run.y_val.numpy()
            spec = charts.scatter({str(k): (codes[labels == k, 0], codes[labels == k, 1]) for k in range(10)}, x="1", y="2",
                                  title=t("fit.codes2d"), height=260, legend_title=t("common.class"))
            st.vega_lite_chart(spec=spec, width="stretch", key="aefit.codes")
    if run.state != "running":
        _result(run, shipped_plain)
        if was_running:
            st.rerun()  # the whole page: the buttons and the live view without its ticks


@st.cache_resource(show_spinner=False, max_entries=4)
def _shipped_bce(_model, stamp: str) -> float:
    """The shipped model's BCE on the subset's held-out digits, once per server and checkpoint."""
    return bce(_model, subset()[2])


def _result(run: Fit, shipped_plain) -> None:
    if run.state == "diverged":
        st.error(t("fit.diverged"))
        return
    if run.state == "stopped":
        st.warning(t(f"fit.stopped.{run.reason}"))
    if not run.history:
        return
    held = subset()[2]
    if getattr(run, "held_out_bce", None) is None:  # once per finished run, not on every rerun of the page
        run.held_out_bce = bce(run.model, held)
    line = t("fit.result", mine=f"{run.held_out_bce:.4f}", n=len(held))
    if shipped_plain is not None:
        line += " " + t("fit.result_shipped", shipped=f"{_shipped_bce(shipped_plain, shipped_plain.stamp):.4f}")
    st.success(line)
    st.button(t("fit.use"), key="aefit.use", on_click=_use, icon=":material/input:")
