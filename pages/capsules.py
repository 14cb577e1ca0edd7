"""Capsule viewer: the CapsNet reads a digit; its capsule lengths beside the CNN's answer, the
10 x 16 capsule values, the 16 dimensions of one capsule to perturb while dragging, the paper's
Figure 4, and how routing by agreement settles."""

from dataclasses import replace

import numpy as np
from PIL import Image
import streamlit as st

from advdl.capsule_layers import tile, walk
from advdl.capsule_routing import ITERATIONS, trace, vote_plane
from advdl.inference import capsule_filmstrips, classify, read_capsules, transform
from advdl.ui import charts, views
from advdl.ui.digit_input import digit_input
from advdl.ui.i18n import t
from advdl.ui.shell import image_size, presenting
from advdl.ui.charts import cached, show
from advdl.ui.models import capsule_statistics, capsule_votes, get_model, shared, stamp
from advdl.ui.scrub import Slider, committed, reset, scrubber
from advdl.ui.views import CAPS_CALIBRATED, CAPS_RANGES, CapsView
from advdl.viz import diverging, dots_over, grid, histograms, png, scatter, to_uint8, upscale
from advdl.ui.routing import require_shell
from advdl.ui import why_panel

require_shell()



def _view() -> CapsView:
    return views.current(CapsView)


AUTO = -1  # the class list's "the predicted class" (a None option would show as no choice at all)


def _on_class() -> None:
    chosen = st.session_state["caps.cls"]
    views.update(replace(_view(), cls=None if chosen == AUTO else int(chosen)))


def _reset_dims() -> None:
    views.update(_view().centred())
    reset("caps.dims")


def _class_range(cls: int):
    """Class ``cls``'s calibrated slider range (low, high per dimension), or None without the file."""
    stats = capsule_statistics()
    return stats.range(cls) if stats is not None else None


@st.fragment
def _perturb_view(capsnet, capsule: np.ndarray, cls: int) -> None:
    """The 16 dimension sliders of one digit capsule over its reconstructions. A fragment:
    committing a slider reruns only this part, not the reading, Figure 4 or the routing.
    Calibrated, each slider spans where that class's capsules lie (mean ± 2 σ over the test set)
    and starts at the digit's own value; else the capsule ± a fixed range."""
    view = _view()
    bounds = _class_range(cls) if view.calibrated else None
    values = view.dimension_steps(capsule, *(bounds or (None, None)))  # (16, S) capsule values
    start = [int(np.argmin(np.abs(values[d] - capsule[d]))) for d in range(16)] if bounds else list(view.dims)
    basis = view.basis(cls, capsule)
    moved_on = st.session_state.get("caps.dims_basis", basis) != basis  # another digit or class than last run's
    st.session_state["caps.dims_basis"] = basis
    default = start if bounds and (moved_on or view.dims == CapsView.dims) else view.dims  # a link's dims, else the digit's own
    idx = committed("caps.dims", 16, default, basis=basis)
    offsets = values[np.arange(16), idx] - capsule
    frames = shared(_dimension_strips, (capsnet,), capsule, cls, offsets, values - capsule[:, None])  # the opening view: every student's
    shown = values if bounds else values - capsule[:, None]  # calibrated: the values; fixed: the offsets
    sliders = [Slider(t("caps.dim", i=d + 1), shown[d].round(3).tolist(), i, decimals=3 if bounds else 2) for d, i in enumerate(idx)]
    scrubber(list(frames), sliders, key="caps.dims", size=image_size(300), caption=t("caps.recon"), columns=4)
    views.publish(replace(view, dims=tuple(idx)))
    if bounds and not presenting():
        _densities(capsule_statistics(), cls, values[np.arange(16), idx])


def _dimension_strips(capsnet, capsule: np.ndarray, cls: int, offsets: np.ndarray, steps: np.ndarray) -> np.ndarray:
    """The 16 dimensions' filmstrips as the scrubber shows them, uint8 (a quarter of float32's memory)."""
    frames = to_uint8(capsule_filmstrips(capsnet, capsule, cls, offsets, steps))
    frames.setflags(write=False)
    return frames


def _densities(stats, cls: int, current: np.ndarray) -> None:
    """Each dimension's histogram over the class's test digits, the slider's range shaded and
    the current value marked: one image (sixteen plotly subplots cost the server more than the
    rest of the view, and the browser more still)."""
    lo, hi = stats.range(cls)
    st.image(histograms(stats.hist[cls], stats.edges[cls], (lo, hi), current), width="stretch",
             caption=t("caps.densities", n=int(stats.count[cls]), c=cls))


def _walk_pictures(capsnet, x: np.ndarray, big: bool) -> tuple:
    """The layer walk of a digit and its pictures as PNG (made once per digit: see ``shared``)."""
    w = walk(capsnet, x)
    size = lambda base: int(base * 1.3) if big else base  # noqa: E731 - image_size, for the mode in the key
    lengths = w.primary_lengths
    pics = {"input": png(upscale(w.image, size(200))), "kernels": png(tile(w.kernels, 16, zoom=3)),
            "conv1": png(tile(w.conv1, 16, zoom=2)),
            "primary": png(tile(lengths, 8, scale=float(lengths.max()), low=float(lengths.min()), zoom=8)),
            "in_small": png(upscale(w.image, size(180))), "decoded": png(upscale(w.reconstruction, size(180)))}
    # kept without Conv1's maps and kernels (their pictures are made): a few KB per digit, not 0.5 MB
    return replace(w, kernels=np.empty((0, 9, 9), np.float32), conv1=np.empty((0, 20, 20), np.float32)), pics


@cached
def _vectors_chart(vectors: np.ndarray, row: int, col: int) -> dict:
    """The 32 primary capsules' 8-D vectors at one grid position (types × dimensions)."""
    return charts.heatmap(vectors, x=t("caps.dimension"), y=t("caps.walk.type"), xs=range(1, vectors.shape[1] + 1),
                          title=t("caps.walk.vectors", r=row, c=col), height=300)


@cached
def _digit_caps_chart(digit: np.ndarray, lengths: np.ndarray) -> dict:
    """The ten digit capsules (classes × 16 dimensions), each class labelled with its capsule's length."""
    return charts.heatmap(digit, x=t("caps.dimension"), y=t("caps.walk.class_length"), xs=range(1, 17),
                          ys=[f"{c} · {v:.2f}" for c, v in enumerate(lengths)], height=320)


@st.fragment
def _layer_walk(capsnet, x: np.ndarray) -> None:
    """The network for this digit, stage by stage, each with what it is and its shape. A fragment:
    choosing a position reruns only this part."""
    w, pics = shared(_walk_pictures, (capsnet,), x, presenting())
    key = (stamp(capsnet), x.tobytes())
    tabs = st.tabs([t(f"caps.walk.{k}") for k in ("input", "conv1", "primary", "digit", "decoder")])
    with tabs[0]:
        st.caption(t("caps.walk.input_help"))
        st.image(pics["input"])
    with tabs[1]:
        st.caption(t("caps.walk.conv1_help"))
        a, b = st.columns(2)
        a.image(pics["kernels"], caption=t("caps.walk.kernels"), width="stretch")
        b.image(pics["conv1"], caption=t("caps.walk.conv1_maps"), width="stretch")
    with tabs[2]:
        st.caption(t("caps.walk.primary_help"))
        a, b = st.columns([3, 2])
        lengths = w.primary_lengths
        a.image(pics["primary"], width="stretch",
                caption=t("caps.walk.primary_maps", lo=f"{lengths.min():.2f}", hi=f"{lengths.max():.2f}", mid=f"{np.median(lengths):.2f}"))
        with b:
            r1, r2 = st.columns(2)
            row = r1.selectbox(t("caps.walk.row"), range(6), index=3, key="caps.walk_row")
            col = r2.selectbox(t("caps.walk.col"), range(6), index=3, key="caps.walk_col")
            show(_vectors_chart((*key, row, col), w.primary[:, row, col, :], row, col), width="stretch", key="caps.walk_vectors")
    with tabs[3]:
        st.caption(t("caps.walk.digit_help", c=w.predicted))
        show(_digit_caps_chart(key, w.digit, w.lengths), width="stretch", key="caps.walk_digit")
    with tabs[4]:
        st.caption(t("caps.walk.decoder_help", c=w.predicted))
        a, b = st.columns(2)
        a.image(pics["in_small"], caption=t("caps.walk.input"))
        b.image(pics["decoded"], caption=t("caps.walk.decoded"))


@st.fragment
def _routing_view(capsnet, x: np.ndarray) -> None:
    """Routing for this digit, iteration by iteration: who votes for the winning class and how
    much, for 1, 3 or 5 iterations. A fragment: the switch reruns only this part."""
    st.caption(t("caps.routing_help"))
    st.session_state.setdefault("caps.iters", capsnet.config.routing_iters)
    iters = st.segmented_control(t("caps.iters"), ITERATIONS, key="caps.iters", required=True,
                                 format_func=lambda n: f"{n}")
    tr, maps, dev, spread, top2, plane = shared(_routing_pictures, (capsnet,), x, int(iters))
    for r, (col, pic) in enumerate(zip(st.columns(tr.iterations), maps)):
        col.image(pic, width="stretch", caption=t("caps.iteration", r=r + 1) + " · " +
                  t("caps.carry", k=tr.carrying_half(r), n=tr.couplings.shape[1], m=f"{tr.margin(r):.2f}"))
    left, right = st.columns(2)
    with left:
        st.image(dev, width=image_size(260), caption=t("caps.deviation", c=tr.predicted, v=f"{spread:.3f}"))
    with right:
        st.image(plane, width=image_size(260), caption=t("caps.votes", a=top2[0], b=top2[1]))


def _routing_pictures(capsnet, x: np.ndarray, iters: int) -> tuple:
    """Routing for a digit and its pictures (PNG): each iteration's map of who carries the winning
    class, the last iteration's c − 1/10, and the votes of the two longest capsules on a plane."""
    tr, u_hat = trace(capsnet, x, iters, u_hat=capsule_votes(capsnet, x))
    top = max(float(tr.contribution_map(r).max()) for r in range(tr.iterations))
    centre = 2 * np.arange(tr.grid) + 8  # a primary capsule's receptive field (17 x 17, from two 9 x 9 convolutions, stride 2) is centred here
    cx, cy = np.meshgrid(centre, centre)
    maps = []
    for r in range(tr.iterations):
        m = tr.contribution_map(r) / max(top, 1e-9)
        br, bc = np.unravel_index(int(np.argmax(m)), m.shape)
        maps.append(png(dots_over(x, np.stack([cx.ravel(), cy.ravel()], 1), m.ravel(), frame=(2 * bc, 2 * br, 2 * bc + 16, 2 * br + 16))))
    dev, spread = diverging(tr.deviation_map(tr.iterations - 1))
    top2 = tuple(int(j) for j in np.argsort(tr.lengths[-1])[::-1][:2])
    plane = vote_plane(u_hat, tr.couplings[-1], top2)
    colours = ((217, 48, 37), (95, 99, 104))
    pic = scatter([(plane[j]["points"], plane[j]["weights"], plane[j]["sum"], c) for j, c in zip(top2, colours)], size=300)
    return tr, maps, png(dev), spread, top2, png(pic)


@cached
def _lengths_chart(lengths: np.ndarray, probs: np.ndarray | None) -> dict:
    """The capsules' lengths beside the CNN's probabilities, the longest capsule in red."""
    groups = {t("caps.length_series"): lengths, **({t("caps.cnn_series"): probs} if probs is not None else {})}
    return charts.bars(groups, range(10), x=t("common.class"), title=t("caps.lengths"), height=320, y_domain=(0, 1),
                       colours=["#5f6368", "#8ab4f8"][: len(groups)], highlight=(int(lengths.argmax()), "#d93025"))


@cached
def _capsules_chart(capsules: np.ndarray) -> dict:
    return charts.heatmap(capsules, x=t("caps.dimension"), y=t("common.class"), xs=range(1, 17), height=360)


def _figure4(capsnet, capsule: np.ndarray, cls: int, steps: np.ndarray) -> tuple[bytes, bytes]:
    """The paper's Figure 4 for one capsule: the picture shown, and a 3 x larger one to download."""
    fig4 = capsule_filmstrips(capsnet, capsule, cls, np.zeros(16), steps)
    tiled = grid(fig4.reshape(-1, 28, 28), nrow=11)
    return png(tiled), png(Image.fromarray(tiled).resize((tiled.shape[1] * 3, tiled.shape[0] * 3), Image.Resampling.NEAREST))


st.title(t("caps.title"))
capsnet = get_model("capsnet")
cnn = get_model("cnn", show_error=False)
img = digit_input("caps")

view = _view()
if views.take_bad_url(CapsView):
    st.warning(t("common.bad_url"))
st.subheader(t("caps.pose"), anchor="pose")
c1, c2, c3, c4, c5 = st.columns(5)
c1.slider(t("caps.rotation"), *CapsView.LIMITS["angle"], step=5, **views.bind(CapsView, "caps.rotation", "angle"))
c2.slider(t("caps.shift_x"), *CapsView.LIMITS["dx"], step=1, **views.bind(CapsView, "caps.dx", "dx"))
c3.slider(t("caps.shift_y"), *CapsView.LIMITS["dy"], step=1, **views.bind(CapsView, "caps.dy", "dy"))
c4.slider(t("caps.scale"), CapsView.SCALES[0], CapsView.SCALES[-1], step=0.05, **views.bind(CapsView, "caps.scale", "scale"))
c5.slider(t("caps.shear"), *CapsView.LIMITS["shear"], step=5, **views.bind(CapsView, "caps.shear", "shear"))
view = _view()
views.publish(view)

if img is not None and capsnet is not None:
    x = transform(img, view.angle, (view.dx, view.dy), view.scale, view.shear)
    out = shared(read_capsules, (capsnet,), x)
    lengths = out.lengths[0].numpy()
    capsules = out.capsules[0].numpy()  # (10, 16)
    pred = int(lengths.argmax())
    probs = shared(classify, (cnn,), x) if cnn is not None else None

    left, right = st.columns([3, 2])
    with left:
        show(_lengths_chart((stamp(capsnet), cnn and stamp(cnn), x.tobytes()), lengths, probs), width="stretch")
    with right:
        st.metric(t("caps.pred_label"), str(pred), f"{lengths[pred]:.2f}", delta_color="off")
        if lengths[pred] < 0.5:  # the margin loss trains a present digit's capsule past 0.9, an absent one's under 0.1
            st.info(t("caps.unsure", v=f"{lengths[pred]:.2f}"))
        if probs is not None:
            st.metric(t("caps.cnn_label"), str(int(probs.argmax())), f"{float(probs.max()):.0%}", delta_color="off")

    why_panel.pose_curves(view.angle, view.scale, view.shear)  # the whole test set's accuracy under each pose

    st.subheader(t("caps.layers"), anchor="layers")
    _layer_walk(capsnet, x)

    st.subheader(t("caps.perturb"), anchor="perturb")
    p1, p2, p3 = st.columns([1, 1, 1], vertical_alignment="bottom")
    which = {AUTO: t("caps.which_auto", c=pred), **{c: str(c) for c in range(10)}}
    st.session_state["caps.cls"] = AUTO if view.cls is None else view.cls
    p1.selectbox(t("caps.which"), list(which), format_func=which.get, key="caps.cls", on_change=_on_class)
    range_names = {r: t("caps.range_cal") if r == CAPS_CALIBRATED else f"± {r:g}" for r in CAPS_RANGES}
    p2.selectbox(t("caps.range"), CAPS_RANGES, format_func=range_names.get, **views.bind(CapsView, "caps.range", "spread"))
    if view.calibrated and capsule_statistics() is None:
        st.info(t("caps.no_stats"))
    p3.button(t("caps.reset"), key="caps.reset", on_click=_reset_dims)
    cls = pred if view.cls is None else view.cls
    _perturb_view(capsnet, capsules[cls], cls)

    with st.expander(t("caps.heatmap"), expanded=False):
        show(_capsules_chart((stamp(capsnet), x.tobytes()), capsules), width="stretch")

    st.subheader(t("caps.fig4"), anchor="fig4")
    # Figure 4 follows the chosen range: the class's calibrated one, or the capsule ± the fixed one
    bounds = _class_range(cls) if view.calibrated else None
    if bounds:
        fig4_steps = np.linspace(bounds[0], bounds[1], 11, axis=1) - capsules[cls][:, None]
        fig4_caption = t("caps.fig4_caption_cal", c=cls)
    else:
        spread = 0.25 if view.calibrated else view.spread
        fig4_steps = np.round(np.linspace(-spread, spread, 11), 3)
        fig4_caption = t("caps.fig4_caption", r=f"{spread:g}", s=f"{spread / 5:g}")
    shown, download = shared(_figure4, (capsnet,), capsules[cls], cls, np.asarray(fig4_steps, np.float32))
    st.image(shown, caption=fig4_caption, width=image_size(420))
    st.download_button(t("caps.fig4_download"), download, file_name=f"capsnet_figure4_class{cls}.png", mime="image/png", key="caps.fig4_dl")

    st.subheader(t("caps.routing"), anchor="routing")
    _routing_view(capsnet, x)

    st.subheader(t("why.title"), anchor="why")
    why_panel.section(capsnet, cnn, x, pred)

if not presenting():
    with st.expander(t("caps.notes_title")):
        st.markdown(t("caps.notes"))
