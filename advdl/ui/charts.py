"""The labs' charts: Vega-Lite specs made once per content and language, shared by every session.

Vega-Lite, not plotly: the browser's first drawing of a lab waited on plotly's 4.7 MB bundle and
its layout (a lab with one plotly chart drew 1.6 s after a bare app on a warm server, one with a
Vega-Lite chart 0.3 s; ``scripts/bench.py --browser``'s first drawings), and a spec is a plain
dict that needs no validators in Python.

Most charts are the same for every student (the cards' curves, the latent map's classes, the
training losses). So a chart is built by a plain function returning a spec, once per arguments,
language and presentation mode (:func:`cached`); what changes per student (a marked epoch, the
student's own point) is added to the kept spec as another layer (:func:`with_layers`, :func:`rule`,
:func:`dots`); :func:`show` draws it with ``st.vega_lite_chart``.

    @cached
    def losses_chart(rows) -> dict:                   # a plain builder, labels by t()
        return lines({"D": (epochs, d), "G": (epochs, g)}, x=t("gan.epoch"), y=t("common.loss"))

    spec = losses_chart((stamp,), rows)               # built once per stamp and language
    show(with_layers(spec, [rule(epoch)]), width="stretch")
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence

import numpy as np
import streamlit as st

from .i18n import lang
from .shell import presenting

# a line or bar per series, in this order, where a chart names none
PALETTE = ["#0b57d0", "#d93025", "#188038", "#f9ab00", "#8430ce", "#12b5cb", "#e8710a", "#5f6368"]
# a colour per digit class, the same in every chart (d3's category10)
CLASS_COLOURS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"]


@st.cache_resource(show_spinner=False, max_entries=512)
def _made(name: str, language: str, present: bool, key: tuple, _build: Callable, _values: tuple) -> dict:
    # ``name`` tells the builders apart (they all share this one cache); the language and the
    # presentation mode are part of the key because the builders' labels and sizes read them.
    return _build(*_values)


def cached(build: Callable[..., dict]) -> Callable[..., dict]:
    """Make ``build(*values) -> spec`` into ``f(key, *values) -> spec``, built once per ``key``
    (hashable: numbers, strings, bytes, tuples of them; it must name everything the values hold,
    e.g. a checkpoint's stamp and a digit's bytes), language and presentation mode. The spec is
    shared: add to it with :func:`with_layers`, never in place."""
    name = f"{build.__module__}.{build.__qualname__}"

    @functools.wraps(build)
    def wrapper(key: tuple, *values) -> dict:
        return _made(name, lang(), presenting(), key, build, values)

    return wrapper


def _num(v) -> float | None:
    return None if v is None or not np.isfinite(v) else float(v)


def _frame(layers: list[dict], height: int, title: str | None) -> dict:
    spec = {"height": height, "layer": layers}
    if title:
        spec["title"] = title
    return spec


def _colour(names: Sequence[str], colours: Sequence[str] | None, title: str | None = None, legend: bool = True) -> dict:
    return {"field": "series", "type": "nominal", "sort": list(names), "title": title,
            "scale": {"domain": list(names), "range": list(colours or PALETTE[: len(names)])},
            "legend": {"orient": "bottom", "columns": min(len(names), 5)} if legend and len(names) > 1 else None}


def lines(series: Mapping[str, tuple[Sequence[float], Sequence[float]]], *, x: str, y: str, title: str | None = None,
          height: int = 300, y_domain: tuple[float, float] | None = None, colours: Sequence[str] | None = None,
          points: bool = True, x_type: str = "quantitative") -> dict:
    """One line per series (name → (xs, ys)), in ``series``' order; points on the lines unless
    ``points`` is False; a missing y (None, NaN) leaves a gap."""
    values = [{"series": name, "x": float(a), "y": _num(b)} for name, (xs, ys) in series.items() for a, b in zip(xs, ys)]
    enc = {"x": {"field": "x", "type": x_type, "title": x},
           "y": {"field": "y", "type": "quantitative", "title": y, **({"scale": {"domain": list(y_domain)}} if y_domain else {})},
           "color": _colour(list(series), colours),
           "tooltip": [{"field": "series", "title": " "}, {"field": "x", "title": x}, {"field": "y", "title": y, "format": ".3f"}]}
    mark = {"type": "line", "point": points}
    return _frame([{"data": {"values": values}, "mark": mark, "encoding": enc}], height, title)


def bars(groups: Mapping[str, Sequence[float]], categories: Sequence, *, x: str, y: str | None = None, title: str | None = None,
         height: int = 300, y_domain: tuple[float, float] | None = None, colours: Sequence[str] | None = None,
         highlight: tuple[int, str] | None = None) -> dict:
    """Bars per category (``categories``, in order), a bar per group side by side (name → one
    value per category); ``highlight`` (index, colour) paints one category's bar of the first
    group apart (e.g. the class a model reads)."""
    names = list(groups)
    values = [{"series": name, "x": str(c), "y": _num(v), "hi": highlight is not None and k == 0 and i == highlight[0]}
              for k, (name, ys) in enumerate(groups.items()) for i, (c, v) in enumerate(zip(categories, ys))]
    colour = _colour(names, colours, legend=len(names) > 1)
    if highlight is not None:
        colour = {"condition": {"test": "datum.hi", "value": highlight[1]}, **colour}
    enc = {"x": {"field": "x", "type": "ordinal", "title": x, "sort": [str(c) for c in categories], "axis": {"labelAngle": 0}},
           "y": {"field": "y", "type": "quantitative", "title": y, **({"scale": {"domain": list(y_domain)}} if y_domain else {})},
           "color": colour,
           "tooltip": [{"field": "series", "title": " "}, {"field": "x", "title": x}, {"field": "y", "title": y or " ", "format": ".3f"}]}
    if len(names) > 1:
        enc["xOffset"] = {"field": "series", "sort": names}
    return _frame([{"data": {"values": values}, "mark": {"type": "bar"}, "encoding": enc}], height, title)


def heatmap(z: np.ndarray, *, x: str, y: str, xs: Sequence | None = None, ys: Sequence | None = None,
            title: str | None = None, height: int = 300) -> dict:
    """A signed matrix (rows × columns) as cells on a red-white-blue scale centred on 0 (red
    below, as the lab's pictures of signed values are); ``xs`` / ``ys`` label the columns and rows."""
    z = np.asarray(z, dtype=np.float64)
    xs = list(range(z.shape[1])) if xs is None else list(xs)
    ys = list(range(z.shape[0])) if ys is None else list(ys)
    values = [{"x": xs[j], "y": ys[i], "v": float(z[i, j])} for i in range(z.shape[0]) for j in range(z.shape[1])]
    top = max(float(np.abs(z).max()), 1e-6)
    enc = {"x": {"field": "x", "type": "ordinal", "title": x, "sort": xs, "axis": {"labelAngle": 0}},
           "y": {"field": "y", "type": "ordinal", "title": y, "sort": ys},
           "color": {"field": "v", "type": "quantitative", "title": None,
                     "scale": {"scheme": "redblue", "domain": [-top, top], "domainMid": 0}},
           "tooltip": [{"field": "x", "title": x}, {"field": "y", "title": y}, {"field": "v", "title": " ", "format": ".3f"}]}
    return _frame([{"data": {"values": values}, "mark": {"type": "rect"}, "encoding": enc}], height, title)


def scatter(series: Mapping[str, tuple[Sequence[float], Sequence[float]]], *, x: str, y: str, title: str | None = None,
            height: int = 300, colours: Sequence[str] | None = None, legend_title: str | None = None,
            rows: Mapping[str, Sequence[int]] | None = None, select: str | None = None) -> dict:
    """Points, a colour per series (name → (xs, ys)); with ``rows`` (name → an index per point)
    and ``select`` (a parameter name), a click picks a point: ``st.vega_lite_chart(...,
    on_select="rerun")`` then returns its ``row`` (:func:`picked_rows`)."""
    values = [{"series": name, "x": float(a), "y": float(b), **({"row": int(rows[name][i])} if rows else {})}
              for name, (xs, ys) in series.items() for i, (a, b) in enumerate(zip(xs, ys))]
    data = csv_data(values, numbers=("x", "y", "row") if rows else ("x", "y"))
    enc = {"x": {"field": "x", "type": "quantitative", "title": x, "scale": {"zero": False}},
           "y": {"field": "y", "type": "quantitative", "title": y, "scale": {"zero": False}},
           "color": _colour(list(series), colours, legend_title), "tooltip": [{"field": "series", "title": legend_title or " "}]}
    layer = {"data": data, "mark": {"type": "circle", "size": 30, "opacity": 0.7}, "encoding": enc}
    if select:
        layer["params"] = [{"name": select, "select": {"type": "point", "fields": ["row"], "on": "click", "clear": "dblclick"}}]
        enc["opacity"] = {"condition": {"param": select, "value": 0.9, "empty": True}, "value": 0.25}
    return _frame([layer], height, title)


def csv_data(values: list[dict], numbers: Sequence[str]) -> dict:
    """Vega-Lite inline data of many points as one CSV string (``numbers``: the fields read as
    numbers, the others stay strings). Streamlit dumps and parses a spec's JSON two or three times
    on every run that draws it (``st.vega_lite_chart``'s stabilising and selection id), a cost
    that grows with the number of values: the autoencoder lab's two latent maps, thousands of
    points each, took ~30 ms of every rerun of the noise panel as records; one string costs little
    (``tests/test_charts.py`` reads it back)."""
    import csv
    import io

    fields = list(dict.fromkeys(k for v in values for k in v))
    out = io.StringIO()
    writer = csv.DictWriter(out, fields, lineterminator="\n")
    writer.writeheader()
    writer.writerows({k: (f"{x:.6g}" if isinstance(x, float) else x) for k, x in v.items()} for v in values)
    return {"values": out.getvalue(), "format": {"type": "csv", "parse": {k: "number" for k in numbers if k in fields}}}


def with_layers(spec: dict, layers: Sequence[dict]) -> dict:
    """``spec`` with ``layers`` (e.g. :func:`rule`, :func:`dots`) drawn on top; the kept spec is
    left as it was."""
    return {**spec, "layer": [*spec["layer"], *layers]}


def rule(x: float) -> dict:
    """A dotted vertical line at ``x`` (a quantitative x axis) across the plot."""
    return {"data": {"values": [{"x": float(x)}]}, "mark": {"type": "rule", "strokeDash": [4, 4], "color": "#202124"},
            "encoding": {"x": {"field": "x", "type": "quantitative"}}}


def dots(xs: Sequence[float], ys: Sequence[float], *, colour: str = "#000", shape: str = "circle", size: int = 200,
         label: str | None = None, nominal_x: bool = False, text: Sequence[str] | None = None) -> dict:
    """Marked points drawn on top (the student's own digit on a map or a curve), ``label`` in
    their tooltip; ``text`` writes a label right of each."""
    values = [{"x": str(a) if nominal_x else float(a), "y": float(b), "label": label or "", **({"text": text[i]} if text else {})}
              for i, (a, b) in enumerate(zip(xs, ys))]
    enc = {"x": {"field": "x", "type": "ordinal" if nominal_x else "quantitative"}, "y": {"field": "y", "type": "quantitative"}}
    mark = {"type": "point", "shape": shape, "size": size, "filled": True, "color": colour, "stroke": "#fff", "strokeWidth": 1.5,
            "tooltip": {"content": "data"} if label else None}
    marks = [{"mark": mark, "encoding": enc}]
    if text:
        marks.append({"mark": {"type": "text", "align": "left", "dx": 10, "color": "#202124"}, "encoding": {**enc, "text": {"field": "text"}}})
    return {"data": {"values": values}, "layer": marks}


def picked_rows(event, select: str) -> list[int]:
    """The ``row`` of each point a click picked in a :func:`scatter` chart with ``select``."""
    chosen = (getattr(event, "selection", None) or {}).get(select) or [] if event else []
    return [int(p["row"]) for p in chosen if isinstance(p, dict) and isinstance(p.get("row"), (int, float))]


def show(spec: dict, **kwargs):
    """``st.vega_lite_chart`` of a spec made here (same arguments; returns what it returns)."""
    return st.vega_lite_chart(spec=spec, **kwargs)
