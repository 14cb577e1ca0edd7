"""A filmstrip scrubber: sliders whose image changes while the thumb moves, not only on release.

Streamlit's own slider reruns the script only when the mouse is let go. Here the server renders,
in one batch, the frame for every step along each slider's range; the browser keeps those frames
and swaps the image as a thumb moves (or as arrow keys step it), with no round trip. Releasing
the thumb commits the values to Python, which renders fresh filmstrips around them.

    values = scrubber(image_frames, sliders, key="gan.directions")

``sliders`` is a list of :class:`Slider`; ``frames[k][i]`` is the image shown when slider ``k``
sits at its ``i``-th step and the others at their committed values. The current image is the
frame of any slider at its committed step (they are all the same image).
"""

from __future__ import annotations

import base64
import io
from dataclasses import dataclass

import numpy as np
import streamlit as st
from PIL import Image

from advdl.viz import to_uint8

HTML = '<div class="scrub"><figure class="scrub-fig"><img class="scrub-img" alt=""><figcaption class="scrub-cap"></figcaption></figure><div class="scrub-sliders"></div></div>'

CSS = """
.scrub { display: flex; gap: 1.5rem; align-items: flex-start; flex-wrap: wrap; font-family: var(--st-font, sans-serif); color: var(--st-text-color, #111); }
.scrub-fig { margin: 0; text-align: center; max-width: 100%; min-width: 0; }
.scrub-img { image-rendering: pixelated; image-rendering: crisp-edges; background: #000; border-radius: 6px; display: block; max-width: 100%; height: auto; aspect-ratio: 1 / 1; }
.scrub-cap { font-size: 0.95rem; opacity: 0.75; margin-top: 0.3rem; }
.scrub-sliders { display: grid; grid-template-columns: repeat(var(--cols, 1), minmax(5.5rem, 1fr)); gap: 0.2rem 1rem; flex: 1 1 20rem; min-width: 0; }
.scrub-row { min-width: 0; }
.scrub-row label { display: flex; justify-content: space-between; gap: 0.3rem; font-size: 0.95rem; }
.scrub-row label span { overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
.scrub-row output { font-variant-numeric: tabular-nums; font-weight: 600; color: var(--st-primary-color, #0b57d0); }
.scrub-row input[type=range] { width: 100%; accent-color: var(--st-primary-color, #0b57d0); height: 1.6rem; cursor: grab; }
.scrub-row input[type=range]:active { cursor: grabbing; }
"""

# One slider row (its label, value and range input), shared by both components' scripts.
SLIDER_ROW_JS = """
function sliderRow() {
  const row = document.createElement('div');
  row.className = 'scrub-row';
  const label = document.createElement('label');
  const name = document.createElement('span');
  const out = document.createElement('output');
  label.append(name, out);
  const input = document.createElement('input');
  input.type = 'range'; input.min = '0'; input.step = '1';
  row.append(label, input);
  return { row, name, out, input };
}
"""

JS = SLIDER_ROW_JS + """
export default function (component) {
  const { parentElement, setStateValue } = component;
  const data = component.data[0];  // sent inside a list (see _send)
  const root = parentElement.querySelector('.scrub');
  const img = root.querySelector('.scrub-img');
  const box = root.querySelector('.scrub-sliders');
  const cap = root.querySelector('.scrub-cap');
  const size = data.size;
  img.width = size; img.height = size;
  img.style.width = size + 'px';  // at most: a narrower column shrinks it (max-width), square
  cap.textContent = data.caption || '';
  box.style.setProperty('--cols', String(data.columns || 1));
  // Decode every frame once, so swapping is only a src change of a cached image. A lazy
  // scrubber's first render holds only the committed frames ('' for the others): it asks for
  // the rest at once, and the server sends them in a rerun of its own, after the page is drawn.
  const frames = data.sliders.map((s) => s.frames.map((f) => { if (!f) return ''; const im = new Image(); im.src = f; return im.src; }));
  if (data.pending) setTimeout(() => setStateValue('ready', true), 0);
  const fmt = (v, d) => Number(v).toFixed(d);
  // The sliders outlive a rerun (same <input> elements, new frames and values), so that a
  // keyboard focus, or a thumb the student is moving, survives the frames arriving (a lazy
  // scrubber) or a commit's rerun. A thumb whose committed value the server did not change
  // stays where the student has it.
  const sent = data.sliders.map((s) => s.index);
  let rows = root.__rows;
  const keep = rows && rows.length === data.sliders.length && root.__sent;
  if (!keep) {
    rows = data.sliders.map(() => sliderRow());
    box.replaceChildren(...rows.map((r) => r.row));
  }
  const index = sent.map((i, k) => (keep && root.__sent[k] === i ? Number(rows[k].input.value) : i));
  root.__rows = rows;
  root.__sent = sent;
  const commit = () => setStateValue('indices', index.slice());
  const moved = index.findIndex((i, k) => i !== sent[k]);  // a thumb moved and not yet committed
  const k0 = moved < 0 ? 0 : moved;
  img.src = frames[k0][index[k0]] || frames[0][sent[0]];
  data.sliders.forEach((s, k) => {
    const { name, out, input } = rows[k];
    name.textContent = s.label;  // textContent: labels are never parsed as HTML
    input.setAttribute('aria-label', s.label);
    input.max = String(s.values.length - 1);
    input.value = String(index[k]);
    input.dataset.k = String(k);
    out.textContent = fmt(s.values[index[k]], s.decimals);
    input.oninput = () => {
      const i = Number(input.value);
      if (frames[k][i]) img.src = frames[k][i];
      out.textContent = fmt(s.values[i], s.decimals);
      index[k] = i;
    };
    input.onchange = commit;  // release, or a keyboard step
  });
}
"""

_component = st.components.v2.component("advdl.scrubber", html=HTML, css=CSS, js=JS)


PANEL_HTML = '<div class="pscrub"><div class="scrub-sliders"></div><div class="pscrub-grid"></div></div>'

PANEL_CSS = CSS + """
.pscrub { display: flex; flex-direction: column; gap: 0.6rem; font-family: var(--st-font, sans-serif); color: var(--st-text-color, #111); }
.pscrub .scrub-sliders { flex: none; max-width: 32rem; }
.pscrub-grid { display: grid; grid-template-columns: repeat(var(--cols, 5), minmax(0, 1fr)); gap: 0.8rem 1rem; }
.pscrub-fig { margin: 0; text-align: center; min-width: 0; }
.pscrub-img { width: 100%; height: auto; aspect-ratio: 1 / 1; image-rendering: pixelated; image-rendering: crisp-edges; background: #000; border-radius: 6px; display: block; }
.pscrub-cap { font-size: 0.95rem; margin-top: 0.3rem; }
.pscrub-metrics { font-size: 0.9rem; opacity: 0.8; font-variant-numeric: tabular-nums; min-height: 1.2em; white-space: pre-line; }
"""

PANEL_JS = SLIDER_ROW_JS + """
export default function (component) {
  const { parentElement, setStateValue } = component;
  const data = component.data[0];  // sent inside a list (see _send)
  const root = parentElement.querySelector('.pscrub');
  const grid = root.querySelector('.pscrub-grid');
  const box = root.querySelector('.scrub-sliders');
  grid.style.setProperty('--cols', String(data.columns));
  // frames[step][panel]: decoded once, so that moving the thumb only swaps sources
  const frames = data.frames.map((step) => step.map((f) => { const im = new Image(); im.src = f; return im.src; }));
  // The figures outlive a rerun (same elements, new sources), so nothing flickers or is rebuilt.
  let figs = root.__figs;
  if (!figs || figs.length !== data.captions[0].length) {
    figs = data.captions[0].map(() => {
      const fig = document.createElement('figure'); fig.className = 'pscrub-fig';
      const img = document.createElement('img'); img.className = 'pscrub-img'; img.alt = '';
      const cap = document.createElement('figcaption'); cap.className = 'pscrub-cap';
      const met = document.createElement('div'); met.className = 'pscrub-metrics';
      fig.append(img, cap, met);
      return { fig, img, cap, met };
    });
    grid.replaceChildren(...figs.map((f) => f.fig));
    root.__figs = figs;
  }
  let index = data.index;
  const show = (i) => figs.forEach((f, m) => {
    f.img.src = frames[i][m];
    f.cap.textContent = data.captions[i][m];  // textContent: never parsed as HTML
    f.met.textContent = data.metrics[i][m];
  });
  show(index);
  // The slider too: the same <input> across reruns, so a drag or the keyboard focus survives one.
  if (!root.__slider) {
    root.__slider = sliderRow();
    box.replaceChildren(root.__slider.row);
  }
  const { name, out, input } = root.__slider;
  const fmt = (i) => Number(data.values[i]).toFixed(data.decimals);
  name.textContent = data.label;
  input.setAttribute('aria-label', data.label);
  input.max = String(data.values.length - 1);
  input.value = String(index);
  out.textContent = fmt(index);
  input.oninput = () => { index = Number(input.value); show(index); out.textContent = fmt(index); };
  input.onchange = () => setStateValue('indices', [index]);  // release, or a keyboard step
}
"""

_panel_component = st.components.v2.component("advdl.panel_scrubber", html=PANEL_HTML, css=PANEL_CSS, js=PANEL_JS)


@dataclass
class Slider:
    label: str
    values: list[float]  # the value at each step
    index: int  # the committed step
    decimals: int = 2


def png_data_url(img: np.ndarray) -> str:
    """A small PNG data URL of a float image in [0, 1] (28 x 28 stays 28 x 28: the browser scales)."""
    buf = io.BytesIO()
    Image.fromarray(to_uint8(img)).save(buf, format="PNG", optimize=False, compress_level=1)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


@st.cache_data(show_spinner=False, max_entries=512)
def _encode_strip(frames: np.ndarray) -> list[str]:
    # Cached by content: a strip that does not change between runs (the training replay, a
    # capsule nobody moved) is encoded once per server, not on every rerun of every session.
    return [png_data_url(f) for f in frames]


def _send(payload: dict) -> list:
    """The component's data, wrapped in a list: Streamlit passes a list through as JSON, where it
    inspects each value of a dict (and a string as a whole) for dataframes, which imports pandas
    (0.4 s of a cold start) into a server that never needs it."""
    return [payload]


def nearest_index(values, value: float) -> int:
    return int(np.argmin(np.abs(np.asarray(values, dtype=np.float64) - float(value))))


def committed(key: str, n: int, default: int) -> list[int]:
    """The step indices last committed by scrubber ``key`` (``default`` for each before any)."""
    got = _state(key).get("indices")
    return [int(i) for i in got] if isinstance(got, list) and len(got) == n else [default] * n


def scrubber(frames: list[np.ndarray], sliders: list[Slider], key: str, size: int = 300, caption: str = "", columns: int = 1,
             lazy: bool = False) -> list[int]:
    """Show the image and the sliders; return each slider's committed step index.

    ``frames[k]`` is an array (steps_k, H, W) in [0, 1] for slider ``k``. ``lazy``: the first
    render sends only the committed frames and the browser asks for the others at once (a rerun
    of the scrubber's fragment), so that a long strip (the GAN's training replay: megabytes)
    does not hold up the page's first drawing.
    """
    pending = lazy and not _state(key).get("ready")
    sliders_data = []
    for s, fr in zip(sliders, frames):
        if pending:  # the committed frame alone; the whole strip is encoded when it is asked for
            urls = [""] * len(fr)
            urls[s.index] = png_data_url(np.asarray(fr[s.index]))
        else:
            urls = _encode_strip(np.asarray(fr))
        sliders_data.append({"label": s.label, "values": [float(v) for v in s.values], "index": int(s.index), "decimals": s.decimals, "frames": urls})
    payload = {"size": int(size), "caption": caption, "columns": int(columns), "sliders": sliders_data, "pending": pending}
    result = _component(
        key=key, data=_send(payload), default={"indices": [s.index for s in sliders], "ready": False},
        on_indices_change=lambda: None, on_ready_change=lambda: None, width="stretch",
    )
    return _indices(result, sliders)


def _state(key: str) -> dict:
    """A component's state in the session as a plain dict (empty before its first render)."""
    state = st.session_state.get(key)
    if state is None:
        return {}
    try:
        return dict(state)
    except (TypeError, ValueError):
        return {k: getattr(state, k) for k in ("indices", "ready") if hasattr(state, k)}


def _indices(result, sliders: list[Slider]) -> list[int]:
    """The step indices a component's state commits, each clamped to its slider's range (the
    sliders' own indices while the browser has sent nothing usable)."""
    got = getattr(result, "indices", None)
    if not isinstance(got, list) or len(got) != len(sliders):
        return [s.index for s in sliders]
    return [min(max(int(i), 0), len(s.values) - 1) for i, s in zip(got, sliders)]


def panel_scrubber(frames: np.ndarray, captions: list[list[str]], metrics: list[list[str]], slider: Slider, key: str, columns: int) -> int:
    """Several images under one slider, all following the thumb while it moves (the autoencoder
    lab: the noisy input and the four reconstructions at every noise strength).

    ``frames`` (steps, M, H, W) in [0, 1]; ``captions[i][m]`` and ``metrics[i][m]`` are the text
    under image ``m`` at step ``i``. Returns the committed step index.
    """
    frames = np.asarray(frames)
    per_step = frames.shape[1]
    urls = _encode_strip(frames.reshape(-1, *frames.shape[2:]))  # one cached encoding of every image
    payload = {
        "columns": int(columns),
        "label": slider.label,
        "values": [float(v) for v in slider.values],
        "index": int(slider.index),
        "decimals": slider.decimals,
        "frames": [urls[i : i + per_step] for i in range(0, len(urls), per_step)],
        "captions": captions,
        "metrics": metrics,
    }
    result = _panel_component(key=key, data=_send(payload), default={"indices": [slider.index]}, on_indices_change=lambda: None, width="stretch")
    return _indices(result, [slider])[0]
