"""GAN training, step by step: a tiny GAN on 2-D data that the class watches learn. Step D trains
the discriminator with the generator frozen, Step G the generator with the discriminator frozen
(the course's steps ② and ③); Play does both, live, in the server's budget."""

import time
import uuid

import numpy as np
import streamlit as st

from advdl.gan_training import DATASETS, LOSSES, NOISES, OPTIMIZERS, PRESETS, ToyGAN, ToyGANConfig, TrainingError, pack
from advdl.ui.gan_canvas import gan_canvas
from advdl.ui.i18n import t
from advdl.ui.routing import require_shell
from advdl.ui.scrub import state as component_state
from advdl.ui.shell import presenting
from advdl.ui.views import SHARED_PARAMS
from advdl.ui.training_view import RATES, SPEEDS, WIDTHS, TrainingView, player_pool

require_shell()

CANVAS = "gtrain.canvas"
W = "gtrain.w."  # the settings widgets' keys: gtrain.w.<field>


def _write_widgets(view: TrainingView) -> None:
    for k, v in view.config.to_dict().items():
        st.session_state[W + k] = v
    st.session_state[W + "speed"] = view.speed
    st.session_state[W + "slow"] = view.slow


def _read_widgets() -> TrainingView:
    ss = st.session_state
    config = ToyGANConfig.from_dict({k: ss[W + k] for k in ToyGANConfig().to_dict() if W + k in ss})
    return TrainingView(config=config, speed=ss.get(W + "speed", "max"), slow=bool(ss.get(W + "slow", False)))


def _new_run() -> None:
    st.session_state["gtrain.run"] = None  # made afresh below, with the current drawing
    st.session_state["gtrain.playing"] = False


def _apply_preset(name: str) -> None:
    _write_widgets(_read_widgets().with_preset(name))
    _new_run()


def _clear_drawing() -> None:
    st.session_state["gtrain.drawn"] = None
    st.session_state["gtrain.clear_drawing"] = True
    _new_run()


# -- the view: the URL on a page's first run, else what this session had
if W + "data" not in st.session_state:
    saved = st.session_state.get(TrainingView.KEY)
    if saved is None:
        saved, bad = TrainingView.from_query_params(st.query_params)
        if bad:
            st.session_state["gtrain.bad_url"] = True
    _write_widgets(saved)
st.session_state.setdefault("gtrain.player", uuid.uuid4().hex)

st.title(t("gtrain.title"))
if not presenting():
    st.caption(t("gtrain.intro"))
if st.session_state.pop("gtrain.bad_url", False):
    st.warning(t("gtrain.bad_url"))


def _labels(run: ToyGAN | None, snap: dict | None) -> dict:
    labels = {f"layer_{k}": t(f"gtrain.view.{k}") for k in ("heat", "manifold", "real", "fake", "grad")}
    labels.update(first=t("gtrain.view.first"), help="" if presenting() else t("gtrain.canvas_help"), empty=t("gtrain.draw_hint"))
    for k in ("play", "pause", "step_d", "step_g", "step_both", "reset"):
        labels[f"btn_{k}"] = t(f"gtrain.{k}")
    for k in ("step_d", "step_g", "step_both"):
        labels[f"btn_{k}_help"] = t(f"gtrain.{k}_help")
    if run is not None and snap is not None:
        m = snap["metrics"]
        lines = [t("gtrain.view.modes", m=m["modes"], k=m["n_modes"], hq=f"{m['hq']:.0%}")] if "modes" in m else []
        js = m.get("js")
        lines.append(t("gtrain.view.js", js="—" if js is None or not np.isfinite(js) else f"{js:.2f}"))
        last = snap["last"]

        def f(v):
            return "—" if v is None else f"{v:.3f}"

        labels.update(
            epoch=t("gtrain.view.epoch", n=run.epochs), steps=t("gtrain.view.steps", d=run.steps_d, g=run.steps_g),
            losses=f"{t('gtrain.view.losses')}: {f(last['loss_d'])} / {f(last['loss_g'])}",
            dprob=f"{t('gtrain.view.dprob')}: {f(last['d_real'])} / {f(last['d_fake'])}", metrics="\n".join(lines),
        )
    return labels


def _narrate(stages: list[dict]) -> list[dict]:
    """The sub-steps of an update as the page tells them."""
    out = []
    for s in stages:
        kind = s["stage"]
        if kind == "noise":
            text = t("gtrain.stage.noise", n=s["n"], dim=s["dim"])
        elif kind == "fakes":
            text = t("gtrain.stage.fakes", n=s["n"])
        elif kind == "score":
            text = t("gtrain.stage.score_g", fake=f"{s['d_fake']:.3f}") if s["d_real"] is None else t(
                "gtrain.stage.score_d", real=f"{s['d_real']:.3f}", fake=f"{s['d_fake']:.3f}")
        elif kind == "loss":
            text = t("gtrain.stage.loss_d" if s["kind"] == "d" else "gtrain.stage.loss_g", loss=f"{s['loss']:.4f}")
        elif kind == "grad":
            text = t(f"gtrain.stage.grad_{s['net']}", norm=f"{s['norm']:.4g}")
        else:
            text = t(f"gtrain.stage.update_{s['net']}", lr=f"{s['lr']:g}", moved=f"{s['moved']:.4g}")
        out.append({"stage": kind, "text": text})
    return out


def _labels_of(prefix: str, keys) -> callable:
    """A widget's option labels, translated now (AppTest formats options outside the run)."""
    return {k: t(f"{prefix}.{k}") for k in keys}.get


def _settings() -> None:
    """Data, networks, noise, losses and rates (the settings widgets, keyed gtrain.w.<field>)."""
    ss = st.session_state
    st.selectbox(t("gtrain.data"), DATASETS, format_func=_labels_of("gtrain.data", DATASETS), key=W + "data")
    if ss[W + "data"] == "drawn":
        st.caption(t("gtrain.draw_hint"))
        st.button(t("gtrain.draw_clear"), key="gtrain.clear", on_click=_clear_drawing)
    a, b = st.columns(2)
    a.selectbox(t("gtrain.g_layers"), range(5), key=W + "g_layers")
    b.selectbox(t("gtrain.g_width"), sorted({*WIDTHS, ss[W + "g_width"]}), key=W + "g_width")
    a.selectbox(t("gtrain.d_layers"), range(5), key=W + "d_layers")
    b.selectbox(t("gtrain.d_width"), sorted({*WIDTHS, ss[W + "d_width"]}), key=W + "d_width")
    st.selectbox(t("gtrain.noise"), NOISES, format_func=_labels_of("gtrain.noise", NOISES), key=W + "noise")
    st.selectbox(t("gtrain.loss"), LOSSES, format_func=_labels_of("gtrain.loss", LOSSES), key=W + "loss", help=t("gtrain.loss_help"))
    st.radio(t("gtrain.optimizer"), OPTIMIZERS, format_func={"adam": "Adam", "sgd": "SGD"}.get, key=W + "optimizer", horizontal=True)
    for k in ("lr_g", "lr_d"):
        st.select_slider(t(f"gtrain.{k}"), sorted({*RATES, float(ss[W + k])}), key=W + k, format_func=lambda v: f"{v:g}")
    a, b = st.columns(2)
    a.selectbox(t("gtrain.d_steps"), range(1, 11), key=W + "d_steps")
    b.number_input(t("gtrain.seed"), 0, 2**31 - 1, step=1, key=W + "seed")


def _controls():
    """The presets, the speed and the settings (a change reruns the whole page: rare); returns
    the view and the column the run's view goes in. Play and the steps are on the canvas."""
    cols = st.columns(len(PRESETS) + 1, vertical_alignment="center")
    cols[0].markdown(f"**{t('gtrain.presets')}**")
    for col, name in zip(cols[1:], PRESETS):
        col.button(t(f"gtrain.preset.{name}"), key=f"gtrain.preset.{name}", help=t(f"gtrain.preset.{name}.why"),
                   on_click=_apply_preset, args=(name,), width="stretch")
    controls, view_col = st.columns([1, 3.2])
    with controls:
        st.select_slider(t("gtrain.speed"), SPEEDS, key=W + "speed", format_func={**{s: s for s in SPEEDS}, "max": t("gtrain.speed_max")}.get)
        st.toggle(t("gtrain.slow"), key=W + "slow", help=t("gtrain.slow_help"))
        with st.expander(t("gtrain.settings"), expanded=not presenting()):
            _settings()
    try:
        view = _read_widgets()
        view.config.validate()
    except TrainingError as exc:
        st.error(t("gtrain.error.settings", detail=str(exc)))
        view = TrainingView()
        _write_widgets(view)
    return view, view_col


def _take_action(run: ToyGAN | None, view: TrainingView) -> tuple[ToyGAN | None, list[dict] | None]:
    """The canvas's buttons (Play/Pause, Step D, Step G, Step both, Reset): each press arrives
    once, as a new ``action`` in the component's state. Returns the run and, in slow motion, the
    sub-steps of the update to narrate."""
    ss = st.session_state
    action = component_state(CANVAS, ("tick", "drawn", "action")).get("action")
    if not isinstance(action, dict) or action.get("id") == ss.get("gtrain.action_id"):
        return run, None
    ss["gtrain.action_id"] = action.get("id")
    name = action.get("name")
    if name == "play":
        ss["gtrain.playing"] = run is not None and not run.diverged
        return run, None
    ss["gtrain.playing"] = False
    if name == "reset":
        ss["gtrain.run"] = None
        return _ensure_run(view.config), None
    if run is None or name not in ("step_d", "step_g", "step_both"):
        return run, None
    with player_pool().torch_turn:
        if view.slow:
            return run, run.explain("d") if name == "step_d" else run.explain("g") if name == "step_g" else run.explain_epoch()
        {"step_d": run.step_d, "step_g": run.step_g, "step_both": run.epoch}[name]()
    return run, None


def _take_drawing(config: ToyGANConfig) -> None:
    """The points the canvas sent (a flat list x0, y0, x1, …): they replace a drawn run's data."""
    ss = st.session_state
    drawn = component_state(CANVAS, ("tick", "drawn", "action")).get("drawn")
    if isinstance(drawn, list) and drawn != ss.get("gtrain.drawn_raw"):
        ss["gtrain.drawn_raw"] = drawn
        pts = np.asarray([v for v in drawn if isinstance(v, (int, float)) and not isinstance(v, bool)], np.float32)
        ss["gtrain.drawn"] = pts[: len(pts) // 2 * 2].reshape(-1, 2)
        if config.data == "drawn":
            ss["gtrain.run"] = None


def _ensure_run(config: ToyGANConfig, reset: bool = False) -> ToyGAN | None:
    """This session's run, made anew when it is missing, reset, or of other networks, data or
    noise (then paused); else retuned to the current rates and loss."""
    ss = st.session_state
    run: ToyGAN | None = ss.get("gtrain.run")
    if reset or run is None or run.config.structural() != config.structural():
        ss["gtrain.playing"] = False
        drawing = ss.get("gtrain.drawn") if config.data == "drawn" else None
        try:
            run = ToyGAN(config, drawing)
        except TrainingError as exc:
            run = None
            (st.info if config.data == "drawn" else st.error)(t(exc.code, detail=str(exc)))
        ss["gtrain.run"] = run
    else:
        run.retune(config)
    return run


@st.fragment
def _canvas_view() -> None:
    """The run's view and its buttons. A fragment: a button, a tick while playing and a drawing
    rerun only this (an update or the training, one snapshot and the canvas), not the page's
    widgets."""
    ss = st.session_state
    view: TrainingView = ss[TrainingView.KEY]
    config = view.config
    _take_drawing(config)
    run, stages = _take_action(_ensure_run(config), view)
    playing = ss.get("gtrain.playing", False)
    next_ms = 0
    snap = None
    if run is not None:
        pool = player_pool()
        player = ss["gtrain.player"]
        with pool.torch_turn:
            if playing and not run.diverged:
                tick = pool.tick(player)
                if tick is None:
                    st.warning(t("gtrain.busy", n=pool.max_players))
                    playing = False
                elif view.slow:
                    stages = run.explain_epoch()
                else:
                    next_ms = _train_tick(run, view, *tick)
            else:
                pool.leave(player)
            if run.diverged:
                playing = False
                st.error(t("gtrain.diverged"))
            snap = run.snapshot()
    else:
        playing = False
    ss["gtrain.playing"] = playing
    gan_canvas(
        CANVAS, pack(snap) if snap else None, pack(run.first) if run is not None else None, _labels(run, snap), playing,
        next_ms, size=430, stages=_narrate(stages) if stages else None, draw=config.data == "drawn" and not playing,
        drawn=ss.get("gtrain.drawn") if config.data == "drawn" else None, clear_drawing=ss.pop("gtrain.clear_drawing", False),
    )


def _train_tick(run: ToyGAN, view: TrainingView, train_s: float, interval: float) -> int:
    """Train for this tick's share of the class's budget, at most at the chosen speed; returns
    the milliseconds until the browser should ask for the next tick."""
    ss = st.session_state
    now = time.perf_counter()
    since = min(1.0, now - ss.get("gtrain.tick_at", now - interval))
    ss["gtrain.tick_at"] = now
    if view.speed == "max":
        run.train_for(train_s)
    else:  # whole epochs: what a slow speed leaves over goes to the next tick
        owed = int(view.speed) * since + ss.get("gtrain.carry", 0.0)
        budget = int(owed)
        ss["gtrain.carry"] = owed - budget
        if budget:
            run.train_for(train_s, budget)
    return int(max(0.0, interval - (time.perf_counter() - now)) * 1000)


view, view_col = _controls()
st.session_state[TrainingView.KEY] = view
st.query_params.from_dict({**{k: v for k, v in st.query_params.to_dict().items() if k in SHARED_PARAMS}, **view.to_query_params()})
if view.config.lr_g == 0 or view.config.lr_d == 0:
    st.warning(t("gtrain.error.zero_lr"))
_take_drawing(view.config)
_ensure_run(view.config)
with view_col:
    _canvas_view()
    preset = view.preset
    if preset and not presenting():
        st.caption(f"**{t(f'gtrain.preset.{preset}')}** — {t(f'gtrain.preset.{preset}.why')}")
